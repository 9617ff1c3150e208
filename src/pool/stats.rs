//! The pool's counters and the snapshots built from them.

use std::time::Instant;

use super::latency::{LatencyHistogram, Recorder};
use crate::sync::{AtomicU64, AtomicUsize, CachePadded, Ordering};

/// A snapshot of a pool's counters and gauges, from [`ThreadPool::stats`](crate::ThreadPool::stats).
///
/// Counters only grow. A job is counted in `completed`, `panicked` or `cancelled` before its
/// handle resolves, so once [`JobHandle::join`](crate::JobHandle::join) returns, that job is in
/// one of them and no longer in `running`. A job is counted only after everything done for
/// it: a handle-less job's panic is counted after the
/// [`panic_handler`](crate::Builder::panic_handler) returned, so a `stats()` that shows the
/// panic also sees what the handler did (the count is published with Release and read with
/// Acquire). While jobs are in flight the figures are read one at
/// a time and may be a moment apart; once the pool is quiet (or after
/// [`shutdown`](crate::ThreadPool::shutdown)) they are exact, and
/// `submitted == completed + panicked + cancelled`, except for jobs that
/// [`shutdown_now`](crate::ThreadPool::shutdown_now) handed back and that are still held: each
/// counts as completed, panicked or cancelled once it is run or dropped.
///
/// Scoped jobs (of [`scope`](crate::ThreadPool::scope), [`map`](crate::ThreadPool::map),
/// [`try_map`](crate::ThreadPool::try_map) and [`try_scope`](crate::ThreadPool::try_scope))
/// are part of the call that made them, which sees each of them end: they are not counted in
/// `submitted`, `running`, `completed`, `panicked` or `cancelled`, so the identity above holds
/// whatever scoped work ran. While one waits in the queue it does count in `queued` and
/// `peak_queued`, since it takes a slot there.
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
    /// Jobs waiting in the queue now. A held [`Permit`](crate::Permit) counts as one: it
    /// holds a slot.
    pub queued: usize,
    /// Jobs accepted since the pool started (including ones run inline by caller-runs, and the
    /// slot of a held permit; a permit dropped unused is not counted).
    pub submitted: u64,
    /// Jobs that finished normally.
    pub completed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs that never ran: cancelled by handle or token, or handed back and dropped unrun.
    pub cancelled: u64,
    /// Refused submissions: `try_*` on a full queue (or behind others already waiting),
    /// timeouts, and submits after shutdown (`spawn_async` and `execute_async` included).
    pub rejected: u64,
    /// The most jobs seen waiting in the queue at once. The depth is measured whenever the
    /// queue fills up and at every 16th submission, so a short burst between two samples can
    /// peak up to 16 jobs higher than this.
    pub peak_queued: usize,
    /// How long queued jobs waited from submission to start, when the pool was built with
    /// [`record_latency(true)`](crate::Builder::record_latency); empty otherwise.
    pub queue_wait: LatencyHistogram,
    /// How long jobs ran, when the pool records latency; empty otherwise.
    pub run_time: LatencyHistogram,
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

/// The job tallies of one thread. A worker's own tally has a single writer (that worker), so
/// it is bumped with a plain load and store, no read-modify-write; the tally for every other
/// thread (inline runs, cancels, handed-back jobs) is shared and uses atomic adds.
#[derive(Debug)]
pub(crate) struct Tally {
    running: AtomicUsize,
    completed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    single_writer: bool,
    latency: Option<Box<Latency>>,
}

/// A tally's latency recorders.
#[derive(Debug)]
pub(crate) struct Latency {
    pub(crate) queue_wait: Recorder,
    pub(crate) run_time: Recorder,
}

impl Tally {
    fn new(single_writer: bool, record_latency: bool) -> Self {
        Tally {
            running: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            single_writer,
            latency: record_latency.then(|| {
                Box::new(Latency {
                    queue_wait: Recorder::new(single_writer),
                    run_time: Recorder::new(single_writer),
                })
            }),
        }
    }

    /// The latency recorders, when the pool records latency.
    pub(crate) fn latency(&self) -> Option<&Latency> {
        self.latency.as_deref()
    }

    /// The time a job starts, when run times are recorded.
    pub(crate) fn run_started(&self) -> Option<Instant> {
        self.latency.as_ref().map(|_| Instant::now())
    }

    /// Records the run time of a job that started at `started` (from `run_started`).
    pub(crate) fn run_ended(&self, started: Option<Instant>) {
        if let (Some(latency), Some(started)) = (self.latency(), started) {
            latency.run_time.record(started.elapsed());
        }
    }

    /// Counts one ended job. Release: everything the thread did for the job before counting
    /// it (the job itself, a panic handler's call) happens before any `stats()` that reads
    /// the new count, which loads it with Acquire (see `Counters::snapshot`).
    fn bump(&self, counter: &AtomicU64) {
        if self.single_writer {
            // ORDERING: only this tally's worker writes it, so the Relaxed load reads its own
            // last store; Release publishes the job's effects with the count (see above).
            counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Release);
        } else {
            // ORDERING: several threads write this tally; Release as above.
            counter.fetch_add(1, Ordering::Release);
        }
    }

    fn set_running(&self, up: bool) {
        let running = &self.running;
        if self.single_writer {
            // ORDERING: single writer, see `bump`.
            let now = running.load(Ordering::Relaxed);
            // ORDERING: single writer, see `bump`.
            running.store(if up { now + 1 } else { now - 1 }, Ordering::Relaxed);
        } else if up {
            // ORDERING: a gauge; see `bump`.
            running.fetch_add(1, Ordering::Relaxed);
        } else {
            // ORDERING: a gauge; see `bump`.
            running.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn started(&self) {
        self.set_running(true);
    }

    /// Records how a job ended. Runs before the job's handle resolves, so a `join` that
    /// returned sees the job counted (the handle's lock publishes these writes).
    pub(crate) fn ended(&self, outcome: Outcome, was_running: bool) {
        if was_running {
            self.set_running(false);
        }
        self.bump(match outcome {
            Outcome::Completed => &self.completed,
            Outcome::Panicked => &self.panicked,
            Outcome::Cancelled => &self.cancelled,
        });
    }
}

/// The pool's counters: submission counts written by submitters, and a [`Tally`] per worker
/// plus one for other threads, each on its own cache line so that workers never contend.
#[derive(Debug)]
pub(crate) struct Counters {
    /// Jobs run inline by caller-runs; queued jobs are counted by the queue's reservations.
    submitted_inline: CachePadded<AtomicU64>,
    /// Queue reservations taken by scoped jobs, which are not counted as submitted.
    scoped_queued: CachePadded<AtomicU64>,
    rejected: CachePadded<AtomicU64>,
    peak_queued: CachePadded<AtomicUsize>,
    /// One per worker, then the shared one.
    tallies: Box<[CachePadded<Tally>]>,
}

impl Counters {
    pub(crate) fn new(workers: usize, record_latency: bool) -> Self {
        Counters {
            submitted_inline: CachePadded::new(AtomicU64::new(0)),
            scoped_queued: CachePadded::new(AtomicU64::new(0)),
            rejected: CachePadded::new(AtomicU64::new(0)),
            peak_queued: CachePadded::new(AtomicUsize::new(0)),
            tallies: (0..=workers)
                .map(|i| CachePadded::new(Tally::new(i < workers, record_latency)))
                .collect(),
        }
    }

    /// The tally of worker `index`; only that worker may use it.
    pub(crate) fn worker(&self, index: usize) -> &Tally {
        &self.tallies[index]
    }

    /// The tally of every thread that is not one of the pool's workers.
    pub(crate) fn outside(&self) -> &Tally {
        &self.tallies[self.tallies.len() - 1]
    }

    pub(crate) fn submitted_inline(&self) {
        // ORDERING: a statistic; readers need no ordering with the job itself.
        self.submitted_inline.fetch_add(1, Ordering::Relaxed);
    }

    /// A scoped job took a queue slot: not a submission, but a depth to observe.
    pub(crate) fn scoped_queued(&self, depth: Option<usize>) {
        // ORDERING: a statistic; `snapshot` reads it before the reservations, so a scoped
        // reservation is never subtracted before it is counted.
        self.scoped_queued.fetch_add(1, Ordering::Relaxed);
        if let Some(depth) = depth {
            self.observe_depth(depth);
        }
    }

    pub(crate) fn rejected(&self) {
        // ORDERING: a statistic.
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Raises the recorded peak queue depth to `depth` if it is higher.
    pub(crate) fn observe_depth(&self, depth: usize) {
        // ORDERING: a statistic; a stale read only costs one extra fetch_max.
        if depth > self.peak_queued.load(Ordering::Relaxed) {
            // ORDERING: a statistic.
            self.peak_queued.fetch_max(depth, Ordering::Relaxed);
        }
    }

    /// A snapshot, given the worker count, the queue's depth and a function reading its
    /// reservations so far (read after the scoped ones, which they include).
    pub(crate) fn snapshot(&self, workers: usize, queued: usize, reserved: impl FnOnce() -> usize) -> Stats {
        // ORDERING: every read here is a statistic; exactness when quiet comes from the
        // handle locks and thread joins that precede a quiet read.
        let scoped = self.scoped_queued.load(Ordering::Relaxed);
        let mut stats = Stats {
            workers,
            queued,
            // ORDERING: as above.
            submitted: (reserved() as u64).saturating_sub(scoped)
                + self.submitted_inline.load(Ordering::Relaxed),
            // ORDERING: as above.
            rejected: self.rejected.load(Ordering::Relaxed),
            // ORDERING: as above.
            peak_queued: self.peak_queued.load(Ordering::Relaxed),
            ..Stats::default()
        };
        for tally in self.tallies.iter() {
            // ORDERING: as above.
            stats.running += tally.running.load(Ordering::Relaxed);
            // ORDERING: Acquire pairs with `Tally::bump`'s Release: whoever reads a job counted
            // here also sees what was done for it before (a panic handler's effects).
            stats.completed += tally.completed.load(Ordering::Acquire);
            // ORDERING: as for `completed`.
            stats.panicked += tally.panicked.load(Ordering::Acquire);
            // ORDERING: as for `completed`.
            stats.cancelled += tally.cancelled.load(Ordering::Acquire);
            if let Some(latency) = tally.latency() {
                latency.queue_wait.merge_into(&mut stats.queue_wait);
                latency.run_time.merge_into(&mut stats.run_time);
            }
        }
        stats
    }

    pub(crate) fn report(&self, reserved: impl FnOnce() -> usize) -> ShutdownReport {
        let s = self.snapshot(0, 0, reserved);
        ShutdownReport {
            completed: s.completed,
            panicked: s.panicked,
            cancelled: s.cancelled,
            submitted: s.submitted,
            rejected: s.rejected,
        }
    }
}
