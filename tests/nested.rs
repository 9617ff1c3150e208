//! Work from inside the pool never deadlocks it, even with one worker and a queue of one:
//! caller-runs for nested submits, inline runs for joins on unstarted siblings, scope inside a
//! job, shutdown from a job, deep recursion. Every wait is bounded.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use boundpool::ThreadPool;
use common::{assert_no_threads_named, bounded};

const WAIT: Duration = Duration::from_secs(10);

fn tiny_pool(prefix: &str) -> Arc<ThreadPool> {
    Arc::new(ThreadPool::builder().workers(1).queue_capacity(1).thread_name(prefix).build().unwrap())
}

#[test]
fn a_job_spawning_many_jobs_into_its_own_full_pool_runs_them_and_joins_them() {
    bounded(30, || {
        let pool = tiny_pool("nmany");
        let inner = pool.clone();
        let total = pool
            .spawn(move || {
                let handles: Vec<_> = (0..50u64).map(|i| inner.spawn(move || i * 2).unwrap()).collect();
                handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(total, 2450);
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed, stats.rejected), (51, 51, 0));
    });
}

#[test]
fn spawn_timeout_from_a_job_on_its_full_pool_runs_inline_instead_of_timing_out() {
    bounded(30, || {
        let pool = tiny_pool("ntime");
        let inner = pool.clone();
        let values = pool
            .spawn(move || {
                let handles: Vec<_> = (0..5)
                    .map(|i| inner.spawn_timeout(move || i, Duration::from_millis(1)).unwrap())
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(values, [0, 1, 2, 3, 4]);
        assert_eq!(pool.stats().rejected, 0);
    });
}

#[test]
fn a_job_joining_a_sibling_that_has_not_started_runs_it_inline() {
    bounded(30, || {
        let pool = tiny_pool("nsib");
        let (handle_tx, handle_rx) = mpsc::channel();
        let outer = pool
            .spawn(move || {
                let sibling: boundpool::JobHandle<(u32, std::thread::ThreadId)> =
                    handle_rx.recv_timeout(WAIT).unwrap();
                let (value, ran_on) = sibling.join().unwrap();
                (value + 1, ran_on == std::thread::current().id())
            })
            .unwrap();
        // Queued behind the outer job, which holds the only worker.
        let sibling = pool.spawn(|| (41, std::thread::current().id())).unwrap();
        handle_tx.send(sibling).unwrap();
        assert_eq!(outer.join().unwrap(), (42, true), "the sibling ran inline on the joining worker");
    });
}

#[test]
fn wait_timeout_from_a_job_on_an_unstarted_sibling_runs_it_inline() {
    bounded(30, || {
        let pool = tiny_pool("nwait");
        let (handle_tx, handle_rx) = mpsc::channel();
        let outer = pool
            .spawn(move || {
                let sibling: boundpool::JobHandle<u32> = handle_rx.recv_timeout(WAIT).unwrap();
                let finished = sibling.wait_timeout(Duration::from_millis(1));
                (finished, sibling.join().unwrap())
            })
            .unwrap();
        let sibling = pool.spawn(|| 7).unwrap();
        handle_tx.send(sibling).unwrap();
        assert_eq!(outer.join().unwrap(), (true, 7));
    });
}

#[test]
fn scope_inside_a_job_completes() {
    bounded(30, || {
        let pool = tiny_pool("nscope");
        let inner = pool.clone();
        let (sum, data) = pool
            .spawn(move || {
                let mut data = vec![1u64, 2, 3, 4, 5, 6];
                let mut sum = 0;
                inner.scope(|s| {
                    let (left, right) = data.split_at_mut(3);
                    let _ = s.spawn(|| left.iter_mut().for_each(|x| *x *= 10));
                    let _ = s.spawn(|| right.iter_mut().for_each(|x| *x *= 100));
                });
                inner.scope(|s| {
                    sum = s.spawn(|| data.iter().sum::<u64>()).join().unwrap();
                });
                (sum, data)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(data, [10, 20, 30, 400, 500, 600]);
        assert_eq!(sum, 1560);
    });
}

#[test]
fn shutdown_from_inside_a_job_returns_stops_intake_and_the_outer_drop_joins() {
    let prefix = "nshut";
    bounded(30, move || {
        let pool = tiny_pool(prefix);
        let ran = Arc::new(AtomicUsize::new(0));
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let inner = pool.clone();
        let outer = pool
            .spawn(move || {
                go_rx.recv_timeout(WAIT).unwrap();
                let report = inner.shutdown();
                let refused = inner.execute(|| ()).is_err() && inner.spawn(|| ()).is_err();
                (report.completed, refused, inner.is_shutdown())
            })
            .unwrap();
        // Queued before the shutdown: it must still run.
        let queued = {
            let ran = ran.clone();
            pool.spawn(move || ran.fetch_add(1, Ordering::SeqCst)).unwrap()
        };
        go_tx.send(()).unwrap();
        let (completed_then, refused, closed) = outer.join().unwrap();
        assert_eq!(completed_then, 0, "the shutdown returned without waiting for its own job");
        assert!(refused && closed);
        assert_eq!(queued.join().unwrap(), 0);
        assert!(pool.execute(|| ()).is_err());
        let pool = Arc::try_unwrap(pool).expect("the job's clone was dropped");
        drop(pool);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert_no_threads_named(prefix);
    });
}

#[test]
fn execute_from_inside_a_job_on_a_full_pool_runs_inline() {
    bounded(30, || {
        let pool = tiny_pool("nexec");
        let ran = Arc::new(AtomicUsize::new(0));
        let inner = pool.clone();
        let counted = ran.clone();
        let inline_before_return = pool
            .spawn(move || {
                for _ in 0..10 {
                    let counted = counted.clone();
                    inner
                        .execute(move || {
                            counted.fetch_add(1, Ordering::SeqCst);
                        })
                        .unwrap();
                }
                // The first took the queue's only slot; the other nine ran here already.
                counted.load(Ordering::SeqCst)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(inline_before_return, 9);
        let report = pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 10);
        assert_eq!((report.submitted, report.completed), (11, 11));
    });
}

fn depth(pool: Arc<ThreadPool>, n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    let inner = pool.clone();
    pool.spawn(move || depth(inner, n - 1)).unwrap().join().unwrap() + 1
}

#[test]
fn deep_recursion_through_the_pool_completes() {
    bounded(60, || {
        let pool = tiny_pool("ndeep");
        let inner = pool.clone();
        let reached = pool.spawn(move || depth(inner, 50)).unwrap().join().unwrap();
        assert_eq!(reached, 50);
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (51, 51));
    });
}

#[test]
fn many_nested_jobs_across_two_workers_complete() {
    bounded(60, || {
        let pool = Arc::new(ThreadPool::builder().workers(2).queue_capacity(1).build().unwrap());
        let outers: Vec<_> = (0..8)
            .map(|_| {
                let inner = pool.clone();
                pool.spawn(move || {
                    let hs: Vec<_> = (0..20u64).map(|i| inner.spawn(move || i).unwrap()).collect();
                    hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
                })
                .unwrap()
            })
            .collect();
        for h in outers {
            assert_eq!(h.join().unwrap(), 190);
        }
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed), (168, 168));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
