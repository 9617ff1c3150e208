//! `JobHandle`: the result of a `spawn`ed job, to join, await, poll or cancel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::job::{Completion, Counted};
use super::{worker, Shared};
use crate::deadline::Deadline;
use crate::error::JobError;
use crate::sync::Arc;

/// The handle of a job submitted with [`spawn`](crate::ThreadPool::spawn) and friends.
///
/// [`join`](Self::join) blocks for the result; `.await` gets it from async code with no runtime
/// dependency (the job's completion wakes the task); [`cancel`](Self::cancel) withdraws a job
/// that has not started. Dropping a handle detaches the job: it still runs, and its result is
/// dropped.
///
/// Joining from inside the pool never deadlocks it: when one of the pool's own workers joins a
/// job that has not started yet, it runs that job itself, inline, instead of waiting for a
/// worker that may never come free.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(2)?;
/// let handle = pool.spawn(|| (1..=10).sum::<u32>()).unwrap();
/// assert_eq!(handle.join().unwrap(), 55);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[must_use = "dropping a JobHandle detaches the job; call join() to get its result"]
pub struct JobHandle<T> {
    cell: Arc<dyn Completion<T>>,
    shared: Arc<Shared>,
}

impl<T> JobHandle<T> {
    pub(crate) fn new(cell: Arc<dyn Completion<T>>, shared: Arc<Shared>) -> Self {
        JobHandle { cell, shared }
    }

    /// Runs the job on this thread if this is one of the pool's workers and the job has not
    /// started: a worker must never wait on a job that only a worker can run.
    fn help(&self) {
        if worker::is_worker_of(&self.shared) && self.cell.is_pending() {
            self.cell.run(Counted::In(worker::tally(&self.shared)));
        }
    }

    /// Waits for the job and returns its value.
    ///
    /// # Errors
    ///
    /// A [`JobError`] when the job panicked ([`is_panic`](JobError::is_panic), with the payload)
    /// or never ran ([`is_cancelled`](JobError::is_cancelled)).
    ///
    /// # Panics
    ///
    /// If the handle was already polled to completion as a [`Future`] (its result was taken
    /// then), as a oneshot receiver's `recv` panics after its value was received. A handle is
    /// either awaited or joined, not both.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let err = pool.spawn(|| -> () { panic!("bad input") }).unwrap().join().unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(pool.stats().workers, 1); // the worker survived
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn join(self) -> Result<T, JobError> {
        self.help();
        self.cell.wait(Deadline::Never);
        self.cell.take()
    }

    /// Waits at most `timeout` for the job to finish; true once it has. The handle stays
    /// usable, so `join` afterwards returns at once.
    ///
    /// Called on one of the pool's own workers for a job that has not started, it runs the job
    /// inline (as [`join`](Self::join) does), so it returns only once the job ran, however long
    /// that takes: waiting instead could leave the job with no free worker.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    /// use std::time::Duration;
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let handle = pool.spawn(|| 7).unwrap();
    /// assert!(handle.wait_timeout(Duration::from_secs(10)));
    /// assert_eq!(handle.join().unwrap(), 7);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.help();
        // A timeout too long to represent is a wait without one.
        self.cell.wait(Deadline::after(timeout))
    }

    /// True once the job has finished: it ran, panicked or was cancelled.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let handle = pool.spawn(|| ()).unwrap();
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }

    /// Withdraws the job if it has not started. True means it never runs and its handle now
    /// reports [`is_cancelled`](JobError::is_cancelled); false means it had already started
    /// (or finished, or was cancelled before), and it is left alone. A cancelled job keeps its
    /// queue slot until a worker reaches it and skips it.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let (tx, rx) = mpsc::channel::<()>();
    /// let (started_tx, started_rx) = mpsc::channel();
    /// pool.execute(move || { started_tx.send(()).unwrap(); let _ = rx.recv(); }).unwrap();
    /// started_rx.recv().unwrap(); // the only worker is busy
    /// let queued = pool.spawn(|| "never").unwrap();
    /// assert!(queued.cancel());
    /// assert!(queued.join().unwrap_err().is_cancelled());
    /// drop(tx);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.cell.cancel(Counted::In(worker::tally(&self.shared)))
    }
}

impl<T> Future for JobHandle<T> {
    type Output = Result<T, JobError>;

    /// Ready with the job's result once it finished. Polling again after `Ready` panics.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.cell.poll_result(cx)
    }
}

impl<T> fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle").field("finished", &self.is_finished()).finish_non_exhaustive()
    }
}
