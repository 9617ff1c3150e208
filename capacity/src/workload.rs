//! What the pool runs: the user's closure, or synthetic jobs of CPU and blocking time drawn
//! from a profile or replayed from a trace. Synthetic jobs burn CPU in a spin calibrated once at
//! start-up, so that "200 µs of CPU" means the same work on every worker, and block in a sleep.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::trace::Trace;
use crate::units::parse_duration;

/// A time per job: either always the same or exponentially distributed around a mean.
///
/// Parsed from `[fixed:|exp:]DURATION`: a bare duration is fixed.
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::TimeDist;
///
/// assert_eq!("exp:200us".parse(), Ok(TimeDist::Exp(Duration::from_micros(200))));
/// assert_eq!("1ms".parse(), Ok(TimeDist::Fixed(Duration::from_millis(1))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeDist {
    /// Every job takes exactly this long.
    Fixed(Duration),
    /// Each job's time is drawn from an exponential distribution with this mean.
    Exp(Duration),
}

impl TimeDist {
    /// The mean time per job.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use boundpool_capacity::TimeDist;
    /// assert_eq!(TimeDist::Exp(Duration::from_millis(1)).mean(), Duration::from_millis(1));
    /// ```
    pub fn mean(self) -> Duration {
        match self {
            TimeDist::Fixed(d) | TimeDist::Exp(d) => d,
        }
    }
}

impl std::fmt::Display for TimeDist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeDist::Fixed(d) => write!(f, "fixed {d:?}"),
            TimeDist::Exp(d) => write!(f, "exp(mean {d:?})"),
        }
    }
}

impl std::str::FromStr for TimeDist {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("exp:") {
            Ok(TimeDist::Exp(parse_duration(rest)?))
        } else if let Some(rest) = s.strip_prefix("fixed:") {
            Ok(TimeDist::Fixed(parse_duration(rest)?))
        } else {
            parse_duration(s)
                .map(TimeDist::Fixed)
                .map_err(|e| format!("{e}; the form is [fixed:|exp:]DURATION"))
        }
    }
}

/// The work each job does.
#[derive(Clone)]
pub(crate) enum Workload {
    /// The user's own job.
    Closure(Arc<dyn Fn() + Send + Sync>),
    /// A calibrated spin then a sleep, each drawn from its distribution.
    Synthetic { cpu: TimeDist, io: TimeDist },
    /// A calibrated spin then a sleep, replayed in order from a trace (and round again).
    Trace(Arc<Trace>),
}

impl std::fmt::Debug for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Workload {
    /// One line for the report's header.
    pub(crate) fn describe(&self) -> String {
        match self {
            Workload::Closure(_) => "the given closure".to_owned(),
            Workload::Synthetic { cpu, io } => format!("cpu {cpu} + io {io} per job"),
            Workload::Trace(t) => t.describe(),
        }
    }

    /// The next job: the `index`-th of the run.
    pub(crate) fn job(&self, index: u64, rng: &mut Rng, calibration: Calibration) -> Job {
        match self {
            Workload::Closure(f) => Job::Closure(Arc::clone(f)),
            Workload::Synthetic { cpu, io } => {
                Job::Spec(JobSpec { spin_iters: calibration.iters_for(rng.time(*cpu)), io: rng.time(*io) })
            }
            Workload::Trace(t) => {
                let (cpu, io) = t.job(index);
                Job::Spec(JobSpec { spin_iters: calibration.iters_for(cpu), io })
            }
        }
    }
}

/// One job, ready to run on a worker.
pub(crate) enum Job {
    Closure(Arc<dyn Fn() + Send + Sync>),
    Spec(JobSpec),
}

impl Job {
    pub(crate) fn run(self) {
        match self {
            Job::Closure(f) => f(),
            Job::Spec(spec) => spec.run(),
        }
    }
}

/// A small xorshift64* generator: repeatable from a seed, good enough for job sizes.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, zero included).
    pub(crate) fn new(seed: u64) -> Self {
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
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An exponentially distributed value with the given mean.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// One draw from `dist`.
    pub(crate) fn time(&mut self, dist: TimeDist) -> Duration {
        match dist {
            TimeDist::Fixed(d) => d,
            TimeDist::Exp(mean) => Duration::from_secs_f64(self.exp(mean.as_secs_f64())),
        }
    }
}

/// The spin kernel: `iters` rounds of integer mixing that the optimiser cannot remove.
#[inline(never)]
pub(crate) fn spin(iters: u64) -> u64 {
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
pub(crate) struct Calibration {
    pub(crate) iters_per_ns: f64,
}

impl Calibration {
    /// Times the kernel a few times over about 50 ms and keeps the fastest run, the one least
    /// disturbed by other threads.
    pub(crate) fn measure() -> Self {
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
    pub(crate) fn iters_for(self, cpu: Duration) -> u64 {
        (cpu.as_nanos() as f64 * self.iters_per_ns) as u64
    }
}

/// One synthetic job's work, drawn on the submitting thread so the sequence is repeatable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobSpec {
    pub(crate) spin_iters: u64,
    pub(crate) io: Duration,
}

impl JobSpec {
    /// Does the work: spin, then block.
    pub(crate) fn run(self) {
        if self.spin_iters > 0 {
            spin(self.spin_iters);
        }
        if !self.io.is_zero() {
            std::thread::sleep(self.io);
        }
    }
}
