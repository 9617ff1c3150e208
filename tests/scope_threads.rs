//! No call of `map` or `scope` starts a thread: with many callers at once, the process never
//! has more threads than it had before, plus the callers. Alone in its test binary, so that no
//! other test's threads are counted.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use boundpool::ThreadPool;
use common::{bounded, thread_names};

#[test]
fn sixteen_callers_mapping_at_once_never_exceed_the_workers_plus_the_callers() {
    bounded(120, || {
        const CALLERS: usize = 16;
        let pool = ThreadPool::builder().workers(2).queue_capacity(8).thread_name("sbound").build().unwrap();
        let before = thread_names().len();
        let done = AtomicBool::new(false);
        let peak = AtomicUsize::new(0);
        thread::scope(|t| {
            // The sampler is one more thread.
            let sampler = t.spawn(|| {
                while !done.load(Ordering::SeqCst) {
                    peak.fetch_max(thread_names().len(), Ordering::SeqCst);
                    thread::yield_now();
                }
            });
            let callers: Vec<_> = (0..CALLERS)
                .map(|c| {
                    let pool = &pool;
                    t.spawn(move || {
                        for round in 0..200u64 {
                            let out = pool.map(0..64u64, |i| i + round + c as u64);
                            assert_eq!(out[63], 63 + round + c as u64);
                            pool.scope(|s| {
                                for _ in 0..4 {
                                    let _ = s.spawn(|| ());
                                }
                            });
                        }
                    })
                })
                .collect();
            for caller in callers {
                caller.join().unwrap();
            }
            done.store(true, Ordering::SeqCst);
            sampler.join().unwrap();
        });
        let peak = peak.into_inner();
        let allowed = before + 1 + CALLERS;
        assert!(peak <= allowed, "peaked at {peak} threads; {before} before, so at most {allowed} allowed");
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
