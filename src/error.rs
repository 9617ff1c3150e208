//! Every public error type of boundpool.
//!
//! A refused submission hands its closure back, so nothing a caller submits is ever lost: call
//! `into_inner()` on the error to get it back and run it elsewhere, retry later or drop it.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io;

/// [`spawn`](crate::ThreadPool::spawn) or [`execute`](crate::ThreadPool::execute) was refused
/// because the pool is shut down. Holds the closure that was not run.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(1)?;
/// pool.shutdown();
/// let err = pool.execute(|| println!("never")).unwrap_err();
/// assert_eq!(err.to_string(), "the pool is shut down");
/// let job = err.into_inner(); // the closure, handed back
/// job();
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct SubmitError<F>(pub F);

impl<F> SubmitError<F> {
    /// Returns the closure that was not accepted.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// pool.shutdown();
    /// let job = pool.spawn(|| 40 + 2).unwrap_err().into_inner();
    /// assert_eq!(job(), 42); // run it here instead
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn into_inner(self) -> F {
        self.0
    }
}

impl<F> fmt::Debug for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubmitError(..)")
    }
}

impl<F> fmt::Display for SubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is shut down")
    }
}

impl<F> Error for SubmitError<F> {}

/// [`reserve`](crate::ThreadPool::reserve) found the pool shut down, or it shut down while the
/// call waited for room.
///
/// ```
/// let pool = boundpool::ThreadPool::new(1)?;
/// pool.shutdown();
/// let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// let err = rt.block_on(pool.reserve()).unwrap_err();
/// assert_eq!(err, boundpool::Closed);
/// assert_eq!(err.to_string(), "the pool is shut down");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is shut down")
    }
}

impl Error for Closed {}

/// [`try_spawn`](crate::ThreadPool::try_spawn) or
/// [`try_execute`](crate::ThreadPool::try_execute) was refused. Holds the closure that was not
/// run.
///
/// ```
/// use boundpool::{ThreadPool, TrySubmitError};
///
/// let pool = ThreadPool::new(1)?;
/// pool.shutdown();
/// match pool.try_execute(|| ()) {
///     Err(TrySubmitError::Shutdown(job)) => job(),
///     Err(TrySubmitError::Full(_)) => unreachable!("the queue is empty"),
///     Ok(()) => unreachable!("the pool is shut down"),
/// }
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub enum TrySubmitError<F> {
    /// The queue was at capacity; try again later, or run the closure yourself.
    Full(F),
    /// The pool is shut down.
    Shutdown(F),
}

impl<F> TrySubmitError<F> {
    /// Returns the closure that was not accepted.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// pool.shutdown();
    /// let job = pool.try_spawn(|| "ran here").unwrap_err().into_inner();
    /// assert_eq!(job(), "ran here");
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            TrySubmitError::Full(f) | TrySubmitError::Shutdown(f) => f,
        }
    }

    /// True when the queue was full.
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = boundpool::ThreadPool::builder().workers(1).queue_capacity(1).build()?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, wait) = mpsc::channel::<()>();
    /// pool.execute(move || { started_tx.send(()).unwrap(); let _ = wait.recv(); }).unwrap();
    /// started.recv().unwrap(); // the worker is busy
    /// pool.try_execute(|| ()).unwrap(); // fills the queue
    /// let err = pool.try_execute(|| ()).unwrap_err();
    /// assert!(err.is_full() && !err.is_shutdown());
    /// drop(release);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySubmitError::Full(_))
    }

    /// True when the pool was shut down.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// pool.shutdown();
    /// assert!(pool.try_execute(|| ()).unwrap_err().is_shutdown());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, TrySubmitError::Shutdown(_))
    }
}

impl<F> fmt::Debug for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("Full(..)"),
            TrySubmitError::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("the pool's queue is full"),
            TrySubmitError::Shutdown(_) => f.write_str("the pool is shut down"),
        }
    }
}

impl<F> Error for TrySubmitError<F> {}

/// [`spawn_timeout`](crate::ThreadPool::spawn_timeout) was refused. Holds the closure that was
/// not run.
///
/// ```
/// use boundpool::{SubmitTimeoutError, ThreadPool};
/// use std::time::Duration;
///
/// let pool = ThreadPool::new(1)?;
/// pool.shutdown();
/// let err = pool.spawn_timeout(|| 1, Duration::from_millis(10)).unwrap_err();
/// assert!(matches!(err, SubmitTimeoutError::Shutdown(_)));
/// assert_eq!(err.into_inner()(), 1);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub enum SubmitTimeoutError<F> {
    /// The queue stayed full for the whole timeout.
    Timeout(F),
    /// The pool is shut down.
    Shutdown(F),
}

impl<F> SubmitTimeoutError<F> {
    /// Returns the closure that was not accepted.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// pool.shutdown();
    /// let job = pool.spawn_timeout(|| 7, Duration::from_millis(5)).unwrap_err().into_inner();
    /// assert_eq!(job(), 7);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            SubmitTimeoutError::Timeout(f) | SubmitTimeoutError::Shutdown(f) => f,
        }
    }

    /// True when the timeout passed with the queue still full.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ThreadPool::builder().workers(1).queue_capacity(1).build()?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, wait) = mpsc::channel::<()>();
    /// pool.execute(move || { started_tx.send(()).unwrap(); let _ = wait.recv(); }).unwrap();
    /// started.recv().unwrap(); // the worker is busy
    /// pool.execute(|| ()).unwrap(); // fills the queue
    /// let err = pool.spawn_timeout(|| (), Duration::from_millis(10)).unwrap_err();
    /// assert!(err.is_timeout() && !err.is_shutdown());
    /// drop(release);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SubmitTimeoutError::Timeout(_))
    }

    /// True when the pool was shut down.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// pool.shutdown();
    /// assert!(pool.spawn_timeout(|| (), Duration::from_secs(1)).unwrap_err().is_shutdown());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, SubmitTimeoutError::Shutdown(_))
    }
}

impl<F> fmt::Debug for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SubmitTimeoutError::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => f.write_str("timed out waiting for room in the pool's queue"),
            SubmitTimeoutError::Shutdown(_) => f.write_str("the pool is shut down"),
        }
    }
}

impl<F> Error for SubmitTimeoutError<F> {}

/// A pool could not be built: a setting was out of range or a worker thread could not start.
///
/// When a worker thread fails to start, the threads already started are joined before the
/// error is returned, and [`source()`](Error::source) gives the operating system's error.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let err = ThreadPool::new(0).unwrap_err();
/// assert_eq!(err.to_string(), "a pool needs at least one worker: set workers to 1 or more");
/// ```
pub struct BuildError {
    kind: BuildErrorKind,
}

enum BuildErrorKind {
    ZeroWorkers,
    ZeroQueueCapacity,
    Spawn { index: usize, source: io::Error },
    Invalid(&'static str),
}

impl BuildError {
    pub(crate) fn zero_workers() -> Self {
        BuildError { kind: BuildErrorKind::ZeroWorkers }
    }

    pub(crate) fn zero_queue_capacity() -> Self {
        BuildError { kind: BuildErrorKind::ZeroQueueCapacity }
    }

    pub(crate) fn spawn(index: usize, source: io::Error) -> Self {
        BuildError { kind: BuildErrorKind::Spawn { index, source } }
    }

    /// A setting out of range; `what` is the whole message, saying what to change.
    pub(crate) fn invalid(what: &'static str) -> Self {
        BuildError { kind: BuildErrorKind::Invalid(what) }
    }

    /// True when a worker thread could not be started (the operating system refused it).
    ///
    /// ```
    /// // A stack far larger than the address space: the operating system refuses the thread.
    /// let err = boundpool::ThreadPool::builder().workers(1).stack_size(1 << 46).build().unwrap_err();
    /// assert!(err.is_spawn_failure());
    /// assert!(std::error::Error::source(&err).is_some()); // the io::Error
    /// assert!(!boundpool::ThreadPool::new(0).unwrap_err().is_spawn_failure());
    /// ```
    pub fn is_spawn_failure(&self) -> bool {
        matches!(self.kind, BuildErrorKind::Spawn { .. })
    }
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildError").field("message", &self.to_string()).finish()
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::ZeroWorkers => {
                f.write_str("a pool needs at least one worker: set workers to 1 or more")
            }
            BuildErrorKind::ZeroQueueCapacity => {
                f.write_str("the job queue needs room for at least one job: set queue_capacity to 1 or more")
            }
            BuildErrorKind::Spawn { index, .. } => {
                write!(f, "could not start worker thread {index}")
            }
            BuildErrorKind::Invalid(what) => f.write_str(what),
        }
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Spawn { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a job produced no value: it panicked, or it was cancelled before it started.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(1)?;
/// let err = pool.spawn(|| -> u32 { panic!("boom") }).unwrap().join().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.to_string(), "the job panicked: boom");
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct JobError {
    kind: JobErrorKind,
}

enum JobErrorKind {
    Panic(Box<dyn Any + Send>),
    Cancelled,
}

impl JobError {
    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> Self {
        JobError { kind: JobErrorKind::Panic(payload) }
    }

    pub(crate) fn cancelled() -> Self {
        JobError { kind: JobErrorKind::Cancelled }
    }

    /// True when the job panicked; [`into_panic`](Self::into_panic) gives the payload.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// let err = pool.spawn(|| -> u8 { panic!("bad row") }).unwrap().join().unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, JobErrorKind::Panic(_))
    }

    /// True when the job never ran: cancelled by its handle or a token, or handed back by
    /// [`shutdown_now`](crate::ThreadPool::shutdown_now) and dropped unrun.
    ///
    /// ```
    /// use boundpool::{CancelToken, ThreadPool};
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let token = CancelToken::new();
    /// token.cancel(); // before the job starts: it never runs
    /// let err = pool.spawn_with(&token, |_| 1).unwrap().join().unwrap_err();
    /// assert!(err.is_cancelled() && !err.is_panic());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, JobErrorKind::Cancelled)
    }

    /// The panic payload, for example to re-raise it with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the job was cancelled rather than panicked; check
    /// [`is_panic`](Self::is_panic) first.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// let err = pool.spawn(|| -> () { std::panic::panic_any(42u32) }).unwrap().join().unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    /// // or re-raise it here: std::panic::resume_unwind(payload)
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        match self.kind {
            JobErrorKind::Panic(payload) => payload,
            JobErrorKind::Cancelled => panic!("JobError::into_panic called on a cancelled job"),
        }
    }

    /// The panic payload, or `Err(self)` when the job was cancelled.
    ///
    /// ```
    /// use boundpool::{CancelToken, ThreadPool};
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let token = CancelToken::new();
    /// token.cancel();
    /// let err = pool.spawn_with(&token, |_| ()).unwrap().join().unwrap_err();
    /// let err = err.try_into_panic().unwrap_err(); // not a panic: the error comes back
    /// assert!(err.is_cancelled());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JobError> {
        match self.kind {
            JobErrorKind::Panic(payload) => Ok(payload),
            JobErrorKind::Cancelled => Err(self),
        }
    }

    /// The panic message when the payload is a string, as `panic!` with a message makes it.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// let err = pool.spawn(|| -> () { panic!("row {} is bad", 7) }).unwrap().join().unwrap_err();
    /// assert_eq!(err.panic_message(), Some("row 7 is bad"));
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            JobErrorKind::Panic(payload) => panic_message(payload.as_ref()),
            JobErrorKind::Cancelled => None,
        }
    }
}

/// The message of a panic payload made by `panic!("...")`, if it is a string.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JobErrorKind::Panic(_) => {
                f.debug_tuple("Panic").field(&self.panic_message().unwrap_or("..")).finish()
            }
            JobErrorKind::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, self.panic_message()) {
            (JobErrorKind::Panic(_), Some(msg)) => write!(f, "the job panicked: {msg}"),
            (JobErrorKind::Panic(_), None) => f.write_str("the job panicked"),
            (JobErrorKind::Cancelled, _) => f.write_str("the job was cancelled before it started"),
        }
    }
}

impl Error for JobError {}

/// [`shutdown_timeout`](crate::ThreadPool::shutdown_timeout) gave up before every worker had
/// finished. No thread was killed: the busy ones finish their jobs and are joined by a later
/// `shutdown` or by dropping the pool.
///
/// ```
/// use boundpool::ThreadPool;
/// use std::time::Duration;
///
/// let pool = ThreadPool::new(1)?;
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// pool.execute(move || { let _ = rx.recv(); }).unwrap();
/// let err = pool.shutdown_timeout(Duration::from_millis(20)).unwrap_err();
/// assert_eq!(err.busy_workers(), 1);
/// drop(tx); // let the job finish; dropping the pool joins the worker
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct ShutdownTimeout {
    busy: usize,
}

impl ShutdownTimeout {
    pub(crate) fn new(busy: usize) -> Self {
        ShutdownTimeout { busy }
    }

    /// How many worker threads were still running when the timeout passed.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// let (release, wait) = std::sync::mpsc::channel::<()>();
    /// pool.execute(move || { let _ = wait.recv(); }).unwrap();
    /// let err = pool.shutdown_timeout(Duration::from_millis(20)).unwrap_err();
    /// assert_eq!(err.busy_workers(), 1);
    /// drop(release);
    /// pool.shutdown(); // joins the worker once its job ended
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn busy_workers(&self) -> usize {
        self.busy
    }
}

impl fmt::Display for ShutdownTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shutdown timed out with {} worker(s) still busy", self.busy)
    }
}

impl Error for ShutdownTimeout {}

/// Why [`ObjectPool::get`](crate::ObjectPool::get) and its variants returned no object.
///
/// ```
/// use boundpool::{GetError, ObjectPool};
///
/// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(String::new())).max_live(1).build()?;
/// let first = pool.try_get()?;
/// assert!(matches!(pool.try_get(), Err(GetError::Exhausted)));
/// drop(first);
/// assert!(pool.try_get().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum GetError<E> {
    /// `max_live` objects exist and none is idle (from `try_get`).
    Exhausted,
    /// No object came free within the timeout (from `get_timeout`).
    Timeout,
    /// The create function failed; the failed attempt holds no live slot.
    Create(E),
}

impl<E: fmt::Debug> fmt::Debug for GetError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Exhausted => f.write_str("Exhausted"),
            GetError::Timeout => f.write_str("Timeout"),
            GetError::Create(e) => f.debug_tuple("Create").field(e).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for GetError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Exhausted => f.write_str("every object of the pool is checked out"),
            GetError::Timeout => f.write_str("timed out waiting for an object of the pool"),
            GetError::Create(e) => write!(f, "could not create a pooled object: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for GetError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            GetError::Create(e) => Some(e),
            _ => None,
        }
    }
}
