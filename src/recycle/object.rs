//! `ObjectPool`: at most `max_live` objects, blocked callers served first come, first served.
//!
//! The pool's parts live in their own files: `waiters.rs` (the state under the lock and the
//! hand-off to waiters), `checkout.rs` (expiry, validation and creation with retries),
//! `pooled.rs` (the return path), `object_builder.rs` (settings), `upkeep.rs` (what the shared
//! maintenance thread does for a pool) and `object_stats.rs` (counters).

use super::object_stats::{Counters, ObjectStats};
use super::pooled::Pooled;
use super::waiters::State;
use crate::deadline::{wait_while, Deadline};
use crate::error::GetError;
use crate::maintenance::Registration;
use crate::sync::{Arc, Condvar, Mutex};
use crate::waitlist::{Left, Wake};
use std::fmt;
use std::time::{Duration, Instant};

pub(crate) type CreateFn<T, E> = Box<dyn Fn() -> Result<T, E> + Send + Sync>;
pub(crate) type CheckFn<T> = Box<dyn Fn(&mut T) -> bool + Send + Sync>;
pub(crate) type ResetFn<T> = Box<dyn Fn(&mut T) + Send + Sync>;

/// How long a `get` without a deadline of its own (`get` on a pool without
/// [`wait_timeout`](crate::ObjectPoolBuilder::wait_timeout)) keeps retrying a `create` that
/// fails, counted from the call: 30 seconds, as r2d2 and bb8 wait by default. After it, the
/// last error is returned.
///
/// ```
/// use boundpool::{GetError, ObjectPool, DEFAULT_CREATE_RETRY};
/// use std::time::Duration;
///
/// assert_eq!(DEFAULT_CREATE_RETRY, Duration::from_secs(30));
/// // A wrong password would be retried for 30 s; a pool's wait_timeout shortens that.
/// let pool = ObjectPool::builder(|| Err::<u8, _>("password authentication failed"))
///     .wait_timeout(Duration::from_millis(20))
///     .build()?;
/// assert!(matches!(pool.get(), Err(GetError::Create("password authentication failed"))));
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub const DEFAULT_CREATE_RETRY: Duration = Duration::from_secs(30);

/// A bounded pool of reusable objects: connections, parsers, encoders, anything costly to make.
///
/// At most [`max_live`](crate::ObjectPoolBuilder::max_live) objects exist at once, idle and
/// checked out together (default 16). When all are checked out, [`get`](Self::get) blocks until
/// one comes back, [`try_get`](Self::try_get) returns [`GetError::Exhausted`] and
/// [`get_timeout`](Self::get_timeout) waits at most its timeout, and
/// [`get_async`](Self::get_async) waits without blocking its thread. Waiting callers, blocked
/// threads and async tasks alike, are served in arrival order: what comes back is handed to the
/// one that has waited longest, so none starves. An object returned while nobody waits goes to
/// the idle list and wakes nobody.
///
/// Objects are made by the `create` function given to [`builder`](Self::builder), lazily, when a
/// `get` finds no idle object (or ahead of time, see
/// [`min_idle`](crate::ObjectPoolBuilder::min_idle)); `E` is its error type (`Infallible` by
/// default).
///
/// # Creation that fails
///
/// A `get` that must create and sees `create` fail keeps its live slot and tries again with
/// exponential backoff (5 ms doubling up to 250 ms) until its deadline, then returns
/// [`GetError::Create`] with the last error. Its deadline is its own timeout (`get_timeout`),
/// else the pool's [`wait_timeout`](crate::ObjectPoolBuilder::wait_timeout), else
/// [`DEFAULT_CREATE_RETRY`] after the call. Because each attempt holds a live slot, at most one
/// creation per free slot is in flight; and while `create` keeps failing, one caller at a time
/// retries on its backoff while the other slot holders wait for its outcome, so an outage costs
/// about one attempt per backoff step, however many callers wait. The first success wakes them
/// all to create at once. An object that comes back meanwhile is taken instead.
/// [`try_get`](Self::try_get) tries once.
///
/// # Checks, expiry and the maintenance thread
///
/// A returned object is passed to [`is_broken`](crate::ObjectPoolBuilder::is_broken) (true drops
/// it), then [`reset`](crate::ObjectPoolBuilder::reset), then kept idle, up to
/// [`max_idle`](crate::ObjectPoolBuilder::max_idle). An idle object is passed to
/// [`validate`](crate::ObjectPoolBuilder::validate) before it is handed out (only if idle at
/// least [`validate_after`](crate::ObjectPoolBuilder::validate_after)), and replaced if that says
/// no. An object older than [`max_lifetime`](crate::ObjectPoolBuilder::max_lifetime) or idle
/// longer than [`idle_timeout`](crate::ObjectPoolBuilder::idle_timeout) is never handed out.
/// Dropping expired idle objects and keeping [`min_idle`](crate::ObjectPoolBuilder::min_idle)
/// objects ready is done by one maintenance thread shared by every pool in the process, which
/// runs only while some live pool has one of those settings.
///
/// A panic inside `create`, `reset`, `validate` or `is_broken` reaches the caller of `get` or
/// the code that dropped the [`Pooled`], and the object concerned is dropped; the pool itself
/// stays fully usable and frees the object's live slot. The callbacks never run under the
/// pool's lock.
///
/// A `get` on a pool whose every object is checked out by the calling thread blocks forever
/// (unless the pool has a `wait_timeout`); use `try_get` or `get_timeout` where that can happen.
///
/// ```
/// use boundpool::{GetError, ObjectPool};
///
/// let pool = ObjectPool::builder(|| Ok::<_, std::convert::Infallible>(Vec::<u8>::with_capacity(1024)))
///     .max_live(2)
///     .reset(|v| v.clear())
///     .build()?;
/// let mut a = pool.get()?;
/// a.extend_from_slice(b"work");
/// let b = pool.get()?;
/// assert!(matches!(pool.try_get(), Err(GetError::Exhausted)));
/// drop(a); // reset, then idle
/// assert!(pool.try_get()?.is_empty());
/// assert_eq!(pool.live(), 2);
/// # drop(b);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ObjectPool<T, E = std::convert::Infallible> {
    pub(crate) inner: Arc<Inner<T, E>>,
}

/// Settings fixed when the pool is built.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) max_live: usize,
    pub(crate) max_idle: usize,
    pub(crate) min_idle: usize,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) validate_after: Option<Duration>,
    pub(crate) wait_timeout: Option<Duration>,
}

impl Config {
    /// Whether checkout needs the clock: an expiry or a validation threshold is set.
    pub(crate) fn clock_on_checkout(&self) -> bool {
        self.max_lifetime.is_some() || self.idle_timeout.is_some() || self.validate_after.is_some()
    }

    /// Whether a returned object needs its return time: something judges idle time.
    pub(crate) fn clock_on_return(&self) -> bool {
        self.idle_timeout.is_some() || self.validate_after.is_some()
    }

    /// Whether the shared maintenance thread has work for this pool.
    pub(crate) fn needs_maintenance(&self) -> bool {
        self.max_lifetime.is_some() || self.idle_timeout.is_some() || self.min_idle > 0
    }
}

pub(crate) struct Inner<T, E> {
    pub(crate) state: Mutex<State<T>>,
    /// Notified when a probe of a failing `create` ends or a creation succeeds.
    pub(crate) probe_done: Condvar,
    pub(crate) create: CreateFn<T, E>,
    pub(crate) reset: Option<ResetFn<T>>,
    pub(crate) validate: Option<CheckFn<T>>,
    pub(crate) is_broken: Option<CheckFn<T>>,
    pub(crate) config: Config,
    pub(crate) counters: Counters,
    /// When the pool was built: the stamp given to objects when no setting needs the clock.
    pub(crate) epoch: Instant,
    /// Backoff of the maintenance thread's `min_idle` creations after a failure.
    pub(crate) upkeep_backoff: Mutex<Duration>,
    /// Keeps the pool on the maintenance thread's list while it exists.
    pub(crate) _registration: Option<Registration>,
    /// The checkouts that waited and their total wait, as last published.
    #[cfg(feature = "metrics")]
    pub(crate) published: Mutex<(u64, Duration)>,
}

impl<T, E> Inner<T, E> {
    /// The pool's figures now.
    pub(crate) fn stats(&self) -> ObjectStats {
        let mut stats = {
            let state = self.state.lock();
            ObjectStats {
                live: state.live,
                idle: state.idle.len(),
                waiting: state.waiters(),
                ..Default::default()
            }
        };
        self.counters.fill(&mut stats);
        stats
    }
}

/// How long a `get` may wait: not at all (`try_get`, and creation for `get_async`, which never
/// blocks its thread), or until a deadline.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    No,
    Within(Deadline),
}

impl<T: Send + 'static, E> ObjectPool<T, E> {
    /// A builder for a pool whose objects are made by `create`.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| "db".parse::<std::net::IpAddr>()).build()?;
    /// assert!(matches!(pool.try_get(), Err(boundpool::GetError::Create(_))));
    /// assert_eq!(pool.live(), 0); // the failed attempt holds no slot
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn builder(
        create: impl Fn() -> Result<T, E> + Send + Sync + 'static,
    ) -> crate::ObjectPoolBuilder<T, E> {
        crate::ObjectPoolBuilder::new(Box::new(create))
    }

    /// An object, blocking while `max_live` objects are checked out.
    ///
    /// Waits for an object as long as it takes, unless the pool has a
    /// [`wait_timeout`](crate::ObjectPoolBuilder::wait_timeout). A `create` that keeps failing
    /// is retried with backoff until that timeout, or [`DEFAULT_CREATE_RETRY`] (30 s) after the
    /// call when the pool has none.
    ///
    /// # Errors
    ///
    /// [`GetError::Create`] with the last error when `create` kept failing until the deadline;
    /// [`GetError::Timeout`] when the pool's `wait_timeout` passed in line. Neither holds a slot.
    ///
    /// # Panics
    ///
    /// Propagates a panic of `create` or `validate`; the pool is unaffected.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(String::new())).max_live(1).build()?;
    /// let first = pool.get()?;
    /// let waiter = std::thread::spawn({
    ///     let pool = pool.clone();
    ///     move || pool.get().map(|s| s.len())
    /// });
    /// drop(first); // handed straight to the waiting thread
    /// assert_eq!(waiter.join().unwrap()?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self) -> Result<Pooled<T, E>, GetError<E>> {
        let called = Instant::now();
        self.acquire(Wait::Within(Deadline::after_opt(called, self.inner.config.wait_timeout)), called)
    }

    /// An object if one can be had without waiting: an idle one, or a new one made with one
    /// call of `create`.
    ///
    /// # Errors
    ///
    /// [`GetError::Exhausted`] when `max_live` objects are checked out (or others are already
    /// waiting for one); [`GetError::Create`] when the one attempt to create fails.
    ///
    /// # Panics
    ///
    /// Propagates a panic of `create` or `validate`; the pool is unaffected.
    ///
    /// ```
    /// use boundpool::{GetError, ObjectPool};
    ///
    /// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(0u32)).max_live(1).build()?;
    /// let held = pool.try_get()?;
    /// assert!(matches!(pool.try_get(), Err(GetError::Exhausted)));
    /// # drop(held);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_get(&self) -> Result<Pooled<T, E>, GetError<E>> {
        self.acquire(Wait::No, self.inner.epoch)
    }

    /// An object, waiting at most `timeout` for one to come free or to be created.
    ///
    /// # Errors
    ///
    /// [`GetError::Timeout`] when none came free in time; [`GetError::Create`] with the last
    /// error when `create` kept failing until the timeout.
    ///
    /// # Panics
    ///
    /// Propagates a panic of `create` or `validate`; the pool is unaffected.
    ///
    /// ```
    /// use boundpool::{GetError, ObjectPool};
    /// use std::time::Duration;
    ///
    /// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(0u32)).max_live(1).build()?;
    /// let held = pool.get()?;
    /// assert!(matches!(pool.get_timeout(Duration::from_millis(10)), Err(GetError::Timeout)));
    /// drop(held);
    /// assert!(pool.get_timeout(Duration::from_millis(10)).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<Pooled<T, E>, GetError<E>> {
        let called = Instant::now();
        self.acquire(Wait::Within(Deadline::after_from(called, timeout)), called)
    }

    /// How many objects exist now: idle, checked out, or being created.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(1u8)).build()?;
    /// let one = pool.get()?;
    /// assert_eq!(pool.live(), 1);
    /// drop(one);
    /// assert_eq!((pool.live(), pool.idle()), (1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn live(&self) -> usize {
        self.inner.state.lock().live
    }

    /// How many objects are idle in the pool now.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(1u8)).build()?;
    /// drop(pool.get()?);
    /// assert_eq!(pool.idle(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn idle(&self) -> usize {
        self.inner.state.lock().idle.len()
    }

    /// How many callers wait in line now: blocked `get` or `get_timeout` calls and pending
    /// `get_async` futures.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(1u8)).build()?;
    /// assert_eq!(pool.waiters(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn waiters(&self) -> usize {
        self.inner.state.lock().waiters()
    }

    /// The pool's name, from [`ObjectPoolBuilder::name`](crate::ObjectPoolBuilder::name).
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(1u8)).name("orders-db").build()?;
    /// assert_eq!(pool.name(), "orders-db");
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// A snapshot of what exists now and what happened since the pool was built.
    ///
    /// ```
    /// use boundpool::ObjectPool;
    /// use std::time::Duration;
    ///
    /// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(1u8)).max_live(1).build()?;
    /// let held = pool.get()?;
    /// assert!(pool.get_timeout(Duration::from_millis(5)).is_err());
    /// drop(held);
    /// let stats = pool.stats();
    /// assert_eq!((stats.live, stats.idle, stats.checkouts, stats.timeouts), (1, 1, 1, 1));
    /// assert_eq!(stats.waited, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> ObjectStats {
        self.inner.stats()
    }

    /// Runs one round of the maintenance thread's work for this pool on the calling thread.
    /// For the loom models, which have no background thread.
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn maintain_now(&self) {
        self.inner.upkeep(Instant::now());
    }

    fn acquire(&self, wait: Wait, called: Instant) -> Result<Pooled<T, E>, GetError<E>> {
        let inner = &*self.inner;
        let grant = {
            let mut state = inner.state.lock();
            match state.grant_now(inner.config.max_live) {
                Some(grant) => grant,
                None => {
                    let Wait::Within(deadline) = wait else {
                        return Err(GetError::Exhausted);
                    };
                    let in_line = Instant::now();
                    let (wake, waiter) = Wake::thread();
                    let ticket = state.enqueue(wake);
                    let mut grant = None;
                    wait_while(&waiter.cv, &mut state, deadline, |state| {
                        grant = state.take_grant(ticket);
                        grant.is_none()
                    });
                    let grant = match grant {
                        Some(grant) => grant,
                        // Out of time: leave the list (nothing can have been granted since
                        // the last look, which was under this same lock).
                        None => match state.leave(ticket) {
                            Left::Granted(grant) => grant,
                            Left::Queued | Left::Gone => {
                                drop(state);
                                inner.counters.add_wait(in_line.elapsed());
                                inner.counters.timeouts.add(1);
                                return Err(GetError::Timeout);
                            }
                        },
                    };
                    drop(state);
                    inner.counters.add_wait(in_line.elapsed());
                    grant
                }
            }
        };
        let (obj, born) = inner.realize(grant, wait, called)?;
        Ok(Pooled::new(obj, born, Arc::clone(&self.inner)))
    }
}

impl<T, E> Clone for ObjectPool<T, E> {
    /// Another handle to the same pool.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(1u8)).max_live(1).build()?;
    /// let other = pool.clone();
    /// let held = pool.get()?;
    /// assert!(other.try_get().is_err());
    /// # drop(held);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn clone(&self) -> Self {
        ObjectPool { inner: Arc::clone(&self.inner) }
    }
}

impl<T, E> fmt::Debug for ObjectPool<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.lock();
        f.debug_struct("ObjectPool")
            .field("name", &self.inner.config.name)
            .field("max_live", &self.inner.config.max_live)
            .field("max_idle", &self.inner.config.max_idle)
            .field("live", &state.live)
            .field("idle", &state.idle.len())
            .field("waiters", &state.waiters())
            .finish()
    }
}
