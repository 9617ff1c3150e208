//! The slow-job watchdog: a task of the process's one maintenance thread (see
//! `crate::maintenance`), registered by each pool built with
//! [`Builder::slow_job`](crate::Builder::slow_job) and removed when the pool is dropped.
//!
//! Every `threshold / 2` it samples each worker's job number (see `activity`): a job seen
//! running for at least `threshold` is reported once, on the look that first finds it that
//! old, so within about `threshold / 2` of crossing it, and while it still runs. Workers read
//! no clock for it.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::job::drop_payload;
use super::Shared;
use crate::maintenance::{self, Registration, Task};
use crate::sync::{Arc, Weak};

/// The shortest period between two looks, whatever the threshold.
const MIN_PERIOD: Duration = Duration::from_millis(1);

/// The hook set with `slow_job`.
pub(crate) struct SlowJobHook {
    pub(crate) threshold: Duration,
    pub(crate) hook: Box<dyn Fn(&SlowJob) + Send + Sync>,
}

/// A job the watchdog found running longer than the pool's threshold, passed to the hook set
/// with [`Builder::slow_job`](crate::Builder::slow_job). Its `Display` is one log line.
///
/// ```
/// use std::time::Duration;
///
/// let pool = boundpool::ThreadPool::builder()
///     .name("io")
///     .slow_job(Duration::from_secs(30), |slow| {
///         eprintln!("{slow}"); // slow job "fetch" on pool "io" worker 2, running for 30.012s
///         let _ = (&slow.pool, slow.worker, &slow.name, slow.running_for);
///     })
///     .build()?;
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlowJob {
    /// The pool's name.
    pub pool: String,
    /// The index of the worker running it.
    pub worker: usize,
    /// The job's name, if it has one.
    pub name: Option<String>,
    /// How long it has been running (at least the threshold).
    pub running_for: Duration,
}

impl fmt::Display for SlowJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "slow job \"{name}\"")?,
            None => f.write_str("slow unnamed job")?,
        }
        write!(f, " on pool \"{}\" worker {}, running for {:.3?}", self.pool, self.worker, self.running_for)
    }
}

/// Puts the pool's watchdog on the maintenance thread until the registration is dropped.
pub(crate) fn register(shared: &Arc<Shared>) -> Registration {
    let task: Weak<dyn Task> = Arc::downgrade(shared) as Weak<dyn Task>;
    maintenance::register(task)
}

impl Task for Shared {
    fn run(&self, now: Instant) -> Instant {
        let Some(watch) = &self.slow_job else {
            return now + Duration::from_secs(3600);
        };
        for worker in 0..self.activity.workers() {
            let Some(sample) = self.activity.sample(worker, now, Some(watch.threshold)) else {
                continue;
            };
            if sample.reported || sample.running_for < watch.threshold {
                continue;
            }
            let slow = SlowJob {
                pool: self.name.clone(),
                worker,
                name: sample.name,
                running_for: sample.running_for,
            };
            #[cfg(feature = "metrics")]
            metrics::counter!("boundpool_jobs_slow_total", "pool" => self.name.clone()).increment(1);
            #[cfg(feature = "tracing")]
            tracing::warn!(pool = %self.name, worker, job = ?slow.name, running_for = ?slow.running_for, "slow job");
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| (watch.hook)(&slow))) {
                drop_payload(payload);
            }
        }
        now + (watch.threshold / 2).max(MIN_PERIOD)
    }
}
