//! The builder users start from: what to run, how it arrives, which configurations to try.
//! [`Sweep::run`] measures every point (each several times, rounds interleaved so that a burst
//! of machine noise does not land on every repeat of one point), models it, and returns the
//! [`Report`].

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::SweepError;
use crate::measure::{self, Run, DISTURBED};
use crate::model::{self, Load};
use crate::probe;
use crate::recommend::{Rule, MARGIN, REJECT_BUDGET};
use crate::report::{Point, Report};
use crate::trace::Trace;
use crate::workload::{Calibration, TimeDist, Workload};

/// How many workers the default sweep may reach per CPU: jobs that block let a pool usefully run
/// more workers than there are cores, but past a few per core the extra threads only add noise.
const WORKERS_PER_CPU: usize = 8;
/// Queue capacities swept by default.
const DEFAULT_QUEUES: [usize; 4] = [4, 16, 64, 256];
/// After the first round, a point is not repeated if it refused more than this share of
/// arrivals or its p99 was over this many times the target: no repeat can make it qualify.
const HOPELESS_REJECTED: f64 = 0.05;
const HOPELESS_P99: u32 = 2;
/// An open-loop run that missed the target while the machine was busy (see [`Run::disturbed`])
/// and that the model says should have met it is measured again, up to this many times, keeping
/// the attempt the neighbours disturbed least; a sweep re-measures at most a quarter as many
/// runs as it planned.
const RETRIES: u32 = 2;
/// Before each run the sweep waits up to this long for the neighbours to quieten, and over the
/// whole sweep up to a tenth of the time its runs are planned to take, at most `QUIET_BUDGET`.
const QUIET_WAIT: Duration = Duration::from_secs(1);
const QUIET_BUDGET: Duration = Duration::from_secs(10);

/// How jobs arrive at the pool.
///
/// ```
/// use boundpool_capacity::Arrival;
///
/// let open = Arrival::Open { rate: 3000.0, poisson: true };
/// assert_ne!(open, Arrival::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Open loop at `rate` jobs/s, kept by a schedule whatever the pool does; an arrival that
    /// finds the queue full is refused (`try_spawn`) and counted. `poisson` draws exponential
    /// gaps (independent users), otherwise the gaps are even.
    Open {
        /// Jobs per second.
        rate: f64,
        /// Exponential gaps if true, even gaps otherwise.
        poisson: bool,
    },
    /// One submitter hands jobs to the pool as fast as it takes them (`spawn`, which waits
    /// while the queue is full): measures what the pool can do.
    Closed,
}

/// Powers of two from 1 up to 8 × `cpus`, at most 64: the default worker counts.
///
/// ```
/// assert_eq!(boundpool_capacity::default_workers(2), vec![1, 2, 4, 8, 16]);
/// ```
pub fn default_workers(cpus: usize) -> Vec<usize> {
    let cap = (cpus.max(1) * WORKERS_PER_CPU).min(64);
    std::iter::successors(Some(1usize), |n| Some(n * 2)).take_while(|&n| n <= cap).collect()
}

/// A capacity sweep: a job, how it arrives, and the configurations to measure it on.
///
/// Every point (worker count × queue capacity) gets a fresh [`boundpool::ThreadPool`] built with
/// `record_latency(true)`; jobs arrive for [`duration`](Self::duration), then the pool shuts down
/// gracefully. Each point is measured [`repeats`](Self::repeats) times. Before the sweep the
/// job is run alone a few hundred times (at most 0.6 s) to measure its CPU and service time for
/// the [model](crate::model).
///
/// ```no_run
/// use std::time::Duration;
///
/// fn handle_request() {
///     std::thread::sleep(Duration::from_micros(800));
/// }
///
/// let report = boundpool_capacity::Sweep::new(handle_request)
///     .rate(3000.0)
///     .workers([2, 4, 8, 16])
///     .queue_capacities([16, 64])
///     .target_p99(Duration::from_millis(20))
///     .run()?;
/// println!("{report}");
/// report.write_csv("capacity.csv")?;
/// report.write_svg("capacity.svg")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sweep {
    workload: Workload,
    arrival: Arrival,
    workers: Option<Vec<usize>>,
    queues: Vec<usize>,
    target_p99: Duration,
    duration: Duration,
    repeats: u32,
    seed: u64,
    cores: Option<usize>,
    nodes: Option<f64>,
    progress: bool,
}

/// What one measurement needs, with the defaults filled in.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) workload: Workload,
    pub(crate) arrival: Arrival,
    pub(crate) duration: Duration,
    pub(crate) seed: u64,
    pub(crate) calibration: Calibration,
    pub(crate) cpus: usize,
}

impl Sweep {
    fn with(workload: Workload) -> Sweep {
        Sweep {
            workload,
            arrival: Arrival::Closed,
            workers: None,
            queues: DEFAULT_QUEUES.to_vec(),
            target_p99: Duration::from_millis(20),
            duration: Duration::from_millis(1500),
            repeats: 3,
            seed: 1,
            cores: None,
            nodes: None,
            progress: false,
        }
    }

    /// A sweep of your own job: `job` is called once per arrival, on a worker.
    ///
    /// Defaults: closed loop, workers powers of two up to 8 × CPUs (at most 64), queue
    /// capacities 4, 16, 64, 256, target p99 20 ms, 1.5 s per run, 3 repeats.
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| { std::hint::black_box(1 + 1); });
    /// ```
    pub fn new<F>(job: F) -> Sweep
    where
        F: Fn() + Send + Sync + 'static,
    {
        Sweep::with(Workload::Closure(Arc::new(job)))
    }

    /// A sweep of synthetic jobs: a calibrated CPU spin drawn from `cpu`, then a sleep drawn
    /// from `io` standing in for blocking work.
    ///
    /// ```
    /// use std::time::Duration;
    /// use boundpool_capacity::{Sweep, TimeDist};
    ///
    /// let sweep = Sweep::synthetic(TimeDist::Exp(Duration::from_micros(200)), TimeDist::Exp(Duration::from_millis(1)));
    /// ```
    pub fn synthetic(cpu: TimeDist, io: TimeDist) -> Sweep {
        Sweep::with(Workload::Synthetic { cpu, io })
    }

    /// A sweep replaying a trace's per-job CPU and blocking times, in order.
    ///
    /// ```
    /// let trace = boundpool_capacity::Trace::parse("cpu_us,io_us\n200,1000\n150,2000\n")?;
    /// let sweep = boundpool_capacity::Sweep::trace(trace);
    /// # Ok::<(), boundpool_capacity::TraceError>(())
    /// ```
    pub fn trace(trace: Trace) -> Sweep {
        Sweep::with(Workload::Trace(Arc::new(trace)))
    }

    /// Open loop: `rate` arrivals per second with Poisson (exponential) gaps.
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).rate(500.0);
    /// ```
    pub fn rate(self, rate: f64) -> Sweep {
        self.arrival(Arrival::Open { rate, poisson: true })
    }

    /// Closed loop: one submitter, as fast as the pool accepts (the default).
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).closed_loop();
    /// ```
    pub fn closed_loop(self) -> Sweep {
        self.arrival(Arrival::Closed)
    }

    /// How jobs arrive.
    ///
    /// ```
    /// use boundpool_capacity::{Arrival, Sweep};
    /// let sweep = Sweep::new(|| ()).arrival(Arrival::Open { rate: 100.0, poisson: false });
    /// ```
    pub fn arrival(mut self, arrival: Arrival) -> Sweep {
        self.arrival = arrival;
        self
    }

    /// Worker counts to sweep (sorted, duplicates dropped).
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).workers([1, 2, 4]);
    /// ```
    pub fn workers(mut self, counts: impl IntoIterator<Item = usize>) -> Sweep {
        self.workers = Some(sorted(counts));
        self
    }

    /// Queue capacities to sweep (sorted, duplicates dropped).
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).queue_capacities([16, 256]);
    /// ```
    pub fn queue_capacities(mut self, capacities: impl IntoIterator<Item = usize>) -> Sweep {
        self.queues = sorted(capacities);
        self
    }

    /// The end-to-end p99 latency (arrival to job end) a configuration must meet.
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).target_p99(std::time::Duration::from_millis(5));
    /// ```
    pub fn target_p99(mut self, target: std::time::Duration) -> Sweep {
        self.target_p99 = target;
        self
    }

    /// How long jobs arrive in each run of each point.
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).duration(std::time::Duration::from_secs(2));
    /// ```
    pub fn duration(mut self, duration: Duration) -> Sweep {
        self.duration = duration;
        self
    }

    /// How many times each point is measured; the recommendation needs every repeat to meet the
    /// target. A point far off the target after its first run is not repeated.
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).repeats(5);
    /// ```
    pub fn repeats(mut self, repeats: u32) -> Sweep {
        self.repeats = repeats;
        self
    }

    /// Seed of the job sizes and arrival gaps (repeat `r` uses `seed + r` at every point).
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).seed(7);
    /// ```
    pub fn seed(mut self, seed: u64) -> Sweep {
        self.seed = seed;
        self
    }

    /// Also predict, from the model, the recommendation for a host with `cores` cores.
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).rate(1000.0).cores(16);
    /// ```
    pub fn cores(mut self, cores: usize) -> Sweep {
        self.cores = Some(cores);
        self
    }

    /// Also say how many hosts (of [`cores`](Self::cores) cores, or this machine's) serve
    /// `total_rate` jobs/s with p99 under target while one host is lost, and how to size each.
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).rate(1000.0).nodes(20_000.0);
    /// ```
    pub fn nodes(mut self, total_rate: f64) -> Sweep {
        self.nodes = Some(total_rate);
        self
    }

    /// Draw a progress bar on stderr while measuring (when stderr is a terminal).
    ///
    /// ```
    /// let sweep = boundpool_capacity::Sweep::new(|| ()).progress(true);
    /// ```
    pub fn progress(mut self, show: bool) -> Sweep {
        self.progress = show;
        self
    }

    fn check(&self) -> Result<(), SweepError> {
        let bad = |what: &str| Err(SweepError::Invalid(what.to_owned()));
        if let Arrival::Open { rate, .. } = self.arrival {
            if !(rate.is_finite() && rate > 0.0 && rate <= 10_000_000.0) {
                return bad("the rate must be a positive number of jobs per second, at most 10 000 000");
            }
        }
        let workers_ok = self.workers.as_ref().map_or(true, |w| !w.is_empty() && w.iter().all(|&n| n > 0));
        if !workers_ok || self.workers.as_ref().is_some_and(|w| w.iter().any(|&n| n > 1024)) {
            return bad("worker counts must be a non-empty list of counts from 1 to 1024");
        }
        if self.queues.is_empty() || self.queues.iter().any(|&q| q == 0 || q > 1_000_000) {
            return bad("queue capacities must be a non-empty list of counts from 1 to 1 000 000");
        }
        if self.target_p99.is_zero() || self.duration.is_zero() {
            return bad("the target p99 and the duration must be greater than zero");
        }
        if self.repeats == 0 || self.repeats > 100 {
            return bad("repeats must be from 1 to 100");
        }
        if self.cores.is_some_and(|c| c == 0 || c > 4096) {
            return bad("cores must be from 1 to 4096");
        }
        if self.nodes.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return bad("the total rate for nodes must be a positive number of jobs per second");
        }
        Ok(())
    }

    /// Measures every point and returns the report.
    ///
    /// Takes about `points × repeats × duration` (less where overloaded points are not
    /// repeated), plus the pools' drains.
    ///
    /// # Errors
    ///
    /// [`SweepError::Invalid`] for a setting out of range (a rate that is not positive, an empty
    /// or zero list, zero repeats), [`SweepError::Build`] if a pool's threads cannot start.
    ///
    /// ```
    /// let report = boundpool_capacity::Sweep::new(|| ())
    ///     .rate(200.0)
    ///     .workers([1])
    ///     .queue_capacities([8])
    ///     .duration(std::time::Duration::from_millis(50))
    ///     .repeats(1)
    ///     .run()?;
    /// assert_eq!(report.points().len(), 1);
    /// # Ok::<(), boundpool_capacity::SweepError>(())
    /// ```
    pub fn run(&self) -> Result<Report, SweepError> {
        self.check()?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let calibration = Calibration::measure();
        let setup = Setup {
            workload: self.workload.clone(),
            arrival: self.arrival,
            duration: self.duration,
            seed: self.seed,
            calibration,
            cpus,
        };
        let service = probe::service(&self.workload, calibration, self.seed);
        let workers = self.workers.clone().unwrap_or_else(|| default_workers(cpus));
        let configs: Vec<(usize, usize)> =
            workers.iter().flat_map(|&w| self.queues.iter().map(move |&q| (w, q))).collect();
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); configs.len()];

        let rule = Rule { arrival: self.arrival, target_p99: self.target_p99, repeats: self.repeats };
        let bar = self.progress_bar((configs.len() * self.repeats as usize) as u64);
        let mut retry_budget = configs.len() as u32 * self.repeats / 4;
        let mut retried = 0;
        let mut waited = Duration::ZERO;
        let planned = self.duration * (configs.len() as u32).saturating_mul(self.repeats);
        let quiet_budget = QUIET_BUDGET.min(planned / 10);
        for round in 0..self.repeats {
            for (i, &(w, q)) in configs.iter().enumerate() {
                if round > 0 && self.hopeless(&runs[i][0]) {
                    bar.set_length(bar.length().unwrap_or(1).saturating_sub(1));
                    continue;
                }
                bar.set_message(format!("round {}/{}: workers {w}, queue {q}", round + 1, self.repeats));
                waited +=
                    probe::wait_for_quiet(DISTURBED, QUIET_WAIT.min(quiet_budget.saturating_sub(waited)));
                let mut run = measure::run_point(&setup, w, q, round)?;
                let model_meets = self.model_meets(&service, w, q, cpus);
                for _ in 0..RETRIES {
                    if !(run.disturbed() && model_meets && !rule.run_meets(&run, 0.0)) || retry_budget == 0 {
                        break;
                    }
                    retry_budget -= 1;
                    retried += 1;
                    bar.set_message(format!(
                        "round {}/{}: workers {w}, queue {q} (machine busy: again)",
                        round + 1,
                        self.repeats
                    ));
                    let again = measure::run_point(&setup, w, q, round)?;
                    if again.others_cpu < run.others_cpu {
                        run = again;
                    }
                }
                runs[i].push(run);
                bar.inc(1);
            }
        }
        bar.finish_and_clear();

        let load = self.load();
        let points = configs
            .into_iter()
            .zip(runs)
            .map(|((w, q), runs)| Point {
                workers: w,
                queue: q,
                model: model::predict(&service, load, w, q, cpus),
                runs,
            })
            .collect();
        Ok(Report::new(self.settings(cpus, retried, waited), service, points))
    }

    fn load(&self) -> Load {
        match self.arrival {
            Arrival::Open { rate, poisson } => Load::Open { rate, ca2: if poisson { 1.0 } else { 0.0 } },
            Arrival::Closed => Load::Closed,
        }
    }

    /// Whether the model says the point meets the target with the rule's margins (open loop).
    fn model_meets(&self, service: &model::Service, workers: usize, queue: usize, cpus: usize) -> bool {
        let p = model::predict(service, self.load(), workers, queue, cpus);
        matches!(self.arrival, Arrival::Open { .. })
            && p.latency_p99.as_secs_f64() <= MARGIN * self.target_p99.as_secs_f64()
            && p.rejected_share <= REJECT_BUDGET
    }

    fn hopeless(&self, first: &Run) -> bool {
        matches!(self.arrival, Arrival::Open { .. })
            && (first.rejected_share() > HOPELESS_REJECTED
                || first.latency.p99 > self.target_p99 * HOPELESS_P99)
    }

    fn progress_bar(&self, total: u64) -> ProgressBar {
        if !self.progress || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} runs, {elapsed} [{msg}]") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(250));
        bar
    }

    fn settings(&self, cpus: usize, retried: u32, waited: Duration) -> crate::report::Settings {
        crate::report::Settings {
            workload: self.workload.describe(),
            arrival: self.arrival,
            target_p99: self.target_p99,
            duration: self.duration,
            repeats: self.repeats,
            cpus,
            cores: self.cores,
            nodes: self.nodes,
            retried,
            waited,
        }
    }
}

fn sorted(counts: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<usize> = counts.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}
