//! Command-line flags of the capacity tool and the sweep plan they describe.
//!
//! Only `clap` and `std` are used here, so `tests/capacity_cli.rs` can include this file as a
//! module and check the argument errors without running a sweep.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The offered load of the default profile, in jobs per second.
pub const DEFAULT_RATE: f64 = 3000.0;

/// How long to run one sweep point by default, and under `--quick`.
const DEFAULT_DURATION: Duration = Duration::from_secs(3);
const QUICK_DURATION: Duration = Duration::from_secs(1);

/// Queue capacities swept by default, and under `--quick`.
const DEFAULT_QUEUES: [usize; 4] = [4, 16, 64, 256];
const QUICK_QUEUES: [usize; 2] = [16, 256];

/// How many workers the sweep may reach per CPU: jobs that block on I/O let a pool usefully run
/// more workers than there are cores, but past a few per core the extra threads only add noise.
const WORKERS_PER_CPU: usize = 8;

/// Sizes a `boundpool::ThreadPool` for a workload: sweeps worker counts and queue capacities,
/// measures each point on a real pool, and recommends the smallest one that meets a p99 target.
///
/// The default profile is the example service: jobs of 200 µs CPU and 1 ms blocking I/O
/// (both exponentially distributed) arriving at 3000 jobs/s (Poisson). Each job holds a worker
/// for about 1.2 ms, so the load is 3000 × 1.2 ms = 3.6 busy workers on average while it needs
/// only 3000 × 200 µs = 0.6 of a core: 1 and 2 workers are overloaded (at most ~830 and ~1670
/// jobs/s, so the queue fills and arrivals are rejected), 4 workers run at 90 % utilisation with
/// a long queueing tail, and 8 or 16 workers are comfortably over-provisioned, even on a 2-core
/// machine.
///
/// Output: a table, `capacity.csv` and `capacity.svg` in `--out`, a Little's-law check and a
/// final line starting `recommended:`.
#[derive(Debug, Clone, Parser)]
#[command(name = "capacity", version)]
pub struct Args {
    /// CPU time per job (a calibrated spin): `[fixed:|exp:]DURATION`, e.g. `exp:200us`, `fixed:1ms`,
    /// `0`. A bare duration is fixed; `exp:` draws each job's time from an exponential
    /// distribution with that mean.
    #[arg(long, value_name = "DIST", default_value = "exp:200us", value_parser = parse_time_dist, allow_hyphen_values = true)]
    pub cpu: TimeDist,

    /// Blocking time per job (a sleep standing in for I/O), same syntax as `--cpu`.
    #[arg(long, value_name = "DIST", default_value = "exp:1ms", value_parser = parse_time_dist, allow_hyphen_values = true)]
    pub io: TimeDist,

    /// Open-loop arrival rate in jobs per second. Arrivals keep to their schedule whatever the
    /// pool does; a job that finds the queue full (`try_spawn`) is rejected and counted
    /// [default: 3000, see above].
    #[arg(long, value_name = "JOBS_PER_S", allow_negative_numbers = true, value_parser = parse_rate)]
    #[arg(conflicts_with = "closed")]
    pub rate: Option<f64>,

    /// Arrival gaps in open loop: `poisson` (exponential gaps, like independent users) or
    /// `uniform` (evenly spaced).
    #[arg(long, value_name = "KIND", default_value = "poisson", value_parser = ["poisson", "uniform"])]
    pub arrival: String,

    /// Closed loop instead: one submitter hands jobs to the pool as fast as it takes them
    /// (`spawn`, which waits while the queue is full), so the pool's throughput is measured.
    #[arg(long)]
    pub closed: bool,

    /// How long to submit jobs at each sweep point, e.g. `3s`, `500ms` [default: 3s, 1s with
    /// --quick].
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,

    /// Worker counts to sweep, comma-separated, e.g. `1,2,4,8` [default: powers of two up to
    /// 8 × CPUs, at most 64].
    #[arg(long, value_name = "LIST", value_parser = parse_worker_list, allow_hyphen_values = true)]
    pub workers: Option<CountList>,

    /// Queue capacities to sweep, comma-separated [default: 4,16,64,256; 16,256 with --quick].
    #[arg(long, value_name = "LIST", value_parser = parse_queue_list, allow_hyphen_values = true)]
    pub queue: Option<CountList>,

    /// The end-to-end p99 latency (arrival to job end) a configuration must meet.
    #[arg(long, value_name = "DURATION", default_value = "20ms", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub target_p99: Duration,

    /// Where to write `capacity.csv` and `capacity.svg`.
    #[arg(long, value_name = "DIR", default_value = "target/capacity")]
    pub out: PathBuf,

    /// Seed of the job-size and arrival-gap generator, so runs are repeatable.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// A coarse sweep that finishes within a minute on a 2-core machine (used by CI).
    #[arg(long)]
    pub quick: bool,
}

/// A time per job: either always the same or exponentially distributed around a mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeDist {
    /// Every job takes exactly this long.
    Fixed(Duration),
    /// Each job's time is drawn from an exponential distribution with this mean.
    Exp(Duration),
}

impl TimeDist {
    /// The mean time per job.
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

/// A non-empty list of positive counts, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountList(pub Vec<usize>);

/// How jobs arrive at the pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Open loop at `rate` jobs/s; `poisson` draws exponential gaps, otherwise they are even.
    Open { rate: f64, poisson: bool },
    /// One submitter, as fast as the pool accepts.
    Closed,
}

/// Everything one run does, with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub cpu: TimeDist,
    pub io: TimeDist,
    pub arrival: Arrival,
    pub duration: Duration,
    pub workers: Vec<usize>,
    pub queues: Vec<usize>,
    pub target_p99: Duration,
    pub out: PathBuf,
    pub seed: u64,
}

impl Args {
    /// The plan for a machine with `cpus` CPUs.
    pub fn plan(&self, cpus: usize) -> Plan {
        let arrival = if self.closed {
            Arrival::Closed
        } else {
            Arrival::Open { rate: self.rate.unwrap_or(DEFAULT_RATE), poisson: self.arrival == "poisson" }
        };
        let default_duration = if self.quick { QUICK_DURATION } else { DEFAULT_DURATION };
        let default_queues: &[usize] = if self.quick { &QUICK_QUEUES } else { &DEFAULT_QUEUES };
        Plan {
            cpu: self.cpu,
            io: self.io,
            arrival,
            duration: self.duration.unwrap_or(default_duration),
            workers: self.workers.clone().map_or_else(|| default_workers(cpus), |l| l.0),
            queues: self.queue.clone().map_or_else(|| default_queues.to_vec(), |l| l.0),
            target_p99: self.target_p99,
            out: self.out.clone(),
            seed: self.seed,
        }
    }
}

/// Powers of two from 1 up to `WORKERS_PER_CPU` × `cpus`, at most 64.
pub fn default_workers(cpus: usize) -> Vec<usize> {
    let cap = (cpus.max(1) * WORKERS_PER_CPU).min(64);
    std::iter::successors(Some(1usize), |n| Some(n * 2)).take_while(|&n| n <= cap).collect()
}

/// Parses `250us`, `1.5ms`, `2s`, `100ns` or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!("`{s}` is not a duration such as 200us or 1.5ms"));
    }
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "" => return Err(format!("`{s}` needs a unit: ns, us, ms or s (e.g. 200us)")),
        other => return Err(format!("unknown unit `{other}`: use ns, us, ms or s (e.g. 200us)")),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{s}` is not a duration such as 200us or 1.5ms"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs > 3600.0 {
        return Err(format!("`{s}` is too long: at most one hour"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a duration that must be greater than zero.
pub fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        Duration::ZERO => Err("must be greater than zero".to_owned()),
        d => Ok(d),
    }
}

/// Parses `[fixed:|exp:]DURATION`.
pub fn parse_time_dist(s: &str) -> Result<TimeDist, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("exp:") {
        Ok(TimeDist::Exp(parse_duration(rest)?))
    } else if let Some(rest) = s.strip_prefix("fixed:") {
        Ok(TimeDist::Fixed(parse_duration(rest)?))
    } else {
        parse_duration(s).map(TimeDist::Fixed).map_err(|e| format!("{e}; the form is [fixed:|exp:]DURATION"))
    }
}

/// Parses a positive, finite rate in jobs per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let rate: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number of jobs per second"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err("must be a positive number of jobs per second".to_owned());
    }
    if rate > 10_000_000.0 {
        return Err("at most 10 000 000 jobs per second".to_owned());
    }
    Ok(rate)
}

/// Parses a worker-count list such as `1,2,4`: each entry from 1 to 1024.
pub fn parse_worker_list(s: &str) -> Result<CountList, String> {
    parse_count_list(s, 1024)
}

/// Parses a queue-capacity list such as `4,64`: each entry from 1 to 1 000 000.
pub fn parse_queue_list(s: &str) -> Result<CountList, String> {
    parse_count_list(s, 1_000_000)
}

/// Parses `1,2,4`: each entry a whole number from 1 to `max`.
fn parse_count_list(s: &str, max: usize) -> Result<CountList, String> {
    let mut counts = Vec::new();
    for part in s.split(',').map(str::trim) {
        let n: usize = part.parse().map_err(|_| format!("`{part}` is not a whole number"))?;
        if n == 0 || n > max {
            return Err(format!("`{n}` is out of range: each entry must be from 1 to {max}"));
        }
        counts.push(n);
    }
    counts.sort_unstable();
    counts.dedup();
    Ok(CountList(counts))
}
