//! `CancelToken::cancelled`: resolves on `cancel` (of the token or an ancestor) and at the
//! token's deadline, inside `tokio::select!` and `tokio::time::timeout`, and without any
//! runtime; a dropped future leaves the token as it was. Every wait is bounded.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use boundpool::CancelToken;
use common::{block_on, bounded, on_runtime, poll_once, Flag};

const LONG: Duration = Duration::from_secs(3600);

#[test]
fn cancel_wins_a_select() {
    on_runtime(60, || async {
        // Many rounds, so that the cancel lands before, during and after the future's first poll.
        for round in 0..200 {
            let token = CancelToken::new();
            // A parent holds its children weakly: the middle token must live for the cancel
            // to reach its child.
            let middle = token.child();
            let watched = if round % 2 == 0 { token.clone() } else { middle.child() };
            let task = tokio::spawn(async move {
                tokio::select! {
                    _ = watched.cancelled() => true,
                    _ = tokio::time::sleep(LONG) => false,
                }
            });
            if round % 3 == 0 {
                tokio::task::yield_now().await;
            }
            token.cancel();
            assert!(task.await.unwrap(), "round {round}: the cancel woke the select");
            drop(middle);
        }
    });
}

#[test]
fn a_timeout_drops_the_future_and_the_token_still_works() {
    on_runtime(30, || async {
        let token = CancelToken::new();
        let child = token.child();
        assert!(tokio::time::timeout(Duration::from_millis(10), child.cancelled()).await.is_err());
        assert!(!child.is_cancelled());
        token.cancel();
        tokio::time::timeout(Duration::from_secs(10), child.cancelled()).await.expect("resolved at once");
    });
}

#[test]
fn the_deadline_resolves_every_waiting_future() {
    on_runtime(30, || async {
        let limit = Duration::from_millis(50);
        let token = CancelToken::with_timeout(limit);
        let deadline = token.deadline().unwrap();
        let waiting: Vec<_> = (0..4)
            .map(|i| {
                // Two on the token, two on children: a child inherits its parent's deadline.
                let watched = if i % 2 == 0 { token.clone() } else { token.child() };
                tokio::spawn(async move {
                    tokio::select! {
                        _ = watched.cancelled() => Instant::now(),
                        _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("the deadline never resolved it"),
                    }
                })
            })
            .collect();
        for task in waiting {
            let resolved = task.await.unwrap();
            assert!(resolved >= deadline);
            println!("resolved {:?} after the deadline", resolved - deadline);
        }
        assert!(token.is_cancelled());
    });
}

#[test]
fn a_parents_deadline_and_cancel_reach_the_childs_future() {
    on_runtime(30, || async {
        let parent = CancelToken::with_timeout(Duration::from_millis(20));
        let grandchild = parent.child().child(); // inherits the deadline even with its parent gone
        tokio::time::timeout(Duration::from_secs(10), grandchild.cancelled())
            .await
            .expect("the inherited deadline resolved it");

        let parent = CancelToken::with_timeout(LONG);
        let child = parent.child();
        let waiting = tokio::spawn(async move { child.cancelled().await });
        tokio::task::yield_now().await;
        parent.cancel();
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the cancel resolved it")
            .unwrap();
    });
}

#[test]
fn the_same_future_resolves_when_polled_from_another_task() {
    // A waker replaced between polls is the one woken.
    bounded(30, || {
        let token = CancelToken::new();
        let mut future = Box::pin(token.cancelled());
        let (first, first_waker) = Flag::waker();
        let (second, second_waker) = Flag::waker();
        assert!(poll_once(&mut future, &first_waker).is_pending());
        assert!(poll_once(&mut future, &second_waker).is_pending());
        token.cancel();
        assert!(second.take());
        assert!(!first.take());
        assert!(poll_once(&mut future, &second_waker).is_ready());
    });
}

#[test]
fn no_runtime_needed() {
    bounded(30, || {
        let token = CancelToken::new();
        let canceller = thread::spawn({
            let token = token.clone();
            move || token.cancel()
        });
        block_on(token.child().cancelled());
        canceller.join().unwrap();

        let started = Instant::now();
        block_on(CancelToken::with_timeout(Duration::from_millis(20)).cancelled());
        assert!(started.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn many_futures_dropped_before_the_cancel() {
    bounded(30, || {
        let token = Arc::new(CancelToken::with_timeout(LONG));
        let (_, waker) = Flag::waker();
        for _ in 0..100 {
            let mut future = Box::pin(token.cancelled());
            assert!(poll_once(&mut future, &waker).is_pending());
        }
        let (woken, waker) = Flag::waker();
        let mut last = Box::pin(token.cancelled());
        assert!(poll_once(&mut last, &waker).is_pending());
        token.cancel();
        assert!(woken.take());
        assert!(poll_once(&mut last, &waker).is_ready());
    });
}

/// The future is `Send` and `'static`, so it can be moved into a spawned task.
#[test]
fn the_future_is_send_and_static() {
    fn is_send_static<F: Future + Send + 'static>(_: F) {}
    is_send_static(CancelToken::new().cancelled());
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
