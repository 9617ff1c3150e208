//! Past this machine: the model, fed with what one job costs here, picks configurations for a
//! host with another number of cores, and counts the hosts a total rate needs with one lost.
//!
//! A model choice is the smallest configuration (fewest workers, then smallest queue) whose
//! predicted p99 latency is within the same 20 % margin as a measured one and whose predicted
//! refused share is within the same budget (see [`recommend`](crate::recommend)). Workers are
//! tried in powers of two up to 8 per core (at most 1024), queues from the sweep's list.

use std::fmt::Write as _;
use std::time::Duration;

use crate::model::{self, Load, Prediction, Service};
use crate::recommend::{MARGIN, REJECT_BUDGET};
use crate::report::{Point, Settings};
use crate::sweep::Arrival;
use crate::units::format_duration as fmt_d;

/// The most hosts `--nodes` looks at.
const MAX_HOSTS: usize = 100_000;

/// A configuration the model chose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelChoice {
    /// Worker count.
    pub workers: usize,
    /// Queue capacity.
    pub queue: usize,
    /// What the model predicts for it.
    pub prediction: Prediction,
}

/// How many hosts a total rate needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nodes {
    /// Total jobs per second.
    pub total_rate: f64,
    /// Cores per host.
    pub cores: usize,
    /// Hosts to run (one of them may be lost).
    pub hosts: usize,
    /// Each host's configuration, sized for the rate it takes with one host lost.
    pub each: ModelChoice,
}

/// The model's answers past the sweep.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reach {
    this_machine: Option<ModelChoice>,
    cores: Option<(usize, Option<ModelChoice>)>,
    nodes: Option<Result<Nodes, f64>>,
}

/// Powers of two up to 8 per core, at most 1024.
fn candidate_workers(cores: usize) -> Vec<usize> {
    let cap = (cores.max(1) * 8).min(1024);
    std::iter::successors(Some(1usize), |n| Some(n * 2)).take_while(|&n| n <= cap).collect()
}

/// The smallest configuration the model says meets `target` at `rate` on `cores` cores.
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::model::Service;
/// use boundpool_capacity::reach::choose;
///
/// let job = Service::new(Duration::from_micros(200), Duration::from_micros(1200), 1.0, Duration::from_micros(5500));
/// let c = choose(&job, 3000.0, true, 2, &[16, 64], &[1, 2, 4, 8, 16], Duration::from_millis(20)).unwrap();
/// assert_eq!((c.workers, c.queue), (8, 16));
/// ```
pub fn choose(
    service: &Service,
    rate: f64,
    poisson: bool,
    cores: usize,
    queues: &[usize],
    workers: &[usize],
    target: Duration,
) -> Option<ModelChoice> {
    let load = Load::Open { rate, ca2: if poisson { 1.0 } else { 0.0 } };
    let limit = target.as_secs_f64() * MARGIN;
    for &w in workers {
        if service.capacity(w, cores) <= rate {
            continue;
        }
        for &q in queues {
            let p = model::predict(service, load, w, q, cores);
            if p.latency_p99.as_secs_f64() <= limit && p.rejected_share <= REJECT_BUDGET {
                return Some(ModelChoice { workers: w, queue: q, prediction: p });
            }
        }
    }
    None
}

/// Hosts of `cores` cores for `total_rate`: the fewest `n ≥ 2` such that `n − 1` hosts each
/// taking `total_rate / (n − 1)` meet the target. `Err(max per host)` when even one host's
/// CPU cannot serve the smallest share.
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::model::Service;
/// use boundpool_capacity::reach::hosts;
///
/// let job = Service::new(Duration::from_micros(200), Duration::from_micros(1200), 1.0, Duration::from_micros(5500));
/// let plan = hosts(&job, 20_000.0, true, 2, &[16, 64, 256], Duration::from_millis(20)).unwrap();
/// assert!(plan.hosts >= 3);
/// assert!(20_000.0 / (plan.hosts - 1) as f64 <= 2.0 / 200e-6); // each host's CPU keeps up
/// ```
pub fn hosts(
    service: &Service,
    total_rate: f64,
    poisson: bool,
    cores: usize,
    queues: &[usize],
    target: Duration,
) -> Result<Nodes, f64> {
    let workers = candidate_workers(cores);
    let max_per_host = workers.iter().map(|&w| service.capacity(w, cores)).fold(0.0, f64::max);
    let first = ((total_rate / max_per_host).floor() as usize + 1).max(2);
    for hosts in first..=MAX_HOSTS {
        let each = total_rate / (hosts - 1) as f64;
        if let Some(choice) = choose(service, each, poisson, cores, queues, &workers, target) {
            return Ok(Nodes { total_rate, cores, hosts, each: choice });
        }
    }
    Err(max_per_host)
}

impl Reach {
    /// The model's choice for this machine, if it found one.
    pub(crate) fn this_machine(&self) -> Option<&ModelChoice> {
        self.this_machine.as_ref()
    }

    pub(crate) fn plan(settings: &Settings, service: &Service, points: &[Point]) -> Reach {
        let Arrival::Open { rate, poisson } = settings.arrival else {
            return Reach { cores: settings.cores.map(|c| (c, None)), ..Reach::default() };
        };
        let mut queues: Vec<usize> = points.iter().map(|p| p.queue).collect();
        queues.sort_unstable();
        queues.dedup();
        let mut swept: Vec<usize> = points.iter().map(|p| p.workers).collect();
        swept.dedup();
        let target = settings.target_p99;
        let this_machine = choose(service, rate, poisson, settings.cpus, &queues, &swept, target);
        let cores = settings
            .cores
            .map(|c| (c, choose(service, rate, poisson, c, &queues, &candidate_workers(c), target)));
        let host_cores = settings.cores.unwrap_or(settings.cpus);
        let nodes = settings.nodes.map(|total| hosts(service, total, poisson, host_cores, &queues, target));
        Reach { this_machine, cores, nodes }
    }

    pub(crate) fn describe(&self, out: &mut String, settings: &Settings) {
        let shown = |c: &ModelChoice| {
            format!(
                "workers={} queue={} (predicted p99 {}, {:.2}% refused, {:.0}% of capacity)",
                c.workers,
                c.queue,
                fmt_d(c.prediction.latency_p99),
                c.prediction.rejected_share * 100.0,
                c.prediction.utilisation * 100.0
            )
        };
        let none = "nothing meets the target with the margin";
        if let Some(c) = &self.this_machine {
            let _ = writeln!(out, "model on this machine ({} cores): {}", settings.cpus, shown(c));
        }
        if let Some((cores, choice)) = &self.cores {
            let at = match settings.arrival {
                Arrival::Open { rate, .. } => format!("{rate:.0} jobs/s"),
                Arrival::Closed => {
                    let _ = writeln!(out, "model for a {cores}-core host: needs an open-loop rate (--rate)");
                    return;
                }
            };
            let _ = writeln!(
                out,
                "model for a {cores}-core host at {at}: {}",
                choice.as_ref().map_or_else(|| none.to_owned(), shown)
            );
        }
        match &self.nodes {
            Some(Ok(n)) => {
                let _ = writeln!(
                    out,
                    "nodes: {:.0} jobs/s in all on {}-core hosts: {} hosts, each {}; {:.0} jobs/s each, {:.0} with \
                     one host lost. Spread jobs over the hosts with a broker or cluster scheduler; each host runs \
                     its own pool",
                    n.total_rate,
                    n.cores,
                    n.hosts,
                    shown(&n.each),
                    n.total_rate / n.hosts as f64,
                    n.total_rate / (n.hosts - 1) as f64,
                );
            }
            Some(Err(max)) => {
                let _ = writeln!(out, "nodes: no host count up to {MAX_HOSTS} meets the target (one host does at most {max:.0} jobs/s)");
            }
            None => {}
        }
    }
}
