//! Recyclers: [`BufferPool`] for byte buffers and [`ObjectPool`] for anything costly to make.
//!
//! - `buffer.rs`: the buffer pool, its builder and its counters.
//! - `buffer_metrics.rs`: its figures published through the `metrics` facade (feature `metrics`).
//! - `pooled_buffer.rs`: a checked-out buffer and its return path.
//! - `idle.rs`: where idle buffers wait: per-thread cells, the shared queue, retention credits.
//! - `object.rs`: the bounded object pool and its checkout calls.
//! - `object_async.rs`: `get_async`, waiting in the same line without blocking a thread.
//! - `object_builder.rs`: its settings.
//! - `waiters.rs`: its state under the lock: idle objects, the first-come, first-served list
//!   of waiting `get` calls and `get_async` futures, and the hand-off to them.
//! - `checkout.rs`: expiry and validation at checkout, and the return to the idle list or a
//!   waiter.
//! - `probe.rs`: creation while `create` fails: retries with backoff, one probe at a time.
//! - `pooled.rs`: a checked-out object and its checks on return.
//! - `object_stats.rs`: its counters.
//! - `object_metrics.rs`: its figures published through the `metrics` facade (feature `metrics`).
//! - `upkeep.rs`: what the maintenance thread does for an object pool.

mod buffer;
#[cfg(feature = "metrics")]
mod buffer_metrics;
mod checkout;
mod idle;
mod object;
mod object_async;
mod object_builder;
#[cfg(feature = "metrics")]
mod object_metrics;
mod object_stats;
mod pooled;
mod pooled_buffer;
mod probe;
mod upkeep;
mod waiters;

#[cfg(loom)]
pub use self::buffer::BufferPoolProbe;
pub use self::buffer::{BufferPool, BufferPoolBuilder, BufferStats};
pub use self::object::{ObjectPool, DEFAULT_CREATE_RETRY};
pub use self::object_builder::ObjectPoolBuilder;
pub use self::object_stats::ObjectStats;
pub use self::pooled::Pooled;
pub use self::pooled_buffer::PooledBuffer;
