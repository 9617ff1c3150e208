//! Scoped work runs on the pool's own workers and the calling thread: nesting that used to need
//! a thread per call completes on a fixed set of threads, a scope racing `shutdown_now` gets
//! every job run exactly once, scopes and maps after shutdown run on the caller, a panicking
//! scoped job on a worker re-raises after the others ended, and many scopes at once each see
//! their own borrowed data. Every wait is bounded: a deadlock fails the test.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use boundpool::ThreadPool;
use common::{bounded, quiet_expected_panics, wait_until, EXPECTED};

fn pool(workers: usize, capacity: usize, prefix: &str) -> Arc<ThreadPool> {
    Arc::new(
        ThreadPool::builder().workers(workers).queue_capacity(capacity).thread_name(prefix).build().unwrap(),
    )
}

/// A scope in every worker whose scoped jobs spawn on the same pool and join: each worker
/// waits in its scope while its scoped jobs wait on the queue.
#[test]
fn a_scope_in_every_worker_whose_jobs_spawn_and_join_on_the_same_pool_completes() {
    bounded(60, || {
        for (workers, capacity) in [(2, 4), (1, 1), (2, 1), (3, 2)] {
            let pool = pool(workers, capacity, "srepro");
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let p = Arc::clone(&pool);
                    pool.spawn(move || {
                        let inner = &p;
                        p.scope(|s| {
                            let a = s.spawn(|| {
                                thread::sleep(Duration::from_millis(30));
                                inner.spawn(|| 1).unwrap().join().unwrap()
                            });
                            let b = s.spawn(|| {
                                thread::sleep(Duration::from_millis(30));
                                inner.spawn(|| 2).unwrap().join().unwrap()
                            });
                            a.join().unwrap() + b.join().unwrap()
                        })
                    })
                    .unwrap()
                })
                .collect();
            let sums: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(sums, vec![3; workers], "{workers} workers, queue {capacity}");
        }
    });
}

/// The same with `map` in every worker, whose items spawn and join on the same pool.
#[test]
fn a_map_in_every_worker_whose_items_spawn_and_join_on_the_same_pool_completes() {
    bounded(60, || {
        for (workers, capacity) in [(2, 4), (1, 1), (2, 1)] {
            let pool = pool(workers, capacity, "smaprepro");
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let p = Arc::clone(&pool);
                    pool.spawn(move || {
                        p.map(0..8u64, |i| {
                            thread::sleep(Duration::from_millis(2));
                            p.spawn(move || i * 10).unwrap().join().unwrap()
                        })
                        .into_iter()
                        .sum::<u64>()
                    })
                    .unwrap()
                })
                .collect();
            let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(sums, vec![280; workers], "{workers} workers, queue {capacity}");
        }
    });
}

/// Any nesting of spawn, join, scope, map and try_scope inside jobs completes, even on one
/// worker with a queue of one.
#[test]
fn deep_nesting_of_every_kind_of_work_completes_on_one_worker_with_a_queue_of_one() {
    bounded(60, || {
        let pool = pool(1, 1, "snest");
        let p = Arc::clone(&pool);
        let total = pool
            .spawn(move || {
                let inner = &p;
                p.scope(|s| {
                    let a =
                        s.spawn(|| inner.map(0..20u64, |i| inner.spawn(move || i).unwrap().join().unwrap()));
                    let b = s.spawn(|| {
                        inner
                            .try_scope(|g| {
                                g.spawn(|_| inner.scope(|s2| s2.spawn(|| Ok::<(), ()>(())).join().unwrap()));
                                7u64
                            })
                            .unwrap()
                    });
                    a.join().unwrap().into_iter().sum::<u64>() + b.join().unwrap()
                })
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(total, 190 + 7);
    });
}

/// `shutdown_now` never hands back a scoped job: the scope's owner runs it, exactly once.
#[test]
fn shutdown_now_during_a_scope_hands_back_no_scoped_job_and_every_job_runs_once() {
    bounded(60, || {
        for _ in 0..20 {
            let pool = pool(1, 64, "snow");
            let gate = common::block_one_worker(&pool);
            let runs: Vec<AtomicUsize> = (0..32).map(|_| AtomicUsize::new(0)).collect();
            let queued_plain = pool.spawn(|| "plain").unwrap();
            let stopper_started = AtomicBool::new(false);
            let handed_back = thread::scope(|t| {
                let scope_side = t.spawn(|| {
                    pool.scope(|s| {
                        for run in &runs {
                            let _ = s.spawn(move || run.fetch_add(1, Ordering::SeqCst));
                        }
                        wait_until(10, "shutdown_now starts", || stopper_started.load(Ordering::SeqCst));
                    })
                });
                let stopper = t.spawn(|| {
                    stopper_started.store(true, Ordering::SeqCst);
                    pool.shutdown_now()
                });
                // The blocked worker holds up the join in shutdown_now; the scope finishes on
                // its own thread meanwhile.
                scope_side.join().unwrap();
                gate.open();
                stopper.join().unwrap()
            });
            for (i, run) in runs.iter().enumerate() {
                assert_eq!(run.load(Ordering::SeqCst), 1, "scoped job {i}");
            }
            assert!(handed_back.iter().all(|job| job.has_handle()), "only the plain job comes back");
            assert!(handed_back.len() <= 1);
            drop(handed_back);
            let plain = queued_plain.join();
            assert!(plain.as_ref().map_or_else(|e| e.is_cancelled(), |v| *v == "plain"));
        }
    });
}

#[test]
fn scope_and_map_after_shutdown_run_everything_on_the_calling_thread() {
    bounded(30, || {
        let pool = pool(2, 8, "safter");
        pool.shutdown();
        let caller = thread::current().id();
        let on_caller = AtomicUsize::new(0);
        let mut data = vec![1u32; 100];
        pool.scope(|s| {
            for x in data.iter_mut() {
                let on_caller = &on_caller;
                let _ = s.spawn(move || {
                    *x += 1;
                    if thread::current().id() == caller {
                        on_caller.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(data, vec![2; 100]);
        let squares = pool.map(0..1000u64, |i| {
            if thread::current().id() == caller {
                on_caller.fetch_add(1, Ordering::Relaxed);
            }
            i * i
        });
        assert_eq!(squares, (0..1000u64).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(on_caller.into_inner(), 1100);
    });
}

/// A scoped job that panics on a worker makes `scope` panic with its payload, but only after
/// every other job of the scope ended.
#[test]
fn a_scoped_job_panicking_on_a_worker_re_raises_after_every_other_job_ended() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = pool(2, 8, "spanic");
        let slow_ended = AtomicBool::new(false);
        let panicked_on = std::sync::Mutex::new(None);
        let barrier = Barrier::new(2);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                let _slow = s.spawn(|| {
                    barrier.wait();
                    thread::sleep(Duration::from_millis(100));
                    slow_ended.store(true, Ordering::SeqCst);
                });
                let _boom = s.spawn(|| {
                    barrier.wait();
                    *panicked_on.lock().unwrap() = thread::current().name().map(str::to_owned);
                    panic!("{EXPECTED}: scoped job on a worker");
                });
            })
        }));
        let payload = caught.expect_err("the scoped job's panic must re-raise");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some(&*format!("{EXPECTED}: scoped job on a worker"))
        );
        assert!(slow_ended.into_inner(), "scope re-raised before the slow job ended");
        // Both jobs had to run at once to pass the barrier, so at least one ran on a worker.
        assert_eq!(pool.stats().workers, 2, "the worker survived the panic");
        drop(panicked_on);
    });
}

/// Many threads, each with its own scope over its own data, on one small pool.
#[test]
fn many_concurrent_scopes_each_mutate_their_own_borrowed_data() {
    bounded(60, || {
        let pool = pool(2, 4, "smany");
        thread::scope(|t| {
            for caller in 0..8u64 {
                let pool = &pool;
                t.spawn(move || {
                    for round in 0..50u64 {
                        let mut data: Vec<u64> = (0..64).collect();
                        pool.scope(|s| {
                            for chunk in data.chunks_mut(8) {
                                let _ = s.spawn(move || {
                                    chunk.iter_mut().for_each(|x| *x = *x * 3 + caller + round)
                                });
                            }
                        });
                        assert_eq!(data, (0..64).map(|x| x * 3 + caller + round).collect::<Vec<u64>>());
                    }
                });
            }
        });
        let stats = pool.shutdown();
        assert_eq!((stats.submitted, stats.completed), (0, 0), "scoped jobs are not counted");
    });
}

/// A scope whose only job is running on a worker returns only after the worker let go of the
/// job: the borrowed heap buffer, freed right after `scope` returns, is never written after
/// that (valgrind's memcheck, which CI runs over this file, would report the write).
#[test]
fn a_scope_returns_only_after_the_worker_running_its_job_let_go_of_the_borrow() {
    bounded(60, || {
        let pool = pool(1, 4, "slate");
        for _ in 0..5 {
            let mut data = vec![0u64; 4096];
            let started = AtomicBool::new(false);
            let wrote = AtomicBool::new(false);
            pool.scope(|s| {
                let (data, started, wrote) = (&mut data, &started, &wrote);
                let _job = s.spawn(move || {
                    started.store(true, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(20));
                    data.iter_mut().for_each(|x| *x += 1);
                    wrote.store(true, Ordering::SeqCst);
                });
                // Only the worker can have started it: this thread runs jobs only after the
                // closure returns.
                wait_until(10, "the worker starts the scoped job", || started.load(Ordering::SeqCst));
            });
            assert!(wrote.load(Ordering::SeqCst), "scope returned while a worker was still running its job");
            drop(data);
        }
    });
}

/// A scoped job waiting in the queue shows in `queued` and `peak_queued`, and is never counted
/// as submitted, completed or running.
#[test]
fn a_queued_scoped_job_counts_in_queued_only() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(4).thread_name("sstats").build().unwrap();
        let gate = common::block_one_worker(&pool);
        let before = pool.stats();
        let ran = AtomicUsize::new(0);
        pool.scope(|s| {
            let _ = s.spawn(|| ran.fetch_add(1, Ordering::SeqCst));
            let during = pool.stats();
            assert_eq!(during.queued, 1, "the scoped job waits in the queue");
            assert!(during.peak_queued >= 1);
            assert_eq!(
                (during.submitted, during.completed, during.running),
                (before.submitted, before.completed, before.running),
                "a scoped job is not a submission"
            );
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the caller ran the job no worker took");
        gate.open();
        let report = pool.shutdown();
        let after = pool.stats();
        assert_eq!(after.submitted, after.completed + after.panicked + after.cancelled);
        assert_eq!(report.completed, before.submitted, "only the blocking job was counted");
    });
}

/// A map whose helper job no worker started runs it on the caller; the helper's ticket is still
/// in the queue when the map returns, and the worker that pops it later finds nothing to do
/// (no panic, nothing run twice).
#[test]
fn a_ticket_popped_after_its_scope_ended_does_nothing() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::builder().workers(2).queue_capacity(8).thread_name("sstale").build().unwrap();
        let gates = [common::block_one_worker(&pool), common::block_one_worker(&pool)];
        let calls = AtomicUsize::new(0);
        for round in 0..4u64 {
            let doubled = pool.map(0..100u64, |i| {
                calls.fetch_add(1, Ordering::SeqCst);
                i * 2 + round
            });
            assert_eq!(doubled, (0..100u64).map(|i| i * 2 + round).collect::<Vec<_>>());
            pool.scope(|s| {
                let _ = s.spawn(|| calls.fetch_add(1, Ordering::SeqCst));
            });
        }
        assert!(pool.stats().queued >= 4, "the tickets wait behind the blocked workers");
        drop(gates);
        pool.shutdown();
        assert_eq!(calls.load(Ordering::SeqCst), 4 * 101, "every item and job ran exactly once");
        assert_eq!(pool.stats().queued, 0);
        assert_eq!(common::unexpected_panics_on("sstale"), 0, "a stale ticket panicked on a worker");
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
