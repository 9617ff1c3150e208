//! `ThreadPool`: a fixed set of workers fed by a bounded queue.

mod activity;
mod batch;
mod builder;
mod cancel;
mod erase;
mod errgroup;
mod fire;
mod handle;
mod job;
mod job_builder;
mod latency;
mod live;
#[cfg(feature = "metrics")]
mod metrics;
mod permit;
mod queue;
mod room;
mod scope;
mod shutdown;
mod sleep;
mod slots;
mod stats;
mod watchdog;
mod worker;

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

pub use self::activity::{PoolDump, RunningJob, WorkerDump};
pub use self::builder::{Builder, DEFAULT_QUEUE_PER_WORKER, DEFAULT_THREAD_NAME};
pub use self::cancel::CancelToken;
#[cfg(loom)]
pub use self::errgroup::Group;
pub use self::errgroup::TryScope;
pub use self::handle::JobHandle;
pub use self::job_builder::JobBuilder;
pub use self::latency::LatencyHistogram;
pub use self::live::live_worker_threads;
pub use self::permit::Permit;
pub use self::scope::{Scope, ScopedJobHandle};
pub use self::shutdown::PendingJob;
pub use self::stats::{ShutdownReport, Stats};
pub use self::watchdog::SlowJob;

use self::activity::Activity;
use self::fire::Spares;
use self::job::{Counted, Job, JobCell, JobFn, Plain, Queued, Task};
use self::queue::{JobQueue, Refusal};
use self::shutdown::Lifecycle;
use self::stats::Counters;
use self::watchdog::SlowJobHook;
use crate::deadline::Deadline;
use crate::error::{BuildError, ShutdownTimeout, SubmitError, SubmitTimeoutError, TrySubmitError};
use crate::maintenance::Registration;
use crate::sync::Arc;

pub(crate) type PanicHandler = Box<dyn Fn(Box<dyn Any + Send>) + Send + Sync>;

/// What the pool handle, the workers and the job handles share.
pub(crate) struct Shared {
    queue: JobQueue<Queued>,
    /// Emptied boxes of handle-less jobs, on their way back to submitters.
    spares: Spares,
    counters: Counters,
    workers: usize,
    life: Lifecycle,
    hooks: Hooks,
    /// Stamp jobs with their queueing time and record queue waits and run times.
    record_latency: bool,
    /// What each worker runs now.
    activity: Activity,
    /// The watchdog's threshold and hook.
    slow_job: Option<SlowJobHook>,
    /// The worker threads' name prefix.
    thread_prefix: String,
    /// The pool's name.
    name: String,
}

/// Callbacks set on the builder.
#[derive(Default)]
pub(crate) struct Hooks {
    panic: Option<PanicHandler>,
    thread_start: Option<ThreadHook>,
    thread_stop: Option<ThreadHook>,
}

pub(crate) type ThreadHook = Box<dyn Fn(usize) + Send + Sync>;

impl Shared {
    /// An identity for "is this thread one of my workers": the address of the shared state,
    /// unique while the pool lives.
    fn id(&self) -> usize {
        self as *const Shared as usize
    }

    fn report_panic(&self, payload: Box<dyn Any + Send>) {
        #[cfg(feature = "tracing")]
        tracing::warn!(
            pool = %self.name,
            panic = crate::error::panic_message(payload.as_ref()).unwrap_or("(not a string)"),
            "a job without a handle panicked",
        );
        worker::handle_panic(self.hooks.panic.as_ref(), payload);
    }

    /// The pool's totals so far.
    fn report(&self) -> ShutdownReport {
        self.counters.report(|| self.queue.reserved_total())
    }

    /// Fills a reserved slot, stamping the job with the time if the pool records latency.
    fn enqueue(&self, job: Job, name: Option<Cow<'static, str>>) {
        self.queue.fill(Queued::new(job, self.record_latency, name));
    }
}

/// How a submission waits for room in the queue.
#[derive(Clone, Copy)]
enum Room {
    /// Never wait: refuse with `Full`.
    Refuse,
    /// Wait, until the deadline if there is one. On the pool's own workers a full queue means
    /// caller-runs instead: the job runs inline.
    Wait(Deadline),
}

/// Where an accepted job goes.
enum Admitted {
    Queued,
    Inline,
}

/// A fixed set of worker threads fed by a bounded job queue.
///
/// * **Backpressure.** At most [`queue_capacity`](Self::queue_capacity) jobs wait in the queue.
///   When it is full, [`spawn`](Self::spawn) and [`execute`](Self::execute) block,
///   [`try_spawn`](Self::try_spawn) and [`try_execute`](Self::try_execute) refuse at once, and
///   [`spawn_timeout`](Self::spawn_timeout) waits at most its timeout. A refused closure is
///   always handed back in the error. Async code awaits room instead of blocking its thread:
///   [`reserve`](Self::reserve), [`spawn_async`](Self::spawn_async) and
///   [`execute_async`](Self::execute_async).
/// * **First come, first served.** Blocked threads and waiting tasks wait in one line and get
///   slots in arrival order, as the workers free them; a newcomer (even `try_spawn`) does not
///   take a slot before someone who is already waiting. The first slot freed wakes the one at
///   the front, which then refills whatever the workers freed meanwhile in one burst.
/// * **Results and panics.** `spawn` returns a [`JobHandle`] to join, await or cancel. A panic
///   in a job is caught: the worker lives on, the handle returns the payload, and panics of
///   handle-less jobs are counted in [`stats`](Self::stats) (and passed to the
///   [`panic_handler`](Builder::panic_handler), if set).
/// * **Shutdown loses nothing.** [`shutdown`](Self::shutdown) (and `Drop`) stops intake, runs
///   every job already accepted and joins every worker thread.
///   [`shutdown_now`](Self::shutdown_now) hands the queued jobs back instead.
/// * **Work from inside never deadlocks it**, even with one worker and a queue of one:
///   - a job's `spawn`/`execute`/`spawn_timeout` on its own pool whose queue is full runs the
///     new job inline on the calling worker (caller-runs) instead of blocking;
///   - a job's [`JobHandle::join`] (or `wait_timeout`) on a job of the same pool that has not
///     started yet runs that job inline;
///   - [`scope`](Self::scope) (and `map`, `try_scope`) inside a job completes: a scoped
///     spawn never waits for room, and the scope's own thread runs every scoped job no worker
///     has started;
///   - `shutdown` called from a job stops intake and returns without joining (a thread cannot
///     join itself); the threads are joined by a later `shutdown` or drop from outside.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::builder().workers(4).queue_capacity(64).build()?;
/// let handles: Vec<_> = (0..8u64).map(|n| pool.spawn(move || n * n).unwrap()).collect();
/// let squares: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);
/// let report = pool.shutdown();
/// assert_eq!(report.completed, 8);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct ThreadPool {
    shared: Arc<Shared>,
    /// Keeps the watchdog on the maintenance thread while the pool lives.
    _watch: Option<Registration>,
    /// Publishes the pool's figures while it lives.
    #[cfg(feature = "metrics")]
    metrics: metrics::Published,
}

impl ThreadPool {
    /// A pool of `workers` threads with the default queue capacity (256 per worker).
    ///
    /// # Errors
    ///
    /// A [`BuildError`] for zero workers or when a thread cannot be started.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// assert_eq!(pool.workers(), 2);
    /// assert_eq!(pool.queue_capacity(), 512);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn new(workers: usize) -> Result<ThreadPool, BuildError> {
        Builder::default().workers(workers).build()
    }

    /// A [`Builder`] to set workers, queue capacity, thread names, stack size and a panic
    /// handler.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().workers(1).queue_capacity(8).build()?;
    /// assert_eq!(pool.queue_capacity(), 8);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Takes a slot in the queue (or decides on caller-runs), counting the outcome.
    fn admit(&self, room: Room) -> Result<Admitted, Refusal> {
        let queue = &self.shared.queue;
        let reserved = match room {
            Room::Refuse => queue.try_reserve(),
            Room::Wait(_) if worker::is_worker_of(&self.shared) => match queue.try_reserve() {
                Err(Refusal::Full) => {
                    self.shared.counters.submitted_inline();
                    return Ok(Admitted::Inline);
                }
                other => other,
            },
            Room::Wait(deadline) => queue.reserve(deadline),
        };
        match reserved {
            Ok(depth) => {
                // Counted as submitted by the reservation itself.
                if let Some(depth) = depth {
                    self.shared.counters.observe_depth(depth);
                }
                Ok(Admitted::Queued)
            }
            Err(refusal) => {
                self.shared.counters.rejected();
                if refusal == Refusal::Full {
                    // Refused for want of room: the queue was as deep as it can be.
                    self.shared.counters.observe_depth(queue.capacity());
                }
                #[cfg(feature = "tracing")]
                tracing::debug!(pool = %self.shared.name, reason = ?refusal, "submission refused");
                Err(refusal)
            }
        }
    }

    /// The one path of every submission with a handle.
    fn submit<F, T>(
        &self,
        f: F,
        room: Room,
        name: Option<Cow<'static, str>>,
    ) -> Result<JobHandle<T>, (Refusal, F)>
    where
        F: JobFn<T> + 'static,
        T: Send + 'static,
    {
        // Allocate before taking a slot: between reserving and filling nothing may fail.
        let cell = Arc::new(JobCell::<F, T>::new(f));
        match self.admit(room) {
            Ok(Admitted::Queued) => self.shared.enqueue(Job::Task(cell.clone()), name),
            Ok(Admitted::Inline) => {
                cell.run(Counted::In(worker::tally(&self.shared)));
            }
            Err(refusal) => {
                // Refused before anyone else saw the cell: it is ours alone.
                let f = Arc::try_unwrap(cell).ok().and_then(JobCell::into_closure);
                return Err((refusal, f.expect("boundpool: a refused job's cell is unshared and unstarted")));
            }
        }
        Ok(JobHandle::new(cell, Arc::clone(&self.shared)))
    }

    /// The one path of every submission without a handle.
    fn submit_fire<F>(&self, f: F, room: Room, name: Option<Cow<'static, str>>) -> Result<(), (Refusal, F)>
    where
        F: FnOnce() + Send + 'static,
    {
        // Allocate (or reuse a box) before taking a slot: between reserving and filling nothing
        // may fail.
        let boxed = fire::boxed(f, &self.shared.spares);
        match self.admit(room) {
            Ok(Admitted::Queued) => self.shared.enqueue(Job::Fire(boxed), name),
            Ok(Admitted::Inline) => {
                worker::run_job(&self.shared, worker::tally(&self.shared), Job::Fire(boxed), None);
            }
            Err(refusal) => {
                let f = (*boxed).into_inner();
                return Err((refusal, f.expect("boundpool: a refused job's box still holds its closure")));
            }
        }
        Ok(())
    }

    /// Submits a job and returns its [`JobHandle`]; blocks while the queue is full.
    ///
    /// Called from one of this pool's own jobs while the queue is full, it runs the new job
    /// inline instead of blocking (caller-runs), so a pool never deadlocks on itself; the
    /// returned handle is then already finished.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure when the pool is shut down, including when shutdown
    /// starts while this call is blocked.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let handle = pool.spawn(|| "hello".len()).unwrap();
    /// assert_eq!(handle.join().unwrap(), 5);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> Result<JobHandle<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(Plain(f), Room::Wait(Deadline::Never), None).map_err(|(_, Plain(f))| SubmitError(f))
    }

    /// Submits a job if the queue has room, never blocking.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] with the closure when the queue is full (or others already wait
    /// for room: they come first), [`TrySubmitError::Shutdown`] when the pool is shut down.
    ///
    /// ```
    /// use boundpool::{ThreadPool, TrySubmitError};
    ///
    /// let pool = ThreadPool::new(1)?;
    /// match pool.try_spawn(|| 1 + 1) {
    ///     Ok(handle) => assert_eq!(handle.join().unwrap(), 2),
    ///     Err(TrySubmitError::Full(job)) => assert_eq!(job(), 2), // run it ourselves
    ///     Err(TrySubmitError::Shutdown(_)) => unreachable!(),
    /// }
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn try_spawn<F, T>(&self, f: F) -> Result<JobHandle<T>, TrySubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(Plain(f), Room::Refuse, None).map_err(|(refusal, Plain(f))| match refusal {
            Refusal::Full => TrySubmitError::Full(f),
            Refusal::Closed => TrySubmitError::Shutdown(f),
        })
    }

    /// Submits a job, waiting at most `timeout` for room in the queue. From one of this pool's
    /// own jobs a full queue means caller-runs, as with [`spawn`](Self::spawn).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError::Timeout`] with the closure when the queue stayed full,
    /// [`SubmitTimeoutError::Shutdown`] when the pool is shut down.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// let handle = pool.spawn_timeout(|| 3, Duration::from_millis(100)).unwrap();
    /// assert_eq!(handle.join().unwrap(), 3);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn spawn_timeout<F, T>(&self, f: F, timeout: Duration) -> Result<JobHandle<T>, SubmitTimeoutError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(Plain(f), Room::Wait(Deadline::after(timeout)), None).map_err(|(refusal, Plain(f))| {
            match refusal {
                Refusal::Full => SubmitTimeoutError::Timeout(f),
                Refusal::Closed => SubmitTimeoutError::Shutdown(f),
            }
        })
    }

    /// Submits a job with no handle; blocks while the queue is full. A panic in it is counted
    /// in [`Stats::panicked`] and passed to the [`panic_handler`](Builder::panic_handler), if
    /// set. Caller-runs applies as for [`spawn`](Self::spawn).
    ///
    /// The closure is boxed. The box of a closure of at most 128 bytes is not freed after the
    /// job runs: workers hand emptied boxes back in batches, and a thread submitting the same
    /// closure type refills one instead of allocating, so a steady stream of jobs allocates
    /// nothing. What is kept is bounded: the pool holds at most 16 batches of 32 boxes plus one
    /// unfinished batch per worker, and each submitting thread one batch (freed when the thread
    /// exits). A job's captures are dropped when it runs, never kept with its box.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure when the pool is shut down.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let hits = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..100 {
    ///     let hits = hits.clone();
    ///     pool.execute(move || { hits.fetch_add(1, Ordering::Relaxed); }).unwrap();
    /// }
    /// pool.shutdown(); // runs everything accepted
    /// assert_eq!(hits.load(Ordering::Relaxed), 100);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn execute<F>(&self, f: F) -> Result<(), SubmitError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        self.submit_fire(f, Room::Wait(Deadline::Never), None).map_err(|(_, f)| SubmitError(f))
    }

    /// Submits a job with no handle if the queue has room, never blocking.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] or [`TrySubmitError::Shutdown`], with the closure.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// if let Err(refused) = pool.try_execute(|| println!("work")) {
    ///     refused.into_inner()(); // full: do it here instead
    /// }
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn try_execute<F>(&self, f: F) -> Result<(), TrySubmitError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        self.submit_fire(f, Room::Refuse, None).map_err(|(refusal, f)| match refusal {
            Refusal::Full => TrySubmitError::Full(f),
            Refusal::Closed => TrySubmitError::Shutdown(f),
        })
    }

    /// Runs `f` with a [`Scope`] whose jobs may borrow from the caller's stack, and returns
    /// once every job spawned in it has ended, as [`std::thread::scope`] does.
    ///
    /// Scoped jobs run on the pool's own workers and on the calling thread; no call starts a
    /// thread. [`Scope::spawn`] puts the job in the pool's queue if it has room, and never
    /// blocks: on a full queue, or a shut-down pool, the job stays with the scope and the
    /// calling thread runs it. Once `f` returns, the calling thread works while it waits: it
    /// runs every job of this scope that no worker has started (in the order they were
    /// spawned; never another scope's or the pool's other jobs), then waits for the ones
    /// workers are running. So a
    /// scope completes inside one of the pool's own jobs, with one worker and a queue of one,
    /// and after shutdown (everything then runs on the calling thread).
    ///
    /// Scoped jobs are part of the call that made them: they are not counted in
    /// [`Stats`]'s `submitted`, `running`, `completed`, `panicked` or `cancelled`, so the
    /// identities documented there stay exact. While queued they do take queue slots, which
    /// `queued` and `peak_queued` show. [`shutdown`](Self::shutdown) runs queued scoped jobs
    /// like any other; [`shutdown_now`](Self::shutdown_now) never hands one back (the scope
    /// that borrows its data is still waiting): the scope's own thread runs it.
    ///
    /// # Panics
    ///
    /// If `f` panics, or a scoped job panics and its handle was not joined, `scope` re-raises
    /// that panic after every job has ended.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let mut numbers = vec![1, 2, 3, 4];
    /// let (left, right) = numbers.split_at_mut(2);
    /// pool.scope(|s| {
    ///     s.spawn(|| left.iter_mut().for_each(|x| *x *= 2));
    ///     s.spawn(|| right.iter_mut().for_each(|x| *x *= 3));
    /// });
    /// assert_eq!(numbers, [2, 4, 9, 12]);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        let scope = Scope::new(&self.shared);
        scope::drive(&scope, || f(&scope))
    }

    /// The pool's [`name`](Builder::name) (default `"boundpool"`).
    ///
    /// ```
    /// assert_eq!(boundpool::ThreadPool::new(1)?.name(), "boundpool");
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Options for one job: its [`name`](JobBuilder::name), shown by [`dump`](Self::dump) and
    /// the slow-job watchdog, then `spawn`, `try_spawn` or `execute` as on the pool.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let handle = pool.job().name("resize").spawn(|| 2 * 21).unwrap();
    /// assert_eq!(handle.join().unwrap(), 42);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn job(&self) -> JobBuilder<'_> {
        JobBuilder::new(self)
    }

    /// What every worker is doing now, idle or running a job (its name and how long it has
    /// been running), plus the queue depth; `Display` prints it like a thread dump, so
    /// `eprintln!("{}", pool.dump())` is all an admin endpoint or a signal handler needs.
    ///
    /// Workers read no clock for it until the pool's first dump: a job that started before
    /// then is shown as running since this dump first saw it. From the first dump on, each
    /// job's start is stamped (one clock read per job) and later dumps show exact ages. Only
    /// jobs a worker took from the queue are shown; a job run inline inside another (caller-runs,
    /// a join that runs a sibling) counts as part of the job that runs it.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().name("api").workers(2).build()?;
    /// let dump = pool.dump();
    /// assert_eq!(dump.workers.len(), 2);
    /// println!("{dump}");
    /// // pool "api": 2 workers, 0 queued
    /// //   worker 0 "api-0": idle
    /// //   worker 1 "api-1": idle
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn dump(&self) -> PoolDump {
        let activity = &self.shared.activity;
        activity.stamp_starts();
        let now = Instant::now();
        let workers = (0..activity.workers())
            .map(|index| WorkerDump {
                index,
                thread_name: format!("{}-{index}", self.shared.thread_prefix),
                job: activity
                    .sample(index, now, None)
                    .map(|sample| RunningJob { name: sample.name, running_for: sample.running_for }),
            })
            .collect();
        PoolDump { pool: self.shared.name.clone(), queued: self.shared.queue.len(), workers }
    }

    /// The configured number of worker threads.
    ///
    /// ```
    /// assert_eq!(boundpool::ThreadPool::new(3)?.workers(), 3);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.workers
    }

    /// The configured bound on queued (not yet started) jobs.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().workers(1).queue_capacity(5).build()?;
    /// assert_eq!(pool.queue_capacity(), 5);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn queue_capacity(&self) -> usize {
        self.shared.queue.capacity()
    }

    /// A snapshot of the pool's counters and gauges; see [`Stats`].
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// pool.spawn(|| ()).unwrap().join().unwrap();
    /// let stats = pool.stats();
    /// assert_eq!((stats.workers, stats.submitted, stats.completed), (2, 1, 1));
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn stats(&self) -> Stats {
        let queue = &self.shared.queue;
        self.shared.counters.snapshot(self.shared.life.alive(), queue.len(), || queue.reserved_total())
    }

    /// True once shutdown has started: every submission is refused from then on.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// assert!(!pool.is_shutdown());
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.shared.queue.is_closed()
    }

    /// Stops intake, runs every job already accepted, joins every worker thread, and returns
    /// the pool's totals. Submitters blocked on a full queue are released at once with their
    /// closure. Idempotent: later calls return the same totals, and `Drop` calls it.
    ///
    /// Called from one of the pool's own jobs, it stops intake and returns without waiting:
    /// a thread cannot join itself. The workers still finish the queue, and a later `shutdown`
    /// or drop from outside the pool joins them.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// for _ in 0..10 {
    ///     pool.execute(|| ()).unwrap();
    /// }
    /// let report = pool.shutdown();
    /// assert_eq!(report.completed, 10);
    /// assert_eq!(pool.stats().workers, 0);
    /// assert!(pool.execute(|| ()).is_err());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn shutdown(&self) -> ShutdownReport {
        match self.close_and_finish(Deadline::Never) {
            Ok(report) => report,
            Err(_) => unreachable!("boundpool: a shutdown without deadline cannot time out"),
        }
    }

    /// Like [`shutdown`](Self::shutdown), but gives up waiting after `timeout`. Threads are
    /// never killed: the busy ones keep running their jobs, finish the queue, and are joined by
    /// a later `shutdown` or by dropping the pool.
    ///
    /// # Errors
    ///
    /// [`ShutdownTimeout`], saying how many workers were still busy, when the timeout passed.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// pool.execute(|| ()).unwrap();
    /// let report = pool.shutdown_timeout(Duration::from_secs(10)).unwrap();
    /// assert_eq!(report.completed, 1);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> Result<ShutdownReport, ShutdownTimeout> {
        self.close_and_finish(Deadline::after(timeout))
    }

    /// Stops intake, takes every queued job out unrun, joins the workers (after they finish
    /// the jobs they are running) and hands the queued jobs back. Run a [`PendingJob`] with
    /// [`PendingJob::run`]; drop it and its handle reports cancelled.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// let pending = pool.shutdown_now();
    /// assert!(pending.is_empty()); // nothing was queued
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn shutdown_now(&self) -> Vec<PendingJob> {
        self.shared.close();
        let pending = self.shared.drain();
        // Waiting forever cannot time out.
        let _ = self.shared.finish(Deadline::Never);
        #[cfg(feature = "metrics")]
        self.metrics.publish();
        pending
    }
}

impl Drop for ThreadPool {
    /// The same as [`shutdown`](ThreadPool::shutdown): every accepted job runs and every
    /// worker is joined before the drop returns (unless dropped inside one of its own jobs).
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("name", &self.shared.name)
            .field("workers", &self.shared.workers)
            .field("queue_capacity", &self.queue_capacity())
            .field("shutdown", &self.is_shutdown())
            .finish_non_exhaustive()
    }
}
