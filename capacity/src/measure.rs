//! Measures one sweep point: a fresh pool, jobs arriving for a while, every figure the report
//! needs. Latencies are taken from the client's clocks (end-to-end) and from the pool's own
//! recording (queue wait); Little's law compares the pool's gauges against the client's view.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use boundpool::TrySubmitError;
use hdrhistogram::Histogram;

use crate::probe::{self, Quantiles};
use crate::sweep::{Arrival, Setup};
use crate::workload::Rng;

/// A run during which other processes used more than this share of the machine's CPU time is
/// disturbed: its latencies say as much about the neighbours as about the pool.
pub const DISTURBED: f64 = 0.25;

/// How often the Little's-law sampler reads the pool's gauges.
const SAMPLE_EVERY: Duration = Duration::from_millis(2);

/// Everything measured in one run of one (workers, queue capacity) point.
#[derive(Debug, Clone)]
pub struct Run {
    /// Arrivals per second actually offered (open loop) or submitted (closed loop).
    pub offered: f64,
    /// Jobs the pool accepted.
    pub accepted: u64,
    /// Arrivals refused because the queue was full.
    pub rejected: u64,
    /// Jobs finished.
    pub completed: u64,
    /// Completed jobs per second, from the first arrival until the pool drained.
    pub throughput: f64,
    /// Arrival (the scheduled time, in open loop) to job end.
    pub latency: Quantiles,
    /// Time in the queue before a worker took the job.
    pub queue_wait: Quantiles,
    /// The deepest the queue got.
    pub peak_queued: usize,
    /// Process CPU time over wall time over CPUs; `None` off Linux.
    pub cpu_util: Option<f64>,
    /// Mean jobs in the pool (running + queued), sampled from `stats()` every 2 ms from the first
    /// arrival until the pool drained, each sample weighted by the time it stands for.
    pub little_measured: f64,
    /// Accepted arrivals per second over the same span.
    pub accepted_rate: f64,
    /// Mean time in the pool, submit to job end.
    pub mean_in_pool: Duration,
    /// `accepted_rate` × `mean_in_pool`.
    pub little_predicted: f64,
    /// Share of the machine's CPU time that other processes used during the run (`None` off
    /// Linux): a busy neighbour delays the pool's threads and the planner's own.
    pub others_cpu: Option<f64>,
    /// The latest the submitter sent an arrival after its scheduled time (open loop): how long
    /// the machine kept the planner itself from running.
    pub max_late: Duration,
}

impl Run {
    /// Little's law: measured ÷ predicted mean jobs in the pool, 1.0 when both are zero.
    ///
    /// ```
    /// # fn check(run: &boundpool_capacity::Run) {
    /// assert!(run.little_ratio() > 0.0);
    /// # }
    /// ```
    pub fn little_ratio(&self) -> f64 {
        if self.little_predicted > 0.0 {
            self.little_measured / self.little_predicted
        } else {
            1.0
        }
    }

    /// Whether other processes used more than [`DISTURBED`] of the machine's CPU during the run.
    ///
    /// ```
    /// # fn check(run: &boundpool_capacity::Run) {
    /// if run.disturbed() { println!("measured on a busy machine"); }
    /// # }
    /// ```
    pub fn disturbed(&self) -> bool {
        self.others_cpu.is_some_and(|share| share > DISTURBED)
    }

    /// Share of arrivals refused.
    ///
    /// ```
    /// # fn check(run: &boundpool_capacity::Run) {
    /// assert!(run.rejected_share() <= 1.0);
    /// # }
    /// ```
    pub fn rejected_share(&self) -> f64 {
        let arrivals = self.accepted + self.rejected;
        if arrivals == 0 {
            0.0
        } else {
            self.rejected as f64 / arrivals as f64
        }
    }
}

/// What the jobs of one point record as they end.
struct Recorder {
    /// Arrival to end, µs.
    latency: Mutex<Histogram<u64>>,
    /// Submit to start, µs: the client's view of the queue wait, used if the pool records none.
    wait: Mutex<Histogram<u64>>,
    /// Sum of submit-to-end times, ns, for Little's law.
    in_pool_ns: AtomicU64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Recorder {
    fn job_ended(&self, arrival: Instant, submitted: Instant, started: Instant, ended: Instant) {
        self.latency.lock().unwrap_or_else(|e| e.into_inner()).saturating_record(micros(ended - arrival));
        self.wait.lock().unwrap_or_else(|e| e.into_inner()).saturating_record(micros(started - submitted));
        let in_pool = u64::try_from((ended - submitted).as_nanos()).unwrap_or(u64::MAX);
        // ORDERING: a sum read only after the pool has shut down (which joins every worker).
        self.in_pool_ns.fetch_add(in_pool, Ordering::Relaxed);
    }
}

/// Measures one point of `setup` on a fresh pool; `round` (0, 1, ...) picks the seed of this
/// repeat, the same at every point.
pub(crate) fn run_point(
    setup: &Setup,
    workers: usize,
    queue: usize,
    round: u32,
) -> Result<Run, boundpool::BuildError> {
    let plan = setup;
    let cpus = setup.cpus;
    let pool = probe::build_pool(workers, queue)?;
    let recorder = Arc::new(Recorder {
        latency: Mutex::new(histogram()),
        wait: Mutex::new(histogram()),
        in_pool_ns: 0.into(),
    });
    // The same seed at every point: each configuration sees the same jobs and arrival gaps.
    let mut rng = Rng::new(plan.seed.wrapping_add(u64::from(round)));
    let mut index = 0u64;
    let stop = AtomicBool::new(false);
    let (mut accepted, mut rejected) = (0u64, 0u64);

    let cpu_before = probe::process_cpu_time();
    let machine_before = probe::machine_cpu_time();
    let mut max_late = Duration::ZERO;
    let start = Instant::now();
    let end = start + plan.duration;
    let (window, samples) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            // The time integral of jobs in the pool (trapezoids between samples, so a sampler
            // that wakes late weighs its samples by the time they stand for), and its span.
            let (mut area, mut span) = (0.0f64, 0.0f64);
            let (mut last_at, mut last_n) = (start, 0.0f64);
            // ORDERING: a plain flag; nothing else is published through it.
            while !stop.load(Ordering::Relaxed) {
                let st = pool.stats();
                let (now, n) = (Instant::now(), (st.running + st.queued) as f64);
                let dt = (now - last_at).as_secs_f64();
                area += 0.5 * (last_n + n) * dt;
                span += dt;
                (last_at, last_n) = (now, n);
                std::thread::sleep(SAMPLE_EVERY);
            }
            (area, span)
        });

        let mut next = start;
        while next < end {
            let work = plan.workload.job(index, &mut rng, plan.calibration);
            index += 1;
            let arrival = match plan.arrival {
                Arrival::Open { .. } => {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    max_late = max_late.max(Instant::now().saturating_duration_since(next));
                    next
                }
                Arrival::Closed => Instant::now(),
            };
            let rec = Arc::clone(&recorder);
            let submitted = Instant::now();
            let job = move || {
                let started = Instant::now();
                work.run();
                rec.job_ended(arrival, submitted, started, Instant::now());
            };
            match plan.arrival {
                Arrival::Open { rate, poisson } => {
                    match pool.try_spawn(job) {
                        Ok(_detached) => accepted += 1,
                        Err(TrySubmitError::Full(_)) => rejected += 1,
                        Err(TrySubmitError::Shutdown(_)) => break,
                    }
                    let gap = if poisson { rng.exp(1.0 / rate) } else { 1.0 / rate };
                    next += Duration::from_secs_f64(gap);
                }
                Arrival::Closed => match pool.spawn(job) {
                    Ok(_detached) => {
                        accepted += 1;
                        next = Instant::now();
                    }
                    Err(_) => break,
                },
            }
        }
        let window = start.elapsed();
        // Run every queued job and join the workers; the sampler goes on until the pool is
        // empty, so that Little's law holds over the whole run, drain included.
        pool.shutdown();
        // ORDERING: see the sampler.
        stop.store(true, Ordering::Relaxed);
        (window, sampler.join().expect("the sampler does not panic"))
    });
    let elapsed = start.elapsed();
    let cpu_after = probe::process_cpu_time();
    let machine_after = probe::machine_cpu_time();
    let stats = pool.stats();

    let latency_hist = recorder.latency.lock().unwrap_or_else(|e| e.into_inner());
    let wait_hist = recorder.wait.lock().unwrap_or_else(|e| e.into_inner());
    let completed = stats.completed;
    let accepted_rate = accepted as f64 / elapsed.as_secs_f64();
    // ORDERING: every job ended before shutdown returned (it joins the workers).
    let in_pool_ns = recorder.in_pool_ns.load(Ordering::Relaxed);
    let mean_in_pool = if completed > 0 { in_pool_ns as f64 / 1e9 / completed as f64 } else { 0.0 };
    let cpu_util = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => Some((b - a).as_secs_f64() / elapsed.as_secs_f64() / cpus as f64),
        _ => None,
    };
    Ok(Run {
        offered: (accepted + rejected) as f64 / window.as_secs_f64(),
        accepted,
        rejected,
        completed,
        throughput: completed as f64 / elapsed.as_secs_f64(),
        latency: probe::hdr_quantiles(&latency_hist),
        queue_wait: probe::queue_wait(&stats).unwrap_or_else(|| probe::hdr_quantiles(&wait_hist)),
        peak_queued: stats.peak_queued,
        cpu_util,
        little_measured: if samples.1 > 0.0 { samples.0 / samples.1 } else { 0.0 },
        accepted_rate,
        mean_in_pool: Duration::from_secs_f64(mean_in_pool),
        little_predicted: accepted_rate * mean_in_pool,
        others_cpu: probe::others_share((machine_before, machine_after), (cpu_before, cpu_after)),
        max_late,
    })
}
