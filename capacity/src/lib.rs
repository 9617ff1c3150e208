//! Capacity planning for [`boundpool`]: how many workers and how deep a queue does *your* job
//! need, on this machine and past it?
//!
//! A [`Sweep`] runs your job (a closure, a synthetic profile or a replayed [`Trace`]) on fresh
//! pools across worker counts and queue capacities, measures each point several times, puts a
//! queueing [`model`] beside every measurement, and returns a [`Report`]: a table (`Display`),
//! a CSV, an SVG chart and a recommendation that holds in every repeat.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! fn handle_request() {
//!     // parse, look something up, answer...
//!     std::thread::sleep(Duration::from_millis(1));
//! }
//!
//! let report = boundpool_capacity::Sweep::new(handle_request)
//!     .rate(3000.0)                      // or .closed_loop()
//!     .workers([2, 4, 8, 16])
//!     .queue_capacities([16, 64])
//!     .target_p99(Duration::from_millis(20))
//!     .cores(16)                         // also predict for a 16-core host
//!     .run()?;
//! println!("{report}");
//! report.write_csv("capacity.csv")?;
//! report.write_svg("capacity.svg")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The `boundpool-capacity` binary is the same on the command line:
//! `cargo run --release -p boundpool-capacity -- --help`.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod chart;
mod error;
mod measure;
pub mod model;
mod probe;
pub mod reach;
pub mod recommend;
mod report;
mod sweep;
mod trace;
pub mod units;
mod workload;

pub use error::SweepError;
pub use measure::Run;
pub use probe::Quantiles;
pub use report::{Point, Report, CSV_HEADER};
pub use sweep::{default_workers, Arrival, Sweep};
pub use trace::{Trace, TraceError};
pub use workload::TimeDist;
