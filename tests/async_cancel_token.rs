//! Jobs and their tokens from async code: `CancelToken::cancelled` and a `JobHandle` together
//! in `tokio::select!` and `tokio::time::timeout`. Stop waiting for a job once its token is
//! cancelled (the job, watching the same token, stops early and its handle stays awaitable),
//! cancel a job's token when awaiting it times out, and a queued job whose token is cancelled
//! never runs. (`cancelled` on its own is tested in `cancel_async.rs`.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use boundpool::{CancelToken, ThreadPool};
use common::{bounded, held};

fn pool(workers: usize, capacity: usize) -> ThreadPool {
    ThreadPool::builder().workers(workers).queue_capacity(capacity).build().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

/// A job that works in steps until its token is cancelled (bounded, so a lost cancel fails
/// instead of spinning), and returns the steps it did.
fn until_cancelled(token: &CancelToken, started: mpsc::Sender<()>) -> usize {
    let _ = started.send(());
    let mut steps = 0;
    while !token.is_cancelled() && steps < 20_000 {
        thread::sleep(Duration::from_micros(500));
        steps += 1;
    }
    steps
}

/// Spawns `until_cancelled` with a fresh token and waits until it has started.
fn started_until_cancelled(pool: &ThreadPool) -> (CancelToken, boundpool::JobHandle<usize>) {
    let token = CancelToken::new();
    let (started_tx, started) = mpsc::channel();
    let handle = pool.spawn_with(&token, move |t| until_cancelled(t, started_tx)).unwrap();
    started.recv_timeout(Duration::from_secs(10)).unwrap();
    (token, handle)
}

#[test]
fn select_stops_waiting_for_a_job_once_its_token_is_cancelled() {
    bounded(30, || {
        let pool = pool(1, 4);
        let (token, mut handle) = started_until_cancelled(&pool);
        let canceller = {
            let token = token.clone();
            thread::spawn(move || token.cancel())
        };
        let outcome = runtime().block_on(async {
            tokio::select! {
                () = token.cancelled() => "cancelled",
                _ = &mut handle => "finished",
            }
        });
        canceller.join().unwrap();
        assert_eq!(outcome, "cancelled");
        // The job watches the same token: it stops early, and its handle is still awaitable.
        let steps = runtime().block_on(async { tokio::time::timeout(Duration::from_secs(10), handle).await });
        assert!(steps.expect("the job stops once cancelled").unwrap() < 20_000);
        assert_eq!(pool.shutdown().completed, 1);
    });
}

#[test]
fn a_timeout_cancels_the_token_and_the_job_stops() {
    bounded(30, || {
        let pool = pool(1, 4);
        let (token, mut handle) = started_until_cancelled(&pool);
        let steps = runtime().block_on(async {
            match tokio::time::timeout(Duration::from_millis(20), &mut handle).await {
                Ok(_) => panic!("the job runs until cancelled"),
                Err(_elapsed) => {
                    token.cancel();
                    handle.await.unwrap()
                }
            }
        });
        assert!(steps < 20_000);
        assert_eq!(pool.shutdown().completed, 1);
    });
}

#[test]
fn a_queued_job_whose_token_is_cancelled_never_runs() {
    bounded(30, || {
        let pool = pool(1, 4);
        let (job, held) = held(());
        let holder = pool.spawn(job).unwrap();
        held.wait_started();
        let token = CancelToken::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        let handle = pool.spawn_with(&token, move |_| counter.fetch_add(1, Ordering::SeqCst)).unwrap();
        let result = runtime().block_on(async {
            let waiter = tokio::spawn(handle);
            tokio::select! {
                () = token.cancelled() => unreachable!("nobody cancelled it yet"),
                () = tokio::task::yield_now() => {}
            }
            token.cancel();
            token.cancelled().await; // already cancelled: ready at once
            held.release();
            tokio::time::timeout(Duration::from_secs(10), waiter).await
        });
        assert!(result.expect("resolved").unwrap().unwrap_err().is_cancelled());
        holder.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let report = pool.shutdown();
        assert_eq!((report.completed, report.cancelled), (1, 1));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
