//! The `metrics` feature for `ObjectPool`: its figures published through the `metrics`
//! crate's facade, labelled `pool="<name>"`, by the maintenance thread every [`PERIOD`] (the
//! pool's upkeep task does it, so every pool is on that thread when the feature is on).
//!
//! `boundpool_object_wait_seconds` receives, per publication, the checkouts that waited since
//! the last one, each at their mean wait over that period: the pool keeps a total, not each
//! wait.

use std::time::Duration;

use super::object::Inner;

/// How often the figures are published.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);

impl<T, E> Inner<T, E> {
    pub(crate) fn publish_metrics(&self) {
        let stats = self.stats();
        let label = [("pool", self.config.name.clone())];
        metrics::gauge!("boundpool_objects_live", &label).set(stats.live as f64);
        metrics::gauge!("boundpool_objects_idle", &label).set(stats.idle as f64);
        metrics::gauge!("boundpool_object_waiters", &label).set(stats.waiting as f64);
        let mut last = self.published.lock();
        let waited = stats.waited.saturating_sub(last.0);
        if waited > 0 {
            let total = stats.wait_time.saturating_sub(last.1);
            let mean = total.as_secs_f64() / waited as f64;
            metrics::histogram!("boundpool_object_wait_seconds", &label).record_many(mean, waited as usize);
        }
        *last = (stats.waited, stats.wait_time);
    }
}
