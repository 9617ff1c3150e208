//! A `cancelled` future waiting on a token with a deadline is served by the one maintenance
//! thread, which runs only while some such future waits. Alone in its file: no other test's
//! pools or tokens are alive here.

mod common;

use std::time::Duration;

use boundpool::{maintenance_threads, CancelToken};
use common::{block_on, bounded, poll_once, wait_until, Flag};

#[test]
fn the_maintenance_thread_runs_only_while_a_future_waits_on_a_deadline() {
    bounded(60, || {
        assert_eq!(maintenance_threads(), 0);
        let (_, waker) = Flag::waker();

        // A token without a deadline needs no thread.
        let plain = CancelToken::new();
        let mut future = Box::pin(plain.cancelled());
        assert!(poll_once(&mut future, &waker).is_pending());
        assert_eq!(maintenance_threads(), 0);
        drop(future);

        // Waiting on a deadline starts it; the last future that stops waiting ends it.
        let far = CancelToken::with_timeout(Duration::from_secs(3600));
        let mut a = Box::pin(far.cancelled());
        let mut b = Box::pin(far.child().cancelled());
        assert!(poll_once(&mut a, &waker).is_pending());
        assert!(poll_once(&mut b, &waker).is_pending());
        wait_until(10, "the thread has started", || maintenance_threads() == 1);
        drop(a);
        drop(b);
        wait_until(10, "the thread exits once no future waits", || maintenance_threads() == 0);

        // A cancel ends it too.
        let mut c = Box::pin(far.cancelled());
        assert!(poll_once(&mut c, &waker).is_pending());
        wait_until(10, "the thread has started", || maintenance_threads() == 1);
        far.cancel();
        assert!(poll_once(&mut c, &waker).is_ready());
        wait_until(10, "the thread exits once the token is cancelled", || maintenance_threads() == 0);

        // And so does the deadline.
        block_on(CancelToken::with_timeout(Duration::from_millis(10)).cancelled());
        wait_until(10, "the thread exits once the deadline has passed", || maintenance_threads() == 0);
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
