//! boundpool: a bounded worker pool, and buffer and object recyclers.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod error;
mod pool;
mod sync;

pub use error::{
    BuildError, GetError, JobError, ShutdownTimeout, SubmitError, SubmitTimeoutError, TrySubmitError,
};
pub use pool::{
    Builder, CancelToken, JobHandle, PendingJob, Scope, ScopedJobHandle, ShutdownReport, Stats, ThreadPool,
    TryScope, DEFAULT_QUEUE_PER_WORKER, DEFAULT_THREAD_NAME,
};
