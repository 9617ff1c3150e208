//! Awaiting a `JobHandle` inside `tokio::select!` and `tokio::time::timeout`: a handle that
//! loses a race or runs out of time stays usable (awaited again, joined or cancelled), a handle
//! dropped by the losing branch detaches (its job still runs), and cancelling a handle wakes the
//! task awaiting it.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use boundpool::ThreadPool;
use common::{block_one_worker, bounded, held, quiet_expected_panics, wait_until, EXPECTED};

fn pool(workers: usize, capacity: usize) -> ThreadPool {
    ThreadPool::builder().workers(workers).queue_capacity(capacity).build().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

#[test]
fn a_handle_that_timed_out_can_still_be_awaited() {
    bounded(30, || {
        let pool = pool(1, 4);
        let (job, held) = held(42);
        runtime().block_on(async {
            let mut handle = pool.spawn(job).unwrap();
            held.wait_started();
            let first = tokio::time::timeout(Duration::from_millis(20), &mut handle).await;
            assert!(first.is_err(), "the job is held: the timeout elapses");
            assert!(!handle.is_finished());
            held.release();
            let value = tokio::time::timeout(Duration::from_secs(10), &mut handle).await;
            assert_eq!(value.expect("released: it finishes").unwrap(), 42);
        });
        assert_eq!(pool.shutdown().completed, 1);
    });
}

#[test]
fn select_between_a_handle_and_another_event() {
    bounded(30, || {
        let pool = pool(1, 4);
        let (job, held) = held("done");
        runtime().block_on(async {
            let mut handle = pool.spawn(job).unwrap();
            held.wait_started();
            let (tx, rx) = tokio::sync::oneshot::channel::<&str>();
            tx.send("other").unwrap();
            // The handle is held, the other branch is ready: the other wins, the handle stays.
            let winner = tokio::select! {
                result = &mut handle => result.unwrap(),
                other = rx => other.unwrap(),
            };
            assert_eq!(winner, "other");
            held.release();
            // Now only the handle can finish.
            let winner = tokio::select! {
                result = &mut handle => result.unwrap(),
                () = std::future::pending::<()>() => unreachable!(),
            };
            assert_eq!(winner, "done");
        });
        assert_eq!(pool.shutdown().completed, 1);
    });
}

#[test]
fn a_handle_dropped_by_the_losing_branch_detaches() {
    bounded(30, || {
        let pool = pool(1, 4);
        let gate = block_one_worker(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        runtime().block_on(async {
            let counter = ran.clone();
            let handle = pool.spawn(move || counter.fetch_add(1, Ordering::SeqCst)).unwrap();
            tokio::select! {
                biased;
                () = std::future::ready(()) => {}
                _ = handle => unreachable!("the job is queued behind a held worker"),
            }
        });
        gate.open();
        let report = pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 1, "a dropped handle detaches; its job still runs");
        assert_eq!((report.completed, report.cancelled), (2, 0));
    });
}

#[test]
fn a_job_cancelled_elsewhere_wakes_the_task_awaiting_its_handle() {
    bounded(30, || {
        let pool = pool(1, 4);
        let gate = block_one_worker(&pool);
        let rt = runtime();
        let handle = pool.spawn(|| "never").unwrap(); // queued behind the held worker
        let (polled_tx, polled_rx) = mpsc::channel();
        let waiter = rt.spawn(async move {
            let mut handle = handle;
            let first = tokio::time::timeout(Duration::from_millis(1), &mut handle).await;
            assert!(first.is_err(), "queued behind a held worker");
            polled_tx.send(()).unwrap();
            handle.await // pending until the job is cancelled on another thread
        });
        polled_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // Cancelled from this thread: shutdown_now hands the job back, and dropping it unrun
        // resolves its handle as cancelled.
        let handed_back = std::thread::scope(|s| {
            let stopper = s.spawn(|| pool.shutdown_now());
            wait_until(10, "the queue was emptied", || pool.stats().queued == 0);
            gate.open();
            stopper.join().unwrap()
        });
        assert_eq!(handed_back.len(), 1);
        drop(handed_back);
        let result = rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), waiter).await });
        assert!(result.expect("woken by the cancel").unwrap().unwrap_err().is_cancelled());
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.cancelled), (1, 1));
    });
}

#[test]
fn a_panic_arrives_through_the_awaited_handle() {
    quiet_expected_panics();
    bounded(30, || {
        let pool = pool(1, 4);
        runtime().block_on(async {
            let handle = pool.spawn(|| -> u32 { panic!("{EXPECTED}: awaited panic") }).unwrap();
            let error = tokio::time::timeout(Duration::from_secs(10), handle).await.unwrap().unwrap_err();
            assert!(error.is_panic());
        });
        assert_eq!(pool.shutdown().panicked, 1);
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
