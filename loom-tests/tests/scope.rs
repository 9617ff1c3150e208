//! Model checks of scoped work on the pool's workers: the shipped code, run under loom.
//!
//! In each model a scoped job borrows a model-checked value. The job marks it `USED`; once the
//! scope has returned, the test marks it `RETIRED` and, after the pool is shut down (every
//! worker joined), checks that it is still `RETIRED`. If any interleaving let the job touch
//! its borrow after the scope returned, loom finds a run where the job's mark lands after the
//! retirement, and the model fails.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release` in `loom-tests/`.
#![cfg(loom)]

use std::panic::{self, AssertUnwindSafe};

use boundpool::ThreadPool;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

const UNUSED: usize = 0;
const USED: usize = 1;
const RETIRED: usize = 2;

fn pool(workers: usize, capacity: usize) -> Arc<ThreadPool> {
    Arc::new(boundpool_loom_tests::pool(workers, capacity))
}

/// The borrow's last state once the pool is shut down must be the retirement mark.
fn assert_retired_after(borrowed: &AtomicUsize, pool: &ThreadPool) {
    assert_eq!(
        borrowed.swap(RETIRED, Ordering::SeqCst),
        USED,
        "the scoped job ran before the scope returned"
    );
    pool.shutdown();
    assert_eq!(
        borrowed.load(Ordering::SeqCst),
        RETIRED,
        "a scoped job touched its borrow after the scope returned"
    );
}

/// A scoped job in the queue, which the worker may take while the caller waits in the scope
/// (or which the caller takes back and runs itself): it runs exactly once, before `scope`
/// returns.
#[test]
fn a_worker_takes_a_scoped_job_while_the_caller_waits() {
    loom::model(|| {
        let pool = pool(1, 1);
        let borrowed = AtomicUsize::new(UNUSED);
        let runs = AtomicUsize::new(0);
        pool.scope(|s| {
            let _job = s.spawn(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                borrowed.store(USED, Ordering::SeqCst);
            });
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_retired_after(&borrowed, &pool);
    });
}

/// A scoped job that panics, wherever it runs: `scope` re-raises the panic only once the job
/// has ended, and the job touches nothing after that.
#[test]
fn a_scoped_job_that_panics() {
    let quiet = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    loom::model(|| {
        let pool = pool(1, 1);
        let borrowed = AtomicUsize::new(UNUSED);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                let _job = s.spawn(|| {
                    borrowed.store(USED, Ordering::SeqCst);
                    panic!("scoped job");
                });
            })
        }));
        assert!(caught.is_err(), "the unjoined panic re-raises");
        assert_retired_after(&borrowed, &pool);
    });
    panic::set_hook(quiet);
}

/// `shutdown_now` on another thread races a scope whose job is queued: the job is never handed
/// back, it runs exactly once (on the worker or the caller), before `scope` returns.
#[test]
fn a_scope_races_shutdown_now() {
    loom::model(|| {
        let pool = pool(1, 1);
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown_now().len())
        };
        let borrowed = AtomicUsize::new(UNUSED);
        let runs = AtomicUsize::new(0);
        pool.scope(|s| {
            let _job = s.spawn(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                borrowed.store(USED, Ordering::SeqCst);
            });
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(borrowed.swap(RETIRED, Ordering::SeqCst), USED);
        assert_eq!(stopper.join().unwrap(), 0, "a scoped job is never handed back");
        assert_eq!(
            borrowed.load(Ordering::SeqCst),
            RETIRED,
            "a scoped job touched its borrow after the scope returned"
        );
    });
}

/// A scoped job a worker runs spawns a second one into the same scope while the caller waits:
/// the caller is woken for it and both end before `scope` returns.
#[test]
fn a_scoped_job_spawns_another_while_the_caller_waits() {
    loom::model(|| {
        let pool = pool(1, 1);
        let borrowed = AtomicUsize::new(UNUSED);
        let runs = AtomicUsize::new(0);
        pool.scope(|s| {
            let _outer = s.spawn(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                let _inner = s.spawn(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    borrowed.store(USED, Ordering::SeqCst);
                });
            });
        });
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_retired_after(&borrowed, &pool);
    });
}
