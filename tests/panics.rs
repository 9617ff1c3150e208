//! Panic isolation: a panicking job never kills its worker; payloads reach the handle or the
//! panic handler, and every panic is counted.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use boundpool::ThreadPool;
use common::{bounded, quiet_expected_panics, EXPECTED};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_panicking_spawned_job_hands_its_payload_to_the_handle() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let err =
            pool.spawn(|| -> u32 { panic!("{EXPECTED}: formatted {}", 7) }).unwrap().join().unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert_eq!(err.panic_message(), Some("expected panic: formatted 7"));
        assert_eq!(err.to_string(), "the job panicked: expected panic: formatted 7");
        let payload = err.into_panic();
        assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("expected panic: formatted 7"));

        // A static str payload, and a payload of another type.
        let err = pool.spawn(|| -> () { panic!("expected panic: static") }).unwrap().join().unwrap_err();
        assert_eq!(err.panic_message(), Some("expected panic: static"));
        assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "expected panic: static");
        let err = pool.spawn(|| std::panic::panic_any(404u16)).unwrap().join().unwrap_err();
        assert!(err.panic_message().is_none());
        assert_eq!(err.to_string(), "the job panicked");
        assert_eq!(*err.into_panic().downcast::<u16>().unwrap(), 404);

        let stats = pool.stats();
        assert_eq!((stats.workers, stats.panicked, stats.completed), (1, 3, 0));
        assert_eq!(pool.spawn(|| 5).unwrap().join().unwrap(), 5, "the worker survived");
    });
}

#[test]
#[should_panic(expected = "into_panic called on a cancelled job")]
fn into_panic_on_a_cancelled_job_panics() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = common::block_one_worker(&pool);
    let handle = pool.spawn(|| ()).unwrap();
    assert!(handle.cancel());
    let err = handle.join().unwrap_err();
    drop(gate);
    let _ = err.into_panic();
}

#[test]
fn a_thousand_panicking_jobs_leave_every_worker_alive() {
    quiet_expected_panics();
    bounded(120, || {
        let pool = ThreadPool::builder().workers(2).queue_capacity(64).build().unwrap();
        for i in 0..1000 {
            pool.execute(move || panic!("{EXPECTED}: fire {i}")).unwrap();
        }
        // Wait for all of them through the queue: a handle job behind them on each worker.
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let tail: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                pool.spawn(move || {
                    barrier.wait();
                })
                .unwrap()
            })
            .collect();
        for h in tail {
            h.join().unwrap();
        }
        let stats = pool.stats();
        assert_eq!(stats.panicked, 1000);
        assert_eq!(stats.workers, 2);
        assert_eq!(stats.completed, 2);
        // Two jobs that need both workers at once still run: both workers are alive.
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let pair: Vec<_> = (0..2)
            .map(|i| {
                let barrier = barrier.clone();
                pool.spawn(move || {
                    barrier.wait();
                    i
                })
                .unwrap()
            })
            .collect();
        assert_eq!(pair.into_iter().map(|h| h.join().unwrap()).sum::<i32>(), 1);
        let report = pool.shutdown();
        assert_eq!((report.panicked, report.completed, report.submitted), (1000, 4, 1004));
    });
}

#[test]
fn the_panic_handler_receives_every_payload() {
    quiet_expected_panics();
    let received = bounded(60, || {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let pool = ThreadPool::builder()
            .workers(2)
            .panic_handler(move |payload| {
                let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
                sink.lock().unwrap().push(msg);
            })
            .build()
            .unwrap();
        for i in 0..200 {
            pool.execute(move || panic!("{EXPECTED} {i}")).unwrap();
        }
        // A spawned job's panic goes to its handle, not to the handler.
        assert!(pool.spawn(|| -> () { panic!("{EXPECTED} handle") }).unwrap().join().unwrap_err().is_panic());
        let report = pool.shutdown();
        assert_eq!(report.panicked, 201);
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_by_key(|m| m.rsplit(' ').next().unwrap().parse::<u32>().unwrap());
        seen
    });
    let expected: Vec<String> = (0..200).map(|i| format!("{EXPECTED} {i}")).collect();
    assert_eq!(received, expected);
}

#[test]
fn a_panicking_panic_handler_does_not_kill_the_worker() {
    quiet_expected_panics();
    bounded(30, || {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let pool = ThreadPool::builder()
            .workers(1)
            .panic_handler(move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                panic!("{EXPECTED}: the handler itself");
            })
            .build()
            .unwrap();
        for _ in 0..10 {
            pool.execute(|| panic!("{EXPECTED}: job")).unwrap();
        }
        assert_eq!(pool.spawn(|| "alive").unwrap().join().unwrap(), "alive");
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.panicked, stats.completed), (1, 10, 1));
        assert_eq!(calls.load(Ordering::SeqCst), 10);
    });
}

static RESULT_DROPS: AtomicUsize = AtomicUsize::new(0);
static PAYLOAD_DROPS: AtomicUsize = AtomicUsize::new(0);

/// A value whose Drop panics.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        RESULT_DROPS.fetch_add(1, Ordering::SeqCst);
        panic!("{EXPECTED}: drop of a job's result");
    }
}

#[test]
fn a_result_whose_drop_panics_on_a_detached_handle_does_not_kill_the_worker() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let (dropped_tx, dropped_rx) = mpsc::channel::<()>();
        let handle = pool
            .spawn(move || {
                // Return only once the handle is gone, so the result is dropped on the worker.
                let _ = dropped_rx.recv_timeout(WAIT);
                PanicOnDrop
            })
            .unwrap();
        drop(handle);
        drop(dropped_tx);
        for i in 0..5 {
            assert_eq!(pool.spawn(move || i).unwrap().join().unwrap(), i);
        }
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.completed, stats.panicked), (1, 6, 0));
        let report = pool.shutdown();
        assert_eq!(report.completed, 6);
        assert_eq!(RESULT_DROPS.load(Ordering::SeqCst), 1, "the result was dropped, on the worker");
    });
}

/// A panic payload whose own Drop panics.
struct LoudPayload;

impl Drop for LoudPayload {
    fn drop(&mut self) {
        PAYLOAD_DROPS.fetch_add(1, Ordering::SeqCst);
        panic!("{EXPECTED}: drop of a panic payload");
    }
}

#[test]
fn a_panic_payload_whose_drop_panics_does_not_kill_the_worker() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        pool.execute(|| std::panic::panic_any(LoudPayload)).unwrap();
        assert_eq!(pool.spawn(|| 1).unwrap().join().unwrap(), 1);
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.panicked, stats.completed), (1, 1, 1));
        assert_eq!(PAYLOAD_DROPS.load(Ordering::SeqCst), 1, "the payload was dropped, on the worker");
    });
}

#[test]
fn panics_in_jobs_run_inline_by_the_caller_are_caught_too() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = Arc::new(ThreadPool::builder().workers(1).queue_capacity(1).build().unwrap());
        let inner = pool.clone();
        let outer = pool
            .spawn(move || {
                // The queue holds one; the rest run inline on this worker and panic here.
                let handles: Vec<_> = (0..4)
                    .map(|i| inner.spawn(move || -> () { panic!("{EXPECTED} inline {i}") }).unwrap())
                    .collect();
                for _ in 0..3 {
                    inner.execute(|| panic!("{EXPECTED} inline fire")).unwrap();
                }
                handles.into_iter().filter(|h| h.is_finished()).count()
            })
            .unwrap();
        // The first spawn took the only queue slot; the next three ran inline.
        assert_eq!(outer.join().unwrap(), 3);
        let report = pool.shutdown();
        assert_eq!((report.panicked, report.completed), (7, 1));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
