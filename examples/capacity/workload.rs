//! The synthetic jobs: a seeded random source, job sizes drawn from the profile, and a CPU spin
//! calibrated once at start-up so that "200 µs of CPU" means the same work on every worker.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::args::TimeDist;

/// A small xorshift64* generator: repeatable from a seed, good enough for job sizes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // splitmix64 once, so that nearby seeds give unrelated streams and zero is not stuck.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform value in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An exponentially distributed value with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// One draw from `dist`.
    pub fn time(&mut self, dist: TimeDist) -> Duration {
        match dist {
            TimeDist::Fixed(d) => d,
            TimeDist::Exp(mean) => Duration::from_secs_f64(self.exp(mean.as_secs_f64())),
        }
    }
}

/// The spin kernel: `iters` rounds of integer mixing that the optimiser cannot remove.
#[inline(never)]
pub fn spin(iters: u64) -> u64 {
    let mut x = black_box(0x2545_F491_4F6C_DD1Du64);
    for _ in 0..iters {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// How many spin rounds one nanosecond of CPU buys on this machine.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    pub iters_per_ns: f64,
}

impl Calibration {
    /// Times the kernel a few times over about 50 ms and keeps the fastest run, the one least
    /// disturbed by other threads.
    pub fn measure() -> Self {
        let mut iters = 10_000u64;
        // Grow the batch until one run takes at least 2 ms.
        loop {
            let start = Instant::now();
            spin(iters);
            if start.elapsed() >= Duration::from_millis(2) || iters >= 1 << 40 {
                break;
            }
            iters *= 2;
        }
        let best = (0..20)
            .map(|_| {
                let start = Instant::now();
                spin(iters);
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::from_millis(2));
        Calibration { iters_per_ns: iters as f64 / best.as_nanos().max(1) as f64 }
    }

    /// The spin rounds for `cpu` of work.
    pub fn iters_for(self, cpu: Duration) -> u64 {
        (cpu.as_nanos() as f64 * self.iters_per_ns) as u64
    }
}

/// One job's work, drawn on the submitting thread so the sequence is repeatable.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    pub spin_iters: u64,
    pub io: Duration,
}

impl JobSpec {
    /// Draws the next job of the profile.
    pub fn draw(rng: &mut Rng, cpu: TimeDist, io: TimeDist, calibration: Calibration) -> Self {
        JobSpec { spin_iters: calibration.iters_for(rng.time(cpu)), io: rng.time(io) }
    }

    /// Does the work: spin, then block.
    pub fn run(self) {
        if self.spin_iters > 0 {
            spin(self.spin_iters);
        }
        if !self.io.is_zero() {
            std::thread::sleep(self.io);
        }
    }
}
