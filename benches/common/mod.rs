//! Shared by the benchmarks: a spin of calibrated cost standing in for a job's CPU work.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// `rounds` rounds of integer mixing; the result depends on every round.
#[inline(never)]
pub fn spin(seed: u64, rounds: u32) -> u64 {
    let mut x = seed | 1;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// The number of `spin` rounds that take about `target` on this machine.
pub fn rounds_for(target: Duration) -> u32 {
    let probe = 1_000_000u32;
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        black_box(spin(black_box(7), probe));
        best = best.min(start.elapsed());
    }
    let per_round = best.as_secs_f64() / f64::from(probe);
    ((target.as_secs_f64() / per_round).round() as u32).max(1)
}
