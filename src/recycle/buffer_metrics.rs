//! The `metrics` feature for `BufferPool`: `boundpool_buffers_retained`,
//! `boundpool_buffer_hits_total` and `boundpool_buffer_misses_total`, labelled
//! `pool="<name>"`, published by the process's maintenance thread every [`PERIOD`]. `get` and
//! the return path are unchanged.
//!
//! The retained gauge counts the buffers in the shared store, not the one each thread keeps
//! for itself: looking into a thread's cell takes its buffer out for a moment, which could make
//! that thread's `get` miss. [`BufferPool::stats`](crate::BufferPool::stats) counts both.

use std::time::{Duration, Instant};

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
            let (mut hits, mut misses) = (0, 0);
            slots.for_each(|slot| {
                hits += slot.hits();
                misses += slot.misses();
            });
            let label = [("pool", self.name.clone())];
            metrics::gauge!("boundpool_buffers_retained", &label).set(core.shared_len() as f64);
            metrics::counter!("boundpool_buffer_hits_total", &label).absolute(hits);
            metrics::counter!("boundpool_buffer_misses_total", &label).absolute(misses);
        }
        now + PERIOD
    }
}
