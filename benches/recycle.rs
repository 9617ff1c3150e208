//! Recyclers against allocating and against the `object-pool` and `lockfree-object-pool` crates.
//! Each group puts the contenders side by side; every iteration is one get (or allocation),
//! a small write, and the return (or free).
//!
//! Run: `cargo bench --bench recycle -- --warm-up-time 1 --measurement-time 3`

use boundpool::BufferPool;
use criterion::{criterion_group, criterion_main, Criterion};
use lockfree_object_pool::LinearObjectPool;
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

const KIB: usize = 1024;

fn one_size(c: &mut Criterion, name: &str, size: usize) {
    let mut group = c.benchmark_group(name);
    let pool = BufferPool::builder().buffer_capacity(size).max_buffer_capacity(size).build();
    group.bench_function("boundpool", |b| {
        b.iter(|| {
            let mut buf = pool.get();
            buf.push(1);
            black_box(&buf);
        })
    });
    group.bench_function("Vec::with_capacity", |b| {
        b.iter(|| {
            let mut buf: Vec<u8> = Vec::with_capacity(black_box(size));
            buf.push(1);
            black_box(&buf);
        })
    });
    group.finish();
}

fn sizes(c: &mut Criterion) {
    one_size(c, "get+put 64 KiB", 64 * KIB);
    one_size(c, "get+put 1 MiB", 1024 * KIB);
}

fn wiped(c: &mut Criterion) {
    let mut group = c.benchmark_group("wiped 64 KiB, 100 bytes used");
    let pool = BufferPool::builder().buffer_capacity(64 * KIB).zero_on_return(true).build();
    let data = [7u8; 100];
    group.bench_function("boundpool zero_on_return", |b| {
        b.iter(|| {
            let mut buf = pool.get();
            buf.extend_from_slice(black_box(&data));
            black_box(&buf);
        })
    });
    group.bench_function("vec![0; 65536]", |b| {
        b.iter(|| {
            let mut buf = vec![0u8; black_box(64 * KIB)];
            buf[..100].copy_from_slice(black_box(&data));
            black_box(&buf);
        })
    });
    group.finish();
}

/// The contenders for the 4 KiB groups, built once and shared by all threads.
struct Contenders {
    boundpool: BufferPool,
    object_pool: object_pool::Pool<Vec<u8>>,
    lockfree: LinearObjectPool<Vec<u8>>,
}

impl Contenders {
    fn new(threads: usize) -> Self {
        Contenders {
            boundpool: BufferPool::builder().buffer_capacity(4 * KIB).build(),
            object_pool: object_pool::Pool::new(threads * 2, || Vec::with_capacity(4 * KIB)),
            lockfree: LinearObjectPool::new(|| Vec::with_capacity(4 * KIB), |v| v.clear()),
        }
    }

    fn boundpool(&self) {
        let mut buf = self.boundpool.get();
        buf.push(1);
        black_box(&buf);
    }

    fn alloc(&self) {
        let mut buf: Vec<u8> = Vec::with_capacity(black_box(4 * KIB));
        buf.push(1);
        black_box(&buf);
    }

    fn object_pool(&self) {
        let mut buf = self.object_pool.pull(|| Vec::with_capacity(4 * KIB));
        buf.clear(); // object-pool hands objects back as they were left
        buf.push(1);
        black_box(&buf);
    }

    fn lockfree(&self) {
        let mut buf = self.lockfree.pull();
        buf.push(1);
        black_box(&buf);
    }
}

type Op = fn(&Contenders);

const OPS: [(&str, Op); 4] = [
    ("boundpool", Contenders::boundpool),
    ("Vec::with_capacity", Contenders::alloc),
    ("lockfree-object-pool", Contenders::lockfree),
    ("object-pool", Contenders::object_pool),
];

fn one_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("get+put 4 KiB, 1 thread");
    let contenders = Contenders::new(1);
    for (name, op) in OPS {
        group.bench_function(name, |b| b.iter(|| op(&contenders)));
    }
    group.finish();
}

/// Every core runs `iters` get+put at once; the time is the wall time, so a result is the time
/// per get+put *per core*, comparable with the one-thread group.
fn all_cores(c: &mut Criterion) {
    let threads = thread::available_parallelism().map_or(2, |n| n.get());
    let mut group = c.benchmark_group(format!("get+put 4 KiB, {threads} threads at once"));
    let contenders = Contenders::new(threads);
    for (name, op) in OPS {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Barrier::new(threads + 1);
                thread::scope(|s| {
                    let workers: Vec<_> = (0..threads)
                        .map(|_| {
                            s.spawn(|| {
                                start.wait();
                                let began = Instant::now();
                                for _ in 0..iters {
                                    op(&contenders);
                                }
                                (began, Instant::now())
                            })
                        })
                        .collect();
                    start.wait();
                    let spans: Vec<(Instant, Instant)> =
                        workers.into_iter().filter_map(|w| w.join().ok()).collect();
                    let began = spans.iter().map(|s| s.0).min();
                    let ended = spans.iter().map(|s| s.1).max();
                    match (began, ended) {
                        (Some(b), Some(e)) => e.duration_since(b),
                        _ => Duration::ZERO,
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sizes, wiped, one_thread, all_cores);
criterion_main!(benches);
