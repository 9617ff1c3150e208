//! `Pooled`: a checked-out object, and its way back into the pool.
//!
//! On drop the object is checked before it is kept: `is_broken` (true drops it) and
//! `max_lifetime` (too old drops it), then `reset`, then it goes to the longest waiter or the
//! idle list. Whatever is dropped frees its live slot after the object itself is gone, so at no
//! moment more than `max_live` objects exist.

use super::checkout::SlotGuard;
use super::object::Inner;
use crate::sync::Arc;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

/// An object checked out of an [`ObjectPool`](crate::ObjectPool). Dereferences to `T`; goes back
/// to the pool when dropped (through `is_broken` and `reset`), or leaves it for good with
/// [`detach`](Self::detach) or [`discard`](Self::discard).
///
/// ```
/// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(String::new())).build()?;
/// let mut s = pool.get()?;
/// s.push_str("in use");
/// assert_eq!(s.len(), 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pooled<T, E = std::convert::Infallible> {
    /// `None` only after `detach`/`discard` or during drop.
    obj: Option<T>,
    /// When `create` made it (the pool's build instant if no `max_lifetime` is set).
    born: Instant,
    inner: Arc<Inner<T, E>>,
}

impl<T, E> Pooled<T, E> {
    pub(crate) fn new(obj: T, born: Instant, inner: Arc<Inner<T, E>>) -> Self {
        Pooled { obj: Some(obj), born, inner }
    }

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

    /// Drops the object instead of returning it (the caller saw it fail, say a connection
    /// whose query hit a network error) and frees its live slot: the next `get` that finds no
    /// idle object makes a new one. Counted in
    /// [`ObjectStats::dropped_broken`](crate::ObjectStats::dropped_broken).
    ///
    /// ```
    /// let pool = boundpool::ObjectPool::builder(|| Ok::<_, std::io::Error>(7u8)).max_live(1).build()?;
    /// let conn = pool.get()?;
    /// conn.discard();
    /// assert_eq!((pool.live(), pool.stats().dropped_broken), (0, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn discard(mut self) {
        let slot = SlotGuard { inner: &self.inner, armed: true };
        drop(self.obj.take());
        self.inner.counters.dropped_broken.add(1);
        drop(slot);
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
        // Declared before the object so that, unwinding from a panicking check or reset, the
        // object is dropped first and its slot freed after: never more than max_live objects.
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
        let inner = &*self.inner;
        if inner.is_broken.as_ref().is_some_and(|is_broken| is_broken(&mut obj)) {
            drop(obj);
            inner.counters.dropped_broken.add(1);
            return;
        }
        if inner.config.max_lifetime.is_some() && inner.too_old(self.born, Instant::now()) {
            drop(obj);
            inner.counters.dropped_expired.add(1);
            return;
        }
        if let Some(reset) = &inner.reset {
            // If this panics, `obj` is dropped by the unwinding and `slot` frees its slot.
            reset(&mut obj);
        }
        slot.armed = false;
        inner.put_back(obj, self.born);
    }
}
