//! The one seam through which boundpool reaches synchronisation primitives.
//!
//! Every lock, condition variable, atomic, queue and thread the crate uses is named here and
//! nowhere else. In a normal build they are parking_lot locks, crossbeam's lock-free bounded
//! queue and std atomics and threads. Under `--cfg loom` the same names resolve to loom-backed
//! stand-ins with the same API, so the `loom-tests` crate model-checks the shipped protocols
//! rather than a copy of them.

#[cfg(not(loom))]
pub(crate) use self::real::*;

/// Reference counting is std's in both builds: loom's `Arc` cannot hold trait objects, and the
/// protocols under test never synchronise through a reference count.
pub(crate) use std::sync::{Arc, Weak};

#[cfg(loom)]
pub(crate) use self::model::*;

/// A process-wide counter in a `static`: std's atomic in both builds, since a `static` cannot
/// hold a loom atomic and no model reads it (see `pool::live`).
pub(crate) use std::sync::atomic::AtomicUsize as ProcessCounter;

/// Atomics for diagnostics only (what each worker runs, for dumps and the slow-job watchdog),
/// std's in both builds: no protocol synchronises through them, and under loom each access
/// would only multiply a model's interleavings.
pub(crate) mod diag {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64};
}

/// A waiting thread's patience before it parks: a few rounds of exponentially longer spins,
/// then yields until `window` has passed. Parking and waking cost system calls (several
/// microseconds each, more in a virtual machine), while the thing waited for — a queued job, a
/// free slot, a result — often comes within microseconds. The window bounds the CPU an idle
/// thread burns: after it, the thread parks and costs nothing.
///
/// Under loom a backoff never waits: a spin would only add interleavings to a model, so the
/// caller checks once and parks.
#[derive(Debug, Default)]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) struct Backoff {
    step: u32,
    started: Option<std::time::Instant>,
}

#[cfg_attr(loom, allow(dead_code))]
impl Backoff {
    const SPIN_STEPS: u32 = 4;

    pub(crate) fn new() -> Self {
        Backoff::default()
    }

    /// Waits a little; false once the window has passed and the caller should park.
    #[cfg(not(loom))]
    pub(crate) fn snooze(&mut self, window: std::time::Duration) -> bool {
        if self.step < Self::SPIN_STEPS {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
            self.step += 1;
            return true;
        }
        let started = *self.started.get_or_insert_with(std::time::Instant::now);
        if started.elapsed() >= window {
            return false;
        }
        std::thread::yield_now();
        true
    }

    #[cfg(loom)]
    pub(crate) fn snooze(&mut self, _window: std::time::Duration) -> bool {
        false
    }
}

#[cfg(not(loom))]
mod real {
    pub(crate) use crossbeam_queue::{ArrayQueue, SegQueue};
    pub(crate) use crossbeam_utils::sync::{Parker, Unparker};
    pub(crate) use crossbeam_utils::CachePadded;
    pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use std::thread;
    pub(crate) use std::thread_local;

    use std::time::Instant;

    /// Waits on `cv` until notified or until `deadline`; true when the deadline passed.
    pub(crate) fn wait_until<T>(cv: &Condvar, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> bool {
        cv.wait_until(guard, deadline).timed_out()
    }

    /// Sleeps for `d`: a backoff between attempts that wait on something outside the process.
    pub(crate) fn pause(d: std::time::Duration) {
        std::thread::sleep(d);
    }
}

#[cfg(loom)]
mod model {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
    pub(crate) use loom::thread;
    pub(crate) use loom::thread_local;

    use std::collections::VecDeque;
    use std::ops::{Deref, DerefMut};
    use std::time::Instant;

    /// loom's mutex behind parking_lot's API: `lock()` returns the guard, no poisoning.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            // loom never poisons a lock in a model that does not panic.
            MutexGuard(Some(self.0.lock().unwrap_or_else(|e| e.into_inner())))
        }

        pub(crate) fn into_inner(self) -> T {
            self.0.into_inner().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

    /// Holds `Some` except while a condition-variable wait has lent the guard out.
    #[derive(Debug)]
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_deref().expect("guard is only lent out during a wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_deref_mut().expect("guard is only lent out during a wait")
        }
    }

    /// loom's condition variable behind parking_lot's `&mut guard` API.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().expect("guard present");
            guard.0 = Some(self.0.wait(inner).unwrap_or_else(|e| e.into_inner()));
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// loom has no clock: a deadline never passes in a model, so a model that would need the
    /// timeout branch must drive it explicitly.
    pub(crate) fn wait_until<T>(cv: &Condvar, guard: &mut MutexGuard<'_, T>, _deadline: Instant) -> bool {
        cv.wait(guard);
        false
    }

    /// loom has no clock: a backoff pause is a yield, which lets other threads run in between.
    pub(crate) fn pause(_d: std::time::Duration) {
        loom::thread::yield_now();
    }

    /// A FIFO standing in for crossbeam's `SegQueue`. Like the lock-free queue, `pop` decides
    /// "empty" from an atomic index read, not under a lock, so a model sees what the real queue
    /// allows: a pop that misses a push it is not ordered after. (A plain mutex would order
    /// every push and pop and hide a missing fence in the protocol around the queue.)
    #[derive(Debug)]
    pub(crate) struct SegQueue<T> {
        items: loom::sync::Mutex<VecDeque<T>>,
        pushed: AtomicUsize,
        popped: AtomicUsize,
    }

    impl<T> SegQueue<T> {
        pub(crate) fn new() -> Self {
            SegQueue {
                items: loom::sync::Mutex::new(VecDeque::new()),
                pushed: AtomicUsize::new(0),
                popped: AtomicUsize::new(0),
            }
        }

        fn items(&self) -> loom::sync::MutexGuard<'_, VecDeque<T>> {
            self.items.lock().unwrap_or_else(|e| e.into_inner())
        }

        pub(crate) fn push(&self, value: T) {
            let mut items = self.items();
            items.push_back(value);
            // ORDERING: Release publishes the item, as the real queue's tail update does.
            self.pushed.fetch_add(1, Ordering::Release);
        }

        pub(crate) fn is_empty(&self) -> bool {
            // ORDERING: as in `pop`: an index read that may be stale.
            self.pushed.load(Ordering::Acquire) == self.popped.load(Ordering::Acquire)
        }

        pub(crate) fn pop(&self) -> Option<T> {
            // ORDERING: Acquire, as the real queue reads its tail; it may see an old count.
            let pushed = self.pushed.load(Ordering::Acquire);
            // ORDERING: only poppers write it, always under the items lock.
            if pushed == self.popped.load(Ordering::Acquire) {
                return None;
            }
            let mut items = self.items();
            let item = items.pop_front();
            if item.is_some() {
                // ORDERING: under the items lock.
                self.popped.fetch_add(1, Ordering::Release);
            }
            item
        }
    }

    /// A bounded FIFO on loom's mutex standing in for crossbeam's `ArrayQueue` (used by the
    /// buffer recycler, whose retention credits, not the queue, carry the protocol).
    #[derive(Debug)]
    pub(crate) struct ArrayQueue<T> {
        items: loom::sync::Mutex<VecDeque<T>>,
        cap: usize,
    }

    impl<T> ArrayQueue<T> {
        pub(crate) fn new(cap: usize) -> Self {
            assert!(cap > 0, "capacity must be non-zero");
            ArrayQueue { items: loom::sync::Mutex::new(VecDeque::with_capacity(cap)), cap }
        }

        fn items(&self) -> loom::sync::MutexGuard<'_, VecDeque<T>> {
            self.items.lock().unwrap_or_else(|e| e.into_inner())
        }

        pub(crate) fn push(&self, value: T) -> Result<(), T> {
            let mut items = self.items();
            if items.len() >= self.cap {
                return Err(value);
            }
            items.push_back(value);
            Ok(())
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.items().pop_front()
        }

        pub(crate) fn len(&self) -> usize {
            self.items().len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.items().is_empty()
        }
    }

    /// A thread parker on loom's mutex and condition variable, standing in for crossbeam's
    /// `Parker`: `unpark` leaves a token that the next `park` consumes, so a wake-up that comes
    /// first is kept.
    #[derive(Debug, Default)]
    pub(crate) struct Parker {
        inner: std::sync::Arc<ParkerInner>,
        unparker: Unparker,
    }

    #[derive(Debug, Default)]
    struct ParkerInner {
        token: Mutex<bool>,
        cv: Condvar,
    }

    impl Parker {
        pub(crate) fn new() -> Self {
            let inner = std::sync::Arc::new(ParkerInner { token: Mutex::new(false), cv: Condvar::new() });
            Parker { unparker: Unparker { inner: inner.clone() }, inner }
        }

        pub(crate) fn park(&self) {
            let mut token = self.inner.token.lock();
            while !*token {
                self.inner.cv.wait(&mut token);
            }
            *token = false;
        }

        pub(crate) fn unparker(&self) -> &Unparker {
            &self.unparker
        }
    }

    /// The waking half of a [`Parker`].
    #[derive(Debug, Default, Clone)]
    pub(crate) struct Unparker {
        inner: std::sync::Arc<ParkerInner>,
    }

    impl Unparker {
        pub(crate) fn unpark(&self) {
            *self.inner.token.lock() = true;
            self.inner.cv.notify_one();
        }
    }

    /// Padding means nothing to a model; keep the type so code reads the same.
    #[derive(Debug, Default)]
    pub(crate) struct CachePadded<T>(T);

    impl<T> CachePadded<T> {
        pub(crate) fn new(value: T) -> Self {
            CachePadded(value)
        }
    }

    impl<T> Deref for CachePadded<T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.0
        }
    }
}

// --- recyclers ---
//
// Two more primitives for the buffer recycler, with the same shape in both builds:
//
// - `PerThread<T>`: one value per thread and per owner (not per program, as `thread_local!` is),
//   reachable from every thread for `trim` and `stats`. Normally the `thread_local` crate's
//   `ThreadLocal`; under loom, whose threads that crate cannot see, a vector keyed by loom's
//   thread id behind a loom mutex. That mutex adds happens-before edges the real lookup does not
//   have, but only around finding a thread's slot; everything done with the slot (the swap cell,
//   the shared store, the retention credits) is modelled as shipped.
// - `SwapCell<T>`: a cell holding at most one boxed value, taken and replaced by a single atomic
//   swap. Normally crossbeam's `AtomicCell<Option<Box<T>>>` (one pointer: lock-free); under
//   loom a loom mutex around the `Option`, which is exactly as strong as an `AcqRel` swap.

#[cfg(not(loom))]
pub(crate) use self::recycle_real::{PerThread, SwapCell};

#[cfg(loom)]
pub(crate) use self::recycle_model::{PerThread, SwapCell};

#[cfg(not(loom))]
mod recycle_real {
    use crossbeam_utils::atomic::AtomicCell;
    use std::fmt;

    /// One value per thread for one owner object.
    pub(crate) struct PerThread<T: Send>(::thread_local::ThreadLocal<T>);

    impl<T: Send> PerThread<T> {
        pub(crate) fn new() -> Self {
            PerThread(::thread_local::ThreadLocal::new())
        }

        /// Runs `f` on the calling thread's value, creating it first with `create` if needed.
        #[inline]
        pub(crate) fn with<R>(&self, create: impl FnOnce() -> T, f: impl FnOnce(&T) -> R) -> R {
            f(self.0.get_or(create))
        }

        /// Runs `f` on every thread's value, including values of threads that have exited.
        pub(crate) fn for_each(&self, mut f: impl FnMut(&T))
        where
            T: Sync,
        {
            self.0.iter().for_each(&mut f);
        }
    }

    impl<T: Send> fmt::Debug for PerThread<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("PerThread(..)")
        }
    }

    /// At most one boxed value, moved in and out by one atomic swap.
    pub(crate) struct SwapCell<T>(AtomicCell<Option<Box<T>>>);

    impl<T> SwapCell<T> {
        pub(crate) fn new() -> Self {
            SwapCell(AtomicCell::new(None))
        }

        /// Puts `value` in and returns what was there.
        #[inline]
        pub(crate) fn swap(&self, value: Option<Box<T>>) -> Option<Box<T>> {
            // ORDERING: AtomicCell swaps a pointer-sized value with AcqRel: the writer's buffer
            // contents happen-before the reader who takes the box out.
            self.0.swap(value)
        }

        /// Takes the value out, leaving the cell empty.
        #[inline]
        pub(crate) fn take(&self) -> Option<Box<T>> {
            // ORDERING: as `swap`.
            self.0.swap(None)
        }
    }

    impl<T> fmt::Debug for SwapCell<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SwapCell(..)")
        }
    }
}

#[cfg(loom)]
mod recycle_model {
    use std::fmt;

    /// One value per loom thread for one owner object.
    pub(crate) struct PerThread<T> {
        values: loom::sync::Mutex<Vec<(loom::thread::ThreadId, T)>>,
    }

    impl<T: Clone> PerThread<T> {
        pub(crate) fn new() -> Self {
            PerThread { values: loom::sync::Mutex::new(Vec::new()) }
        }

        /// Runs `f` on the calling thread's value, creating it first with `create` if needed.
        /// `f` runs with the map unlocked, so it may call `for_each`.
        pub(crate) fn with<R>(&self, create: impl FnOnce() -> T, f: impl FnOnce(&T) -> R) -> R {
            let me = loom::thread::current().id();
            let value = {
                let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
                match values.iter().find(|(id, _)| *id == me) {
                    Some((_, v)) => v.clone(),
                    None => {
                        let v = create();
                        values.push((me, v.clone()));
                        v
                    }
                }
            };
            f(&value)
        }

        /// Runs `f` on every thread's value, with the map unlocked.
        pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
            let all: Vec<T> = {
                let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
                values.iter().map(|(_, v)| v.clone()).collect()
            };
            all.iter().for_each(&mut f);
        }
    }

    impl<T> fmt::Debug for PerThread<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("PerThread(..)")
        }
    }

    /// At most one boxed value behind a loom mutex: as strong as an `AcqRel` swap.
    pub(crate) struct SwapCell<T>(loom::sync::Mutex<Option<Box<T>>>);

    impl<T> SwapCell<T> {
        pub(crate) fn new() -> Self {
            SwapCell(loom::sync::Mutex::new(None))
        }

        pub(crate) fn swap(&self, value: Option<Box<T>>) -> Option<Box<T>> {
            let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *slot, value)
        }

        pub(crate) fn take(&self) -> Option<Box<T>> {
            self.swap(None)
        }
    }

    impl<T> fmt::Debug for SwapCell<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SwapCell(..)")
        }
    }
}
