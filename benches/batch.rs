//! `ThreadPool::map` against a sequential loop and rayon's `par_iter().map().collect()`, on large
//! batches (a million ~50 ns items, ten thousand ~10 µs ones) and on small ones called again and
//! again (32 items of ~2 µs, 64 tiny items); and `ThreadPool::scope` against rayon's `scope` on
//! a hundred tiny borrowing jobs. Run: `cargo bench --bench batch`.

use std::hint::black_box;
use std::time::Duration;

use boundpool::ThreadPool;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;

mod common;
use common::{rounds_for, spin};

fn batch(c: &mut Criterion) {
    let workers = num_cpus();
    let pool = ThreadPool::new(workers).expect("pool");
    let rayon = rayon::ThreadPoolBuilder::new().num_threads(workers).build().expect("rayon pool");
    for (label, items, cost) in [
        ("1M x 50ns", 1_000_000u64, Duration::from_nanos(50)),
        ("10k x 10us", 10_000, Duration::from_micros(10)),
    ] {
        let rounds = rounds_for(cost);
        let input: Vec<u64> = (0..items).collect();
        let mut group = c.benchmark_group(format!("map {label}"));
        group.throughput(Throughput::Elements(items));
        group.sample_size(10);
        group.bench_function(BenchmarkId::new("sequential", label), |b| {
            b.iter(|| black_box(input.iter().map(|&x| spin(x, rounds)).collect::<Vec<_>>()))
        });
        group.bench_function(BenchmarkId::new("boundpool map", label), |b| {
            b.iter(|| black_box(pool.map(&input, |&x| spin(x, rounds))))
        });
        group.bench_function(BenchmarkId::new("rayon par_iter", label), |b| {
            b.iter(|| {
                rayon.install(|| black_box(input.par_iter().map(|&x| spin(x, rounds)).collect::<Vec<_>>()))
            })
        });
        group.finish();
    }
    for (label, items, cost) in
        [("32 x 2us", 32u64, Duration::from_micros(2)), ("64 tiny", 64, Duration::from_nanos(5))]
    {
        let rounds = rounds_for(cost);
        let input: Vec<u64> = (0..items).collect();
        let mut group = c.benchmark_group(format!("small map {label}"));
        group.throughput(Throughput::Elements(items));
        group.bench_function(BenchmarkId::new("sequential", label), |b| {
            b.iter(|| black_box(input.iter().map(|&x| spin(x, rounds)).collect::<Vec<_>>()))
        });
        group.bench_function(BenchmarkId::new("boundpool map", label), |b| {
            b.iter(|| black_box(pool.map(&input, |&x| spin(x, rounds))))
        });
        group.bench_function(BenchmarkId::new("rayon par_iter", label), |b| {
            b.iter(|| {
                rayon.install(|| black_box(input.par_iter().map(|&x| spin(x, rounds)).collect::<Vec<_>>()))
            })
        });
        group.finish();
    }
    let mut group = c.benchmark_group("scope 100 tiny jobs");
    group.throughput(Throughput::Elements(100));
    let mut cells = vec![0u64; 100];
    group.bench_function(BenchmarkId::new("boundpool scope", "100"), |b| {
        b.iter(|| {
            pool.scope(|s| {
                for cell in cells.iter_mut() {
                    let _ = s.spawn(move || *cell = spin(*cell, 1));
                }
            })
        })
    });
    group.bench_function(BenchmarkId::new("rayon scope", "100"), |b| {
        b.iter(|| {
            rayon.scope(|s| {
                for cell in cells.iter_mut() {
                    s.spawn(move |_| *cell = spin(*cell, 1));
                }
            })
        })
    });
    group.finish();
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = batch
}
criterion_main!(benches);
