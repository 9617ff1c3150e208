//! Model checks of `shutdown_async`: the task awaiting it is woken by the last worker's exit
//! in every interleaving (a lost wake-up leaves the polling thread waiting forever, which the
//! model reports as a deadlock), alone or beside a blocking `shutdown` waiting in the same list.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test shutdown_async`.
#![cfg(loom)]

use boundpool_loom_tests::model;
use boundpool_loom_tests::pool;
use boundpool_loom_tests::task::block_on;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

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
