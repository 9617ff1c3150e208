//! Model checks of waiting tasks: `ObjectPool::get_async` in the same first-come, first-served
//! list as a blocked `get`, a `get_async` future dropped as it is granted an object, and
//! `CancelToken::cancelled` racing `cancel`.
//!
//! A task is a future polled by hand on a model thread with the shared harness's waker; it is
//! polled again only once woken, so a lost wake-up leaves the model blocked and loom fails it.
//!
//! Run: `cd loom-tests && RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test async_wait`

#![cfg(loom)]

use boundpool::{CancelToken, ObjectPool};
use boundpool_loom_tests::model;
use boundpool_loom_tests::task::{self, Flag};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::convert::Infallible;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Poll, Waker};

/// Polls `future` again each time its waker is woken, until it is ready. Called only after a
/// poll returned pending: a lost wake-up leaves the thread waiting, which loom reports.
fn finish<F: Future>(mut future: Pin<&mut F>, waker: &Waker, flag: &Flag) -> F::Output {
    loop {
        task::wait(flag);
        if let Poll::Ready(value) = task::poll_once(future.as_mut(), waker) {
            return value;
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
            let (waker, flag) = task::waker();
            let mut get = pin!(pool.get_async());
            let blocked = if thread_first {
                let blocked = start_thread();
                until_waiters(&pool, 1);
                assert!(task::poll_once(get.as_mut(), &waker).is_pending());
                blocked
            } else {
                assert!(task::poll_once(get.as_mut(), &waker).is_pending());
                let blocked = start_thread();
                until_waiters(&pool, 2);
                blocked
            };
            drop(held);
            let obj = finish(get, &waker, &flag).unwrap();
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
            let (waker, _flag) = task::waker();
            let mut get = Box::pin(pool.get_async());
            assert!(task::poll_once(get.as_mut(), &waker).is_pending());
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
            drop(get);
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
        let (waker, flag) = task::waker();
        let mut cancelled = pin!(child.cancelled());
        if task::poll_once(cancelled.as_mut(), &waker).is_pending() {
            finish(cancelled, &waker, &flag);
        }
        canceller.join().unwrap();
        assert!(child.is_cancelled());
    });
}
