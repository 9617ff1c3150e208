//! Offloading CPU work from many tokio tasks with `spawn_async`: every result arrives, exactly
//! once, and the runtime stays responsive while the tasks wait for room. The same load with the
//! blocking `spawn` inside the tasks is measured beside it. Both lateness figures are printed
//! (`--nocapture`), never asserted.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boundpool::ThreadPool;
use common::ticker::{Lateness, Ticker};
use common::{bounded, busy_for};

const TASKS: u64 = 2_000;
const JOB: Duration = Duration::from_micros(200);

fn pool(prefix: &str) -> Arc<ThreadPool> {
    Arc::new(ThreadPool::builder().workers(2).queue_capacity(8).thread_name(prefix).build().unwrap())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

/// What one run saw.
struct Run {
    sum: u64,
    results: u64,
    lateness: Lateness,
    elapsed: Duration,
    peak_queued: usize,
}

/// `TASKS` tokio tasks each submit one ~200 µs CPU job (awaiting room, or blocking for it) and
/// await its handle, while a 5 ms timer task measures the runtime's lateness.
fn offload(blocking: bool) -> Run {
    let pool = pool(if blocking { "offload-b" } else { "offload-a" });
    let runtime = runtime();
    let results = Arc::new(AtomicU64::new(0));
    let run = runtime.block_on(async {
        let ticker = Ticker::start(Duration::from_millis(5));
        tokio::task::yield_now().await;
        let started = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let pool = pool.clone();
                let results = results.clone();
                tokio::spawn(async move {
                    let job = move || {
                        busy_for(JOB);
                        i
                    };
                    let handle = if blocking {
                        // Blocks the runtime's thread while the queue is full.
                        pool.spawn(job).unwrap_or_else(|_| panic!("the pool is open"))
                    } else {
                        pool.spawn_async(job).await.unwrap_or_else(|_| panic!("the pool is open"))
                    };
                    let value = handle.await.unwrap();
                    results.fetch_add(1, Ordering::SeqCst);
                    value
                })
            })
            .collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        let elapsed = started.elapsed();
        Run { sum, results: 0, lateness: ticker.stop().await, elapsed, peak_queued: 0 }
    });
    let stats = pool.stats();
    let report = pool.shutdown();
    assert_eq!((report.submitted, report.completed, report.cancelled, report.rejected), (TASKS, TASKS, 0, 0));
    Run { results: results.load(Ordering::SeqCst), peak_queued: stats.peak_queued, ..run }
}

#[test]
fn two_thousand_tasks_offload_cpu_jobs_with_spawn_async() {
    let (awaited, blocked) = bounded(120, || (offload(false), offload(true)));
    let expected_sum = TASKS * (TASKS - 1) / 2;
    for run in [&awaited, &blocked] {
        assert_eq!((run.results, run.sum), (TASKS, expected_sum));
        assert!(run.peak_queued <= 8, "the queue bound holds: peak {}", run.peak_queued);
    }
    eprintln!(
        "{TASKS} tasks x 200 us CPU jobs, pool of 2 workers / queue 8, 2-thread runtime, 5 ms timer: \
         max lateness {:.2} ms with spawn_async ({} ticks, {:.0} ms), {:.2} ms with blocking spawn ({} ticks, {:.0} ms)",
        awaited.lateness.max.as_secs_f64() * 1e3,
        awaited.lateness.ticks,
        awaited.elapsed.as_secs_f64() * 1e3,
        blocked.lateness.max.as_secs_f64() * 1e3,
        blocked.lateness.ticks,
        blocked.elapsed.as_secs_f64() * 1e3,
    );
}

#[test]
fn execute_async_runs_every_job_exactly_once() {
    bounded(60, || {
        let pool = pool("offload-x");
        let ran = Arc::new(AtomicU64::new(0));
        runtime().block_on(async {
            let tasks: Vec<_> = (0..500u64)
                .map(|i| {
                    let pool = pool.clone();
                    let ran = ran.clone();
                    tokio::spawn(async move {
                        pool.execute_async(move || {
                            ran.fetch_add(i, Ordering::SeqCst);
                        })
                        .await
                        .unwrap_or_else(|_| panic!("the pool is open"));
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        let report = pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 500 * 499 / 2);
        assert_eq!((report.submitted, report.completed), (500, 500));
    });
}

#[test]
fn permits_from_reserve_fill_the_queue_in_order() {
    bounded(60, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(4).build().unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        runtime().block_on(async {
            let mut handles = Vec::new();
            for i in 0..50u32 {
                let permit = pool.reserve().await.unwrap();
                let order = order.clone();
                handles.push(permit.spawn(move || order.lock().unwrap().push(i)));
            }
            for handle in handles {
                handle.await.unwrap();
            }
        });
        // One task reserving one after another on a one-worker pool: the jobs run in order.
        assert_eq!(*order.lock().unwrap(), (0..50).collect::<Vec<_>>());
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed), (50, 50));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
