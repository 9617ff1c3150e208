//! `ObjectPool`: at most `max_live` objects, blocked callers served first come, first served.

use super::waiters::{Grant, State};
use crate::error::{BuildError, GetError};
use crate::sync::{wait_until, Arc, Mutex};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

/// Default bound on objects alive at once.
const DEFAULT_MAX_LIVE: usize = 16;

type CreateFn<T, E> = Box<dyn Fn() -> Result<T, E> + Send + Sync>;
type ResetFn<T> = Box<dyn Fn(&mut T) + Send + Sync>;
type ValidateFn<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// A bounded pool of reusable objects: connections, parsers, encoders, anything costly to make.
///
/// At most [`max_live`](ObjectPoolBuilder::max_live) objects exist at once, idle and checked out
/// together (default 16). When all are checked out, [`get`](Self::get) blocks until one comes
/// back, [`try_get`](Self::try_get) returns [`GetError::Exhausted`] and
/// [`get_timeout`](Self::get_timeout) waits at most its timeout. Blocked callers are served in
/// arrival order: what comes back is handed to the one that has waited longest, so none starves.
///
/// Objects are made by the `create` function given to [`builder`](Self::builder), lazily, when a
/// `get` finds no idle object; `E` is its error type (`Infallible` by default). A returned
/// object is passed to [`reset`](ObjectPoolBuilder::reset) and then kept idle, up to
/// [`max_idle`](ObjectPoolBuilder::max_idle) of them (default: `max_live`); an idle object is
/// passed to [`validate`](ObjectPoolBuilder::validate) before it is handed out, and replaced if
/// that says no.
///
/// A panic inside `create`, `reset` or `validate` reaches the caller of `get` or the code that
/// dropped the [`Pooled`], and the object concerned is dropped; the pool itself stays fully
/// usable and frees the object's live slot. The callbacks never run under the pool's lock.
///
/// A `get` on a pool whose every object is checked out by the calling thread blocks forever;
/// use `try_get` or `get_timeout` where that can happen.
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
    inner: Arc<Inner<T, E>>,
}

struct Inner<T, E> {
    state: Mutex<State<T>>,
    create: CreateFn<T, E>,
    reset: Option<ResetFn<T>>,
    validate: Option<ValidateFn<T>>,
    max_live: usize,
    max_idle: usize,
}

/// How long a `get` may wait.
enum Wait {
    No,
    Forever,
    Until(Instant),
}

impl<T: Send + 'static, E> ObjectPool<T, E> {
    /// A builder for a pool whose objects are made by `create`.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| "db".parse::<std::net::IpAddr>()).build()?;
    /// assert!(matches!(pool.get(), Err(boundpool::GetError::Create(_))));
    /// assert_eq!(pool.live(), 0); // the failed attempt holds no slot
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn builder(create: impl Fn() -> Result<T, E> + Send + Sync + 'static) -> ObjectPoolBuilder<T, E> {
        ObjectPoolBuilder {
            create: Box::new(create),
            reset: None,
            validate: None,
            max_live: DEFAULT_MAX_LIVE,
            max_idle: None,
        }
    }

    /// An object, blocking while `max_live` objects are checked out.
    ///
    /// # Errors
    ///
    /// [`GetError::Create`] when `create` fails; that attempt holds no live slot.
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
        self.acquire(Wait::Forever)
    }

    /// An object if one can be had without waiting.
    ///
    /// # Errors
    ///
    /// [`GetError::Exhausted`] when `max_live` objects are checked out (or others are already
    /// waiting for one); [`GetError::Create`] when `create` fails.
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
        self.acquire(Wait::No)
    }

    /// An object, waiting at most `timeout` for one to come free.
    ///
    /// # Errors
    ///
    /// [`GetError::Timeout`] when none came free in time; [`GetError::Create`] when `create`
    /// fails.
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
        // A timeout too large to add to the clock is as good as none.
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.acquire(Wait::Until(deadline)),
            None => self.acquire(Wait::Forever),
        }
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

    /// How many `get` or `get_timeout` calls are blocked now.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(1u8)).build()?;
    /// assert_eq!(pool.waiters(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn waiters(&self) -> usize {
        self.inner.state.lock().waiters()
    }

    fn acquire(&self, wait: Wait) -> Result<Pooled<T, E>, GetError<E>> {
        let grant = {
            let mut state = self.inner.state.lock();
            match state.grant_now(self.inner.max_live) {
                Some(grant) => grant,
                None => {
                    if let Wait::No = wait {
                        return Err(GetError::Exhausted);
                    }
                    let (ticket, wake) = state.enqueue();
                    loop {
                        if let Some(grant) = state.take_grant(ticket) {
                            break grant;
                        }
                        match wait {
                            Wait::Until(deadline) => {
                                if wait_until(&wake, &mut state, deadline) {
                                    if let Some(grant) = state.take_grant(ticket) {
                                        break grant;
                                    }
                                    state.leave(ticket);
                                    return Err(GetError::Timeout);
                                }
                            }
                            _ => wake.wait(&mut state),
                        }
                    }
                }
            }
        };
        self.inner.realize(grant).map(|obj| Pooled { obj: Some(obj), inner: Arc::clone(&self.inner) })
    }
}

impl<T, E> Inner<T, E> {
    /// Turns a grant into a ready object. The caller holds one live slot from the moment it got
    /// the grant; on error or panic that slot is given back.
    fn realize(&self, mut grant: Grant<T>) -> Result<T, GetError<E>> {
        let mut slot = SlotGuard { inner: self, armed: true };
        loop {
            match grant {
                Grant::Object(obj) => {
                    if self.validate.as_ref().map_or(true, |validate| validate(&obj)) {
                        slot.armed = false;
                        return Ok(obj);
                    }
                    drop(obj);
                    // Replace the failed object with another idle one, or make a new one. While
                    // idle objects exist nobody waits, so its slot is simply given up.
                    let mut state = self.state.lock();
                    grant = match state.idle.pop() {
                        Some(next) => {
                            state.live -= 1;
                            Grant::Object(next)
                        }
                        None => Grant::Slot,
                    };
                }
                Grant::Slot => {
                    return match (self.create)() {
                        Ok(obj) => {
                            slot.armed = false;
                            Ok(obj)
                        }
                        // `slot` gives the live slot back as it drops.
                        Err(e) => Err(GetError::Create(e)),
                    };
                }
            }
        }
    }

    /// Takes back a checked-out object: to the longest waiter, to the idle list, or dropped.
    fn put_back(&self, obj: T) {
        let surplus = {
            let mut state = self.state.lock();
            match state.hand_off(Grant::Object(obj)) {
                Ok(()) => return,
                Err(Grant::Object(obj)) if state.idle.len() < self.max_idle => {
                    state.idle.push(obj);
                    return;
                }
                Err(grant) => grant,
            }
        };
        // Dropped outside the lock (its Drop may be slow or panic) and before its slot is
        // freed, so that at no moment more than max_live objects exist.
        let slot = SlotGuard { inner: self, armed: true };
        drop(surplus);
        drop(slot);
    }

    fn release_slot(&self) {
        self.state.lock().release_slot();
    }
}

/// Gives a live slot back if dropped armed: on a failed creation or during a panic's unwinding.
struct SlotGuard<'a, T, E> {
    inner: &'a Inner<T, E>,
    armed: bool,
}

impl<T, E> Drop for SlotGuard<'_, T, E> {
    fn drop(&mut self) {
        if self.armed {
            self.inner.release_slot();
        }
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
            .field("max_live", &self.inner.max_live)
            .field("max_idle", &self.inner.max_idle)
            .field("live", &state.live)
            .field("idle", &state.idle.len())
            .field("waiters", &state.waiters())
            .finish()
    }
}

/// Settings for an [`ObjectPool`]; start from [`ObjectPool::builder`].
///
/// ```
/// use boundpool::ObjectPool;
///
/// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(String::with_capacity(256)))
///     .max_live(8)
///     .max_idle(4)
///     .reset(|s| s.clear())
///     .validate(|s| s.capacity() >= 256)
///     .build()?;
/// assert_eq!(pool.live(), 0); // objects are made on demand
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct ObjectPoolBuilder<T, E = std::convert::Infallible> {
    create: CreateFn<T, E>,
    reset: Option<ResetFn<T>>,
    validate: Option<ValidateFn<T>>,
    max_live: usize,
    max_idle: Option<usize>,
}

impl<T, E> ObjectPoolBuilder<T, E> {
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

    /// Runs on every returned object before it is kept or handed on, on the thread that drops
    /// the [`Pooled`]. If it panics, the object is dropped and its slot freed. An object dropped
    /// while its thread is already panicking is not reset but dropped.
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
    /// another idle object or makes a new one. Fresh objects are not validated.
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
    pub fn validate(mut self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        self.validate = Some(Box::new(f));
        self
    }

    /// Builds the pool. No object is made yet.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] saying what to change when `max_live` is 0 or `max_idle` exceeds
    /// `max_live`.
    ///
    /// ```
    /// let err = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(()))
    ///     .max_live(2)
    ///     .max_idle(3)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("max_idle"));
    /// ```
    pub fn build(self) -> Result<ObjectPool<T, E>, BuildError> {
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
        Ok(ObjectPool {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new(max_idle)),
                create: self.create,
                reset: self.reset,
                validate: self.validate,
                max_live: self.max_live,
                max_idle,
            }),
        })
    }
}

impl<T, E> fmt::Debug for ObjectPoolBuilder<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectPoolBuilder")
            .field("max_live", &self.max_live)
            .field("max_idle", &self.max_idle)
            .field("reset", &self.reset.is_some())
            .field("validate", &self.validate.is_some())
            .finish_non_exhaustive()
    }
}

/// An object checked out of an [`ObjectPool`]. Dereferences to `T`; goes back to the pool when
/// dropped (through `reset`), or leaves it for good with [`detach`](Self::detach).
///
/// ```
/// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(String::new())).build()?;
/// let mut s = pool.get()?;
/// s.push_str("in use");
/// assert_eq!(s.len(), 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pooled<T, E = std::convert::Infallible> {
    /// `None` only after `detach` or during drop.
    obj: Option<T>,
    inner: Arc<Inner<T, E>>,
}

impl<T, E> Pooled<T, E> {
    /// Keeps the object: it never returns, and its live slot is freed at once for the pool to
    /// make another.
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(7u8)).max_live(1).build()?;
    /// let mine: u8 = pool.get()?.detach();
    /// assert_eq!((mine, pool.live()), (7, 0));
    /// assert!(pool.try_get().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detach(mut self) -> T {
        let obj = self.obj.take().expect("a Pooled holds its object until dropped or detached");
        self.inner.release_slot();
        obj
    }
}

impl<T, E> Deref for Pooled<T, E> {
    type Target = T;

    fn deref(&self) -> &T {
        self.obj.as_ref().expect("a Pooled holds its object until dropped or detached")
    }
}

impl<T, E> DerefMut for Pooled<T, E> {
    fn deref_mut(&mut self) -> &mut T {
        self.obj.as_mut().expect("a Pooled holds its object until dropped or detached")
    }
}

impl<T: fmt::Debug, E> fmt::Debug for Pooled<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.obj {
            Some(obj) => f.debug_tuple("Pooled").field(obj).finish(),
            None => f.write_str("Pooled(..)"),
        }
    }
}

impl<T, E> Drop for Pooled<T, E> {
    fn drop(&mut self) {
        // Declared before the object so that, unwinding from a panicking reset, the object is
        // dropped first and its slot freed after: never more than max_live objects exist.
        let mut slot = SlotGuard { inner: &self.inner, armed: true };
        let Some(mut obj) = self.obj.take() else {
            slot.armed = false;
            return;
        };
        if std::thread::panicking() {
            // A panic is unwinding through the code that used the object: it may be half-way
            // through an update, and a panicking reset here would abort. Drop it.
            drop(obj);
            return;
        }
        if let Some(reset) = &self.inner.reset {
            // If this panics, `obj` is dropped by the unwinding and `slot` frees its slot.
            reset(&mut obj);
        }
        slot.armed = false;
        self.inner.put_back(obj);
    }
}
