//! `ObjectPool::get_async`: tasks and blocked threads wait in one first-come, first-served
//! line; the bound holds under contention; a dropped future (a fired timeout) leaves the counts
//! exact and passes on whatever it was granted; the pool's `wait_timeout` and a failing
//! `create` end the wait without sleeping a thread; and no runtime is needed. Every wait is
//! bounded.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use boundpool::{GetError, ObjectPool};
use common::{block_on, bounded, on_runtime, poll_once, Flag};

/// Waits (on the runtime's timer) until `pool` has `n` callers in line.
async fn until_waiters<T: Send + 'static, E>(pool: &ObjectPool<T, E>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.waiters() != n {
        assert!(Instant::now() < deadline, "never {n} callers in line");
        // Polling a gauge: nothing signals that a caller joined the line.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn two_hundred_tasks_share_four_objects() {
    on_runtime(60, || async {
        let made = Arc::new(AtomicUsize::new(0));
        let pool = ObjectPool::builder({
            let made = Arc::clone(&made);
            move || Ok::<_, Infallible>(made.fetch_add(1, Ordering::SeqCst))
        })
        .max_live(4)
        .build()
        .unwrap();
        let in_use = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (pool, in_use, peak, served) =
                    (pool.clone(), Arc::clone(&in_use), Arc::clone(&peak), Arc::clone(&served));
                tokio::spawn(async move {
                    let obj = pool.get_async().await.expect("an object");
                    let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    assert!(pool.live() <= 4, "{} live", pool.live());
                    tokio::task::yield_now().await;
                    in_use.fetch_sub(1, Ordering::SeqCst);
                    served.fetch_add(1, Ordering::SeqCst);
                    drop(obj);
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("the task ran to its end");
        }
        let stats = pool.stats();
        println!(
            "peak in use {}, created {}, waited {}",
            peak.load(Ordering::SeqCst),
            stats.created,
            stats.waited
        );
        assert_eq!(served.load(Ordering::SeqCst), 200);
        assert!(peak.load(Ordering::SeqCst) <= 4);
        assert_eq!(stats.checkouts, 200);
        assert!(stats.created <= 4);
        assert_eq!(stats.created as usize, made.load(Ordering::SeqCst));
        assert_eq!(
            (stats.waiting, stats.live, stats.idle),
            (0, stats.created as usize, stats.created as usize)
        );
    });
}

#[test]
fn a_blocked_thread_and_a_task_are_served_in_arrival_order() {
    for thread_first in [true, false] {
        on_runtime(30, move || async move {
            let pool = ObjectPool::builder(|| Ok::<_, Infallible>(())).max_live(1).build().unwrap();
            let held = pool.get().unwrap();
            let order = Arc::new(Mutex::new(Vec::new()));
            let start_thread = || {
                let (pool, order) = (pool.clone(), Arc::clone(&order));
                thread::spawn(move || {
                    let obj = pool.get().expect("an object");
                    order.lock().unwrap().push("thread");
                    drop(obj);
                })
            };
            let start_task = || {
                let (pool, order) = (pool.clone(), Arc::clone(&order));
                tokio::spawn(async move {
                    let obj = pool.get_async().await.expect("an object");
                    order.lock().unwrap().push("task");
                    drop(obj);
                })
            };
            let (blocked, task) = if thread_first {
                let blocked = start_thread();
                until_waiters(&pool, 1).await;
                let task = start_task();
                until_waiters(&pool, 2).await;
                (blocked, task)
            } else {
                let task = start_task();
                until_waiters(&pool, 1).await;
                let blocked = start_thread();
                until_waiters(&pool, 2).await;
                (blocked, task)
            };
            drop(held);
            task.await.expect("the task ran to its end");
            tokio::task::spawn_blocking(move || blocked.join().expect("the thread ran to its end"))
                .await
                .unwrap();
            let expected = if thread_first { ["thread", "task"] } else { ["task", "thread"] };
            assert_eq!(*order.lock().unwrap(), expected);
            assert_eq!((pool.live(), pool.idle(), pool.waiters()), (1, 1, 0));
        });
    }
}

#[test]
fn a_fired_timeout_leaves_the_counts_exact() {
    on_runtime(30, || async {
        let pool = ObjectPool::builder(|| Ok::<_, Infallible>(())).max_live(2).build().unwrap();
        let a = pool.get_async().await.unwrap();
        let b = pool.get_async().await.unwrap();
        let late = tokio::time::timeout(Duration::from_millis(20), pool.get_async()).await;
        assert!(late.is_err(), "nothing came back, so the timeout fired");
        assert_eq!((pool.live(), pool.idle(), pool.waiters()), (2, 0, 0));
        drop(a);
        assert_eq!((pool.live(), pool.idle()), (2, 1));
        let again = pool.get_async().await.unwrap();
        drop((again, b));
        assert_eq!((pool.live(), pool.idle(), pool.waiters()), (2, 2, 0));
    });
}

#[test]
fn timeouts_racing_returns_lose_nothing() {
    on_runtime(60, || async {
        let pool = ObjectPool::builder(|| Ok::<_, Infallible>(())).max_live(2).build().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..300u64)
            .map(|i| {
                let (pool, served) = (pool.clone(), Arc::clone(&served));
                tokio::spawn(async move {
                    let limit = Duration::from_micros(20 * (i % 16));
                    if let Ok(got) = tokio::time::timeout(limit, pool.get_async()).await {
                        let obj = got.expect("an object");
                        served.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        drop(obj);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("the task ran to its end");
        }
        let stats = pool.stats();
        println!("served {} of 300, created {}", served.load(Ordering::SeqCst), stats.created);
        assert_eq!(stats.checkouts as usize, served.load(Ordering::SeqCst));
        assert_eq!(
            (stats.waiting, stats.live, stats.idle),
            (0, stats.created as usize, stats.created as usize)
        );
        assert!(stats.created <= 2);
        let (a, b) = (pool.try_get().unwrap(), pool.try_get().unwrap());
        drop((a, b));
    });
}

/// A future dropped after the object (or, after a discard, the slot) was handed to it passes
/// it to the next in line. Polled by hand, so the grant is sure to come before the drop.
#[test]
fn a_dropped_future_passes_its_grant_on() {
    for discard in [false, true] {
        bounded(30, move || {
            let made = Arc::new(AtomicUsize::new(0));
            let pool = ObjectPool::builder({
                let made = Arc::clone(&made);
                move || Ok::<_, Infallible>(made.fetch_add(1, Ordering::SeqCst))
            })
            .max_live(1)
            .build()
            .unwrap();
            let held = pool.get().unwrap();
            let (first_woken, first_waker) = Flag::waker();
            let (second_woken, second_waker) = Flag::waker();
            let mut first = Box::pin(pool.get_async());
            let mut second = Box::pin(pool.get_async());
            assert!(poll_once(&mut first, &first_waker).is_pending());
            assert!(poll_once(&mut second, &second_waker).is_pending());
            assert_eq!(pool.waiters(), 2);
            if discard {
                held.discard();
            } else {
                drop(held);
            }
            assert!(first_woken.take(), "the first in line was handed the grant");
            assert!(!second_woken.take());
            assert_eq!(pool.waiters(), 1);
            drop(first);
            assert!(second_woken.take(), "the grant went on to the second");
            let Poll::Ready(Ok(obj)) = poll_once(&mut second, &second_waker) else {
                panic!("the second future holds the grant");
            };
            // A discarded object's slot is a new object; a returned one is the same.
            assert_eq!(*obj, usize::from(discard));
            drop(obj);
            assert_eq!((pool.live(), pool.idle(), pool.waiters()), (1, 1, 0));
            assert_eq!(made.load(Ordering::SeqCst), 1 + usize::from(discard));
        });
    }
}

#[test]
fn the_pools_wait_timeout_applies_without_a_sleeping_thread() {
    on_runtime(30, || async {
        let pool = ObjectPool::builder(|| Ok::<_, Infallible>(()))
            .max_live(1)
            .wait_timeout(Duration::from_millis(30))
            .build()
            .unwrap();
        let held = pool.get_async().await.unwrap();
        let started = Instant::now();
        let late = tokio::time::timeout(Duration::from_secs(10), pool.get_async()).await;
        println!("get_async gave up after {:?} (wait_timeout 30 ms)", started.elapsed());
        assert!(matches!(late, Ok(Err(GetError::Timeout))));
        let stats = pool.stats();
        assert_eq!((stats.timeouts, stats.waiting, stats.live), (1, 0, 1));
        drop(held);
        assert!(pool.get_async().await.is_ok());
    });
}

#[test]
fn a_failing_create_is_tried_once() {
    on_runtime(30, || async {
        let pool = ObjectPool::builder(|| Err::<u8, _>("connection refused")).build().unwrap();
        assert!(matches!(pool.get_async().await, Err(GetError::Create("connection refused"))));
        let stats = pool.stats();
        assert_eq!((stats.create_errors, stats.live, stats.waiting), (1, 0, 0));
    });
}

#[test]
fn no_runtime_needed() {
    bounded(30, || {
        let pool =
            ObjectPool::builder(|| Ok::<_, Infallible>(String::from("conn"))).max_live(1).build().unwrap();
        let held = block_on(pool.get_async()).unwrap();
        let returner = thread::spawn({
            let pool = pool.clone();
            move || {
                common::wait_until(10, "the future is in line", || pool.waiters() == 1);
                drop(held);
            }
        });
        let obj = block_on(pool.get_async()).expect("the returned object");
        assert_eq!(*obj, "conn");
        returner.join().unwrap();
        drop(obj);
        assert_eq!((pool.live(), pool.idle(), pool.waiters()), (1, 1, 0));
    });
}

/// The futures are `Send`, so a multi-threaded runtime may move them between threads.
#[test]
fn the_future_is_send() {
    fn is_send<F: Future + Send>(_: &F) {}
    let pool = ObjectPool::builder(|| Ok::<_, Infallible>(())).build().unwrap();
    is_send(&pool.get_async());
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
