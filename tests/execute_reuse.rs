//! Handle-less jobs run in boxes that the pool refills instead of freeing: every job still
//! runs its own closure exactly once, and nothing a job captured outlives its run.

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use boundpool::ThreadPool;
use common::{bounded, quiet_expected_panics, wait_until, EXPECTED};

const ROUNDS: u64 = 20;
const PER_ROUND: u64 = 500;

/// Waits (bounded) until `pool` has ended `jobs` jobs, run or panicked.
fn wait_ended(pool: &ThreadPool, jobs: u64) {
    wait_until(30, "every job has ended", || {
        let stats = pool.stats();
        stats.completed + stats.panicked == jobs
    });
}

#[test]
fn every_job_runs_its_own_closure_once_when_boxes_are_refilled() {
    bounded(60, || {
        let pool = ThreadPool::builder().workers(2).queue_capacity(64).build().unwrap();
        let sum = Arc::new(AtomicU64::new(0));
        let runs = Arc::new(AtomicU64::new(0));
        // Three closure types in turn: two small ones (reused) and one too large to keep.
        for round in 0..ROUNDS {
            for i in 0..PER_ROUND {
                let value = round * PER_ROUND + i;
                let (sum, runs) = (sum.clone(), runs.clone());
                let accepted = match i % 3 {
                    0 => pool
                        .execute(move || {
                            sum.fetch_add(value, Ordering::Relaxed);
                            runs.fetch_add(1, Ordering::Relaxed);
                        })
                        .is_ok(),
                    1 => {
                        let text = value.to_string();
                        pool.execute(move || {
                            sum.fetch_add(text.parse::<u64>().unwrap(), Ordering::Relaxed);
                            runs.fetch_add(1, Ordering::Relaxed);
                        })
                        .is_ok()
                    }
                    _ => {
                        let big = [value; 64];
                        pool.execute(move || {
                            sum.fetch_add(big[63], Ordering::Relaxed);
                            runs.fetch_add(1, Ordering::Relaxed);
                        })
                        .is_ok()
                    }
                };
                assert!(accepted, "job {value} was refused");
            }
        }
        let jobs = ROUNDS * PER_ROUND;
        wait_ended(&pool, jobs);
        assert_eq!(runs.load(Ordering::Relaxed), jobs);
        assert_eq!(sum.load(Ordering::Relaxed), jobs * (jobs - 1) / 2);
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed), (jobs, jobs));
    });
}

#[test]
fn what_a_job_captured_is_dropped_when_it_runs_not_kept_with_its_box() {
    bounded(60, || {
        let pool = ThreadPool::new(2).unwrap();
        let shared = Arc::new(());
        let jobs = 2_000;
        for _ in 0..jobs {
            let mine = Arc::clone(&shared);
            pool.execute(move || drop(Arc::clone(&mine))).unwrap();
        }
        // A job is counted once its closure, and so everything it captured, is gone.
        wait_ended(&pool, jobs);
        assert_eq!(Arc::strong_count(&shared), 1, "a reused box kept a job's capture alive");
        // And the same after shutdown, with every spare box freed.
        drop(pool);
        assert_eq!(Arc::strong_count(&shared), 1);
    });
}

#[test]
fn panicking_jobs_between_reused_ones_leave_the_others_running() {
    quiet_expected_panics();
    bounded(60, || {
        let panics = Arc::new(AtomicUsize::new(0));
        let seen = panics.clone();
        let pool = ThreadPool::builder()
            .workers(2)
            .panic_handler(move |_| {
                seen.fetch_add(1, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        let ran = Arc::new(AtomicU64::new(0));
        let jobs = 3_000u64;
        for i in 0..jobs {
            let ran = ran.clone();
            pool.execute(move || {
                assert!(i % 10 != 0, "{EXPECTED}: job {i}");
                ran.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
        }
        wait_ended(&pool, jobs);
        assert_eq!(ran.load(Ordering::Relaxed), jobs - jobs / 10);
        assert_eq!(panics.load(Ordering::Relaxed) as u64, jobs / 10);
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.panicked), (jobs - jobs / 10, jobs / 10));
    });
}

#[test]
fn one_thread_feeding_several_pools_in_turn_runs_every_job() {
    bounded(60, || {
        let pools: Vec<ThreadPool> = (0..3).map(|_| ThreadPool::new(1).unwrap()).collect();
        let count = Arc::new(AtomicU64::new(0));
        let per_pool = 1_000u64;
        for i in 0..per_pool * pools.len() as u64 {
            let count = count.clone();
            pools[(i / 100) as usize % pools.len()]
                .execute(move || {
                    count.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
        }
        for pool in &pools {
            wait_ended(pool, per_pool);
        }
        assert_eq!(count.load(Ordering::Relaxed), per_pool * pools.len() as u64);
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
