//! The `metrics` feature for `BufferPool`: `boundpool_buffers_retained`,
//! `boundpool_buffer_hits_total` and `boundpool_buffer_misses_total`, labelled
//! `pool="<name>"`, published by the process's maintenance thread every [`PERIOD`]. `get` and
//! the return path are unchanged.

use std::time::{Duration, Instant};

use super::buffer::stats_of;
use super::idle::{Core, SlotRef};
use crate::maintenance::{self, Registration, Task};
use crate::sync::{Arc, PerThread, Weak};

/// How often the figures are published.
pub(crate) const PERIOD: Duration = Duration::from_secs(1);

struct Publisher {
    core: Weak<Core>,
    slots: Weak<PerThread<SlotRef>>,
    name: String,
}

/// What a `BufferPool` holds while its figures are published.
pub(crate) struct Published {
    _publisher: Arc<Publisher>,
    _registration: Registration,
}

impl Published {
    pub(crate) fn start(core: &Arc<Core>, slots: &Arc<PerThread<SlotRef>>, name: String) -> Self {
        let publisher =
            Arc::new(Publisher { core: Arc::downgrade(core), slots: Arc::downgrade(slots), name });
        let task: Weak<dyn Task> = Arc::downgrade(&publisher) as Weak<dyn Task>;
        Published { _registration: maintenance::register(task), _publisher: publisher }
    }
}

impl Task for Publisher {
    fn run(&self, now: Instant) -> Instant {
        if let (Some(core), Some(slots)) = (self.core.upgrade(), self.slots.upgrade()) {
            let stats = stats_of(&core, &slots);
            let label = [("pool", self.name.clone())];
            metrics::gauge!("boundpool_buffers_retained", &label).set(stats.retained as f64);
            metrics::counter!("boundpool_buffer_hits_total", &label).absolute(stats.hits);
            metrics::counter!("boundpool_buffer_misses_total", &label).absolute(stats.misses);
        }
        now + PERIOD
    }
}
