//! The pool's counters and the snapshots built from them.

use crate::sync::{AtomicU64, AtomicUsize, CachePadded, Ordering};

/// A snapshot of a pool's counters and gauges, from [`ThreadPool::stats`](crate::ThreadPool::stats).
///
/// Counters only grow. A job is counted in `completed`, `panicked` or `cancelled` before its
/// handle resolves, so once [`JobHandle::join`](crate::JobHandle::join) returns, that job is in
/// one of them and no longer in `running`. While jobs are in flight the figures are read one at
/// a time and may be a moment apart; once the pool is quiet (or after
/// [`shutdown`](crate::ThreadPool::shutdown)) they are exact, and
/// `submitted == completed + panicked + cancelled + handed_back`, where `handed_back` counts the
/// jobs [`shutdown_now`](crate::ThreadPool::shutdown_now) returned and that were then run or
/// dropped (they count as completed, panicked or cancelled once they are).
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(2)?;
/// let handles: Vec<_> = (0..10).map(|i| pool.spawn(move || i * 2).unwrap()).collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// let stats = pool.stats();
/// assert_eq!(stats.submitted, 10);
/// assert_eq!(stats.completed, 10);
/// assert_eq!(stats.running, 0);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Worker threads alive now (0 once shutdown has joined them).
    pub workers: usize,
    /// Jobs executing now.
    pub running: usize,
    /// Jobs waiting in the queue now.
    pub queued: usize,
    /// Jobs accepted since the pool started (including ones run inline by caller-runs).
    pub submitted: u64,
    /// Jobs that finished normally.
    pub completed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs that never ran: cancelled by handle or token, or handed back and dropped unrun.
    pub cancelled: u64,
    /// Refused submissions: `try_*` on a full queue, timeouts, and submits after shutdown.
    pub rejected: u64,
    /// The most jobs that were ever waiting in the queue at once.
    pub peak_queued: usize,
}

/// What [`shutdown`](crate::ThreadPool::shutdown) reports: totals over the pool's whole life, as
/// of when it returned.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(1)?;
/// pool.execute(|| ()).unwrap();
/// pool.execute(|| panic!("oops")).unwrap();
/// let report = pool.shutdown();
/// assert_eq!((report.completed, report.panicked, report.cancelled), (1, 1, 0));
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Jobs that finished normally.
    pub completed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs that never ran.
    pub cancelled: u64,
    /// Jobs accepted over the pool's life.
    pub submitted: u64,
    /// Submissions refused over the pool's life.
    pub rejected: u64,
}

/// How one job ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed,
    Panicked,
    Cancelled,
}

/// The shared counters. Each sits on its own cache line: submitters write `submitted`, workers
/// write the rest, and neither should slow the other down.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    submitted: CachePadded<AtomicU64>,
    rejected: CachePadded<AtomicU64>,
    running: CachePadded<AtomicUsize>,
    completed: CachePadded<AtomicU64>,
    panicked: CachePadded<AtomicU64>,
    cancelled: CachePadded<AtomicU64>,
    peak_queued: CachePadded<AtomicUsize>,
}

impl Counters {
    pub(crate) fn submitted(&self) {
        // ORDERING: a statistic; readers need no ordering with the job itself.
        self.submitted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self) {
        // ORDERING: a statistic.
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn started(&self) {
        // ORDERING: a gauge; the job's own hand-off orders it with the handle.
        self.running.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how a job ended. Runs before the job's handle resolves, so a `join` that
    /// returned sees the job counted (the handle's lock publishes these writes).
    pub(crate) fn ended(&self, outcome: Outcome, was_running: bool) {
        if was_running {
            // ORDERING: published to joiners by the handle's lock release that follows.
            self.running.fetch_sub(1, Ordering::Relaxed);
        }
        let counter = match outcome {
            Outcome::Completed => &self.completed,
            Outcome::Panicked => &self.panicked,
            Outcome::Cancelled => &self.cancelled,
        };
        // ORDERING: as above, published by the handle's lock release that follows.
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Raises the recorded peak queue depth to `depth` if it is higher.
    pub(crate) fn observe_depth(&self, depth: usize) {
        // ORDERING: a statistic; a stale read only costs one extra fetch_max.
        if depth > self.peak_queued.load(Ordering::Relaxed) {
            // ORDERING: a statistic.
            self.peak_queued.fetch_max(depth, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self, workers: usize, queued: usize) -> Stats {
        // ORDERING: every read below is a statistic; exactness when quiet comes from the
        // handle locks and thread joins that precede a quiet read.
        Stats {
            workers,
            running: self.running.load(Ordering::Relaxed),
            queued,
            submitted: self.submitted.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            panicked: self.panicked.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            peak_queued: self.peak_queued.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn report(&self) -> ShutdownReport {
        let s = self.snapshot(0, 0);
        ShutdownReport {
            completed: s.completed,
            panicked: s.panicked,
            cancelled: s.cancelled,
            submitted: s.submitted,
            rejected: s.rejected,
        }
    }
}
