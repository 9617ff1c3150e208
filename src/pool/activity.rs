//! What each worker is doing now: the record behind [`ThreadPool::dump`](crate::ThreadPool::dump)
//! and the slow-job watchdog.
//!
//! # Cost on the job path
//!
//! Each worker owns a slot whose sequence number it alone writes: odd while it runs a job taken
//! from the queue, even while idle. Starting and ending a job are one store each to the
//! worker's own cache line; no clock is read. A job's name, when it has one, is written under
//! the slot's lock, tagged with the job's sequence number.
//!
//! # How old a job is
//!
//! Whoever looks (a dump, the watchdog) reads the number and, under the slot's lock, remembers
//! the first instant it saw that number running. The same odd number seen again means the same
//! job is still running, for at least the time since it was first seen: two samples of one
//! number prove a job old without the worker ever reading the clock. Once a pool has been
//! dumped, its workers also stamp each job's start under the lock (a clock read per job from
//! then on), so later dumps show exact ages; the first dump shows a job that started before it
//! as just seen.
//!
//! # Why the tags agree
//!
//! A worker writes a job's name and stamp under the lock, then publishes the job's number with
//! a Release store. A reader that loads the number with Acquire and then takes the lock sees
//! those writes, or later ones tagged with a later number, which it ignores.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, Instant};

use crate::sync::diag::{AtomicBool, AtomicU64};
use crate::sync::{CachePadded, Mutex, Ordering};

/// The workers' slots of one pool.
pub(crate) struct Activity {
    slots: Box<[CachePadded<Slot>]>,
}

/// One worker's slot, on a cache line of its own: a job's start and end touch nothing else.
pub(crate) struct Slot {
    /// Odd while a queued job runs on this worker; written by the worker alone.
    seq: AtomicU64,
    /// Set by the first dump: the worker stamps each job's start from then on.
    stamp: AtomicBool,
    detail: Mutex<Detail>,
}

#[derive(Default)]
struct Detail {
    /// The running job's name, with its sequence number.
    name: Option<(u64, Cow<'static, str>)>,
    /// When the job with this number started (stamped only after a dump).
    started: Option<(u64, Instant)>,
    /// When a reader first saw the job with this number running.
    seen: Option<(u64, Instant)>,
    /// The last job reported slow (0: none; job numbers are odd).
    reported: u64,
}

impl Slot {
    /// The slot's worker starts a job taken from the queue.
    pub(crate) fn begin(&self, name: Option<Cow<'static, str>>) -> Started {
        // ORDERING: only this worker writes `seq`.
        let seq = self.seq.load(Ordering::Relaxed) + 1;
        let named = name.is_some();
        // ORDERING: a hint: a job started just as the first dump sets it may go unstamped, and
        // is then aged from samples like the jobs before it.
        let stamp = self.stamp.load(Ordering::Relaxed);
        if named || stamp {
            let mut detail = self.detail.lock();
            if let Some(name) = name {
                detail.name = Some((seq, name));
            }
            if stamp {
                detail.started = Some((seq, Instant::now()));
            }
        }
        // ORDERING: Release publishes the name and stamp written above (see the module doc).
        self.seq.store(seq, Ordering::Release);
        Started { seq, named }
    }

    /// The slot's worker ended the job `started`.
    pub(crate) fn end(&self, started: Started) {
        // ORDERING: Release as in `begin`; a reader only compares numbers.
        self.seq.store(started.seq + 1, Ordering::Release);
        if started.named {
            let name = self.detail.lock().name.take();
            // A name's memory is freed outside the lock.
            drop(name);
        }
    }
}

/// What a worker passes from the start of a job to its end.
pub(crate) struct Started {
    seq: u64,
    named: bool,
}

/// One worker's running job, as a reader saw it.
pub(crate) struct Sample {
    pub(crate) name: Option<String>,
    pub(crate) running_for: Duration,
    /// The job was reported slow before this look.
    pub(crate) reported: bool,
}

impl Activity {
    pub(crate) fn new(workers: usize) -> Self {
        Activity {
            slots: (0..workers)
                .map(|_| {
                    CachePadded::new(Slot {
                        seq: AtomicU64::new(0),
                        stamp: AtomicBool::new(false),
                        detail: Mutex::new(Detail::default()),
                    })
                })
                .collect(),
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.slots.len()
    }

    /// Worker `index`'s slot, which only that worker may pass to `begin` and `end`.
    pub(crate) fn slot(&self, index: usize) -> &Slot {
        &self.slots[index]
    }

    /// From now on, workers stamp the start of each job.
    pub(crate) fn stamp_starts(&self) {
        for slot in self.slots.iter() {
            // ORDERING: a hint for the workers (see `begin`).
            slot.stamp.store(true, Ordering::Relaxed);
        }
    }

    /// What worker `index` runs at `now`, if anything. With `slow`, a job running at least
    /// that long is marked reported, so that `reported` is true on every later look.
    pub(crate) fn sample(&self, index: usize, now: Instant, slow: Option<Duration>) -> Option<Sample> {
        let slot = &self.slots[index];
        // ORDERING: Acquire pairs with the worker's Release stores (see the module doc).
        let seq = slot.seq.load(Ordering::Acquire);
        if seq % 2 == 0 {
            return None;
        }
        let mut detail = slot.detail.lock();
        let seen = match detail.seen {
            Some((s, at)) if s == seq => at,
            _ => {
                detail.seen = Some((seq, now));
                now
            }
        };
        let since = match detail.started {
            Some((s, at)) if s == seq => at.min(seen),
            _ => seen,
        };
        let running_for = now.saturating_duration_since(since);
        let reported = detail.reported == seq;
        if slow.is_some_and(|threshold| running_for >= threshold) {
            detail.reported = seq;
        }
        let name = detail.name.as_ref().filter(|(s, _)| *s == seq).map(|(_, name)| name.to_string());
        Some(Sample { name, running_for, reported })
    }
}

/// What every worker of a pool is doing, from [`ThreadPool::dump`](crate::ThreadPool::dump).
///
/// Its `Display` reads like a thread dump: a line for the pool and its queue, then one line
/// per worker, idle or running a job (its name, or `unnamed`) for how long.
///
/// ```
/// let pool = boundpool::ThreadPool::builder().name("api").workers(2).build()?;
/// let dump = pool.dump();
/// assert_eq!((dump.pool.as_str(), dump.queued, dump.workers.len()), ("api", 0, 2));
/// assert!(dump.workers.iter().all(|w| w.job.is_none()));
/// eprintln!("{dump}");
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolDump {
    /// The pool's [`name`](crate::Builder::name).
    pub pool: String,
    /// Jobs waiting in the queue.
    pub queued: usize,
    /// Every worker, by index.
    pub workers: Vec<WorkerDump>,
}

/// One worker in a [`PoolDump`].
///
/// ```
/// let pool = boundpool::ThreadPool::builder().name("api").workers(1).build()?;
/// let worker = &pool.dump().workers[0];
/// assert_eq!((worker.index, worker.thread_name.as_str()), (0, "api-0"));
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerDump {
    /// The worker's index, from 0.
    pub index: usize,
    /// Its thread's name.
    pub thread_name: String,
    /// The job it runs, or `None` while idle.
    pub job: Option<RunningJob>,
}

/// The job a worker runs, in a [`WorkerDump`].
///
/// ```
/// use std::sync::mpsc;
///
/// let pool = boundpool::ThreadPool::new(1)?;
/// let (started, release) = (mpsc::channel(), mpsc::channel::<()>());
/// let (tx, rx) = started;
/// let (go, wait) = release;
/// pool.job().name("import").execute(move || {
///     tx.send(()).unwrap();
///     let _ = wait.recv();
/// }).unwrap();
/// rx.recv().unwrap();
/// let job = pool.dump().workers[0].job.clone().unwrap();
/// assert_eq!(job.name.as_deref(), Some("import"));
/// go.send(()).unwrap();
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunningJob {
    /// The job's name, if it was given one with [`JobBuilder::name`](crate::JobBuilder::name).
    pub name: Option<String>,
    /// How long it has been running. For a job that started before the pool's first dump, the
    /// time since that dump first saw it (see [`ThreadPool::dump`](crate::ThreadPool::dump)).
    pub running_for: Duration,
}

impl fmt::Display for PoolDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pool \"{}\": {} workers, {} queued", self.pool, self.workers.len(), self.queued)?;
        for worker in &self.workers {
            write!(f, "\n  {worker}")?;
        }
        Ok(())
    }
}

impl fmt::Display for WorkerDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker {} \"{}\": ", self.index, self.thread_name)?;
        match &self.job {
            None => f.write_str("idle"),
            Some(job) => write!(f, "{job}"),
        }
    }
}

impl fmt::Display for RunningJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "running \"{name}\"")?,
            None => f.write_str("running unnamed")?,
        }
        write!(f, " for {:.3?}", self.running_for)
    }
}
