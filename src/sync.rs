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

/// Scoped threads are std's in both builds: the helpers of `ThreadPool::scope` run borrowed
/// closures, which only std's scoped threads can do without unsafe code. Models do not use them.
pub(crate) use std::thread::{scope as thread_scope, Builder as ScopedBuilder};

/// The locks of a scope's threads, which are std's scoped threads in both builds (see above).
pub(crate) use parking_lot::{Condvar as ScopeCondvar, Mutex as ScopeMutex};

#[cfg(loom)]
pub(crate) use self::model::*;

/// A waiting thread's patience before it parks: a few rounds of exponentially longer spins,
/// then yields until `window` has passed. Parking and waking cost system calls (several
/// microseconds each, more in a virtual machine), while the thing waited for — a queued job, a
/// free slot, a result — often comes within microseconds. The window bounds the CPU an idle
/// thread burns: after it, the thread parks and costs nothing.
///
/// Under loom a backoff never waits: a spin would only add interleavings to a model, so the
/// caller checks once and parks.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
    started: Option<std::time::Instant>,
}

impl Backoff {
    const SPIN_STEPS: u32 = 7;

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
    pub(crate) use crossbeam_queue::SegQueue;
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
