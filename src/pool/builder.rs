//! `Builder`: the settings of a pool, checked, and the start of its worker threads.

use std::any::Any;
use std::fmt;
use std::time::Duration;

use super::activity::Activity;
use super::fire::Spares;
use super::live::Live;
use super::queue::JobQueue;
use super::shutdown::Lifecycle;
use super::stats::Counters;
use super::watchdog::{self, SlowJob, SlowJobHook};
use super::{worker, Hooks, Shared, ThreadPool};
use crate::deadline::Deadline;
use crate::error::BuildError;
use crate::sync::{thread, Arc};

/// Queue capacity per worker when none is set: deep enough that workers rarely wait for a
/// submitter, shallow enough that a burst cannot pile up unbounded memory or latency.
///
/// ```
/// let pool = boundpool::ThreadPool::new(2)?;
/// assert_eq!(pool.queue_capacity(), 2 * boundpool::DEFAULT_QUEUE_PER_WORKER);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub const DEFAULT_QUEUE_PER_WORKER: usize = 256;

/// The pool's name when none is set, and so the thread-name prefix: threads are named
/// `boundpool-0`, `boundpool-1`, ...
///
/// ```
/// let pool = boundpool::ThreadPool::new(1)?;
/// let name = pool.spawn(|| std::thread::current().name().map(str::to_owned)).unwrap().join().unwrap();
/// assert_eq!(name, Some(format!("{}-0", boundpool::DEFAULT_THREAD_NAME)));
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub const DEFAULT_THREAD_NAME: &str = "boundpool";

/// Settings for a [`ThreadPool`], from [`ThreadPool::builder`].
///
/// | setting | default |
/// |---|---|
/// | [`workers`](Self::workers) | the number of CPUs |
/// | [`queue_capacity`](Self::queue_capacity) | 256 × workers |
/// | [`name`](Self::name) | `"boundpool"` |
/// | [`thread_name`](Self::thread_name) | the pool's name (threads `boundpool-0`, `boundpool-1`, ...) |
/// | [`stack_size`](Self::stack_size) | the platform's default for spawned threads |
/// | [`panic_handler`](Self::panic_handler) | none: panics of `execute`d jobs are only counted |
/// | [`on_thread_start`](Self::on_thread_start), [`on_thread_stop`](Self::on_thread_stop) | none |
/// | [`record_latency`](Self::record_latency) | off |
/// | [`slow_job`](Self::slow_job) | none: no watchdog |
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::builder()
///     .workers(4)
///     .queue_capacity(100)
///     .thread_name("resize")
///     .stack_size(256 * 1024)
///     .build()?;
/// assert_eq!(pool.workers(), 4);
/// assert_eq!(pool.queue_capacity(), 100);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct Builder {
    workers: Option<usize>,
    queue_capacity: Option<usize>,
    name: String,
    thread_name: Option<String>,
    stack_size: Option<usize>,
    hooks: Hooks,
    record_latency: bool,
    slow_job: Option<SlowJobHook>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            workers: None,
            queue_capacity: None,
            name: DEFAULT_THREAD_NAME.to_owned(),
            thread_name: None,
            stack_size: None,
            hooks: Hooks::default(),
            record_latency: false,
            slow_job: None,
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("name", &self.name)
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("thread_name", &self.thread_name)
            .field("stack_size", &self.stack_size)
            .field("panic_handler", &self.hooks.panic.is_some())
            .field("on_thread_start", &self.hooks.thread_start.is_some())
            .field("on_thread_stop", &self.hooks.thread_stop.is_some())
            .field("record_latency", &self.record_latency)
            .field("slow_job", &self.slow_job.as_ref().map(|w| w.threshold))
            .finish()
    }
}

impl Builder {
    /// The most worker threads a pool may have: 8192. A larger count is a [`BuildError`],
    /// returned before anything is allocated or started.
    ///
    /// The pool keeps a cache line of counters and a parker per worker, so a count in the
    /// billions would try to allocate more memory than the machine has before the first
    /// thread could fail to start. 8192 is a quarter of Linux's default `pid_max` (32 768,
    /// which bounds every thread of every process) and of the threads the default
    /// `vm.max_map_count` lets one process map stacks for; on a 2-core, 24 GiB Linux machine a
    /// pool of 8192 workers builds in about 0.5 s and shuts down in another 0.4 s (release
    /// build, three runs). A machine that
    /// cannot start that many threads makes `build` fail with the operating system's error
    /// (see [`BuildError::is_spawn_failure`]).
    ///
    /// ```
    /// use boundpool::{Builder, ThreadPool};
    ///
    /// let err = ThreadPool::builder().workers(Builder::MAX_WORKERS + 1).build().unwrap_err();
    /// assert!(err.to_string().contains("at most 8192"));
    /// ```
    pub const MAX_WORKERS: usize = 8192;

    /// The number of worker threads (default: the number of CPUs). Zero, or more than
    /// [`MAX_WORKERS`](Self::MAX_WORKERS), is a [`BuildError`].
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().workers(3).build()?;
    /// assert_eq!(pool.workers(), 3);
    /// assert!(boundpool::ThreadPool::builder().workers(0).build().is_err());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// The most jobs that may wait in the queue, not yet started (default: 256 per worker).
    /// When it is full, [`spawn`](ThreadPool::spawn) blocks, [`try_spawn`](ThreadPool::try_spawn)
    /// refuses and [`spawn_timeout`](ThreadPool::spawn_timeout) waits up to its timeout. Zero is
    /// a [`BuildError`].
    ///
    /// Up to 32 768 jobs, the queue is a ring allocated when the pool is built, 64 bytes per
    /// job of the bound (32 KiB for the default on two cores), so queueing a job allocates
    /// nothing. A larger bound takes memory in blocks as jobs arrive instead of up front.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().workers(1).queue_capacity(8).build()?;
    /// assert_eq!(pool.queue_capacity(), 8);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn queue_capacity(mut self, n: usize) -> Builder {
        self.queue_capacity = Some(n);
        self
    }

    /// The pool's name (default `"boundpool"`): in [`ThreadPool::name`], [`dump`](ThreadPool::dump),
    /// the watchdog's [`SlowJob`](crate::SlowJob) reports, the tracing span of each job and, with
    /// the `metrics` feature, the label `pool` of every metric. Worker threads are named
    /// `"{name}-{index}"` unless [`thread_name`](Self::thread_name) sets another prefix. A name
    /// containing a NUL byte is a [`BuildError`].
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().name("thumbs").workers(1).build()?;
    /// assert_eq!(pool.name(), "thumbs");
    /// let thread = pool.spawn(|| std::thread::current().name().map(str::to_owned)).unwrap();
    /// assert_eq!(thread.join().unwrap().as_deref(), Some("thumbs-0"));
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = name.into();
        self
    }

    /// The prefix of worker thread names: threads are named `"{prefix}-{index}"`, index from 0
    /// (default: the pool's [`name`](Self::name)). Linux shows at most 15 bytes of a thread's
    /// name, so keep prefixes short. A prefix containing a NUL byte is a [`BuildError`].
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().workers(1).thread_name("resize").build()?;
    /// let name = pool.spawn(|| std::thread::current().name().map(str::to_owned)).unwrap().join().unwrap();
    /// assert_eq!(name.as_deref(), Some("resize-0"));
    ///
    /// let err = boundpool::ThreadPool::builder().thread_name("bad\0name").build().unwrap_err();
    /// assert!(err.to_string().contains("thread_name"));
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = Some(prefix.into());
        self
    }

    /// The stack size of each worker thread, in bytes (default: the platform's default for
    /// spawned threads, 2 MiB on Linux). A size the operating system refuses makes
    /// [`build`](Self::build) fail with a spawn failure.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().workers(1).stack_size(512 * 1024).build()?;
    /// assert_eq!(pool.spawn(|| 1 + 1).unwrap().join().unwrap(), 2);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Called on the worker with the payload of every panic of a job that has no handle to
    /// receive it (one submitted with [`execute`](ThreadPool::execute)). Every such panic is
    /// also counted in [`Stats::panicked`](crate::Stats::panicked). A panic inside the handler
    /// is caught and dropped.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    /// use std::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let tx = std::sync::Mutex::new(tx);
    /// let pool = ThreadPool::builder()
    ///     .workers(1)
    ///     .panic_handler(move |payload| {
    ///         let msg = payload.downcast_ref::<&str>().copied().unwrap_or("?");
    ///         let _ = tx.lock().unwrap().send(msg.to_owned());
    ///     })
    ///     .build()?;
    /// pool.execute(|| panic!("disk full")).unwrap();
    /// assert_eq!(rx.recv().unwrap(), "disk full");
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn panic_handler(mut self, handler: impl Fn(Box<dyn Any + Send>) + Send + Sync + 'static) -> Builder {
        self.hooks.panic = Some(Box::new(handler));
        self
    }

    /// Called on each worker thread, with its index, when it starts and before it takes any
    /// job: to register the thread with a profiler, set its priority or affinity, or fill
    /// thread-locals. A panic in it is caught and handled like a handle-less job's panic.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let seen = started.clone();
    /// let pool = boundpool::ThreadPool::builder()
    ///     .workers(3)
    ///     .on_thread_start(move |_index| {
    ///         seen.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// pool.shutdown();
    /// assert_eq!(started.load(Ordering::SeqCst), 3);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn on_thread_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Builder {
        self.hooks.thread_start = Some(Box::new(hook));
        self
    }

    /// Called on each worker thread, with its index, as it exits during shutdown (after its
    /// last job). A panic in it is caught and handled like a handle-less job's panic.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let stopped = Arc::new(AtomicUsize::new(0));
    /// let seen = stopped.clone();
    /// let pool = boundpool::ThreadPool::builder()
    ///     .workers(2)
    ///     .on_thread_stop(move |_index| {
    ///         seen.fetch_add(1, Ordering::SeqCst);
    ///     })
    ///     .build()?;
    /// pool.shutdown(); // returns after every hook ran: the threads are joined
    /// assert_eq!(stopped.load(Ordering::SeqCst), 2);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn on_thread_stop(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Builder {
        self.hooks.thread_stop = Some(Box::new(hook));
        self
    }

    /// Records each queued job's queue wait (from submission to start) and run time into
    /// per-worker histograms, read as [`Stats::queue_wait`](crate::Stats::queue_wait) and
    /// [`Stats::run_time`](crate::Stats::run_time) (default: off).
    ///
    /// Recording costs three clock reads per job and about 16 KiB per worker, and takes no
    /// lock: each worker writes its own histograms and `stats()` merges them. Measured on a
    /// 2-core machine (`cargo bench --bench pool`) it makes a stream of empty jobs about 45 %
    /// slower and of 1 µs jobs about 13 %, which is why it is off by default; on jobs of tens
    /// of microseconds and more it is noise, so turn it on for real workloads and capacity
    /// planning. Both are recorded before the job's handle resolves. Jobs run inline
    /// (caller-runs, a worker joining an unstarted job, `shutdown_now` hand-backs) have a run
    /// time but no queue wait.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::builder().workers(2).record_latency(true).build()?;
    /// pool.spawn(|| ()).unwrap().join().unwrap();
    /// let stats = pool.stats();
    /// assert_eq!((stats.queue_wait.count(), stats.run_time.count()), (1, 1));
    /// println!("p99 queue wait: {:?}", stats.queue_wait.percentile(99.0));
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn record_latency(mut self, yes: bool) -> Builder {
        self.record_latency = yes;
        self
    }

    /// A watchdog: `hook` is called once for each job still running `threshold` after it
    /// started, while it still runs, within about `threshold / 2` of crossing it. A job that
    /// never ends is reported; a job that ends sooner is never.
    ///
    /// The watchdog costs the job path nothing: workers publish a sequence number as each job
    /// starts and ends, and the check looks at it every `threshold / 2`; a job seen with the
    /// same number for `threshold` is slow, and [`SlowJob::running_for`](crate::SlowJob) is
    /// the time it has been seen running (at least `threshold`). The checks of every pool run
    /// on the process's one maintenance thread (shared with [`ObjectPool`](crate::ObjectPool)'s
    /// upkeep), which runs only while some live pool needs it. The hook runs on that thread:
    /// keep it short (log, count, alert). A panic in it is caught and dropped. Only jobs taken
    /// from the queue by a worker are watched, not jobs run inline by a caller.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let tx = std::sync::Mutex::new(tx);
    /// let pool = boundpool::ThreadPool::builder()
    ///     .name("render")
    ///     .workers(1)
    ///     .slow_job(Duration::from_millis(20), move |slow| {
    ///         let _ = tx.lock().unwrap().send(slow.to_string());
    ///     })
    ///     .build()?;
    /// pool.job().name("frame 7").execute(|| std::thread::sleep(Duration::from_millis(200))).unwrap();
    /// let report = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    /// assert!(report.contains("frame 7"), "{report}");
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn slow_job(
        mut self,
        threshold: Duration,
        hook: impl Fn(&SlowJob) + Send + Sync + 'static,
    ) -> Builder {
        self.slow_job = Some(SlowJobHook { threshold, hook: Box::new(hook) });
        self
    }

    /// Starts the worker threads and returns the pool.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] when `workers` or `queue_capacity` is zero, when `workers` is above
    /// [`MAX_WORKERS`](Self::MAX_WORKERS) (or the capacity is beyond what the pool can count),
    /// when the `name` or the `thread_name` prefix holds a NUL byte, or when the operating
    /// system refuses to start a worker thread; then [`source()`](std::error::Error::source) is the `io::Error`, and the threads
    /// already started have been joined before `build` returns.
    ///
    /// ```
    /// let err = boundpool::ThreadPool::builder().workers(2).queue_capacity(0).build().unwrap_err();
    /// assert!(err.to_string().contains("queue_capacity"));
    /// ```
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        if self.name.contains('\0') {
            return Err(BuildError::invalid(
                "name contains a NUL byte, which a thread name cannot hold: remove it from the name",
            ));
        }
        if self.thread_name.as_deref().is_some_and(|prefix| prefix.contains('\0')) {
            return Err(BuildError::invalid(
                "thread_name contains a NUL byte, which a thread name cannot hold: remove it from the prefix",
            ));
        }
        let workers = match self.workers {
            Some(0) => return Err(BuildError::zero_workers()),
            Some(n) if n > Self::MAX_WORKERS => {
                return Err(BuildError::invalid(
                    "workers is too large: use at most 8192 (Builder::MAX_WORKERS)",
                ))
            }
            Some(n) => n,
            None => num_cpus::get().clamp(1, Self::MAX_WORKERS),
        };
        let capacity = match self.queue_capacity {
            Some(0) => return Err(BuildError::zero_queue_capacity()),
            Some(n) if n > JobQueue::<()>::MAX_CAPACITY => {
                return Err(BuildError::invalid("queue_capacity is too large: use at most usize::MAX / 4"))
            }
            Some(n) => n,
            None => workers.saturating_mul(DEFAULT_QUEUE_PER_WORKER).min(JobQueue::<()>::MAX_CAPACITY),
        };
        let (queue, parkers) = JobQueue::new(capacity, workers);
        let shared = Arc::new(Shared {
            spares: Spares::new(queue.capacity()),
            queue,
            counters: Counters::new(workers, self.record_latency),
            workers,
            life: Lifecycle::default(),
            hooks: self.hooks,
            record_latency: self.record_latency,
            activity: Activity::new(workers),
            slow_job: self.slow_job,
            thread_prefix: self.thread_name.unwrap_or_else(|| self.name.clone()),
            name: self.name,
        });
        for (index, parker) in parkers.into_iter().enumerate() {
            let mut builder = thread::Builder::new().name(format!("{}-{index}", shared.thread_prefix));
            if let Some(bytes) = self.stack_size {
                builder = builder.stack_size(bytes);
            }
            let worker_shared = Arc::clone(&shared);
            shared.life.starting();
            // Counted from before the thread starts, so `build` returns with every worker
            // counted; a thread that fails to start drops its closure and uncounts itself.
            let live = Live::enter();
            match builder.spawn(move || worker::run(worker_shared, index, parker, live)) {
                Ok(handle) => shared.life.started(handle),
                Err(source) => {
                    shared.life.start_failed();
                    shared.queue.close();
                    // Nothing was submitted, so the started workers exit at once.
                    let _ = shared.finish(Deadline::Never);
                    return Err(BuildError::spawn(index, source));
                }
            }
        }
        let watch = shared.slow_job.is_some().then(|| watchdog::register(&shared));
        Ok(ThreadPool {
            #[cfg(feature = "metrics")]
            metrics: super::metrics::Published::start(&shared),
            shared,
            _watch: watch,
        })
    }
}
