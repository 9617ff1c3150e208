//! The bounded job queue and the protocol that parks and wakes workers and submitters.
//!
//! One atomic word, `state`, holds the closed bit and the number of reserved slots. A submitter
//! first reserves a slot with a CAS that fails if the queue is closed or full, then pushes its
//! job into a lock-free segmented queue (memory grows with what is queued, not with the bound).
//! A worker pops a job and then releases its slot. Because reserving and closing go through the
//! same word, a submit racing a shutdown is decided in one place: the job is either counted
//! before the close (and will be run or handed back) or refused with its closure.
//!
//! Workers exit once the queue is closed and no slot is reserved, so every accepted job runs.
//!
//! Parking uses one mutex and two condition variables (idle workers, blocked submitters), and
//! two counters of who is parked. The fast paths take no lock: a submitter wakes a worker only
//! when one is parked, and a worker wakes a submitter only when one is blocked. The lost-wake-up
//! argument is a Dekker pattern: a parking worker increments `sleepers`, issues a SeqCst fence
//! and reads `state`; a submitter reserves (writes `state`), issues a SeqCst fence and reads
//! `sleepers`. The two fences are ordered, so one of the two sees the other's write. The same
//! holds for blocked submitters, with `waiting_submitters` and a worker releasing a slot. The
//! fences are explicit (not implied by SeqCst accesses) so that loom checks the argument.

use std::time::{Duration, Instant};

use crate::sync::{self, fence, AtomicUsize, Backoff, CachePadded, Condvar, Mutex, Ordering, SegQueue};

/// How long an idle worker keeps looking for work before it parks. Long enough that a steady
/// stream of jobs, or a caller submitting again right after a result, finds it awake; short
/// enough that an idle pool's workers are parked (using no CPU) a moment after the last job.
const WORKER_PATIENCE: Duration = Duration::from_micros(50);
/// How long a submitter facing a full queue keeps looking for room before it parks.
const SUBMIT_PATIENCE: Duration = Duration::from_micros(20);

const CLOSED: usize = 1;
const ONE: usize = 2;

fn reserved(state: usize) -> usize {
    state >> 1
}

/// Why a reservation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Full,
    Closed,
}

/// A bounded multi-producer multi-consumer queue of `T` with blocking on both ends.
#[derive(Debug)]
pub(crate) struct JobQueue<T> {
    items: SegQueue<T>,
    capacity: usize,
    /// Closed bit | reserved slots << 1.
    state: CachePadded<AtomicUsize>,
    sleepers: CachePadded<AtomicUsize>,
    waiting_submitters: CachePadded<AtomicUsize>,
    lock: Mutex<()>,
    work: Condvar,
    room: Condvar,
}

impl<T> JobQueue<T> {
    /// The largest bound the state word can count.
    pub(crate) const MAX_CAPACITY: usize = usize::MAX >> 2;

    /// `capacity` must be in `1..=MAX_CAPACITY` (the builder checks it).
    pub(crate) fn new(capacity: usize) -> Self {
        JobQueue {
            items: SegQueue::new(),
            capacity,
            state: CachePadded::new(AtomicUsize::new(0)),
            sleepers: CachePadded::new(AtomicUsize::new(0)),
            waiting_submitters: CachePadded::new(AtomicUsize::new(0)),
            lock: Mutex::new(()),
            work: Condvar::new(),
            room: Condvar::new(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Jobs reserved or queued, not yet taken by a worker.
    pub(crate) fn len(&self) -> usize {
        // ORDERING: a snapshot for statistics.
        reserved(self.state.load(Ordering::Relaxed))
    }

    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: SeqCst, so a caller that saw the close also sees what preceded it.
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// Reserves a slot without blocking, returning the queue depth including it. A reserved
    /// slot must be [`fill`](Self::fill)ed promptly: workers wait for it.
    pub(crate) fn try_reserve(&self) -> Result<usize, Refusal> {
        // ORDERING: SeqCst throughout: the reservation is one side of the Dekker pattern with
        // parking workers and with `close`.
        let mut state = self.state.load(Ordering::SeqCst);
        loop {
            if state & CLOSED != 0 {
                return Err(Refusal::Closed);
            }
            if reserved(state) >= self.capacity {
                return Err(Refusal::Full);
            }
            // ORDERING: see above.
            match self.state.compare_exchange_weak(state, state + ONE, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Ok(reserved(state) + 1),
                Err(now) => state = now,
            }
        }
    }

    /// Reserves a slot, waiting for room until `deadline` (forever if `None`). `Full` comes
    /// back only once the deadline passed; `Closed` as soon as the queue closes.
    pub(crate) fn reserve(&self, deadline: Option<Instant>) -> Result<usize, Refusal> {
        // Workers usually free a slot within microseconds: look again for a while before
        // paying for a park and a wake-up.
        let mut backoff = Backoff::new();
        while backoff.snooze(SUBMIT_PATIENCE) {
            match self.try_reserve() {
                Err(Refusal::Full) if deadline.is_some_and(|d| Instant::now() >= d) => {
                    return Err(Refusal::Full)
                }
                Err(Refusal::Full) => {}
                done => return done,
            }
        }
        let mut guard = self.lock.lock();
        // ORDERING: SeqCst, the submitter's write in the Dekker pattern with `release`.
        self.waiting_submitters.fetch_add(1, Ordering::SeqCst);
        // ORDERING: the fence between that write and the read of `state` in `try_reserve`.
        fence(Ordering::SeqCst);
        let result = loop {
            match self.try_reserve() {
                Err(Refusal::Full) => {}
                done => break done,
            }
            let timed_out = match deadline {
                Some(deadline) => sync::wait_until(&self.room, &mut guard, deadline),
                None => {
                    self.room.wait(&mut guard);
                    false
                }
            };
            if timed_out {
                // One last look: room may have come with the deadline.
                break self.try_reserve();
            }
        };
        // ORDERING: SeqCst, pairs with the read in `release`.
        self.waiting_submitters.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Puts an item into a slot reserved by `try_reserve` or `reserve`, and wakes a parked
    /// worker if there is one.
    pub(crate) fn fill(&self, item: T) {
        self.items.push(item);
        // ORDERING: the fence between the reservation (a write of `state`) and the read of
        // `sleepers`: the submitter's half of the Dekker pattern with `park_worker`.
        fence(Ordering::SeqCst);
        // ORDERING: SeqCst, the submitter's read in the Dekker pattern with `park_worker`.
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.work.notify_one();
        }
    }

    /// Takes one item without blocking, releasing its slot.
    pub(crate) fn try_pop(&self) -> Option<T> {
        let item = self.items.pop()?;
        self.release();
        Some(item)
    }

    fn release(&self) {
        // ORDERING: SeqCst, the worker's write in the Dekker pattern with blocked submitters.
        let before = self.state.fetch_sub(ONE, Ordering::SeqCst);
        // ORDERING: the fence between that write and the read of `waiting_submitters`.
        fence(Ordering::SeqCst);
        if before == CLOSED | ONE {
            // The last accepted job left a closed queue: parked workers may now exit. They
            // check `state` under the lock, so taking it here cannot miss one.
            let _guard = self.lock.lock();
            self.work.notify_all();
        }
        // ORDERING: SeqCst, the worker's read in the same pattern.
        if self.waiting_submitters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.room.notify_one();
        }
    }

    /// Takes the next item, spinning briefly and then parking while the queue is empty.
    /// Returns `None` once the queue is closed and drained: the worker should exit.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut backoff = Backoff::new();
        loop {
            if let Some(item) = self.try_pop() {
                return Some(item);
            }
            // ORDERING: SeqCst, as in the parked loop below.
            if self.state.load(Ordering::SeqCst) == CLOSED {
                return None;
            }
            if !backoff.snooze(WORKER_PATIENCE) {
                break;
            }
        }
        let mut guard = self.lock.lock();
        // ORDERING: SeqCst, the worker's write in the Dekker pattern with `fill`.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        // ORDERING: the fence between that write and the reads of the queue below.
        fence(Ordering::SeqCst);
        let found = loop {
            if let Some(item) = self.items.pop() {
                break Some(item);
            }
            // ORDERING: SeqCst; closed with nothing reserved means nothing more can come.
            if self.state.load(Ordering::SeqCst) == CLOSED {
                break None;
            }
            self.work.wait(&mut guard);
        };
        // ORDERING: SeqCst, pairs with the read in `fill`.
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        if found.is_some() {
            self.release();
        }
        found
    }

    /// Refuses every later submission and wakes everyone parked: workers drain what is queued
    /// and exit; blocked submitters get their item back. Returns true for the call that closed.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: SeqCst, one order with every reservation.
        let before = self.state.fetch_or(CLOSED, Ordering::SeqCst);
        let _guard = self.lock.lock();
        self.work.notify_all();
        self.room.notify_all();
        before & CLOSED == 0
    }
}
