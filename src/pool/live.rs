//! How many worker threads of every pool in the process are alive: a process-wide count that
//! each worker thread raises as its first act and lowers as its last, so a test suite can check
//! that no pool outlived it, the way Go's goleak checks for leaked goroutines.

use crate::sync::{Ordering, ProcessCounter};

static LIVE_WORKERS: ProcessCounter = ProcessCounter::new(0);

/// The number of worker threads of every [`ThreadPool`](crate::ThreadPool) in this process
/// that are alive now, counted by the threads themselves.
///
/// A worker thread is counted from just before it is started (so a pool's workers are all
/// counted once [`build`](crate::Builder::build) returns) and uncounts itself after its last act (the [`on_thread_stop`](crate::Builder::on_thread_stop) hook included), so after
/// [`shutdown`](crate::ThreadPool::shutdown) or drop returns, its pool's workers no longer
/// count. Use it at the end of a test suite to check that no pool was left running, or to
/// watch for leaked pools in a long-running process. Scoped work, `map` and the other calls
/// that run on a pool start no thread of their own, so this counts every thread boundpool
/// starts.
///
/// ```
/// use boundpool::{live_worker_threads, ThreadPool};
///
/// let pool = ThreadPool::new(3)?;
/// assert_eq!(live_worker_threads(), 3);
/// pool.shutdown(); // joins the workers
/// assert_eq!(live_worker_threads(), 0);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub fn live_worker_threads() -> usize {
    // ORDERING: Acquire pairs with the Release in `Live::drop`: a reader that sees a worker
    // gone sees everything the worker did before it left.
    LIVE_WORKERS.load(Ordering::Acquire)
}

/// Held by a worker thread for its whole life: counted while it exists.
pub(crate) struct Live(());

impl Live {
    /// Counts a worker thread about to start as alive until the returned guard drops.
    pub(crate) fn enter() -> Live {
        // ORDERING: a count; nothing is published by raising it.
        LIVE_WORKERS.fetch_add(1, Ordering::Relaxed);
        Live(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // ORDERING: Release, see `live_worker_threads`.
        LIVE_WORKERS.fetch_sub(1, Ordering::Release);
    }
}
