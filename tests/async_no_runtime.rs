//! The async submissions with no runtime at all: a `block_on` made of std's `Wake` and thread
//! parking drives `spawn_async`, `reserve` and the handles from plain threads, and from inside
//! the pool's own jobs, where a full queue means the job runs inline at once (caller-runs)
//! instead of waiting on the pool itself.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use boundpool::{SubmitError, ThreadPool};
use common::{block_on, block_one_worker, bounded, busy_for, thread_is_asleep, wait_until};

fn pool(prefix: &str, workers: usize, capacity: usize) -> Arc<ThreadPool> {
    Arc::new(
        ThreadPool::builder().workers(workers).queue_capacity(capacity).thread_name(prefix).build().unwrap(),
    )
}

fn current_name() -> String {
    thread::current().name().unwrap_or("").to_owned()
}

#[test]
fn plain_threads_offload_through_block_on() {
    bounded(60, || {
        let pool = pool("norun-offload", 2, 2);
        let sum = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let (pool, sum) = (pool.clone(), sum.clone());
                thread::spawn(move || {
                    for i in 0..200u64 {
                        let n = t * 1_000 + i;
                        let handle = block_on(pool.spawn_async(move || {
                            busy_for(Duration::from_micros(20));
                            n
                        }))
                        .unwrap_or_else(|_| panic!("the pool is open"));
                        sum.fetch_add(block_on(handle).unwrap(), Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let expected: u64 = (0..4u64).flat_map(|t| (0..200u64).map(move |i| t * 1_000 + i)).sum();
        assert_eq!(sum.load(Ordering::SeqCst), expected);
        let report = block_on(pool.shutdown_async());
        assert_eq!((report.submitted, report.completed), (800, 800));
        assert!(pool.stats().peak_queued <= 2);
    });
}

#[test]
fn a_thread_in_block_on_is_refused_with_its_closure_at_shutdown() {
    bounded(30, || {
        let pool = pool("norun-shut", 1, 1);
        let gate = block_one_worker(&pool);
        pool.execute(|| ()).unwrap(); // full
        let waiter = {
            let pool = pool.clone();
            thread::Builder::new()
                .name("norun-waiter".into())
                .spawn(move || match block_on(pool.spawn_async(|| 7)) {
                    Err(SubmitError(job)) => job(),
                    Ok(_) => panic!("the queue stays full until shutdown"),
                })
                .unwrap()
        };
        wait_until(10, "the waiter parks", || thread_is_asleep("norun-waiter"));
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || block_on(pool.shutdown_async()))
        };
        assert_eq!(waiter.join().unwrap(), 7, "refused while the worker is still held");
        gate.open();
        let report = stopper.join().unwrap();
        assert_eq!((report.submitted, report.completed, report.rejected), (2, 2, 1));
    });
}

#[test]
fn from_its_own_job_on_a_full_queue_spawn_async_runs_the_job_inline_at_once() {
    bounded(30, || {
        let pool = pool("norun-inl", 1, 1);
        let inner = pool.clone();
        let (tx, rx) = mpsc::channel();
        pool.execute(move || {
            let me = current_name();
            inner.execute(|| ()).unwrap(); // the one slot is taken: the queue is full
            let handle = block_on(inner.spawn_async(current_name)).unwrap_or_else(|_| panic!("open"));
            let ran_at_once = handle.is_finished();
            let ran_on = handle.join().unwrap();
            block_on(inner.execute_async(|| ())).unwrap_or_else(|_| panic!("open"));
            let permit = block_on(inner.reserve()).unwrap();
            let by_permit = permit.spawn(current_name);
            let permit_at_once = by_permit.is_finished();
            tx.send((me, ran_at_once, ran_on, permit_at_once, by_permit.join().unwrap())).unwrap();
        })
        .unwrap();
        let (me, ran_at_once, ran_on, permit_at_once, permit_on) =
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(me, "norun-inl-0");
        assert!(ran_at_once && permit_at_once, "caller-runs: finished before the future returned");
        assert_eq!((ran_on.as_str(), permit_on.as_str()), ("norun-inl-0", "norun-inl-0"));
        let report = pool.shutdown();
        // The outer job, the queued no-op and the three run inline.
        assert_eq!((report.submitted, report.completed), (5, 5));
    });
}

#[test]
fn from_its_own_job_with_room_spawn_async_queues_the_job() {
    bounded(30, || {
        let pool = pool("norun-room", 1, 4);
        let inner = pool.clone();
        let (tx, rx) = mpsc::channel();
        pool.execute(move || {
            let handle = block_on(inner.spawn_async(current_name)).unwrap_or_else(|_| panic!("open"));
            // Queued behind this job on the only worker: it cannot have run yet.
            tx.send(handle.is_finished()).unwrap();
            drop(handle); // detached: it runs after this job
        })
        .unwrap();
        assert!(!rx.recv_timeout(Duration::from_secs(10)).unwrap());
        assert_eq!(pool.shutdown().completed, 2);
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
