//! The worker pool side by side with its peers: empty-job and 1 µs-job throughput, an idle
//! round trip, and several producers into a small queue. All pools get the machine's core
//! count of workers. Run: `cargo bench --bench pool`.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
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

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = empty_jobs, micro_jobs, round_trip, many_producers
}
criterion_main!(benches);
