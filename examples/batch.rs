//! A CPU-bound batch: checksum a few thousand synthetic records three ways and compare.
//!
//! `cargo run --release --example batch` (add `--quick` for a small input). No arguments or
//! files are needed: the records are generated from a fixed seed.

use std::time::{Duration, Instant};

use boundpool::ThreadPool;

/// One record's work: about 20 µs of integer mixing.
fn checksum(seed: u64, rounds: u32) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut acc = 0u64;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc.wrapping_mul(0x0100_0000_01B3).wrapping_add(x);
    }
    acc
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (records, rounds) = if quick { (500u64, 5_000) } else { (4_000u64, 10_000) };
    let pool = ThreadPool::builder().thread_name("batch").build()?;
    println!("checksumming {records} records of {rounds} rounds on {} workers", pool.workers());

    let (sequential, seq_time) = time(|| (0..records).map(|r| checksum(r, rounds)).collect::<Vec<_>>());

    let (mapped, pool_time) = time(|| pool.map(0..records, |r| checksum(r, rounds)));

    let (spawned, spawn_time) = time(|| {
        let threads: Vec<_> = (0..records).map(|r| std::thread::spawn(move || checksum(r, rounds))).collect();
        threads.into_iter().map(|t| t.join().expect("a checksum thread panicked")).collect::<Vec<_>>()
    });

    assert_eq!(mapped, sequential, "the pool's results differ from the sequential run");
    assert_eq!(spawned, sequential, "spawn-per-job results differ from the sequential run");

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("{:<22}{:>10}{:>10}", "", "time", "speed-up");
    println!("{:<22}{:>8.1}ms{:>9.2}x", "sequential", ms(seq_time), 1.0);
    println!("{:<22}{:>8.1}ms{:>9.2}x", "boundpool map", ms(pool_time), ms(seq_time) / ms(pool_time));
    println!("{:<22}{:>8.1}ms{:>9.2}x", "thread per record", ms(spawn_time), ms(seq_time) / ms(spawn_time));
    println!("all three agree on {} checksums", sequential.len());
    Ok(())
}
