//! `ObjectPoolBuilder`: the settings of an [`ObjectPool`] and their checks.

use super::object::{CheckFn, Config, CreateFn, Inner, ObjectPool, ResetFn};
use super::object_stats::Counters;
use super::waiters::State;
use crate::error::BuildError;
use crate::maintenance;
use crate::sync::{Arc, Condvar, Mutex, Weak};
use std::fmt;
use std::time::{Duration, Instant};

/// Default bound on objects alive at once.
const DEFAULT_MAX_LIVE: usize = 16;

/// Default name of an object pool.
const DEFAULT_NAME: &str = "boundpool-objects";

/// Settings for an [`ObjectPool`]; start from [`ObjectPool::builder`].
///
/// ```
/// use boundpool::ObjectPool;
/// use std::time::Duration;
///
/// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(String::with_capacity(256)))
///     .name("scratch")
///     .max_live(8)
///     .max_idle(4)
///     .reset(|s| s.clear())
///     .validate(|s| s.capacity() >= 256)
///     .idle_timeout(Duration::from_secs(60))
///     .build()?;
/// assert_eq!(pool.live(), 0); // objects are made on demand
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct ObjectPoolBuilder<T, E = std::convert::Infallible> {
    create: CreateFn<T, E>,
    reset: Option<ResetFn<T>>,
    validate: Option<CheckFn<T>>,
    is_broken: Option<CheckFn<T>>,
    name: Option<String>,
    max_live: usize,
    max_idle: Option<usize>,
    min_idle: usize,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    validate_after: Option<Duration>,
    wait_timeout: Option<Duration>,
}

impl<T, E> ObjectPoolBuilder<T, E> {
    pub(crate) fn new(create: CreateFn<T, E>) -> Self {
        ObjectPoolBuilder {
            create,
            reset: None,
            validate: None,
            is_broken: None,
            name: None,
            max_live: DEFAULT_MAX_LIVE,
            max_idle: None,
            min_idle: 0,
            max_lifetime: None,
            idle_timeout: None,
            validate_after: None,
            wait_timeout: None,
        }
    }

    /// The pool's name (default `"boundpool-objects"`), shown by `Debug` and
    /// [`ObjectPool::name`], for telling pools apart in logs and metrics.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(())).name("replica").build()?;
    /// assert!(format!("{pool:?}").contains("replica"));
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Bound on objects alive at once, idle and checked out together (default 16). Must be at
    /// least 1.
    ///
    /// ```
    /// let err = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(())).max_live(0).build().unwrap_err();
    /// assert!(err.to_string().contains("set max_live to 1 or more"));
    /// ```
    pub fn max_live(mut self, n: usize) -> Self {
        self.max_live = n;
        self
    }

    /// Bound on idle objects kept (default: the same as `max_live`); a returned object beyond
    /// it is dropped. 0 keeps none. Must not exceed `max_live`.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(())).max_idle(0).build()?;
    /// drop(pool.get()?);
    /// assert_eq!((pool.idle(), pool.live()), (0, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_idle(mut self, n: usize) -> Self {
        self.max_idle = Some(n);
        self
    }

    /// Objects kept ready (default 0): the shared maintenance thread creates objects while
    /// fewer than `n` are idle, nobody waits and `max_live` allows, retrying a failing `create`
    /// with backoff (up to 1 s between attempts). Must not exceed `max_idle`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(0u8)).min_idle(2).build()?;
    /// let deadline = Instant::now() + Duration::from_secs(10);
    /// while pool.idle() < 2 && Instant::now() < deadline {
    ///     std::thread::sleep(Duration::from_millis(1));
    /// }
    /// assert_eq!(pool.idle(), 2);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn min_idle(mut self, n: usize) -> Self {
        self.min_idle = n;
        self
    }

    /// An object older than `d` (since `create` made it) is never handed out: it is dropped
    /// when it comes back, when a `get` finds it idle, or by the maintenance thread while it is
    /// idle. Must not be zero. Default: objects live for ever.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(0u8))
    ///     .max_lifetime(Duration::from_millis(1))
    ///     .build()?;
    /// let conn = pool.get()?;
    /// std::thread::sleep(Duration::from_millis(2));
    /// drop(conn); // too old: dropped, not kept
    /// assert_eq!((pool.idle(), pool.stats().dropped_expired), (0, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_lifetime(mut self, d: Duration) -> Self {
        self.max_lifetime = Some(d);
        self
    }

    /// An object idle longer than `d` is dropped (by the maintenance thread, or by the `get`
    /// that finds it). Must not be zero. Default: idle objects are kept for ever.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(0u8))
    ///     .idle_timeout(Duration::from_millis(1))
    ///     .build()?;
    /// drop(pool.get()?);
    /// std::thread::sleep(Duration::from_millis(2));
    /// drop(pool.get()?); // the idle one had expired: a new one was made
    /// assert_eq!(pool.stats().created, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Runs on every returned object, on the thread that drops the [`Pooled`](crate::Pooled),
    /// before it is kept or handed on. If it panics, the object is dropped and its slot freed.
    /// An object dropped while its thread is already panicking is not reset but dropped.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(Vec::<u8>::new()))
    ///     .reset(|v| v.clear())
    ///     .build()?;
    /// pool.get()?.push(1);
    /// assert!(pool.get()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reset(mut self, f: impl Fn(&mut T) + Send + Sync + 'static) -> Self {
        self.reset = Some(Box::new(f));
        self
    }

    /// Runs on an idle object before it is handed out; `false` drops it and the `get` takes
    /// another idle object or makes a new one. It gets `&mut T`, so it can do a real check such
    /// as a ping. Fresh objects are not validated. See also
    /// [`validate_after`](Self::validate_after).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// let made = std::sync::Arc::new(AtomicU32::new(0));
    /// let counter = made.clone();
    /// let pool = boundpool::ObjectPool::builder(move || Ok::<_, std::io::Error>(counter.fetch_add(1, Ordering::Relaxed)))
    ///     .validate(|n| *n > 0) // object 0 is "broken"
    ///     .build()?;
    /// drop(pool.get()?); // makes object 0
    /// assert_eq!(*pool.get()?, 1); // 0 fails validation and is replaced
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate(mut self, f: impl Fn(&mut T) -> bool + Send + Sync + 'static) -> Self {
        self.validate = Some(Box::new(f));
        self
    }

    /// Runs `validate` only on objects idle at least `idle` (default: on every checkout). A
    /// ping on every checkout costs a round trip; an object used a moment ago rarely needs one.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(0u8))
    ///     .validate(|_| false) // would refuse every idle object...
    ///     .validate_after(Duration::from_secs(60)) // ...but none has been idle a minute
    ///     .build()?;
    /// drop(pool.get()?);
    /// drop(pool.get()?);
    /// assert_eq!(pool.stats().created, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate_after(mut self, idle: Duration) -> Self {
        self.validate_after = Some(idle);
        self
    }

    /// A cheap check on every returned object, before `reset`; `true` drops it and frees its
    /// slot (a connection whose socket is closed, say). Counted in
    /// [`ObjectStats::dropped_broken`](crate::ObjectStats::dropped_broken).
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(Vec::<u8>::new()))
    ///     .is_broken(|v| v.len() > 3)
    ///     .build()?;
    /// pool.get()?.extend_from_slice(b"poisoned");
    /// assert_eq!((pool.live(), pool.stats().dropped_broken), (0, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_broken(mut self, f: impl Fn(&mut T) -> bool + Send + Sync + 'static) -> Self {
        self.is_broken = Some(Box::new(f));
        self
    }

    /// How long [`get`](ObjectPool::get) waits by default (default: for ever): in line for an
    /// object, and retrying a `create` that fails. Without it, `get` waits in line for ever but
    /// retries a failing `create` for at most
    /// [`DEFAULT_CREATE_RETRY`](crate::DEFAULT_CREATE_RETRY) (30 s) after the call.
    ///
    /// ```
    /// use boundpool::{GetError, ObjectPool};
    /// use std::time::Duration;
    ///
    /// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(0u8))
    ///     .max_live(1)
    ///     .wait_timeout(Duration::from_millis(10))
    ///     .build()?;
    /// let held = pool.get()?;
    /// assert!(matches!(pool.get(), Err(GetError::Timeout)));
    /// # drop(held);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_timeout(mut self, d: Duration) -> Self {
        self.wait_timeout = Some(d);
        self
    }

    /// Builds the pool. No object is made yet (the maintenance thread starts making
    /// `min_idle` objects at once). A pool with `max_lifetime`, `idle_timeout` or `min_idle`
    /// joins the process's one maintenance thread, starting it if no other pool needs it now;
    /// the thread exits once no live pool needs it.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] saying what to change when `max_live` is 0, `max_idle` exceeds
    /// `max_live`, `min_idle` exceeds `max_idle`, or `max_lifetime` or `idle_timeout` is zero.
    ///
    /// ```
    /// let err = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(()))
    ///     .max_live(2)
    ///     .max_idle(3)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("max_idle"));
    /// ```
    pub fn build(self) -> Result<ObjectPool<T, E>, BuildError>
    where
        T: Send + 'static,
        E: 'static,
    {
        if self.max_live == 0 {
            return Err(BuildError::invalid(
                "max_live is 0, so the pool could never hand out an object: set max_live to 1 or more",
            ));
        }
        let max_idle = self.max_idle.unwrap_or(self.max_live);
        if max_idle > self.max_live {
            return Err(BuildError::invalid(
                "max_idle is above max_live, but idle objects count toward max_live: \
                 lower max_idle to max_live or less",
            ));
        }
        if self.min_idle > max_idle {
            return Err(BuildError::invalid(
                "min_idle is above max_idle, so objects made ready would be dropped: \
                 lower min_idle to max_idle or less",
            ));
        }
        if self.max_lifetime.is_some_and(|d| d.is_zero()) || self.idle_timeout.is_some_and(|d| d.is_zero()) {
            return Err(BuildError::invalid(
                "max_lifetime or idle_timeout is zero, so no object could ever be reused: \
                 set a positive duration or leave it unset",
            ));
        }
        let config = Config {
            name: self.name.unwrap_or_else(|| DEFAULT_NAME.to_owned()),
            max_live: self.max_live,
            max_idle,
            min_idle: self.min_idle,
            max_lifetime: self.max_lifetime,
            idle_timeout: self.idle_timeout,
            validate_after: self.validate_after,
            wait_timeout: self.wait_timeout,
        };
        let (create, reset, validate, is_broken) = (self.create, self.reset, self.validate, self.is_broken);
        let inner = Arc::new_cyclic(|me: &Weak<Inner<T, E>>| {
            // With the `metrics` feature, every pool is on the maintenance thread to publish.
            let registration = (config.needs_maintenance() || cfg!(feature = "metrics"))
                .then(|| maintenance::register(me.clone()));
            Inner {
                state: Mutex::new(State::new(max_idle)),
                probe_done: Condvar::new(),
                create,
                reset,
                validate,
                is_broken,
                config,
                counters: Counters::default(),
                epoch: Instant::now(),
                #[cfg(feature = "metrics")]
                published: Mutex::new((0, Duration::ZERO)),
                upkeep_backoff: Mutex::new(super::checkout::BACKOFF_FIRST),
                _registration: registration,
            }
        });
        Ok(ObjectPool { inner })
    }
}

impl<T, E> fmt::Debug for ObjectPoolBuilder<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectPoolBuilder")
            .field("name", &self.name)
            .field("max_live", &self.max_live)
            .field("max_idle", &self.max_idle)
            .field("min_idle", &self.min_idle)
            .field("max_lifetime", &self.max_lifetime)
            .field("idle_timeout", &self.idle_timeout)
            .field("validate_after", &self.validate_after)
            .field("wait_timeout", &self.wait_timeout)
            .field("reset", &self.reset.is_some())
            .field("validate", &self.validate.is_some())
            .field("is_broken", &self.is_broken.is_some())
            .finish_non_exhaustive()
    }
}
