//! boundpool: a bounded worker pool that never loses a job, plus buffer and object recyclers.
//!
//! # The worker pool
//!
//! A [`ThreadPool`] is a fixed set of worker threads fed by a *bounded* queue. When the queue
//! is full, submitting applies backpressure instead of growing memory: [`ThreadPool::spawn`]
//! blocks, [`ThreadPool::try_spawn`] refuses at once, [`ThreadPool::spawn_timeout`] waits at
//! most a timeout. A refused closure always comes back inside the error.
//!
//! ```
//! use boundpool::{ThreadPool, TrySubmitError};
//!
//! let pool = ThreadPool::builder().workers(4).queue_capacity(128).build()?;
//!
//! // A job with a result.
//! let handle = pool.spawn(|| 6 * 7).unwrap();
//! assert_eq!(handle.join().unwrap(), 42);
//!
//! // Refused when full: the closure is handed back, to run here or retry later.
//! match pool.try_spawn(|| "work") {
//!     Ok(handle) => assert_eq!(handle.join().unwrap(), "work"),
//!     Err(TrySubmitError::Full(job)) => assert_eq!(job(), "work"),
//!     Err(TrySubmitError::Shutdown(_)) => unreachable!(),
//! }
//! # Ok::<(), boundpool::BuildError>(())
//! ```
//!
//! ## Panics stay in their job
//!
//! A panicking job never kills its worker: its [`JobHandle`] returns the payload as a
//! [`JobError`], and panics of handle-less jobs ([`ThreadPool::execute`]) are counted in
//! [`Stats`] and passed to an optional [`Builder::panic_handler`].
//!
//! ```
//! let pool = boundpool::ThreadPool::new(1)?;
//! let err = pool.spawn(|| -> u8 { panic!("bad record") }).unwrap().join().unwrap_err();
//! assert_eq!(err.panic_message(), Some("bad record"));
//! assert_eq!(pool.spawn(|| 1).unwrap().join().unwrap(), 1); // the worker lives on
//! # Ok::<(), boundpool::BuildError>(())
//! ```
//!
//! ## Shutdown loses nothing
//!
//! [`ThreadPool::shutdown`] (also what `Drop` does) stops intake, runs every job already
//! accepted and joins every worker thread before returning. [`ThreadPool::shutdown_timeout`]
//! gives up waiting after a while (threads are never killed), and [`ThreadPool::shutdown_now`]
//! hands the queued jobs back as [`PendingJob`]s. Every accepted job is run exactly once,
//! cancelled (its handle says so), or handed back.
//!
//! ```
//! let pool = boundpool::ThreadPool::new(2)?;
//! for _ in 0..100 {
//!     pool.execute(|| { /* ... */ }).unwrap();
//! }
//! let report = pool.shutdown();
//! assert_eq!(report.completed, 100);
//! assert_eq!(pool.stats().workers, 0); // every thread joined
//! # Ok::<(), boundpool::BuildError>(())
//! ```
//!
//! ## Work from inside the pool cannot deadlock it
//!
//! A job may submit to its own pool, join a sibling, open a scope or map a batch, even on a
//! pool of one worker with a queue of one: a submit to a full queue from a worker runs the job
//! inline (caller-runs), and a worker joining a job that has not started runs it itself.
//!
//! ```
//! use std::sync::Arc;
//!
//! let pool = Arc::new(boundpool::ThreadPool::builder().workers(1).queue_capacity(1).build()?);
//! let inner = Arc::clone(&pool);
//! let total = pool
//!     .spawn(move || {
//!         let parts: Vec<_> = (1..=4).map(|n| inner.spawn(move || n * 10).unwrap()).collect();
//!         parts.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
//!     })
//!     .unwrap();
//! assert_eq!(total.join().unwrap(), 100);
//! # Ok::<(), boundpool::BuildError>(())
//! ```
//!
//! ## Batches, scopes and error groups
//!
//! [`ThreadPool::map`] and [`ThreadPool::try_map`] run an ordered parallel map over a batch
//! that may borrow from the caller, chunking it themselves. [`ThreadPool::scope`] runs jobs
//! that borrow from the stack, and [`ThreadPool::try_scope`] is Go's errgroup: the first error
//! cancels the group's [`CancelToken`] and is returned once every job ended.
//!
//! ```
//! let pool = boundpool::ThreadPool::new(2)?;
//! let lines = vec!["3", "4", "5"];
//! let total: u32 = pool.try_map(&lines, |l| l.parse::<u32>())?.iter().sum();
//! assert_eq!(total, 12);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## From async code
//!
//! A [`JobHandle`] is a [`Future`](std::future::Future), and submitting can be awaited too:
//! [`spawn_async`](ThreadPool::spawn_async), [`execute_async`](ThreadPool::execute_async) and
//! [`reserve`](ThreadPool::reserve) wait for room in a full queue without blocking the runtime's
//! thread, in the same first-come, first-served line as blocked threads. Every future is
//! cancel-safe (drop it inside `select!` or a timeout and nothing is lost or leaked) and needs
//! no particular runtime: wakers only.
//!
//! ```
//! use boundpool::ThreadPool;
//!
//! let pool = ThreadPool::builder().workers(2).queue_capacity(8).build()?;
//! let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
//! let total = rt.block_on(async {
//!     let mut handles = Vec::new();
//!     for n in 0..64u64 {
//!         // Waits (without blocking the thread) while 8 jobs are queued.
//!         handles.push(pool.spawn_async(move || (0..=n).sum::<u64>()).await?);
//!     }
//!     let mut total = 0;
//!     for handle in handles {
//!         total += handle.await?;
//!     }
//!     Ok::<u64, Box<dyn std::error::Error>>(total)
//! })?;
//! assert_eq!(total, (0..64u64).map(|n| n * (n + 1) / 2).sum::<u64>());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`CancelToken::cancelled`] is a future to `select!` on, [`ObjectPool::get_async`] waits for
//! an object in line with blocked `get` calls, and [`shutdown_async`](ThreadPool::shutdown_async) drains the pool without
//! blocking a task.
//!
//! # Monitoring
//!
//! A pool has a [`name`](Builder::name) (its threads are `{name}-{index}`), jobs can be named
//! with [`ThreadPool::job`], [`ThreadPool::dump`] shows what every worker runs and for how
//! long, and [`Builder::slow_job`] reports jobs stuck past a threshold, from the one
//! maintenance thread the process has at most. The `metrics` feature publishes every pool's
//! figures through the `metrics` facade (see `docs/monitoring.md`).
//!
//! ```
//! use std::time::Duration;
//!
//! let pool = boundpool::ThreadPool::builder()
//!     .name("thumbs")
//!     .slow_job(Duration::from_secs(30), |slow| eprintln!("{slow}"))
//!     .build()?;
//! pool.job().name("resize").execute(|| ()).unwrap();
//! eprintln!("{}", pool.dump());
//! # Ok::<(), boundpool::BuildError>(())
//! ```
//!
//! # Recyclers
//!
//! [`BufferPool`] recycles byte buffers like Go's `sync.Pool`: `get` never blocks, each thread
//! has a private fast path, retention is bounded and oversized buffers are dropped.
//! [`ObjectPool`] bounds how many costly objects (connections, encoders, parsers) exist, with
//! blocking, non-blocking, timed and async ([`ObjectPool::get_async`], in the same line as
//! blocked callers) checkout, `reset`/`validate`/`is_broken` hooks, creation
//! retried with backoff through an outage (one attempt per free slot at a time), expiry and
//! [`ObjectStats`]; it is tested holding real PostgreSQL connections.
//!
//! ```
//! use boundpool::{BufferPool, ObjectPool};
//! use std::io::Write;
//!
//! let buffers = BufferPool::new();
//! let mut buf = buffers.get();
//! write!(buf, "hello")?;
//! drop(buf); // back to the pool, for this thread's next get()
//!
//! let encoders = ObjectPool::builder(|| Ok::<_, std::io::Error>(Vec::<u8>::with_capacity(4096)))
//!     .max_live(2)
//!     .reset(|v| v.clear())
//!     .build()?;
//! let mut enc = encoders.get()?;
//! enc.extend_from_slice(b"frame");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Correctness
//!
//! The queue, parking, shutdown, cancellation and scope protocols are model-checked with loom
//! (see the `loom-tests` crate). The crate is `#![deny(unsafe_code)]` with one exception: the
//! module that lets a scoped job, which borrows the caller's stack, travel through the pool's
//! queue to a worker. Its one `unsafe` block erases the job's lifetime; the invariant that makes
//! that sound (the scope waits for every job, and nothing borrowed is touched after the scope's
//! completion signal) is written at the top of that module, model-checked with loom, and the
//! scope tests run under valgrind's memcheck in CI.
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod alarm;
mod deadline;
mod error;
mod maintenance;
mod pool;
mod recycle;
mod sync;
mod waitlist;

pub use error::{
    BuildError, Closed, GetError, JobError, ShutdownTimeout, SubmitError, SubmitTimeoutError, TrySubmitError,
};
pub use pool::{
    live_worker_threads, Builder, CancelToken, JobBuilder, JobHandle, LatencyHistogram, PendingJob, Permit,
    PoolDump, RunningJob, Scope, ScopedJobHandle, ShutdownReport, SlowJob, Stats, ThreadPool, TryScope,
    WorkerDump, DEFAULT_QUEUE_PER_WORKER, DEFAULT_THREAD_NAME,
};

pub use recycle::{
    BufferPool, BufferPoolBuilder, BufferStats, ObjectPool, ObjectPoolBuilder, ObjectStats, Pooled,
    PooledBuffer, DEFAULT_CREATE_RETRY,
};

/// How many maintenance threads are alive now: 0 or 1. For tests of that bound; not part of
/// the API.
#[doc(hidden)]
pub fn maintenance_threads() -> usize {
    maintenance::running_threads()
}

/// Internals exposed to the loom models only (built with `--cfg loom`); not part of the API.
#[cfg(loom)]
#[doc(hidden)]
pub mod model {
    pub use crate::pool::Group;
    pub use crate::recycle::BufferPoolProbe;
}
