//! Submission: spawn, try_spawn, spawn_timeout, execute, try_execute; backpressure on a full
//! queue; every refusal hands the closure back; the rejected counter.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use boundpool::{SubmitError, SubmitTimeoutError, ThreadPool, TrySubmitError};
use common::{block_one_worker, bounded, thread_is_asleep, wait_until};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn every_submission_variant_runs_its_job() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(2).queue_capacity(4).build().unwrap();
        assert_eq!(pool.spawn(|| 1).unwrap().join().unwrap(), 1);
        assert_eq!(pool.try_spawn(|| 2).unwrap().join().unwrap(), 2);
        assert_eq!(pool.spawn_timeout(|| 3, Duration::from_secs(5)).unwrap().join().unwrap(), 3);
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        pool.execute(move || tx.send(4).unwrap()).unwrap();
        pool.try_execute(move || tx2.send(5).unwrap()).unwrap();
        let mut got = [rx.recv_timeout(WAIT).unwrap(), rx.recv_timeout(WAIT).unwrap()];
        got.sort();
        assert_eq!(got, [4, 5]);
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed, report.rejected), (5, 5, 0));
    });
}

#[test]
fn a_full_queue_accepts_exactly_capacity_jobs_then_refuses_with_the_same_closure() {
    bounded(60, || {
        let capacity = 5;
        let pool = ThreadPool::builder().workers(1).queue_capacity(capacity).build().unwrap();
        let gate = block_one_worker(&pool);
        let mut handles = Vec::new();
        for i in 0..capacity {
            handles.push(pool.try_spawn(move || i * 10).unwrap_or_else(|_| panic!("slot {i} refused")));
        }
        assert_eq!(pool.stats().queued, capacity);

        let secret = 4242;
        let err = pool.try_spawn(move || secret).unwrap_err();
        assert!(err.is_full() && !err.is_shutdown());
        let f = match err {
            TrySubmitError::Full(f) => f,
            TrySubmitError::Shutdown(_) => panic!("expected Full"),
        };
        assert_eq!(f(), 4242, "the closure handed back is the one submitted");

        let (tx, rx) = mpsc::channel();
        let err = pool.try_execute(move || tx.send("ran").unwrap()).unwrap_err();
        assert!(err.is_full());
        err.into_inner()();
        assert_eq!(rx.try_recv().unwrap(), "ran");

        let timeout = Duration::from_millis(100);
        let started = Instant::now();
        let err = pool.spawn_timeout(move || secret + 1, timeout).unwrap_err();
        let waited = started.elapsed();
        assert!(err.is_timeout() && !err.is_shutdown());
        assert!(waited >= timeout, "gave up after {waited:?}, before the timeout");
        assert!(waited < timeout + Duration::from_secs(5), "waited {waited:?}");
        match err {
            SubmitTimeoutError::Timeout(f) => assert_eq!(f(), 4243),
            SubmitTimeoutError::Shutdown(_) => panic!("expected Timeout"),
        }

        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.rejected, stats.queued), (1 + capacity as u64, 3, capacity));

        gate.open();
        let values: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(values, [0, 10, 20, 30, 40]);
        let report = pool.shutdown();
        assert_eq!((report.completed, report.rejected, report.cancelled), (6, 3, 0));
    });
}

#[test]
fn a_blocked_spawn_and_execute_go_through_once_room_appears() {
    bounded(60, || {
        let pool = Arc::new(ThreadPool::builder().workers(1).queue_capacity(1).build().unwrap());
        let gate = block_one_worker(&pool);
        let first = pool.try_spawn(|| "queued").unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let spawner = {
            let pool = pool.clone();
            let done_tx = done_tx.clone();
            std::thread::spawn(move || {
                let handle = pool.spawn(|| "blocked spawn").unwrap();
                done_tx.send("spawn returned").unwrap();
                handle.join().unwrap()
            })
        };
        let executor = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let (tx, rx) = mpsc::channel();
                pool.execute(move || tx.send("blocked execute").unwrap()).unwrap();
                done_tx.send("execute returned").unwrap();
                rx.recv_timeout(WAIT).unwrap()
            })
        };
        // The queue stays full while the worker is held, so neither may return.
        assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err(), "a submit did not block");
        assert_eq!(pool.stats().queued, 1);
        gate.open();
        assert_eq!(first.join().unwrap(), "queued");
        assert_eq!(spawner.join().unwrap(), "blocked spawn");
        assert_eq!(executor.join().unwrap(), "blocked execute");
        let mut returned = [done_rx.recv_timeout(WAIT).unwrap(), done_rx.recv_timeout(WAIT).unwrap()];
        returned.sort();
        assert_eq!(returned, ["execute returned", "spawn returned"]);
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed, report.rejected), (4, 4, 0));
    });
}

#[test]
fn spawn_timeout_succeeds_when_room_appears_within_the_timeout() {
    bounded(60, || {
        let pool = Arc::new(ThreadPool::builder().workers(1).queue_capacity(1).build().unwrap());
        let gate = block_one_worker(&pool);
        let _queued = pool.try_spawn(|| ()).unwrap();
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                tx.send(()).unwrap();
                pool.spawn_timeout(|| 7, Duration::from_secs(30)).map(|h| h.join().unwrap()).is_ok()
            })
        };
        rx.recv_timeout(WAIT).unwrap();
        gate.open();
        assert!(waiter.join().unwrap());
        assert_eq!(pool.stats().rejected, 0);
    });
}

#[test]
fn every_variant_hands_the_closure_back_after_shutdown() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        pool.shutdown();
        assert!(pool.is_shutdown());
        let calls = Arc::new(AtomicUsize::new(0));
        let job = |n: usize| {
            let calls = calls.clone();
            move || {
                calls.fetch_add(n, Ordering::SeqCst);
            }
        };

        let SubmitError(f) = pool.spawn(job(1)).unwrap_err();
        f();
        match pool.try_spawn(job(10)).unwrap_err() {
            TrySubmitError::Shutdown(f) => f(),
            TrySubmitError::Full(_) => panic!("expected Shutdown"),
        }
        match pool.spawn_timeout(job(100), Duration::from_secs(1)).unwrap_err() {
            SubmitTimeoutError::Shutdown(f) => f(),
            SubmitTimeoutError::Timeout(_) => panic!("expected Shutdown"),
        }
        let err = pool.execute(job(1000)).unwrap_err();
        err.into_inner()();
        let err = pool.try_execute(job(10000)).unwrap_err();
        assert!(err.is_shutdown() && !err.is_full());
        err.into_inner()();

        assert_eq!(calls.load(Ordering::SeqCst), 11111, "each closure came back exactly once");
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.rejected, stats.completed), (0, 5, 0));
        assert_eq!(pool.shutdown().rejected, 5);
    });
}

#[test]
fn errors_display_and_debug_without_the_closure_being_debug() {
    struct NotDebug(u8);
    let not_debug = NotDebug(1);
    let f = move || not_debug.0;

    let err = SubmitError(f);
    assert_eq!(err.to_string(), "the pool is shut down");
    assert_eq!(format!("{err:?}"), "SubmitError(..)");
    let f = err.into_inner();

    let full = TrySubmitError::Full(f);
    assert_eq!(full.to_string(), "the pool's queue is full");
    assert_eq!(format!("{full:?}"), "Full(..)");
    let shut = TrySubmitError::Shutdown(full.into_inner());
    assert_eq!(shut.to_string(), "the pool is shut down");
    assert_eq!(format!("{shut:?}"), "Shutdown(..)");

    let timeout = SubmitTimeoutError::Timeout(shut.into_inner());
    assert_eq!(timeout.to_string(), "timed out waiting for room in the pool's queue");
    assert_eq!(format!("{timeout:?}"), "Timeout(..)");
    let shut = SubmitTimeoutError::Shutdown(timeout.into_inner());
    assert_eq!(shut.to_string(), "the pool is shut down");
    assert_eq!(format!("{shut:?}"), "Shutdown(..)");

    // All of them are std errors, usable as Box<dyn Error>.
    let f = shut.into_inner();
    assert_eq!(f(), 1, "the closure came through every error intact");
    let boxed: Box<dyn std::error::Error> = Box::new(SubmitError(f));
    assert_eq!(boxed.to_string(), "the pool is shut down");
}

#[test]
fn the_rejected_counter_counts_full_timeouts_and_refusals_after_shutdown_exactly() {
    bounded(60, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(2).build().unwrap();
        let gate = block_one_worker(&pool);
        pool.try_execute(|| ()).unwrap();
        pool.try_execute(|| ()).unwrap();
        let mut expected = 0;
        for _ in 0..7 {
            assert!(pool.try_execute(|| ()).unwrap_err().is_full());
            expected += 1;
        }
        for _ in 0..3 {
            assert!(pool.try_spawn(|| ()).unwrap_err().is_full());
            expected += 1;
        }
        for _ in 0..2 {
            assert!(pool.spawn_timeout(|| (), Duration::from_millis(1)).unwrap_err().is_timeout());
            expected += 1;
        }
        assert_eq!(pool.stats().rejected, expected);
        gate.open();
        let report = pool.shutdown();
        assert_eq!(report.rejected, expected);
        assert!(pool.execute(|| ()).is_err());
        assert!(pool.spawn(|| ()).is_err());
        assert_eq!(pool.stats().rejected, expected + 2);
        assert_eq!(pool.stats().submitted, 3);
    });
}

#[test]
fn a_blocked_submit_gets_in_when_room_appears_even_if_the_queue_stops_draining() {
    bounded(60, || {
        // One worker, room for 3. The worker will be stuck in a job that waits for the blocked
        // submitter itself, so after that take the queue (2 of 3) drains no further.
        let pool = Arc::new(ThreadPool::builder().workers(1).queue_capacity(3).build().unwrap());
        let gate = block_one_worker(&pool);
        let (submitted_tx, submitted_rx) = mpsc::channel::<()>();
        pool.execute(move || {
            submitted_rx.recv_timeout(WAIT).expect("the blocked submit should get in");
        })
        .unwrap();
        pool.execute(|| ()).unwrap();
        pool.execute(|| ()).unwrap();
        assert_eq!(pool.stats().queued, 3);
        let submitter = {
            let pool = pool.clone();
            std::thread::Builder::new()
                .name("blocked-submit".into())
                .spawn(move || {
                    pool.execute(|| ()).unwrap(); // blocks: the queue is full
                    submitted_tx.send(()).unwrap();
                })
                .unwrap()
        };
        // Only once the submitter sleeps may the worker take: room must appear after it parked.
        wait_until(10, "the submitter is parked", || thread_is_asleep("blocked-submit"));
        gate.open();
        submitter.join().unwrap();
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed), (5, 5));
    });
}

#[test]
fn a_bound_too_large_for_a_preallocated_ring_is_kept_exactly_too() {
    bounded(60, || {
        // Beyond 32 768 jobs the queue grows in blocks instead of a ring; the bound holds alike.
        let capacity = 40_000;
        let pool = ThreadPool::builder().workers(1).queue_capacity(capacity).build().unwrap();
        let gate = block_one_worker(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        for i in 0..capacity {
            let ran = ran.clone();
            let accepted = pool.try_execute(move || {
                ran.fetch_add(1, Ordering::Relaxed);
            });
            assert!(accepted.is_ok(), "slot {i} refused");
        }
        assert!(pool.try_execute(|| ()).unwrap_err().is_full());
        assert_eq!(pool.stats().queued, capacity);
        gate.open();
        let report = pool.shutdown();
        assert_eq!(ran.load(Ordering::Relaxed), capacity);
        assert_eq!((report.completed, report.rejected), (1 + capacity as u64, 1));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
