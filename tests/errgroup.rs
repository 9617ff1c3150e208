//! `try_scope`: Go's errgroup. The closure's value when every job succeeds; the first error
//! returned and the group's token cancelled; jobs not yet started skipped; running jobs
//! watching the token; cancelling the token by hand; panics re-raised after every job ended;
//! a group inside a job of a one-worker pool. Every wait is bounded.
//!
//! A group's jobs run on the pool's workers and on the calling thread. A group opened inside
//! the only worker of a pool has no other thread to run on: its jobs run on that worker, in
//! spawn order, once the closure has returned. The tests that count what ran in which order
//! use that (`on_the_only_worker`), which makes their counts exact.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use boundpool::{CancelToken, ThreadPool};
use common::{bounded, quiet_expected_panics, wait_until, EXPECTED};

fn pool(workers: usize, prefix: &str) -> ThreadPool {
    ThreadPool::builder().workers(workers).thread_name(prefix).build().unwrap()
}

/// Runs `f` inside a job on the only worker of a fresh pool, so that every job of a group it
/// opens runs on that worker, in spawn order.
fn on_the_only_worker<R: Send + 'static>(f: impl FnOnce(&ThreadPool) -> R + Send + 'static) -> R {
    let pool = Arc::new(pool(1, "gonly"));
    let inner = Arc::clone(&pool);
    pool.spawn(move || f(&inner)).unwrap().join().unwrap()
}

/// Spins until `token` is cancelled; panics if that takes more than ten seconds.
fn wait_for_cancel(token: &CancelToken) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !token.is_cancelled() {
        assert!(Instant::now() < deadline, "the group's token was never cancelled");
        thread::yield_now();
    }
}

#[test]
fn all_jobs_ok_returns_the_closures_value_after_every_job_ran() {
    bounded(30, || {
        for workers in [1, 2] {
            let pool = pool(workers, "gok");
            let ran = AtomicUsize::new(0);
            let results = Mutex::new(Vec::new());
            let outcome: Result<&str, String> = pool.try_scope(|g| {
                for i in 0..20 {
                    let (ran, results) = (&ran, &results);
                    g.spawn(move |_| {
                        ran.fetch_add(1, Ordering::Relaxed);
                        results.lock().unwrap().push(i * i);
                        Ok(())
                    });
                }
                "done"
            });
            assert_eq!(outcome, Ok("done"));
            assert_eq!(ran.into_inner(), 20);
            let mut results = results.into_inner().unwrap();
            results.sort_unstable();
            assert_eq!(results, (0..20).map(|i| i * i).collect::<Vec<_>>());
        }
    });
}

#[test]
fn the_first_error_is_returned_and_the_groups_token_is_cancelled() {
    bounded(30, || {
        let (outcome, cancelled) = on_the_only_worker(|pool| {
            let mut token = None;
            let outcome: Result<(), String> = pool.try_scope(|g| {
                token = Some(g.token().clone());
                g.spawn(|_| Ok(()));
                g.spawn(|_| Err("first".to_string()));
                g.spawn(|_| Err("second".to_string()));
            });
            (outcome, token.unwrap().is_cancelled())
        });
        assert_eq!(outcome, Err("first".to_string()));
        assert!(cancelled);
    });
}

#[test]
fn on_one_thread_jobs_spawned_after_the_failing_one_never_start() {
    bounded(30, || {
        let (outcome, before, after) = on_the_only_worker(|pool| {
            let before = AtomicUsize::new(0);
            let after = AtomicUsize::new(0);
            let outcome: Result<(), u32> = pool.try_scope(|g| {
                for _ in 0..3 {
                    g.spawn(|_| {
                        before.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    });
                }
                g.spawn(|_| Err(7));
                for _ in 0..10 {
                    g.spawn(|_| {
                        after.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    });
                }
            });
            (outcome, before.into_inner(), after.into_inner())
        });
        assert_eq!(outcome, Err(7));
        assert_eq!(before, 3, "jobs spawned before the failing one all run");
        assert_eq!(after, 0, "jobs spawned after the failing one never start");
    });
}

#[test]
fn on_two_workers_jobs_spawned_once_the_group_failed_never_start() {
    bounded(30, || {
        let pool = pool(2, "gskip2");
        let after = AtomicUsize::new(0);
        let outcome: Result<(), u32> = pool.try_scope(|g| {
            // The helper thread runs the failing job while the closure is still spawning.
            g.spawn(|_| Err(7));
            wait_for_cancel(g.token());
            for _ in 0..10 {
                g.spawn(|_| {
                    after.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                });
            }
        });
        assert_eq!(outcome, Err(7));
        assert_eq!(after.into_inner(), 0);
    });
}

#[test]
fn a_running_job_sees_the_token_cancelled_by_another_jobs_error() {
    bounded(30, || {
        let pool = pool(2, "gwatch");
        let watcher_started = AtomicBool::new(false);
        let watcher_saw_cancel = AtomicBool::new(false);
        let outcome: Result<(), String> = pool.try_scope(|g| {
            g.spawn(|token| {
                watcher_started.store(true, Ordering::SeqCst);
                wait_for_cancel(token);
                watcher_saw_cancel.store(true, Ordering::SeqCst);
                Ok(())
            });
            g.spawn(|_| {
                // Fail only once the watcher is running, on the other thread.
                wait_until(10, "the watcher runs", || watcher_started.load(Ordering::SeqCst));
                Err("broken".to_string())
            });
        });
        assert_eq!(outcome, Err("broken".to_string()));
        assert!(watcher_saw_cancel.into_inner());
    });
}

#[test]
fn cancelling_the_groups_token_from_the_closure_skips_its_jobs_and_returns_ok() {
    bounded(30, || {
        for workers in [1, 2] {
            let pool = pool(workers, "gcancel");
            let ran = AtomicUsize::new(0);
            let outcome: Result<u8, String> = pool.try_scope(|g| {
                g.token().cancel();
                for _ in 0..10 {
                    g.spawn(|_| {
                        ran.fetch_add(1, Ordering::Relaxed);
                        Err("must not run".to_string())
                    });
                }
                5
            });
            assert_eq!(outcome, Ok(5), "with {workers} workers");
            assert_eq!(ran.into_inner(), 0, "with {workers} workers");
        }
    });
}

#[test]
fn on_one_thread_jobs_spawned_before_a_manual_cancel_are_skipped_too() {
    bounded(30, || {
        let (outcome, ran) = on_the_only_worker(|pool| {
            let ran = AtomicUsize::new(0);
            let outcome: Result<(), ()> = pool.try_scope(|g| {
                for _ in 0..5 {
                    g.spawn(|_| {
                        ran.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    });
                }
                // Nothing has started yet: the jobs run on this thread after the closure.
                g.token().cancel();
            });
            (outcome, ran.into_inner())
        });
        assert_eq!(outcome, Ok(()));
        assert_eq!(ran, 0);
    });
}

#[test]
fn a_panicking_job_re_raises_its_payload_after_every_job_ended() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = pool(2, "gpanic");
        let slow_started = AtomicBool::new(false);
        let slow_ended = AtomicBool::new(false);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.try_scope(|g| -> () {
                g.spawn(|_| -> Result<(), String> {
                    slow_started.store(true, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(100));
                    slow_ended.store(true, Ordering::SeqCst);
                    Ok(())
                });
                g.spawn(|_| {
                    wait_until(10, "the slow job runs", || slow_started.load(Ordering::SeqCst));
                    panic!("{EXPECTED}: group job");
                });
            })
        }));
        let payload = caught.expect_err("the job's panic must re-raise");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some(&*format!("{EXPECTED}: group job"))
        );
        assert!(slow_ended.into_inner(), "try_scope re-raised before the slow job ended");
    });
}

#[test]
fn try_scope_inside_a_job_of_a_one_worker_pool_completes() {
    bounded(30, || {
        let pool = Arc::new(
            ThreadPool::builder().workers(1).queue_capacity(1).thread_name("gnest").build().unwrap(),
        );
        let inner = pool.clone();
        let (ok, failed) = pool
            .spawn(move || {
                let ran = AtomicUsize::new(0);
                let ok: Result<usize, String> = inner.try_scope(|g| {
                    for _ in 0..4 {
                        g.spawn(|_| {
                            ran.fetch_add(1, Ordering::Relaxed);
                            Ok(())
                        });
                    }
                    4
                });
                let failed: Result<(), String> = inner.try_scope(|g| {
                    g.spawn(|_| Err("nested".to_string()));
                    g.spawn(|_| {
                        ran.fetch_add(100, Ordering::Relaxed);
                        Ok(())
                    });
                });
                assert_eq!(ran.into_inner(), 4);
                (ok, failed)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(ok, Ok(4));
        assert_eq!(failed, Err("nested".to_string()));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
