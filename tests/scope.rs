//! `ThreadPool::scope`: jobs that borrow from the caller's stack, their results and panics.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use boundpool::ThreadPool;
use common::{bounded, quiet_expected_panics, EXPECTED};

#[test]
fn scoped_jobs_mutate_disjoint_slices_of_the_callers_stack() {
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let mut data: Vec<u64> = (0..1000).collect();
        pool.scope(|s| {
            for chunk in data.chunks_mut(100) {
                let _ = s.spawn(move || chunk.iter_mut().for_each(|x| *x *= 2));
            }
        });
        assert_eq!(data, (0..1000).map(|x| x * 2).collect::<Vec<u64>>());
    });
}

#[test]
fn scoped_results_come_back_through_join_and_scope_returns_the_closures_value() {
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let words = ["scope", "borrowed", "pool"];
        let lengths = pool.scope(|s| {
            let handles: Vec<_> = words.iter().map(|w| s.spawn(move || w.len())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        });
        assert_eq!(lengths, [5, 8, 4]);
    });
}

#[test]
fn scoped_jobs_run_in_parallel_on_a_two_worker_pool() {
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        // Both must be running at once to pass the barrier: the caller plus one helper.
        let barrier = Barrier::new(2);
        pool.scope(|s| {
            let a = s.spawn(|| barrier.wait().is_leader());
            let b = s.spawn(|| barrier.wait().is_leader());
            let leaders = [a.join().unwrap(), b.join().unwrap()];
            assert_eq!(leaders.iter().filter(|l| **l).count(), 1);
        });
    });
}

#[test]
fn a_joined_panic_is_not_raised_again() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let ok = pool.scope(|s| {
            let failing = s.spawn(|| -> u8 { panic!("{EXPECTED}: joined") });
            let err = failing.join().unwrap_err();
            assert_eq!(err.panic_message(), Some("expected panic: joined"));
            "scope returned"
        });
        assert_eq!(ok, "scope returned");
    });
}

#[test]
fn an_unjoined_panic_is_raised_after_every_other_job_ended() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let ran = AtomicUsize::new(0);
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                let _ = s.spawn(|| panic!("{EXPECTED}: unjoined"));
                for _ in 0..20 {
                    let _ = s.spawn(|| {
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                }
            })
        }));
        let payload = result.unwrap_err();
        assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("expected panic: unjoined"));
        assert_eq!(ran.load(Ordering::SeqCst), 20, "every other job ended before the panic was raised");
        // The pool is untouched by a scope's panic.
        assert_eq!(pool.spawn(|| 1).unwrap().join().unwrap(), 1);
    });
}

#[test]
fn a_panic_in_the_scope_closure_is_raised_after_its_jobs_ended() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let ran = AtomicUsize::new(0);
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                for _ in 0..10 {
                    let _ = s.spawn(|| {
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                }
                panic!("{EXPECTED}: in the closure");
            })
        }));
        let payload = result.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("expected panic: in the closure")
        );
        assert_eq!(ran.load(Ordering::SeqCst), 10);
    });
}

#[test]
fn scoped_jobs_can_spawn_more_scoped_jobs() {
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let count = AtomicUsize::new(0);
        let mut results = vec![0u64; 8];
        pool.scope(|s| {
            let count = &count;
            for (i, slot) in results.iter_mut().enumerate() {
                let _ = s.spawn(move || {
                    let children: Vec<_> = (0..4u64)
                        .map(|j| {
                            s.spawn(move || {
                                count.fetch_add(1, Ordering::SeqCst);
                                i as u64 * 10 + j
                            })
                        })
                        .collect();
                    *slot = children.into_iter().map(|c| c.join().unwrap()).sum();
                });
            }
            // Detached grandchildren still end before the scope does.
            let _ = s.spawn(move || {
                let _ = s.spawn(move || count.fetch_add(100, Ordering::SeqCst));
            });
        });
        assert_eq!(count.load(Ordering::SeqCst), 132);
        assert_eq!(results, (0..8u64).map(|i| 40 * i + 6).collect::<Vec<_>>());
    });
}

#[test]
fn scoped_jobs_run_on_the_caller_or_the_pools_workers_and_are_not_counted_as_submitted() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(1).thread_name("swhere").build().unwrap();
        let caller = std::thread::current().id();
        let mut seen = Vec::new();
        pool.scope(|s| {
            let handles: Vec<_> = (0..10)
                .map(|i| {
                    s.spawn(move || {
                        let here = std::thread::current();
                        let on_worker = here.name() == Some("swhere-0");
                        (i, here.id() == caller || on_worker)
                    })
                })
                .collect();
            seen = handles.into_iter().map(|h| h.join().unwrap()).collect();
        });
        assert_eq!(seen.len(), 10);
        assert!(
            seen.iter().all(|(_, ours)| *ours),
            "a scoped job ran on a thread that is neither caller nor worker"
        );
        assert_eq!(seen.iter().map(|(i, _)| i).sum::<i32>(), 45);
        let stats = pool.stats();
        assert_eq!(
            (stats.submitted, stats.completed, stats.running),
            (0, 0, 0),
            "scoped jobs are not counted"
        );
    });
}

#[test]
fn scope_on_a_busy_pool_does_not_wait_for_its_workers() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(2).queue_capacity(1).build().unwrap();
        let gate_a = common::block_one_worker(&pool);
        let gate_b = common::block_one_worker(&pool);
        pool.try_execute(|| ()).unwrap(); // the queue is full too
        let total = pool.scope(|s| {
            let hs: Vec<_> = (1..=10).map(|i| s.spawn(move || i)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
        });
        assert_eq!(total, 55);
        gate_a.open();
        gate_b.open();
    });
}

#[test]
fn scope_after_shutdown_still_runs_its_jobs() {
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        pool.shutdown();
        let ran = Arc::new(AtomicUsize::new(0));
        let mut data = [1, 2, 3];
        pool.scope(|s| {
            for x in data.iter_mut() {
                let ran = ran.clone();
                let _ = s.spawn(move || {
                    *x += 1;
                    ran.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(data, [2, 3, 4]);
        assert_eq!(ran.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn a_scoped_handle_reports_whether_its_job_finished() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        // The only worker is busy: nothing but this thread can run the scoped job.
        let gate = common::block_one_worker(&pool);
        pool.scope(|s| {
            let h = s.spawn(|| 5);
            assert!(!h.is_finished());
            assert_eq!(h.join().unwrap(), 5);
        });
        gate.open();
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
