//! Command-line flags of the capacity planner and the sweep plan they describe.
//!
//! Only `clap`, `std` and the library are used here, so `tests/cli.rs` can include this file as a
//! module and check the argument errors without running a sweep.

use std::path::PathBuf;
use std::time::Duration;

use boundpool_capacity::units::parse_duration;
use boundpool_capacity::{default_workers, Arrival, Sweep, TimeDist, Trace, TraceError};
use clap::Parser;

/// The offered load of the default profile, in jobs per second.
pub const DEFAULT_RATE: f64 = 3000.0;

/// How long to run each repeat of one sweep point by default, and under `--quick`.
const DEFAULT_DURATION: Duration = Duration::from_millis(1500);
const QUICK_DURATION: Duration = Duration::from_millis(750);

/// Repeats of each point by default, and under `--quick`.
pub const DEFAULT_REPEATS: u32 = 3;
const QUICK_REPEATS: u32 = 2;

/// Queue capacities swept by default, and under `--quick`.
const DEFAULT_QUEUES: [usize; 4] = [4, 16, 64, 256];
const QUICK_QUEUES: [usize; 2] = [16, 256];

/// Sizes a `boundpool::ThreadPool` for a workload: sweeps worker counts and queue capacities,
/// measures each point several times on a real pool, models it, and recommends the smallest
/// configuration that meets a p99 target in every repeat.
///
/// The default profile is the example service: jobs of 200 µs CPU and 1 ms blocking I/O
/// (both exponentially distributed) arriving at 3000 jobs/s (Poisson). Each job holds a worker
/// for about 1.2 ms, so the load is 3000 × 1.2 ms = 3.6 busy workers on average while it needs
/// only 3000 × 200 µs = 0.6 of a core: 1 and 2 workers are overloaded (at most ~830 and ~1670
/// jobs/s, so the queue fills and arrivals are rejected), 4 workers run at 90 % utilisation with
/// a long queueing tail, and 8 or 16 workers are comfortably over-provisioned, even on a 2-core
/// machine.
///
/// Output: a table with the model beside each measurement, `capacity.csv` and `capacity.svg` in
/// `--out`, a Little's-law check and a final line starting `recommended:`.
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

    /// Replay per-job CPU and blocking times from a CSV (`cpu_us,io_us` per line, in
    /// microseconds; see docs/capacity.md) instead of `--cpu`/`--io`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cpu", "io"])]
    pub trace: Option<PathBuf>,

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

    /// How long to submit jobs in each repeat of a sweep point, e.g. `3s`, `500ms` [default:
    /// 1.5s, 750ms with --quick].
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,

    /// Worker counts to sweep, comma-separated, e.g. `1,2,4,8` [default: powers of two up to
    /// 8 × CPUs, at most 64].
    #[arg(long, value_name = "LIST", value_parser = parse_worker_list, allow_hyphen_values = true)]
    pub workers: Option<CountList>,

    /// Queue capacities to sweep, comma-separated [default: 4,16,64,256; 16,256 with --quick].
    #[arg(long, value_name = "LIST", value_parser = parse_queue_list, allow_hyphen_values = true)]
    pub queue: Option<CountList>,

    /// How many times each point is measured; a configuration is recommended only if every
    /// repeat meets the target [default: 3, 2 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeats: Option<u32>,

    /// Also predict, from the model, the recommendation for a host with N cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub cores: Option<u64>,

    /// Also say how many hosts (of --cores cores, or this machine's) serve this total rate in
    /// jobs/s with p99 under target while one host is lost, and each host's workers and queue.
    #[arg(long, value_name = "TOTAL_JOBS_PER_S", value_parser = parse_rate, allow_negative_numbers = true)]
    #[arg(conflicts_with = "closed")]
    pub nodes: Option<f64>,

    /// The end-to-end p99 latency (arrival to job end) a configuration must meet.
    #[arg(long, value_name = "DURATION", default_value = "20ms", value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub target_p99: Duration,

    /// Where to write `capacity.csv` and `capacity.svg`.
    #[arg(long, value_name = "DIR", default_value = "target/capacity")]
    pub out: PathBuf,

    /// Seed of the job-size and arrival-gap generator, so runs are repeatable.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// A coarse sweep that finishes in about 15 s on a 2-core machine (used by CI).
    #[arg(long)]
    pub quick: bool,
}

/// What each job does, as the flags say.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// `--cpu` and `--io`.
    Synthetic { cpu: TimeDist, io: TimeDist },
    /// `--trace FILE`.
    Trace(PathBuf),
}

/// A non-empty list of positive counts, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountList(pub Vec<usize>);

/// Everything one run does, with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub work: Work,
    pub arrival: Arrival,
    pub duration: Duration,
    pub workers: Vec<usize>,
    pub queues: Vec<usize>,
    pub target_p99: Duration,
    pub out: PathBuf,
    pub seed: u64,
    pub repeats: u32,
    pub cores: Option<usize>,
    pub nodes: Option<f64>,
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
        let work = match &self.trace {
            Some(path) => Work::Trace(path.clone()),
            None => Work::Synthetic { cpu: self.cpu, io: self.io },
        };
        Plan {
            work,
            arrival,
            duration: self.duration.unwrap_or(default_duration),
            workers: self.workers.clone().map_or_else(|| default_workers(cpus), |l| l.0),
            queues: self.queue.clone().map_or_else(|| default_queues.to_vec(), |l| l.0),
            target_p99: self.target_p99,
            out: self.out.clone(),
            seed: self.seed,
            repeats: self.repeats.unwrap_or(if self.quick { QUICK_REPEATS } else { DEFAULT_REPEATS }),
            cores: self.cores.map(|c| c as usize),
            nodes: self.nodes,
        }
    }
}

impl Plan {
    /// The library's sweep for this plan; reads the trace file if there is one.
    ///
    /// # Errors
    ///
    /// The trace's error, naming the line that is wrong.
    pub fn sweep(&self) -> Result<Sweep, TraceError> {
        let sweep = match &self.work {
            Work::Synthetic { cpu, io } => Sweep::synthetic(*cpu, *io),
            Work::Trace(path) => Sweep::trace(Trace::from_file(path)?),
        };
        let mut sweep = sweep
            .arrival(self.arrival)
            .workers(self.workers.iter().copied())
            .queue_capacities(self.queues.iter().copied())
            .target_p99(self.target_p99)
            .duration(self.duration)
            .repeats(self.repeats)
            .seed(self.seed)
            .progress(true);
        if let Some(cores) = self.cores {
            sweep = sweep.cores(cores);
        }
        if let Some(total) = self.nodes {
            sweep = sweep.nodes(total);
        }
        Ok(sweep)
    }
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
    s.parse()
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
