//! Model checks of `shutdown_async`: the task awaiting it is woken by the last worker's exit
//! in every interleaving (the `block_on` below sleeps on a loom `Notify` between polls, so a
//! lost wake-up leaves every thread blocked and fails the model), alone or beside a blocking
//! `shutdown` waiting in the same list.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test shutdown_async`.
#![cfg(loom)]

use std::future::Future;
use std::task::{Context, Poll, Wake, Waker};

use boundpool::ThreadPool;
use boundpool_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;

/// A waker that notifies the polling thread.
struct NotifyWaker(Notify);

impl Wake for NotifyWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.notify();
    }
}

/// Polls `future` until ready, sleeping on the waker's `Notify` in between (it may return
/// spuriously: that costs a poll, never a missed wake-up).
fn block_on<F: Future>(future: F) -> F::Output {
    let notify = std::sync::Arc::new(NotifyWaker(Notify::new()));
    let waker = Waker::from(std::sync::Arc::clone(&notify));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        notify.0.wait();
    }
}

fn pool(workers: usize, capacity: usize) -> ThreadPool {
    ThreadPool::builder().workers(workers).queue_capacity(capacity).build().expect("pool builds")
}

/// Two workers drain two jobs while a task awaits `shutdown_async`: it resolves with both
/// jobs counted, after both workers exited.
#[test]
fn async_shutdown_is_woken_by_the_last_exit() {
    model("async_shutdown_is_woken_by_the_last_exit", || {
        let pool = pool(2, 2);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let ran = ran.clone();
            pool.execute(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        let report = block_on(pool.shutdown_async());
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        assert_eq!(report.completed, 2);
        assert_eq!(pool.stats().workers, 0);
    });
}

/// A task awaiting `shutdown_async` and a thread in `shutdown` wait in the same list for one
/// worker: both return, with the same totals.
#[test]
fn async_and_blocking_shutdown_wait_together() {
    model("async_and_blocking_shutdown_wait_together", || {
        let pool = Arc::new(pool(1, 1));
        pool.execute(|| ()).unwrap();
        let blocking = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown().completed)
        };
        let awaited = block_on(pool.shutdown_async()).completed;
        assert_eq!((awaited, blocking.join().unwrap()), (1, 1));
    });
}
