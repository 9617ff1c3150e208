//! The queueing model the report shows beside each measurement.
//!
//! A pool of `c` workers in front of a queue of capacity `q` is an M/G/c/(c+q) queue: arrivals
//! at rate λ, `c` servers, room for `q` waiting jobs, arrivals that find it full refused. The
//! model works from what the probe measured of one job run alone: its mean CPU time `cpu`, its
//! mean service time `s` (CPU plus blocking) and the coefficient of variation `cs` of `s`.
//!
//! - **CPU cap.** `c` workers on `k` cores serve at most `min(c / s, k / cpu)` jobs per second.
//!   When the offered CPU demand `λ · cpu` reaches the `k` cores, the jobs stretch and each
//!   worker gets the service rate `μ = min(1 / s, k / (c · cpu))`; below that, `μ = 1 / s`.
//! - **Exponential service (M/M/c/c+q).** The birth–death chain of the number of jobs in the
//!   pool gives, exactly, the share of arrivals refused (the chain's probability of being full,
//!   seen by Poisson arrivals) and the distribution of an accepted job's queue wait: a job that
//!   finds `n ≥ c` jobs waits for `n − c + 1` completions at rate `cμ`, an Erlang time. The p99
//!   wait is read off that mixture. With an unbounded queue this is Erlang C:
//!   `P(wait > t) = C(c, λ/μ) · e^(−(cμ − λ) t)`, see [`erlang_c`].
//! - **Other spreads (Allen–Cunneen).** For arrivals with squared coefficient of variation `ca²`
//!   (1 for Poisson, 0 for evenly spaced) and service with `cs²`, waits scale by
//!   `(ca² + cs²) / 2` below saturation; a saturated pool waits for a full queue whatever the
//!   spread, so the scaled wait is capped at the time to drain the queue, `q / (cμ)`.
//! - **End to end.** The predicted p99 latency is the p99 wait plus the p99 service time (an
//!   upper bound on the p99 of their sum), the service stretched like `μ` under the CPU cap.
//!
//! It is a model: it knows nothing of the scheduler, of caches, of a job that locks something
//! its neighbours need. The report flags points where model and measurement disagree by more
//! than 2×.

use std::time::Duration;

/// What one job costs, measured by running it alone (see [`Report::service`](crate::Report::service)).
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::model::Service;
///
/// let s = Service::new(Duration::from_micros(200), Duration::from_micros(1200), 1.0, Duration::from_micros(5500));
/// assert_eq!(s.io(), Duration::from_millis(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Service {
    /// Mean CPU time per job.
    pub cpu: Duration,
    /// Mean time a job holds a worker (CPU plus blocking), run alone.
    pub mean: Duration,
    /// Coefficient of variation of that time (standard deviation ÷ mean): 1 for exponential,
    /// 0 for fixed.
    pub cv: f64,
    /// 99th percentile of that time.
    pub p99: Duration,
}

impl Service {
    /// A service profile from its parts.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use boundpool_capacity::model::Service;
    /// let s = Service::new(Duration::from_millis(1), Duration::from_millis(1), 0.0, Duration::from_millis(1));
    /// assert_eq!(s.cv, 0.0);
    /// ```
    pub fn new(cpu: Duration, mean: Duration, cv: f64, p99: Duration) -> Service {
        Service { cpu, mean, cv, p99 }
    }

    /// Mean blocking time per job: `mean − cpu`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use boundpool_capacity::model::Service;
    /// let s = Service::new(Duration::from_millis(1), Duration::from_millis(3), 1.0, Duration::from_millis(9));
    /// assert_eq!(s.io(), Duration::from_millis(2));
    /// ```
    pub fn io(&self) -> Duration {
        self.mean.saturating_sub(self.cpu)
    }

    /// The most jobs per second `workers` workers on `cores` cores can finish:
    /// `min(workers / mean, cores / cpu)`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use boundpool_capacity::model::Service;
    /// let s = Service::new(Duration::from_micros(500), Duration::from_millis(1), 1.0, Duration::from_millis(5));
    /// assert!((s.capacity(8, 2) - 4000.0).abs() < 1e-6); // CPU-bound: 2 cores / 500 µs
    /// assert!((s.capacity(2, 2) - 2000.0).abs() < 1e-6); // worker-bound: 2 workers / 1 ms
    /// ```
    pub fn capacity(&self, workers: usize, cores: usize) -> f64 {
        let by_workers = workers as f64 / self.mean.as_secs_f64().max(1e-9);
        let cpu = self.cpu.as_secs_f64();
        if cpu <= 0.0 {
            by_workers
        } else {
            by_workers.min(cores as f64 / cpu)
        }
    }
}

/// How jobs arrive, for the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Open loop at `rate` jobs/s with squared coefficient of variation `ca2` of the gaps.
    Open {
        /// Jobs per second.
        rate: f64,
        /// 1 for Poisson arrivals, 0 for evenly spaced ones.
        ca2: f64,
    },
    /// One submitter keeping the queue full.
    Closed,
}

/// The model's figures for one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Jobs per second finished.
    pub throughput: f64,
    /// Share of arrivals refused because the queue was full (0 in closed loop).
    pub rejected_share: f64,
    /// 99th percentile of an accepted job's queue wait.
    pub wait_p99: Duration,
    /// 99th percentile of arrival to job end (an upper bound: p99 wait + p99 service).
    pub latency_p99: Duration,
    /// Offered load over capacity (1 or more: saturated).
    pub utilisation: f64,
}

/// Erlang C: the probability that an arrival must wait in an M/M/c queue with `servers` servers
/// and offered load `load` = λ/μ (in erlangs), with an unbounded queue. 1 when `load ≥ servers`.
///
/// ```
/// use boundpool_capacity::model::erlang_c;
///
/// assert!((erlang_c(1, 0.5) - 0.5).abs() < 1e-12);    // M/M/1: the utilisation
/// assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
/// ```
pub fn erlang_c(servers: usize, load: f64) -> f64 {
    let c = servers as f64;
    if servers == 0 || load >= c {
        return 1.0;
    }
    if load <= 0.0 {
        return 0.0;
    }
    // Erlang B by its stable recursion, then C from B.
    let mut b = 1.0;
    for n in 1..=servers {
        b = load * b / (n as f64 + load * b);
    }
    c * b / (c - load * (1.0 - b))
}

fn log_add(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// `P(Poisson(x) ≤ j)` for every `j < len`.
fn poisson_cdf(x: f64, len: usize) -> Vec<f64> {
    if x <= 0.0 {
        return vec![1.0; len];
    }
    let mut out = Vec::with_capacity(len);
    let (mut term, mut acc) = (-x, -x);
    let ln_x = x.ln();
    for j in 0..len {
        if j > 0 {
            term += ln_x - (j as f64).ln();
            acc = log_add(acc, term);
        }
        out.push(acc.exp().min(1.0));
    }
    out
}

/// The stationary distribution of the number of jobs in an M/M/c/(c+q) pool, as probabilities.
fn occupancy(c: usize, q: usize, load: f64) -> Vec<f64> {
    let mut log_p = Vec::with_capacity(c + q + 1);
    log_p.push(0.0f64);
    let ln_load = load.max(1e-300).ln();
    for n in 1..=c + q {
        let prev = log_p[n - 1];
        log_p.push(prev + ln_load - (n.min(c) as f64).ln());
    }
    let top = log_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = log_p.iter().map(|l| (l - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// p99 of the queue wait of accepted arrivals in M/M/c/(c+q), each server at rate `mu`.
fn finite_wait_p99(c: usize, q: usize, load: f64, mu: f64) -> (f64, f64) {
    let p = occupancy(c, q, load);
    let blocked = p[c + q];
    let accepted = (1.0 - blocked).max(1e-300);
    let waiting: Vec<f64> = p[c..c + q].iter().map(|x| x / accepted).collect();
    let tail = |t: f64| -> f64 {
        let cdf = poisson_cdf(c as f64 * mu * t, q);
        waiting.iter().zip(cdf).map(|(w, f)| w * f).sum()
    };
    if q == 0 || tail(0.0) <= 0.01 {
        return (0.0, blocked);
    }
    let mut hi = (q as f64 + 1.0) / (c as f64 * mu);
    while tail(hi) > 0.01 {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > 0.01 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (hi, blocked)
}

/// Predicts one configuration: `workers` workers, a queue of `queue`, on `cores` cores.
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::model::{predict, Load, Service};
///
/// let job = Service::new(Duration::from_micros(200), Duration::from_micros(1200), 1.0, Duration::from_micros(5500));
/// let p = predict(&job, Load::Open { rate: 3000.0, ca2: 1.0 }, 8, 64, 2);
/// assert!(p.rejected_share < 1e-3);
/// assert!(p.wait_p99 < Duration::from_millis(2));
/// let overloaded = predict(&job, Load::Open { rate: 3000.0, ca2: 1.0 }, 2, 64, 2);
/// assert!(overloaded.utilisation > 1.0 && overloaded.rejected_share > 0.4);
/// ```
pub fn predict(service: &Service, load: Load, workers: usize, queue: usize, cores: usize) -> Prediction {
    let c = workers.max(1);
    let cores = cores.max(1);
    // The CPU cap binds only when the offered CPU demand reaches the cores: then every worker's
    // job stretches to c·cpu/k, so that the pool finishes at most k/cpu jobs per second.
    let cpu_bound = match load {
        Load::Open { rate, .. } => rate * service.cpu.as_secs_f64() >= cores as f64,
        Load::Closed => true,
    };
    let capacity =
        if cpu_bound { service.capacity(c, cores) } else { c as f64 / service.mean.as_secs_f64().max(1e-9) };
    let mu = capacity / c as f64;
    let stretch = (1.0 / mu) / service.mean.as_secs_f64().max(1e-9);
    let service_p99 = service.p99.as_secs_f64() * stretch.max(1.0);
    let drain = queue as f64 / capacity;
    let (throughput, rejected_share, wait, utilisation) = match load {
        Load::Closed => (capacity, 0.0, drain, f64::INFINITY),
        Load::Open { rate, ca2 } => {
            let utilisation = rate / service.capacity(c, cores);
            let (wait, blocked) = finite_wait_p99(c, queue, rate / mu, mu);
            let wait = if utilisation < 1.0 {
                let spread = (ca2 + service.cv * service.cv) / 2.0;
                (wait * spread).min(drain)
            } else {
                wait
            };
            (rate * (1.0 - blocked), blocked, wait, utilisation)
        }
    };
    Prediction {
        throughput,
        rejected_share,
        wait_p99: Duration::from_secs_f64(wait),
        latency_p99: Duration::from_secs_f64(wait + service_p99),
        utilisation,
    }
}

/// p99 of the wait in M/M/c with an unbounded queue, from Erlang C:
/// `P(wait > t) = C · e^(−(cμ − λ) t)`; `None` when saturated (`λ ≥ cμ`).
///
/// ```
/// use boundpool_capacity::model::erlang_c_wait_p99;
///
/// // M/M/1 at 90 %: C = 0.9, cμ − λ = 100/s, t = ln(90)/100.
/// let t = erlang_c_wait_p99(1, 1000.0, 900.0).unwrap();
/// assert!((t - (90f64).ln() / 100.0).abs() < 1e-12);
/// ```
pub fn erlang_c_wait_p99(servers: usize, mu: f64, rate: f64) -> Option<f64> {
    let capacity = servers as f64 * mu;
    if rate >= capacity {
        return None;
    }
    let c = erlang_c(servers, rate / mu);
    Some(if c <= 0.01 { 0.0 } else { (c / 0.01).ln() / (capacity - rate) })
}
