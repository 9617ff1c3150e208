//! `map` and `try_map`: ordered results, borrowing, tiny and empty batches, nesting inside the
//! pool and inside another map, panics (of `f` or of the iterator) re-raised after every running
//! item ended, the first error winning and stopping the rest, every item processed exactly once
//! when costs differ, iterators of unknown or wrongly hinted length, results of another size
//! than the items, workers mapping while the caller still pulls, and every item and result
//! dropped exactly once. Every wait is bounded.

mod common;

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use boundpool::ThreadPool;
use common::{bounded, quiet_expected_panics, wait_until, EXPECTED};

fn pool(workers: usize, prefix: &str) -> ThreadPool {
    ThreadPool::builder().workers(workers).thread_name(prefix).build().unwrap()
}

fn scramble(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i >> 3)
}

#[test]
fn map_keeps_input_order_on_a_hundred_thousand_items() {
    bounded(60, || {
        for workers in [2, 3, 4] {
            let pool = pool(workers, "border");
            let out = pool.map(0..100_000u64, scramble);
            assert_eq!(out.len(), 100_000);
            for (i, v) in out.iter().enumerate() {
                assert_eq!(*v, scramble(i as u64), "item {i} with {workers} workers");
            }
        }
    });
}

#[test]
fn map_borrows_its_items_and_its_captured_state() {
    bounded(30, || {
        let pool = pool(2, "bborrow");
        let words: Vec<String> = (0..500).map(|i| format!("w{i}")).collect();
        let lengths: HashMap<&str, usize> = words.iter().map(|w| (w.as_str(), w.len())).collect();
        let prefix = String::from("#");
        // The results borrow from the items, and `f` borrows the table and the prefix.
        let out: Vec<(&str, String)> =
            pool.map(&words, |w| (w.as_str(), format!("{prefix}{}", lengths[w.as_str()])));
        assert_eq!(out.len(), words.len());
        for (i, (word, tag)) in out.iter().enumerate() {
            assert_eq!(*word, words[i]);
            assert_eq!(*tag, format!("#{}", words[i].len()));
        }
        // Everything borrowed is still ours.
        assert_eq!(words.len(), 500);
        assert_eq!(prefix, "#");
    });
}

#[test]
fn map_and_try_map_of_an_empty_batch_never_call_f() {
    bounded(30, || {
        let pool = pool(2, "bempty");
        let calls = AtomicUsize::new(0);
        let out: Vec<u32> = pool.map(Vec::<u32>::new(), |x| {
            calls.fetch_add(1, Ordering::Relaxed);
            x
        });
        assert!(out.is_empty());
        let tried: Result<Vec<u32>, String> = pool.try_map(0..0u32, |x| {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok(x)
        });
        assert_eq!(tried, Ok(Vec::new()));
        assert_eq!(calls.into_inner(), 0);
    });
}

#[test]
fn map_of_one_item_calls_f_exactly_once() {
    bounded(30, || {
        let pool = pool(2, "bone");
        let calls = AtomicUsize::new(0);
        let out = pool.map(std::iter::once(21u32), |x| {
            calls.fetch_add(1, Ordering::Relaxed);
            x * 2
        });
        assert_eq!(out, [42]);
        assert_eq!(calls.into_inner(), 1);
    });
}

#[test]
fn map_runs_items_only_on_the_caller_and_the_pools_own_workers() {
    bounded(30, || {
        for workers in [1, 2] {
            let pool = pool(workers, "bwhere");
            let caller = thread::current().id();
            let elsewhere = AtomicUsize::new(0);
            let out = pool.map(0..20_000u64, |i| {
                let here = thread::current();
                let on_worker = here.name().is_some_and(|name| name.starts_with("bwhere-"));
                if here.id() != caller && !on_worker {
                    elsewhere.fetch_add(1, Ordering::Relaxed);
                }
                scramble(i)
            });
            assert_eq!(out, (0..20_000).map(scramble).collect::<Vec<_>>());
            assert_eq!(elsewhere.into_inner(), 0, "items ran on a thread that is neither caller nor worker");
        }
    });
}

#[test]
fn map_inside_the_only_worker_runs_every_item_in_order_on_it() {
    bounded(30, || {
        let pool = Arc::new(pool(1, "bsingle"));
        let inner = Arc::clone(&pool);
        let (out, order_kept) = pool
            .spawn(move || {
                let worker = thread::current().id();
                let next = AtomicUsize::new(0);
                let out = inner.map(0..10_000u64, |i| {
                    assert_eq!(thread::current().id(), worker);
                    // One thread, in input order.
                    next.compare_exchange(i as usize, i as usize + 1, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                });
                (out, next.into_inner())
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(out.iter().all(|&in_order| in_order));
        assert_eq!(order_kept, 10_000);
    });
}

#[test]
fn map_inside_a_job_of_a_one_worker_pool_with_a_queue_of_one_completes() {
    bounded(30, || {
        let pool = Arc::new(
            ThreadPool::builder().workers(1).queue_capacity(1).thread_name("bnest").build().unwrap(),
        );
        let inner = pool.clone();
        let sum = pool
            .spawn(move || inner.map(0..10_000u64, |i| i * 3).into_iter().sum::<u64>())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(sum, 3 * (0..10_000u64).sum::<u64>());
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed, stats.rejected), (1, 1, 0));
    });
}

#[test]
fn map_inside_a_map_completes_with_the_right_values() {
    bounded(30, || {
        let pool = pool(2, "bmapmap");
        let rows = pool.map(0..40u64, |i| pool.map(0..300u64, |j| i * j).into_iter().sum::<u64>());
        let expected: Vec<u64> = (0..40u64).map(|i| (0..300u64).map(|j| i * j).sum()).collect();
        assert_eq!(rows, expected);
    });
}

#[test]
fn a_panic_in_f_re_raises_its_own_payload_after_every_running_item_ended() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = pool(2, "bpanic");
        let started = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        let in_flight = AtomicUsize::new(0);
        struct Ended<'a>(&'a AtomicUsize, &'a AtomicUsize);
        impl Drop for Ended<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            pool.map(0..64u32, |i| {
                started.fetch_add(1, Ordering::SeqCst);
                in_flight.fetch_add(1, Ordering::SeqCst);
                let _ended = Ended(&in_flight, &finished);
                if i == 3 {
                    // Panic while an item of the other thread is running, so the map has to
                    // wait for it before re-raising.
                    wait_until(10, "another item runs", || in_flight.load(Ordering::SeqCst) >= 2);
                    panic!("{EXPECTED}: item {i}");
                }
                thread::sleep(Duration::from_millis(5));
                i
            })
        }));
        let payload = caught.expect_err("the panic of f must re-raise");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some(&*format!("{EXPECTED}: item 3"))
        );
        assert_eq!(in_flight.load(Ordering::SeqCst), 0, "an item was still running when map returned");
        assert_eq!(started.load(Ordering::SeqCst), finished.load(Ordering::SeqCst));
        assert!(started.load(Ordering::SeqCst) < 64, "items kept starting after the panic");
        // The pool is unharmed.
        assert_eq!(pool.map(0..4, |i| i + 1), [1, 2, 3, 4]);
    });
}

#[test]
fn try_map_with_no_error_returns_every_value_in_order() {
    bounded(30, || {
        let pool = pool(2, "btryok");
        let out: Result<Vec<u64>, String> = pool.try_map(0..10_000u64, |i| Ok(scramble(i)));
        assert_eq!(out.unwrap(), (0..10_000).map(scramble).collect::<Vec<_>>());
    });
}

#[test]
fn try_map_on_one_thread_stops_at_the_first_error_and_runs_nothing_after_it() {
    bounded(30, || {
        // Inside the only worker, every item runs on that worker, in order.
        let pool = Arc::new(pool(1, "btry1"));
        let inner = Arc::clone(&pool);
        let (out, ran) = pool
            .spawn(move || {
                let ran = AtomicUsize::new(0);
                let out: Result<Vec<u32>, u32> = inner.try_map(0..100u32, |i| {
                    ran.fetch_add(1, Ordering::Relaxed);
                    if i == 37 || i == 60 {
                        Err(i)
                    } else {
                        Ok(i)
                    }
                });
                (out, ran.into_inner())
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(out, Err(37));
        assert_eq!(ran, 38, "items after the failing one must never run");
    });
}

#[test]
fn try_map_on_two_workers_skips_items_not_started_when_the_first_error_comes() {
    bounded(30, || {
        const TOTAL: usize = 400;
        let pool = pool(2, "btry2");
        let ran = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let started_after_error = AtomicUsize::new(0);
        let out: Result<Vec<usize>, String> = pool.try_map(0..TOTAL, |i| {
            ran.fetch_add(1, Ordering::SeqCst);
            if failed.load(Ordering::SeqCst) {
                started_after_error.fetch_add(1, Ordering::SeqCst);
            }
            if i == 0 {
                failed.store(true, Ordering::SeqCst);
                return Err(format!("item {i} failed"));
            }
            thread::sleep(Duration::from_millis(1));
            Ok(i)
        });
        assert_eq!(out, Err("item 0 failed".to_string()));
        let ran = ran.into_inner();
        assert!((1..TOTAL).contains(&ran), "{ran} of {TOTAL} items ran");
        let late = started_after_error.into_inner();
        assert!(late < TOTAL - 1, "{late} items started after the error");
    });
}

#[test]
fn items_of_very_unequal_cost_are_each_processed_exactly_once() {
    bounded(60, || {
        const N: usize = 5_000;
        let pool = pool(3, "bunequal");
        let seen: Vec<AtomicU8> = (0..N).map(|_| AtomicU8::new(0)).collect();
        let out = pool.map(0..N, |i| {
            seen[i].fetch_add(1, Ordering::Relaxed);
            // A few items are thousands of times dearer than the rest, and they cluster at
            // the start, where the first chunks are the largest.
            if i % 97 == 0 || (i < 200 && i % 7 == 0) {
                thread::sleep(Duration::from_millis(1));
            }
            i * 2
        });
        assert_eq!(out, (0..N).map(|i| i * 2).collect::<Vec<_>>());
        for (i, count) in seen.iter().enumerate() {
            assert_eq!(count.load(Ordering::Relaxed), 1, "item {i}");
        }
    });
}

#[test]
fn map_of_an_iterator_without_a_known_length_keeps_input_order() {
    bounded(30, || {
        let pool = pool(2, "bfilter");
        let kept = (0..50_000u64).filter(|i| i % 3 != 0);
        let out = pool.map(kept, scramble);
        let expected: Vec<u64> = (0..50_000u64).filter(|i| i % 3 != 0).map(scramble).collect();
        assert_eq!(out, expected);
    });
}

/// Yields `0..len` but claims `claimed` items: a size hint is only a hint.
struct Lying {
    next: u64,
    len: u64,
    claimed: usize,
}

impl Iterator for Lying {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        (self.next < self.len).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.claimed, Some(self.claimed))
    }
}

#[test]
fn map_returns_every_item_when_the_size_hint_is_wrong() {
    bounded(30, || {
        let pool = pool(2, "blying");
        for (len, claimed) in [(10_000, 10), (10, 10_000), (5_000, 0), (0, 7), (1, 1)] {
            let out = pool.map(Lying { next: 0, len, claimed }, scramble);
            assert_eq!(out, (0..len).map(scramble).collect::<Vec<_>>(), "{len} items claiming {claimed}");
        }
    });
}

#[test]
fn map_to_a_smaller_bigger_or_zero_sized_type_keeps_every_value_in_order() {
    bounded(30, || {
        let pool = pool(2, "bsizes");
        let wide: Vec<(u64, u64)> = (0..20_000u64).map(|i| (i, scramble(i))).collect();
        let narrow = pool.map(wide.clone(), |(_, s)| s as u8);
        assert_eq!(narrow, wide.iter().map(|&(_, s)| s as u8).collect::<Vec<_>>());
        // Results collected in place of bigger items leave no room to spare in the result.
        assert!(
            narrow.capacity() < 2 * narrow.len(),
            "capacity {} for {} results",
            narrow.capacity(),
            narrow.len()
        );
        // Zero-sized items and results.
        assert_eq!(pool.map(vec![(); 5_000], |()| 7u8), vec![7u8; 5_000]);
        assert_eq!(pool.map(0..5_000u32, |_| ()).len(), 5_000);
        let wider = pool.map(0..20_000u32, |i| (u64::from(i), [i; 4]));
        assert_eq!(wider.len(), 20_000);
        for (i, (value, copies)) in wider.iter().enumerate() {
            assert_eq!((*value, *copies), (i as u64, [i as u32; 4]));
        }
    });
}

#[test]
fn workers_start_mapping_while_the_caller_still_pulls_a_batch_of_known_length() {
    bounded(30, || {
        const N: u64 = 10_000;
        let pool = pool(2, "boverlap");
        let mapped = AtomicUsize::new(0);
        let items = (0..N).inspect(|&i| {
            if i == N - 1 {
                // The first chunks are out: a worker maps them before the last item is pulled.
                wait_until(10, "a worker maps an item", || mapped.load(Ordering::SeqCst) > 0);
            }
        });
        let out = pool.map(items, |i| {
            mapped.fetch_add(1, Ordering::SeqCst);
            scramble(i)
        });
        assert_eq!(out, (0..N).map(scramble).collect::<Vec<_>>());
    });
}

#[test]
fn a_panic_of_the_iterator_re_raises_after_the_items_handed_out_ended() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = pool(2, "bitpanic");
        let in_flight = AtomicUsize::new(0);
        let mapped = AtomicUsize::new(0);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            let items = (0..10_000u64).inspect(|&i| {
                if i == 5_000 {
                    // A worker is mapping the first chunk when the iterator panics.
                    wait_until(10, "a worker maps an item", || mapped.load(Ordering::SeqCst) > 0);
                    panic!("{EXPECTED}: iterator at {i}");
                }
            });
            pool.map(items, |i| {
                in_flight.fetch_add(1, Ordering::SeqCst);
                mapped.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_micros(20));
                in_flight.fetch_sub(1, Ordering::SeqCst);
                i
            })
        }));
        let payload = caught.expect_err("the iterator's panic must re-raise");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some(&*format!("{EXPECTED}: iterator at 5000"))
        );
        assert_eq!(in_flight.load(Ordering::SeqCst), 0, "an item was still running when map returned");
        assert!(mapped.load(Ordering::SeqCst) < 5_000, "items kept starting after the iterator panicked");
        assert_eq!(pool.map(0..4, |i| i * 2), [0, 2, 4, 6]);
    });
}

/// Counts its drops.
struct Tracked<'a>(u32, &'a AtomicUsize);

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_item_and_result_is_dropped_once_whether_mapped_or_skipped() {
    bounded(30, || {
        const N: u32 = 5_000;
        let pool = pool(2, "bdrops");
        for fail_at in [None, Some(0), Some(2_500), Some(N - 1)] {
            let items_dropped = AtomicUsize::new(0);
            let results_dropped = AtomicUsize::new(0);
            let mapped = AtomicUsize::new(0);
            let items: Vec<Tracked<'_>> = (0..N).map(|i| Tracked(i, &items_dropped)).collect();
            let out: Result<Vec<Tracked<'_>>, u32> = pool.try_map(items, |item| {
                mapped.fetch_add(1, Ordering::SeqCst);
                if Some(item.0) == fail_at {
                    return Err(item.0);
                }
                Ok(Tracked(item.0 * 2, &results_dropped))
            });
            let mapped = mapped.into_inner();
            match fail_at {
                None => {
                    let out = out.unwrap();
                    assert!(out.iter().enumerate().all(|(i, r)| r.0 == 2 * i as u32));
                    drop(out);
                    assert_eq!(mapped, N as usize);
                }
                Some(at) => assert_eq!(out.err(), Some(at)),
            }
            assert_eq!(items_dropped.into_inner(), N as usize, "items dropped, failing at {fail_at:?}");
            let expected_results = if fail_at.is_some() { mapped - 1 } else { mapped };
            assert_eq!(
                results_dropped.into_inner(),
                expected_results,
                "results dropped, failing at {fail_at:?}"
            );
        }
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
