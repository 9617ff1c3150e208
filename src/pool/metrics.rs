//! The `metrics` feature for `ThreadPool`: the pool's figures published through the `metrics`
//! crate's facade, labelled `pool="<name>"`.
//!
//! Besides the figures of [`Stats`], the watchdog counts each job it reports in
//! `boundpool_jobs_slow_total`.
//!
//! Nothing is added to the job path. A task of the process's one maintenance thread (see
//! `crate::maintenance`) reads the pool's [`Stats`] every [`PERIOD`] and sets the counters
//! (as absolute values) and gauges; the latency histograms, when the pool records latency,
//! are published as the new values since the last look, each at its bucket's midpoint
//! (within 6.25 %). Shutdown publishes the final figures once more, so they are exact once it
//! returns. The metric handles are looked up on each publication, so a recorder installed
//! after the pool was built is used from the next one.

use std::time::{Duration, Instant};

use super::{LatencyHistogram, Shared, Stats};
use crate::maintenance::{self, Registration, Task};
use crate::sync::{Arc, Mutex, Weak};

/// How often the figures are published.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);

/// A pool's publisher; the pool keeps it (and its registration) alive.
pub(crate) struct Publisher {
    shared: Weak<Shared>,
    /// The histograms as last published.
    last: Mutex<(LatencyHistogram, LatencyHistogram)>,
}

/// What a `ThreadPool` holds while its figures are published.
pub(crate) struct Published {
    publisher: Arc<Publisher>,
    _registration: Registration,
}

impl Published {
    pub(crate) fn start(shared: &Arc<Shared>) -> Self {
        let publisher = Arc::new(Publisher {
            shared: Arc::downgrade(shared),
            last: Mutex::new((LatencyHistogram::new(), LatencyHistogram::new())),
        });
        let task: Weak<dyn Task> = Arc::downgrade(&publisher) as Weak<dyn Task>;
        Published { _registration: maintenance::register(task), publisher }
    }

    /// Publishes now (at shutdown: the final figures).
    pub(crate) fn publish(&self) {
        self.publisher.publish();
    }
}

impl Task for Publisher {
    fn run(&self, now: Instant) -> Instant {
        self.publish();
        now + PERIOD
    }
}

impl Publisher {
    fn publish(&self) {
        let Some(shared) = self.shared.upgrade() else { return };
        let queue = &shared.queue;
        let stats = shared.counters.snapshot(shared.life.alive(), queue.len(), || queue.reserved_total());
        let mut last = self.last.lock();
        publish(&shared.name, &stats, &mut last);
    }
}

fn publish(pool: &str, stats: &Stats, last: &mut (LatencyHistogram, LatencyHistogram)) {
    let label = [("pool", pool.to_owned())];
    metrics::counter!("boundpool_jobs_submitted_total", &label).absolute(stats.submitted);
    metrics::counter!("boundpool_jobs_completed_total", &label).absolute(stats.completed);
    metrics::counter!("boundpool_jobs_panicked_total", &label).absolute(stats.panicked);
    metrics::counter!("boundpool_jobs_cancelled_total", &label).absolute(stats.cancelled);
    metrics::counter!("boundpool_jobs_rejected_total", &label).absolute(stats.rejected);
    metrics::gauge!("boundpool_jobs_queued", &label).set(stats.queued as f64);
    metrics::gauge!("boundpool_jobs_running", &label).set(stats.running as f64);
    metrics::gauge!("boundpool_workers", &label).set(stats.workers as f64);
    if stats.queue_wait.count() > last.0.count() {
        let wait = metrics::histogram!("boundpool_job_queue_wait_seconds", &label);
        stats.queue_wait.since(&last.0, |seconds, n| wait.record_many(seconds, n as usize));
        last.0 = stats.queue_wait.clone();
    }
    if stats.run_time.count() > last.1.count() {
        let run = metrics::histogram!("boundpool_job_run_seconds", &label);
        stats.run_time.since(&last.1, |seconds, n| run.record_many(seconds, n as usize));
        last.1 = stats.run_time.clone();
    }
}
