//! Shutdown: stop intake, let the workers drain the queue, join every thread; or take the
//! queued jobs back unrun.
//!
//! Closing the queue is what stops intake (see `queue.rs`): from that instant every submit is
//! refused with its closure, blocked submitters are woken and refused, and workers exit once
//! the queue is empty. Workers report their exit through `Lifecycle`, so a shutdown with a
//! timeout can wait on that without joining; threads are joined only once all have exited,
//! which is prompt.

use std::fmt;

use super::job::Job;
use super::stats::ShutdownReport;
use super::{worker, Shared, ThreadPool};
use crate::deadline::{wait_while, Deadline};
use crate::error::ShutdownTimeout;
use crate::sync::{thread, Arc, Condvar, Mutex};

/// The worker threads of a pool and how many of them are still running.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    alive: Mutex<usize>,
    exited: Condvar,
}

impl Lifecycle {
    /// Counts a worker about to start; `started` or `start_failed` must follow.
    pub(crate) fn starting(&self) {
        *self.alive.lock() += 1;
    }

    pub(crate) fn started(&self, handle: thread::JoinHandle<()>) {
        self.threads.lock().push(handle);
    }

    pub(crate) fn start_failed(&self) {
        self.worker_exited();
    }

    pub(crate) fn worker_exited(&self) {
        let mut alive = self.alive.lock();
        *alive -= 1;
        if *alive == 0 {
            self.exited.notify_all();
        }
    }

    pub(crate) fn alive(&self) -> usize {
        *self.alive.lock()
    }

    /// Waits until every worker has exited or `deadline` passed; the number still alive.
    fn wait_exited(&self, deadline: Deadline) -> usize {
        let mut alive = self.alive.lock();
        wait_while(&self.exited, &mut alive, deadline, |alive| *alive > 0);
        *alive
    }

    /// Joins the threads of workers that have all exited. Holding the lock while joining makes
    /// a concurrent shutdown wait until every thread is gone, not merely exiting.
    fn join_all(&self) {
        let mut threads = self.threads.lock();
        for handle in threads.drain(..) {
            // A worker's body catches every panic; an Err here would only repeat one.
            let _ = handle.join();
        }
    }
}

impl Shared {
    /// Stops intake: every later submission is refused, blocked submitters are released.
    pub(crate) fn close(&self) {
        let first = self.queue.close();
        #[cfg(feature = "tracing")]
        if first {
            tracing::info!(pool = %self.name, queued = self.queue.len(), "shutdown started");
        }
        let _ = first;
    }

    /// After the queue is closed: wait for the workers to drain it and exit, then join them.
    /// From one of the pool's own workers this returns at once (a thread cannot join itself).
    pub(crate) fn finish(&self, deadline: Deadline) -> Result<ShutdownReport, ShutdownTimeout> {
        if worker::is_worker_of(self) {
            return Ok(self.report());
        }
        let busy = self.life.wait_exited(deadline);
        if busy > 0 {
            return Err(ShutdownTimeout::new(busy));
        }
        self.life.join_all();
        let report = self.report();
        #[cfg(feature = "tracing")]
        tracing::info!(pool = %self.name, ?report, "shutdown finished: every worker joined");
        Ok(report)
    }

    /// Takes every job still queued out of the (closed) queue.
    pub(crate) fn drain(self: &Arc<Self>) -> Vec<PendingJob> {
        let mut pending = Vec::new();
        while let Some(queued) = self.queue.try_pop(self.queue.outside()) {
            match queued.into_parts().0 {
                // A scoped job borrows a stack that is still waiting for it: its scope's owner
                // runs it, so it is never handed back.
                Job::Scoped(_) => {}
                // Cancelled by its handle, or run by a worker that joined it, while queued:
                // nothing is left to hand back.
                Job::Task(task) if !task.is_pending() => {}
                job => pending.push(PendingJob { job: Some(job), shared: Arc::clone(self) }),
            }
        }
        pending
    }
}

impl ThreadPool {
    pub(crate) fn close_and_finish(&self, deadline: Deadline) -> Result<ShutdownReport, ShutdownTimeout> {
        self.shared.close();
        let finished = self.shared.finish(deadline);
        #[cfg(feature = "metrics")]
        self.metrics.publish();
        finished
    }
}

/// A queued job handed back by [`ThreadPool::shutdown_now`](crate::ThreadPool::shutdown_now),
/// never started.
///
/// [`run`](Self::run) runs it on the calling thread, and its handle (if it has one) gets the
/// value or the panic. Dropping it unrun cancels it: its handle reports
/// [`is_cancelled`](crate::JobError::is_cancelled) and the pool counts it in `cancelled`.
///
/// ```
/// use boundpool::ThreadPool;
/// use std::sync::mpsc;
///
/// let pool = ThreadPool::builder().workers(1).queue_capacity(4).build()?;
/// let (started_tx, started_rx) = mpsc::channel();
/// let (release_tx, release_rx) = mpsc::channel::<()>();
/// pool.execute(move || {
///     started_tx.send(()).unwrap();
///     let _ = release_rx.recv();
/// })
/// .unwrap();
/// started_rx.recv().unwrap(); // the only worker is busy now
/// let queued = pool.spawn(|| 40 + 2).unwrap();
///
/// let handed_back = std::thread::scope(|s| {
///     let stopper = s.spawn(|| pool.shutdown_now());
///     while pool.stats().queued > 0 {
///         std::thread::yield_now(); // until the queue was emptied
///     }
///     release_tx.send(()).unwrap(); // let the busy worker finish so it can be joined
///     stopper.join().unwrap()
/// });
/// assert_eq!(handed_back.len(), 1);
/// for job in handed_back {
///     job.run(); // runs here, on this thread
/// }
/// assert_eq!(queued.join().unwrap(), 42);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct PendingJob {
    job: Option<Job>,
    shared: Arc<Shared>,
}

impl PendingJob {
    /// Runs the job on the calling thread. A panic in it is caught: a job with a handle hands
    /// it to the handle, a job without one is counted and passed to the pool's panic handler.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// let (release, wait) = std::sync::mpsc::channel::<()>();
    /// pool.execute(move || { let _ = wait.recv(); }).unwrap(); // holds the only worker
    /// let handle = pool.spawn(|| 6 * 7).unwrap();
    /// let handed_back = std::thread::scope(|s| {
    ///     let stopper = s.spawn(|| pool.shutdown_now());
    ///     while pool.stats().queued > 0 {
    ///         std::thread::yield_now();
    ///     }
    ///     release.send(()).unwrap(); // whoever runs the first job, it returns
    ///     stopper.join().unwrap()
    /// });
    /// for job in handed_back {
    ///     job.run(); // on this thread; the handle gets the result
    /// }
    /// assert_eq!(handle.join().unwrap(), 42);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn run(mut self) {
        if let Some(job) = self.job.take() {
            worker::run_job(&self.shared, worker::tally(&self.shared), job, None);
        }
    }

    /// True when the job was submitted with a result handle (`spawn`), false for `execute`.
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = boundpool::ThreadPool::builder().workers(1).build()?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, wait) = mpsc::channel::<()>();
    /// pool.execute(move || { started_tx.send(()).unwrap(); let _ = wait.recv(); }).unwrap();
    /// started.recv().unwrap(); // the only worker is busy: what follows stays queued
    /// let _handle = pool.spawn(|| 1).unwrap();
    /// pool.execute(|| ()).unwrap();
    /// let handed_back = std::thread::scope(|s| {
    ///     let stopper = s.spawn(|| pool.shutdown_now());
    ///     while pool.stats().queued > 0 {
    ///         std::thread::yield_now(); // until the queue was emptied
    ///     }
    ///     release.send(()).unwrap(); // the busy worker finishes and can be joined
    ///     stopper.join().unwrap()
    /// });
    /// let kinds: Vec<bool> = handed_back.iter().map(|job| job.has_handle()).collect();
    /// assert_eq!(kinds, [true, false]);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn has_handle(&self) -> bool {
        matches!(self.job, Some(Job::Task(_)))
    }
}

impl Drop for PendingJob {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            worker::discard_job(&self.shared, job);
        }
    }
}

impl fmt::Debug for PendingJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingJob").field("has_handle", &self.has_handle()).finish()
    }
}
