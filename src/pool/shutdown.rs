//! Shutdown: stop intake, let the workers drain the queue, join every thread; or take the
//! queued jobs back unrun.
//!
//! Closing the queue is what stops intake (see `queue.rs`): from that instant every submit is
//! refused with its closure, blocked submitters are woken and refused, and workers exit once
//! the queue is empty. Workers report their exit through `Lifecycle`, so a shutdown with a
//! timeout can wait on that without joining; threads are joined only once all have exited,
//! which is prompt.
//!
//! Everyone waiting for the last worker to exit — a thread in `shutdown` or
//! `shutdown_timeout`, a task awaiting `shutdown_async` — waits in one waiting list
//! (`crate::waitlist`) under the lock that guards the count of live workers. The worker whose
//! exit brings the count to zero grants every entry under that lock and wakes them after
//! releasing it. The count never rises again once it is zero (workers start only while the
//! pool is built), so a waiter that finds it zero under the lock is done, and one that finds
//! it above zero is still in the list when the last exit comes: no wake-up is lost.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::job::Job;
use super::stats::ShutdownReport;
use super::{worker, Shared, ThreadPool};
use crate::deadline::{wait_while, Deadline};
use crate::error::ShutdownTimeout;
use crate::sync::{thread, Arc, Mutex};
use crate::waitlist::{WaitList, Wake, Wakeups};

/// The worker threads of a pool and how many of them are still running.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    alive: Mutex<Alive>,
}

/// The live workers and who waits for the last of them to exit.
#[derive(Debug, Default)]
struct Alive {
    workers: usize,
    /// Shutdowns waiting for `workers` to reach zero; each is granted `()` when it does.
    exits: WaitList<()>,
}

impl Lifecycle {
    /// Counts a worker about to start; `started` or `start_failed` must follow.
    pub(crate) fn starting(&self) {
        self.alive.lock().workers += 1;
    }

    pub(crate) fn started(&self, handle: thread::JoinHandle<()>) {
        self.threads.lock().push(handle);
    }

    pub(crate) fn start_failed(&self) {
        self.worker_exited();
    }

    pub(crate) fn worker_exited(&self) {
        let wakeups = {
            let mut alive = self.alive.lock();
            debug_assert!(alive.workers > 0, "a worker exited twice");
            alive.workers -= 1;
            if alive.workers == 0 {
                alive.exits.hand_off_all(|| ())
            } else {
                Wakeups::default()
            }
        };
        wakeups.wake();
    }

    pub(crate) fn alive(&self) -> usize {
        self.alive.lock().workers
    }

    /// Waits until every worker has exited or `deadline` passed; the number still alive.
    fn wait_exited(&self, deadline: Deadline) -> usize {
        let mut alive = self.alive.lock();
        if alive.workers == 0 {
            return 0;
        }
        let (wake, waiter) = Wake::thread();
        let ticket = alive.exits.join(wake);
        wait_while(&waiter.cv, &mut alive, deadline, |alive| alive.workers > 0);
        // Granted when the last worker exited, or still queued after a timeout: either way done.
        let _ = alive.exits.leave(ticket);
        alive.workers
    }

    /// The task's side of `wait_exited`: true once every worker has exited; otherwise the task
    /// is (still) in the waiting list under `ticket`, to be woken through `waker`.
    fn poll_exited(&self, ticket: &mut Option<u64>, waker: &Waker) -> bool {
        let mut alive = self.alive.lock();
        if alive.workers == 0 {
            if let Some(ticket) = ticket.take() {
                let _ = alive.exits.leave(ticket);
            }
            return true;
        }
        // Workers are alive, so no grant was handed out yet: the entry is still queued.
        match *ticket {
            Some(queued) => alive.exits.set_waker(queued, waker),
            None => *ticket = Some(alive.exits.join(Wake::Task(waker.clone()))),
        }
        false
    }

    /// A task that stops waiting leaves the list (or drops its grant: nothing to pass on).
    fn stop_waiting(&self, ticket: u64) {
        let _ = self.alive.lock().exits.leave(ticket);
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
        Ok(self.join_exited())
    }

    /// Once every worker has exited: joins their threads (prompt: they are returning) and
    /// reports the final totals.
    fn join_exited(&self) -> ShutdownReport {
        self.life.join_all();
        let report = self.report();
        #[cfg(feature = "tracing")]
        tracing::info!(pool = %self.name, ?report, "shutdown finished: every worker joined");
        report
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

    /// [`shutdown`](Self::shutdown) for async code: stops intake, and resolves with the pool's
    /// totals once every accepted job has run and every worker thread has exited, without
    /// blocking the thread that polls it. No runtime is needed: the future is woken through
    /// its waker when the last worker exits.
    ///
    /// * **Intake stops at the call**, before the future is first polled: from then on every
    ///   submission is refused with its closure, and submitters blocked or waiting for room are
    ///   released at once, exactly as with `shutdown`.
    /// * **Nothing blocks while polling.** A poll looks at the count of live workers under a
    ///   short lock and registers the waker; the threads are joined only once all of them have
    ///   exited, when joining is immediate.
    /// * **Cancel-safe.** Dropping the future before it resolves leaves the pool shut down
    ///   (intake stays stopped) and the workers still drain the queue; a later `shutdown`,
    ///   `shutdown_async` or drop waits for them and joins them. Polling it again after it
    ///   resolved resolves again with the same totals.
    /// * **Permits are honoured.** A [`Permit`](crate::Permit) reserved before the close still
    ///   submits its job, and the workers wait for it: use or drop a permit before awaiting the
    ///   shutdown in the same task, or the shutdown waits on the permit.
    /// * **From one of the pool's own jobs** (polled on one of its workers, say by a small
    ///   `block_on` inside a job) it resolves at the first poll without waiting, as `shutdown`
    ///   returns at once there: a worker cannot wait for its own exit. The workers still finish
    ///   the queue, and a later `shutdown` or drop from outside joins them.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// for _ in 0..10 {
    ///     pool.execute(|| ()).unwrap();
    /// }
    /// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    /// let report = runtime.block_on(async {
    ///     let stopping = pool.shutdown_async();
    ///     assert!(pool.is_shutdown()); // intake stopped before the first poll
    ///     stopping.await // the runtime's thread stays free for other tasks meanwhile
    /// });
    /// assert_eq!(report.completed, 10);
    /// assert_eq!(pool.stats().workers, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_async(&self) -> impl Future<Output = ShutdownReport> + Send + '_ {
        self.shared.close();
        ShutdownAsync { pool: self, ticket: None }
    }
}

/// The future of [`ThreadPool::shutdown_async`]: the pool is already closed; it waits in the
/// lifecycle's waiting list for the last worker to exit.
struct ShutdownAsync<'a> {
    pool: &'a ThreadPool,
    /// Its entry in the waiting list, once it has waited.
    ticket: Option<u64>,
}

impl Future for ShutdownAsync<'_> {
    type Output = ShutdownReport;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ShutdownReport> {
        let this = &mut *self;
        let shared = &this.pool.shared;
        let report = if worker::is_worker_of(shared) {
            // As `finish` does on a worker: a thread cannot wait for its own exit.
            if let Some(ticket) = this.ticket.take() {
                shared.life.stop_waiting(ticket);
            }
            shared.report()
        } else if shared.life.poll_exited(&mut this.ticket, cx.waker()) {
            shared.join_exited()
        } else {
            return Poll::Pending;
        };
        #[cfg(feature = "metrics")]
        this.pool.metrics.publish();
        Poll::Ready(report)
    }
}

impl Drop for ShutdownAsync<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.pool.shared.life.stop_waiting(ticket);
        }
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
