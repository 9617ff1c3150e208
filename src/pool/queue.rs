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
//! argument is a Dekker pattern on sequentially consistent operations: a parking worker
//! increments `sleepers` and then reads `state`; a submitter reserves (writes `state`) and then
//! reads `sleepers`. One of the two sees the other. The same holds for submitters, with
//! `waiting_submitters` and a worker releasing a slot.

use std::time::Instant;

use crate::sync::{self, AtomicUsize, CachePadded, Condvar, Mutex, Ordering, SegQueue};

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
        match self.try_reserve() {
            Err(Refusal::Full) => {}
            done => return done,
        }
        let mut guard = self.lock.lock();
        // ORDERING: SeqCst, the submitter's write in the Dekker pattern with `release`.
        self.waiting_submitters.fetch_add(1, Ordering::SeqCst);
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
        self.state.fetch_sub(ONE, Ordering::SeqCst);
        // ORDERING: SeqCst, the worker's read in the same pattern.
        if self.waiting_submitters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.room.notify_one();
        }
    }

    /// Takes the next item, spinning briefly and then parking while the queue is empty.
    /// Returns `None` once the queue is closed and drained: the worker should exit.
    pub(crate) fn pop(&self) -> Option<T> {
        loop {
            for _ in 0..=sync::SPIN_LIMIT {
                if let Some(item) = self.try_pop() {
                    return Some(item);
                }
                // ORDERING: SeqCst, as in `park_worker`.
                if self.state.load(Ordering::SeqCst) == CLOSED {
                    return None;
                }
                sync::spin_hint();
            }
            if !self.park_worker() {
                return None;
            }
        }
    }

    /// Parks until there may be work. Returns false when the queue is closed and drained.
    fn park_worker(&self) -> bool {
        let mut guard = self.lock.lock();
        // ORDERING: SeqCst, the worker's write in the Dekker pattern with `fill`.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let open = loop {
            // ORDERING: SeqCst, the worker's read in the same pattern.
            let state = self.state.load(Ordering::SeqCst);
            if reserved(state) > 0 {
                // A job is queued or about to be; go and take it.
                break true;
            }
            if state & CLOSED != 0 {
                break false;
            }
            self.work.wait(&mut guard);
        };
        // ORDERING: SeqCst, pairs with the read in `fill`.
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        if open {
            // The reserved job may still be in its submitter's hands; let it land.
            sync::thread::yield_now();
        }
        open
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
