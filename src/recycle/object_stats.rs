//! What an [`ObjectPool`](crate::ObjectPool) counts: [`ObjectStats`] and the counters behind it.

use crate::sync::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of an [`ObjectPool`](crate::ObjectPool): what exists now and what happened since
/// it was built. From [`ObjectPool::stats`](crate::ObjectPool::stats).
///
/// The gauges (`live`, `idle`, `waiting`) are read together under the pool's lock; the counters
/// are read one by one and may be a moment apart.
///
/// ```
/// use boundpool::ObjectPool;
///
/// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(String::new())).build()?;
/// let s = pool.get()?;
/// s.discard(); // the caller saw it broken
/// let stats = pool.stats();
/// assert_eq!((stats.created, stats.checkouts, stats.dropped_broken, stats.live), (1, 1, 1, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectStats {
    /// Objects that exist now: idle, checked out, or being created.
    pub live: usize,
    /// Objects idle in the pool now.
    pub idle: usize,
    /// Callers in line now (blocked `get` calls and pending `get_async` futures), waiting for an
    /// object or a free slot.
    pub waiting: usize,
    /// Objects `create` made.
    pub created: u64,
    /// `create` attempts that failed (each retry counts).
    pub create_errors: u64,
    /// Objects handed to callers.
    pub checkouts: u64,
    /// `get` calls (and `get_async` futures) that had to wait in line before they were served or
    /// timed out.
    pub waited: u64,
    /// Total time those calls spent in line.
    pub wait_time: Duration,
    /// `get_timeout` calls (or `get` and `get_async` with a `wait_timeout`) that gave up waiting in
    /// line. A dropped `get_async` future is not counted.
    pub timeouts: u64,
    /// Objects dropped because `validate` said false, `is_broken` said true, or the caller
    /// called [`Pooled::discard`](crate::Pooled::discard).
    pub dropped_broken: u64,
    /// Objects dropped for being older than `max_lifetime` or idle longer than `idle_timeout`.
    pub dropped_expired: u64,
}

/// The pool's event counters. Written outside the pool's lock; read by `stats`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) created: Counter,
    pub(crate) create_errors: Counter,
    pub(crate) checkouts: Counter,
    pub(crate) waited: Counter,
    pub(crate) wait_nanos: Counter,
    pub(crate) timeouts: Counter,
    pub(crate) dropped_broken: Counter,
    pub(crate) dropped_expired: Counter,
}

/// One statistic, added to by any thread.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn add(&self, n: u64) {
        // ORDERING: a statistic; nothing is published through it, so Relaxed.
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        // ORDERING: a statistic; Relaxed.
        self.0.load(Ordering::Relaxed)
    }
}

impl Counters {
    /// Records one caller's time in line.
    pub(crate) fn add_wait(&self, waited: Duration) {
        self.waited.add(1);
        self.wait_nanos.add(u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Fills in the counters of a snapshot whose gauges are already set.
    pub(crate) fn fill(&self, stats: &mut ObjectStats) {
        stats.created = self.created.get();
        stats.create_errors = self.create_errors.get();
        stats.checkouts = self.checkouts.get();
        stats.waited = self.waited.get();
        stats.wait_time = Duration::from_nanos(self.wait_nanos.get());
        stats.timeouts = self.timeouts.get();
        stats.dropped_broken = self.dropped_broken.get();
        stats.dropped_expired = self.dropped_expired.get();
    }
}
