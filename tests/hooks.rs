//! Thread start and stop hooks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use boundpool::ThreadPool;

mod common;
use common::bounded;

#[test]
fn hooks_run_once_per_worker_on_that_worker() {
    bounded(30, hooks_run_once_per_worker);
}

fn hooks_run_once_per_worker() {
    let started = Arc::new(Mutex::new(Vec::new()));
    let stopped = Arc::new(Mutex::new(Vec::new()));
    let (s, t) = (started.clone(), stopped.clone());
    let pool = ThreadPool::builder()
        .workers(3)
        .thread_name("hook")
        .on_thread_start(move |i| {
            let name = std::thread::current().name().map(str::to_owned);
            s.lock().unwrap().push((i, name));
        })
        .on_thread_stop(move |i| t.lock().unwrap().push(i))
        .build()
        .unwrap();
    pool.spawn(|| ()).unwrap().join().unwrap();
    pool.shutdown();
    let mut started = started.lock().unwrap().clone();
    started.sort();
    let expected: Vec<_> = (0..3).map(|i| (i, Some(format!("hook-{i}")))).collect();
    assert_eq!(started, expected);
    let mut stopped = stopped.lock().unwrap().clone();
    stopped.sort_unstable();
    assert_eq!(stopped, [0, 1, 2]);
}

#[test]
fn a_panicking_hook_goes_to_the_panic_handler_and_the_worker_lives() {
    bounded(30, a_panicking_hook);
}

fn a_panicking_hook() {
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let pool = ThreadPool::builder()
        .workers(2)
        .on_thread_start(|_| panic!("hook failed"))
        .panic_handler(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    assert_eq!(pool.spawn(|| 5).unwrap().join().unwrap(), 5);
    pool.shutdown();
    assert_eq!(handled.load(Ordering::SeqCst), 2);
    assert_eq!(pool.stats().workers, 0);
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
