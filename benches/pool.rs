//! The worker pool side by side with its peers: empty-job and 1 µs-job throughput, an idle
//! round trip, and several producers into a small queue. All pools get the machine's core
//! count of workers. Last, tokio tasks offloading 1 µs and 100 µs jobs: `spawn_async` onto a
//! pool of 2 workers against tokio's `spawn_blocking`, with the process's peak thread count
//! printed for each (criterion measures time only). Run: `cargo bench --bench pool`.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use boundpool::ThreadPool;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod common;
use common::{rounds_for, spin};

const JOBS: usize = 100_000;
/// Spawning an OS thread per job is slow: it gets fewer jobs, and the per-job time compares.
const SPAWN_JOBS: usize = 1_000;

/// Counts jobs down and wakes the waiter at zero.
///
/// The rows that need one share this static latch, armed before each run (runs never overlap).
/// A job reaches it without a reference count, so its closure captures only its index, as the
/// threadpool and rayon rows' closures do: the time measured is the pool's, not that of a
/// shared reference count passed between the submitter and the workers on every job.
struct Latch {
    left: AtomicUsize,
    done: Mutex<bool>,
    cv: Condvar,
}

static LATCH: Latch = Latch { left: AtomicUsize::new(0), done: Mutex::new(false), cv: Condvar::new() };

impl Latch {
    /// The shared latch, armed for `n` jobs.
    fn arm(n: usize) -> &'static Latch {
        *LATCH.done.lock().unwrap() = false;
        LATCH.left.store(n, Ordering::SeqCst);
        &LATCH
    }

    fn count_down(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.cv.notify_all();
        }
    }

    fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.cv.wait(done).unwrap();
        }
    }
}

/// A minimal pool on a crossbeam channel: what a user would write by hand.
struct ChannelPool {
    tx: Option<crossbeam_channel::Sender<Box<dyn FnOnce() + Send>>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl ChannelPool {
    fn new(workers: usize, capacity: Option<usize>) -> ChannelPool {
        let (tx, rx) = match capacity {
            Some(cap) => crossbeam_channel::bounded::<Box<dyn FnOnce() + Send>>(cap),
            None => crossbeam_channel::unbounded(),
        };
        let threads = (0..workers)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    for job in rx {
                        job();
                    }
                })
            })
            .collect();
        ChannelPool { tx: Some(tx), threads }
    }

    fn execute(&self, f: impl FnOnce() + Send + 'static) {
        self.tx.as_ref().expect("open").send(Box::new(f)).expect("workers alive");
    }
}

impl Drop for ChannelPool {
    fn drop(&mut self) {
        self.tx.take();
        for t in self.threads.drain(..) {
            t.join().expect("worker");
        }
    }
}

fn workers() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}

/// `JOBS` jobs of `rounds` rounds through `execute`, waited for with a latch.
fn execute_all(pool: &ThreadPool, rounds: u32) {
    let latch = Latch::arm(JOBS);
    for i in 0..JOBS {
        pool.execute(move || {
            black_box(spin(i as u64, rounds));
            latch.count_down();
        })
        .expect("open");
    }
    latch.wait();
}

/// `JOBS` jobs of `rounds` rounds submitted from one thread, then waited for, on each candidate.
fn throughput(c: &mut Criterion, name: &str, rounds: u32) {
    let n = workers();
    let pool = ThreadPool::new(n).expect("boundpool");
    let recording = ThreadPool::builder().workers(n).record_latency(true).build().expect("boundpool");
    let watched =
        ThreadPool::builder().workers(n).slow_job(Duration::from_secs(1), |_| ()).build().expect("boundpool");
    let tp = threadpool::ThreadPool::new(n);
    let rayon = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("rayon");
    let channel = ChannelPool::new(n, None);

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(JOBS as u64));
    group.sample_size(20);
    group.bench_function(BenchmarkId::new("boundpool execute", JOBS), |b| {
        b.iter(|| execute_all(&pool, rounds))
    });
    group.bench_function(BenchmarkId::new("boundpool execute, latency recorded", JOBS), |b| {
        b.iter(|| execute_all(&recording, rounds))
    });
    group.bench_function(BenchmarkId::new("boundpool execute, slow-job watchdog", JOBS), |b| {
        b.iter(|| execute_all(&watched, rounds))
    });
    group.bench_function(BenchmarkId::new("boundpool spawn+join", JOBS), |b| {
        b.iter(|| {
            let handles: Vec<_> =
                (0..JOBS).map(|i| pool.spawn(move || spin(i as u64, rounds)).expect("open")).collect();
            for h in handles {
                black_box(h.join().expect("ran"));
            }
        })
    });
    group.bench_function(BenchmarkId::new("threadpool execute+join", JOBS), |b| {
        b.iter(|| {
            for i in 0..JOBS {
                tp.execute(move || {
                    black_box(spin(i as u64, rounds));
                });
            }
            tp.join();
        })
    });
    group.bench_function(BenchmarkId::new("rayon scope+spawn", JOBS), |b| {
        b.iter(|| {
            rayon.scope(|s| {
                for i in 0..JOBS {
                    s.spawn(move |_| {
                        black_box(spin(i as u64, rounds));
                    });
                }
            })
        })
    });
    group.bench_function(BenchmarkId::new("crossbeam-channel pool", JOBS), |b| {
        b.iter(|| {
            let latch = Latch::arm(JOBS);
            for i in 0..JOBS {
                channel.execute(move || {
                    black_box(spin(i as u64, rounds));
                    latch.count_down();
                });
            }
            latch.wait();
        })
    });
    if rounds > 0 {
        // The ideal: the work alone, split evenly over the workers with no overhead.
        group.bench_function(BenchmarkId::new("ideal (sequential / workers)", JOBS), |b| {
            b.iter(|| {
                for i in 0..JOBS / n {
                    black_box(spin(i as u64, rounds));
                }
            })
        });
        // What the machine allows in parallel: the work split over one thread per worker up
        // front, with no queue, no submitting thread and no hand-off.
        group.bench_function(BenchmarkId::new("split over threads, no queue", JOBS), |b| {
            b.iter(|| {
                thread::scope(|s| {
                    for k in 0..n {
                        s.spawn(move || {
                            for i in (k..JOBS).step_by(n) {
                                black_box(spin(i as u64, rounds));
                            }
                        });
                    }
                })
            })
        });
    }
    group.finish();

    // Thread per job: fewer jobs, compared per job.
    let mut group = c.benchmark_group(format!("{name} (thread per job)"));
    group.throughput(Throughput::Elements(SPAWN_JOBS as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("std::thread::spawn per job", SPAWN_JOBS), |b| {
        b.iter(|| {
            let threads: Vec<_> =
                (0..SPAWN_JOBS).map(|i| thread::spawn(move || black_box(spin(i as u64, rounds)))).collect();
            for t in threads {
                t.join().expect("ran");
            }
        })
    });
    group.finish();
}

fn empty_jobs(c: &mut Criterion) {
    throughput(c, "empty jobs", 0);
}

fn micro_jobs(c: &mut Criterion) {
    throughput(c, "1us jobs", rounds_for(Duration::from_micros(1)));
}

/// One job submitted to an idle pool and waited for.
fn round_trip(c: &mut Criterion) {
    let n = workers();
    let pool = ThreadPool::new(n).expect("boundpool");
    let tp = threadpool::ThreadPool::new(n);
    let rayon = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("rayon");
    let mut group = c.benchmark_group("idle round trip");
    group.bench_function("boundpool spawn+join", |b| {
        b.iter(|| pool.spawn(|| black_box(1)).expect("open").join())
    });
    group.bench_function("threadpool execute+channel", |b| {
        b.iter(|| {
            let (tx, rx) = mpsc::channel();
            tp.execute(move || tx.send(black_box(1)).expect("receiver"));
            rx.recv().expect("sent")
        })
    });
    group.bench_function("rayon install", |b| b.iter(|| rayon.install(|| black_box(1))));
    group.bench_function("std::thread::spawn+join", |b| b.iter(|| thread::spawn(|| black_box(1)).join()));
    group.finish();
}

/// `producers` threads, released together, each submitting `per_producer` jobs that count the
/// latch down (`submit` builds and submits one); returns once every job ran.
fn produce(producers: usize, per_producer: usize, submit: impl Fn(&'static Latch) + Sync) {
    let latch = Latch::arm(producers * per_producer);
    let start = Barrier::new(producers);
    thread::scope(|s| {
        for _ in 0..producers {
            s.spawn(|| {
                start.wait();
                for _ in 0..per_producer {
                    submit(latch);
                }
            });
        }
    });
    latch.wait();
}

/// `producers` threads submitting into one pool whose queue holds 64 jobs.
fn many_producers(c: &mut Criterion) {
    let n = workers();
    let per_producer = JOBS / 4;
    let pool = ThreadPool::builder().workers(n).queue_capacity(64).build().expect("boundpool");
    let channel = Arc::new(ChannelPool::new(n, Some(64)));
    let mut group = c.benchmark_group("many producers, queue 64");
    group.sample_size(10);
    for producers in [2usize, 4] {
        group.throughput(Throughput::Elements((producers * per_producer) as u64));
        group.bench_function(BenchmarkId::new("boundpool execute", producers), |b| {
            b.iter(|| {
                produce(producers, per_producer, |latch| {
                    pool.execute(move || latch.count_down()).expect("open")
                })
            })
        });
        group.bench_function(BenchmarkId::new("crossbeam-channel pool", producers), |b| {
            b.iter(|| produce(producers, per_producer, |latch| channel.execute(move || latch.count_down())))
        });
    }
    group.finish();
}

/// Tokio tasks that each offload jobs one after another and await them.
const OFFLOAD_TASKS: usize = 64;

/// The process's thread count, from `/proc/self/status` (Linux; 0 elsewhere).
fn threads_now() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| line.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Samples the process's thread count every millisecond on a thread of its own until stopped.
struct PeakThreads {
    stop: Arc<AtomicBool>,
    sampler: thread::JoinHandle<usize>,
}

impl PeakThreads {
    fn start() -> PeakThreads {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sampler = thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(threads_now());
                thread::sleep(Duration::from_millis(1));
            }
            peak
        });
        PeakThreads { stop, sampler }
    }

    /// The peak, not counting the sampler itself.
    fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap_or(1).saturating_sub(1)
    }
}

/// Waits (at most 5 s) until the process is back to `threads` threads, so that threads a row
/// left exiting are not counted in the next row's peak.
fn settle_threads(threads: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while threads_now() > threads && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

/// `OFFLOAD_TASKS` tasks share `jobs` jobs of `rounds` rounds: each offloads one with `offload`,
/// awaits its value, and takes the next.
async fn offload_all<F, Fut>(jobs: usize, rounds: u32, offload: F)
where
    F: Fn(Box<dyn FnOnce() -> u64 + Send>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = u64> + Send,
{
    let per_task = jobs / OFFLOAD_TASKS;
    let tasks: Vec<_> = (0..OFFLOAD_TASKS)
        .map(|t| {
            let offload = offload.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    let seed = (t * per_task + i) as u64;
                    black_box(offload(Box::new(move || spin(seed, rounds))).await);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an offloading task");
    }
}

/// Tokio tasks offloading CPU jobs: boundpool's `spawn_async` onto 2 workers with a queue of
/// 64 against `spawn_blocking` on tokio's default blocking pool (up to 512 threads), each on a
/// 2-thread runtime of its own. Criterion times each job; the peak thread count of each row is
/// printed, since that is what the bounded pool saves.
fn async_offload(c: &mut Criterion) {
    for (label, job, jobs) in
        [("1us", Duration::from_micros(1), 6_400), ("100us", Duration::from_micros(100), 640)]
    {
        let rounds = rounds_for(job);
        let mut group = c.benchmark_group(format!("async offload {label} jobs"));
        group.throughput(Throughput::Elements(jobs as u64));
        group.sample_size(10);
        let mut peaks = Vec::new();

        let baseline = threads_now();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("tokio");
        let pool = Arc::new(ThreadPool::builder().workers(2).queue_capacity(64).build().expect("boundpool"));
        let sampler = PeakThreads::start();
        group.bench_function(BenchmarkId::new("boundpool spawn_async, 2 workers", jobs), |b| {
            b.iter(|| {
                runtime.block_on(offload_all(jobs, rounds, {
                    let pool = pool.clone();
                    move |job| {
                        let pool = pool.clone();
                        async move {
                            let handle = pool.spawn_async(job).await.unwrap_or_else(|_| panic!("open"));
                            handle.await.expect("ran")
                        }
                    }
                }))
            })
        });
        peaks.push(("boundpool spawn_async", sampler.stop()));
        drop(pool);
        runtime.shutdown_timeout(Duration::from_secs(5));
        settle_threads(baseline);

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("tokio");
        let sampler = PeakThreads::start();
        group.bench_function(BenchmarkId::new("tokio spawn_blocking", jobs), |b| {
            b.iter(|| {
                runtime.block_on(offload_all(jobs, rounds, |job| async move {
                    tokio::task::spawn_blocking(job).await.expect("ran")
                }))
            })
        });
        peaks.push(("tokio spawn_blocking", sampler.stop()));
        runtime.shutdown_timeout(Duration::from_secs(5));
        settle_threads(baseline);
        group.finish();

        for (row, peak) in peaks {
            eprintln!(
                "async offload {label} jobs, {row}: peak {peak} threads in the process ({baseline} before)"
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = empty_jobs, micro_jobs, round_trip, many_producers, async_offload
}
criterion_main!(benches);
