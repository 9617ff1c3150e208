//! boundpool: a bounded worker pool, and buffer and object recyclers.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod error;
mod pool;
mod recycle;
mod sync;

pub use error::{
    BuildError, GetError, JobError, ShutdownTimeout, SubmitError, SubmitTimeoutError, TrySubmitError,
};
pub use recycle::{
    BufferPool, BufferPoolBuilder, BufferStats, ObjectPool, ObjectPoolBuilder, Pooled, PooledBuffer,
};
