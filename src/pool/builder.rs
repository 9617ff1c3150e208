//! `Builder`: the settings of a pool, checked, and the start of its worker threads.

use std::any::Any;
use std::fmt;

use super::queue::JobQueue;
use super::shutdown::{Lifecycle, Wait};
use super::stats::Counters;
use super::{worker, PanicHandler, Shared, ThreadPool};
use crate::error::BuildError;
use crate::sync::{thread, Arc};

/// Queue capacity per worker when none is set: deep enough that workers rarely wait for a
/// submitter, shallow enough that a burst cannot pile up unbounded memory or latency.
pub const DEFAULT_QUEUE_PER_WORKER: usize = 256;

/// The thread-name prefix when none is set: threads are named `boundpool-0`, `boundpool-1`, ...
pub const DEFAULT_THREAD_NAME: &str = "boundpool";

/// Settings for a [`ThreadPool`], from [`ThreadPool::builder`].
///
/// | setting | default |
/// |---|---|
/// | [`workers`](Self::workers) | the number of CPUs |
/// | [`queue_capacity`](Self::queue_capacity) | 256 × workers |
/// | [`thread_name`](Self::thread_name) | `"boundpool"` (threads `boundpool-0`, `boundpool-1`, ...) |
/// | [`stack_size`](Self::stack_size) | the platform's default for spawned threads |
/// | [`panic_handler`](Self::panic_handler) | none: panics of `execute`d jobs are only counted |
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
    thread_name: String,
    stack_size: Option<usize>,
    panic_handler: Option<PanicHandler>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            workers: None,
            queue_capacity: None,
            thread_name: DEFAULT_THREAD_NAME.to_owned(),
            stack_size: None,
            panic_handler: None,
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("thread_name", &self.thread_name)
            .field("stack_size", &self.stack_size)
            .field("panic_handler", &self.panic_handler.is_some())
            .finish()
    }
}

impl Builder {
    /// The number of worker threads (default: the number of CPUs). Zero is a [`BuildError`].
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// The most jobs that may wait in the queue, not yet started (default: 256 per worker).
    /// When it is full, [`spawn`](ThreadPool::spawn) blocks, [`try_spawn`](ThreadPool::try_spawn)
    /// refuses and [`spawn_timeout`](ThreadPool::spawn_timeout) waits up to its timeout. Memory
    /// is taken as jobs arrive, not up front. Zero is a [`BuildError`].
    pub fn queue_capacity(mut self, n: usize) -> Builder {
        self.queue_capacity = Some(n);
        self
    }

    /// The prefix of worker thread names: threads are named `"{prefix}-{index}"`, index from 0.
    /// Linux shows at most 15 bytes of a thread's name, so keep prefixes short.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// The stack size of each worker thread, in bytes.
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
        self.panic_handler = Some(Box::new(handler));
        self
    }

    /// Starts the worker threads and returns the pool.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] when `workers` or `queue_capacity` is zero (or the capacity is beyond
    /// what the pool can count), or when the operating system refuses to start a worker
    /// thread; then [`source()`](std::error::Error::source) is the `io::Error`, and the threads
    /// already started have been joined before `build` returns.
    ///
    /// ```
    /// let err = boundpool::ThreadPool::builder().workers(2).queue_capacity(0).build().unwrap_err();
    /// assert!(err.to_string().contains("queue_capacity"));
    /// ```
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        let workers = match self.workers {
            Some(0) => return Err(BuildError::zero_workers()),
            Some(n) => n,
            None => num_cpus::get().max(1),
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
            queue,
            counters: Counters::new(workers),
            workers,
            life: Lifecycle::default(),
            panic_handler: self.panic_handler,
            name: self.thread_name,
        });
        for (index, parker) in parkers.into_iter().enumerate() {
            let mut builder = thread::Builder::new().name(format!("{}-{index}", shared.name));
            if let Some(bytes) = self.stack_size {
                builder = builder.stack_size(bytes);
            }
            let worker_shared = Arc::clone(&shared);
            shared.life.starting();
            match builder.spawn(move || worker::run(worker_shared, index, parker)) {
                Ok(handle) => shared.life.started(handle),
                Err(source) => {
                    shared.life.start_failed();
                    shared.queue.close();
                    // Nothing was submitted, so the started workers exit at once.
                    let _ = shared.finish(Wait::Forever);
                    return Err(BuildError::spawn(index, source));
                }
            }
        }
        Ok(ThreadPool { shared })
    }
}
