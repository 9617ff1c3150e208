//! Model checks of waiting tasks: `ObjectPool::get_async` in the same first-come, first-served
//! list as a blocked `get`, a `get_async` future dropped as it is granted an object, and
//! `CancelToken::cancelled` racing `cancel`.
//!
//! A task is a future polled by hand on a model thread with a waker that raises a loom flag;
//! it is polled again only once the flag is up, so a lost wake-up leaves the model blocked
//! and loom fails it.
//!
//! Run: `cd loom-tests && RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test async_wait`

#![cfg(loom)]

use boundpool::{CancelToken, ObjectPool};
use boundpool_loom_tests::model;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

/// A waker that raises a loom flag and notifies whoever waits for it (loom's `Notify` may
/// wake spuriously, so the flag confirms).
struct Flag {
    up: AtomicBool,
    notify: Notify,
}

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        // A swap, not a store: loom can let the waiting thread's swap read past a plain store
        // racing it on the same atomic, which would invent a lost wake-up.
        self.up.swap(true, Ordering::SeqCst);
        self.notify.notify();
    }
}

/// A future polled by hand, and the flag its waker raises.
struct Task<F> {
    future: Pin<Box<F>>,
    flag: std::sync::Arc<Flag>,
    waker: Waker,
}

impl<F: Future> Task<F> {
    fn new(future: F) -> Self {
        let flag = std::sync::Arc::new(Flag { up: AtomicBool::new(false), notify: Notify::new() });
        let waker = Waker::from(std::sync::Arc::clone(&flag));
        Task { future: Box::pin(future), flag, waker }
    }

    fn poll(&mut self) -> Poll<F::Output> {
        self.future.as_mut().poll(&mut Context::from_waker(&self.waker))
    }

    /// Waits for the waker, then polls; again while the poll is pending.
    fn finish(mut self) -> F::Output {
        loop {
            while !self.flag.up.swap(false, Ordering::SeqCst) {
                self.flag.notify.wait();
            }
            if let Poll::Ready(value) = self.poll() {
                return value;
            }
        }
    }
}

/// Spins until `pool` has `n` callers in line.
fn until_waiters<T: Send + 'static, E>(pool: &ObjectPool<T, E>, n: usize) {
    while pool.waiters() != n {
        thread::yield_now();
    }
}

/// One object, a blocked thread and a waiting task: whoever joined the line first gets it
/// first, and the other gets it after; nobody's wake-up is lost.
#[test]
fn a_blocked_thread_and_a_task_in_arrival_order() {
    for thread_first in [true, false] {
        model("a_blocked_thread_and_a_task_in_arrival_order", move || {
            let pool = ObjectPool::builder(|| Ok::<_, Infallible>(())).max_live(1).build().unwrap();
            let held = pool.get().unwrap();
            let turns = Arc::new(AtomicUsize::new(0));
            let start_thread = || {
                let (pool, turns) = (pool.clone(), Arc::clone(&turns));
                thread::spawn(move || {
                    let obj = pool.get().unwrap();
                    let turn = turns.fetch_add(1, Ordering::SeqCst);
                    drop(obj);
                    turn
                })
            };
            let mut task = Task::new(pool.get_async());
            let blocked = if thread_first {
                let blocked = start_thread();
                until_waiters(&pool, 1);
                assert!(task.poll().is_pending());
                blocked
            } else {
                assert!(task.poll().is_pending());
                let blocked = start_thread();
                until_waiters(&pool, 2);
                blocked
            };
            drop(held);
            let obj = task.finish().unwrap();
            let task_turn = turns.fetch_add(1, Ordering::SeqCst);
            drop(obj);
            let thread_turn = blocked.join().unwrap();
            assert_eq!((thread_turn, task_turn), if thread_first { (0, 1) } else { (1, 0) });
            assert_eq!((pool.live(), pool.idle(), pool.waiters()), (1, 1, 0));
        });
    }
}

/// An object that counts how many of its kind exist.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A `get_async` future first in line is dropped while the object (or, discarded, its slot)
/// is being handed to it; a blocked thread is second in line. The grant goes on to the thread
/// whichever comes first, and no object or slot is lost or doubled.
#[test]
fn a_dropped_future_racing_its_grant() {
    for discard in [false, true] {
        model("a_dropped_future_racing_its_grant", move || {
            let alive = Arc::new(AtomicUsize::new(0));
            let pool = ObjectPool::builder({
                let alive = Arc::clone(&alive);
                move || {
                    let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(now <= 1, "{now} objects alive, max_live 1");
                    Ok::<_, Infallible>(Counted(Arc::clone(&alive)))
                }
            })
            .max_live(1)
            .build()
            .unwrap();
            let held = pool.get().unwrap();
            let mut task = Task::new(pool.get_async());
            assert!(task.poll().is_pending());
            let blocked = {
                let pool = pool.clone();
                thread::spawn(move || drop(pool.get().unwrap()))
            };
            until_waiters(&pool, 2);
            let returner = thread::spawn(move || {
                if discard {
                    held.discard();
                } else {
                    drop(held);
                }
            });
            drop(task);
            returner.join().unwrap();
            blocked.join().unwrap();
            assert_eq!((pool.live(), pool.idle(), pool.waiters()), (1, 1, 0));
            assert_eq!(alive.load(Ordering::SeqCst), 1);
        });
    }
}

/// `cancel` on a parent races the first poll of a child's `cancelled` future: the future
/// either sees the flag or is woken, and then resolves.
#[test]
fn cancel_racing_cancelled() {
    model("cancel_racing_cancelled", || {
        let parent = CancelToken::new();
        let child = parent.child();
        let canceller = thread::spawn(move || parent.cancel());
        let mut task = Task::new(child.cancelled());
        if task.poll().is_pending() {
            task.finish();
        }
        canceller.join().unwrap();
        assert!(child.is_cancelled());
    });
}
