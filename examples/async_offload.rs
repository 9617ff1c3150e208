//! Offloading CPU work from async code with backpressure, while the runtime stays responsive.
//!
//! Many tokio tasks each hand CPU-bound jobs (a busy loop of `--job-us` microseconds) to a
//! small `ThreadPool` with `spawn_async` and await the handles. When the pool's bounded queue is
//! full, `spawn_async` waits for room without blocking the runtime's threads, so a timer task
//! beside them keeps ticking on time. The same load is then run with the blocking `spawn`
//! inside the tasks, which parks a runtime thread whenever the queue is full. A last phase
//! shows `reserve`: take a queue slot first, then pull the next input item, so nothing is read
//! that cannot be queued.
//!
//! For each run it reports jobs per second, the 5 ms timer's lateness (p50, p99, max), the
//! deepest the queue got (`stats().peak_queued`) and the process's peak thread count.
//!
//! ```text
//! cargo run --release --example async_offload              # 20 000 jobs per run
//! cargo run --release --example async_offload -- --quick   # 2 000 jobs per run, a few seconds
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use boundpool::ThreadPool;
use tokio::time::Instant;

const TASKS: usize = 200;
const WORKERS: usize = 2;
const QUEUE: usize = 16;
const RUNTIME_THREADS: usize = 2;
const TICK: Duration = Duration::from_millis(5);

/// A CPU-bound job: spins for `d`, returning a checksum of its work.
fn cpu_job(d: Duration) -> u64 {
    let start = std::time::Instant::now();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    while start.elapsed() < d {
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    x
}

/// The process's thread count, from `/proc/self/status` (Linux; 0 elsewhere).
fn threads_now() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Watches the runtime while a run goes on: a timer's lateness and the peak thread count.
struct Watch {
    stop: Arc<AtomicBool>,
    peak_threads: Arc<AtomicUsize>,
    timer: tokio::task::JoinHandle<Vec<Duration>>,
}

impl Watch {
    fn start() -> Watch {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_threads = Arc::new(AtomicUsize::new(threads_now()));
        let (flag, peak) = (stop.clone(), peak_threads.clone());
        let timer = tokio::spawn(async move {
            let mut late = Vec::new();
            let mut due = Instant::now() + TICK;
            while !flag.load(Ordering::Relaxed) {
                tokio::time::sleep_until(due).await;
                let now = Instant::now();
                late.push(now.saturating_duration_since(due));
                peak.fetch_max(threads_now(), Ordering::Relaxed);
                due = now + TICK;
            }
            late
        });
        Watch { stop, peak_threads, timer }
    }

    /// Ends the watch: the timer's lateness samples, sorted, and the peak thread count.
    async fn finish(self) -> (Vec<Duration>, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let mut late = self.timer.await.unwrap_or_default();
        late.sort();
        (late, self.peak_threads.load(Ordering::Relaxed))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(
    label: &str,
    jobs: usize,
    elapsed: Duration,
    late: &[Duration],
    peak_queued: usize,
    peak_threads: usize,
) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label:<23} {jobs} jobs in {:>6.0} ms = {:>6.0} jobs/s | 5 ms timer late p50 {:>5.2} ms, p99 {:>6.2} ms, max {:>6.2} ms ({} ticks) | peak queue {peak_queued}/{QUEUE} | peak threads {peak_threads}",
        ms(elapsed),
        jobs as f64 / elapsed.as_secs_f64(),
        ms(percentile(late, 0.5)),
        ms(percentile(late, 0.99)),
        ms(late.last().copied().unwrap_or_default()),
        late.len(),
    );
}

fn new_pool() -> Result<Arc<ThreadPool>, boundpool::BuildError> {
    Ok(Arc::new(ThreadPool::builder().name("offload").workers(WORKERS).queue_capacity(QUEUE).build()?))
}

/// `TASKS` tasks share `jobs` jobs: each submits one, awaits it, and takes the next.
async fn many_tasks(jobs: usize, job: Duration, blocking: bool) -> Result<(), Box<dyn std::error::Error>> {
    let pool = new_pool()?;
    let watch = Watch::start();
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (pool, next) = (pool.clone(), next.clone());
            tokio::spawn(async move {
                let mut checksum = 0u64;
                while next.fetch_add(1, Ordering::Relaxed) < jobs {
                    let work = move || cpu_job(job);
                    let handle = if blocking {
                        pool.spawn(work).map_err(|_| "the pool shut down")?
                    } else {
                        pool.spawn_async(work).await.map_err(|_| "the pool shut down")?
                    };
                    checksum ^= handle.await.map_err(|_| "a job failed")?;
                }
                Ok::<u64, &'static str>(checksum)
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = start.elapsed();
    let (late, peak_threads) = watch.finish().await;
    let label = if blocking { "blocking spawn in tasks" } else { "spawn_async" };
    report(label, jobs, elapsed, &late, pool.stats().peak_queued, peak_threads);
    let totals = pool.shutdown_async().await;
    assert_eq!(totals.completed, jobs as u64, "every job ran once");
    Ok(())
}

/// One task reads items from a channel, but only once it holds a queue slot for the next one.
async fn reserve_then_read(jobs: usize, job: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let pool = new_pool()?;
    let (items, mut inbox) = tokio::sync::mpsc::channel::<u64>(64);
    let feeder = tokio::spawn(async move {
        for item in 0..jobs as u64 {
            if items.send(item).await.is_err() {
                break;
            }
        }
    });
    let watch = Watch::start();
    let start = Instant::now();
    let mut handles = Vec::with_capacity(jobs);
    loop {
        let permit = pool.reserve().await?; // room first ...
        let Some(item) = inbox.recv().await else { break }; // ... then the next item
        handles.push(permit.spawn(move || cpu_job(job) ^ item));
    }
    for handle in handles {
        handle.await?;
    }
    feeder.await?;
    let elapsed = start.elapsed();
    let (late, peak_threads) = watch.finish().await;
    report("reserve, then read", jobs, elapsed, &late, pool.stats().peak_queued, peak_threads);
    let totals = pool.shutdown_async().await;
    assert_eq!(totals.completed, jobs as u64, "every job ran once");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let job_us = args
        .iter()
        .position(|a| a == "--job-us")
        .and_then(|at| args.get(at + 1))
        .map(|n| n.parse::<u64>())
        .transpose()?
        .unwrap_or(200);
    let jobs = if quick { 2_000 } else { 20_000 };
    let job = Duration::from_micros(job_us);
    println!(
        "{TASKS} tokio tasks on {RUNTIME_THREADS} runtime threads offload {job_us} us CPU jobs to a pool of \
         {WORKERS} workers with a queue of {QUEUE}; threads at start: {}",
        threads_now()
    );
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(RUNTIME_THREADS).enable_time().build()?;
    runtime.block_on(async {
        many_tasks(jobs, job, false).await?;
        many_tasks(jobs, job, true).await?;
        reserve_then_read(jobs, job).await
    })
}
