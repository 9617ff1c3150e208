//! The bounded job queue: its slots, its sleeping workers and its waiting submitters together.
//!
//! Three mechanisms, one file each, make the queue:
//!
//! * `slots.rs`: the reservation word (closed bit and count), the per-worker take counts and
//!   the ring. A submitter reserves a slot, then fills it; a worker takes a filled one.
//! * `sleep.rs`: idle workers spin a little, then park; a submitter that fills a slot wakes one
//!   if none spins.
//! * `room.rs`: submitters that find the queue full wait in one first-come, first-served line,
//!   threads and tasks alike, and are granted slots as takes free them.
//!
//! This file composes them and holds the points where they meet, each a Dekker pattern whose
//! argument is in the file of the mechanism it wakes:
//!
//! * a fill (push, fence) against a parking worker (register, fence, look): `sleep.rs`;
//! * a take (count, fence) against a waiting submitter (join, fence, sum the takes): `room.rs`;
//! * the last take of a closed queue against a parking worker: workers exit once the queue is
//!   closed and every reserved slot was taken, so every accepted job runs. A worker that finds
//!   the queue drained wakes every idle worker as it leaves (its take was counted and fenced
//!   before it looks at the idle count, and a parking worker registers and fences before it
//!   looks at the takes: one of the two sees the other). A take by another thread
//!   (`shutdown_now` draining) and a slot given back do the same themselves.

use crate::deadline::Deadline;
use crate::sync::{fence, Backoff, Ordering, Parker};
use crate::waitlist::Wake;
use std::task::Waker;

pub(crate) use super::room::Admission;
use super::room::{Room, SUBMIT_PATIENCE};
use super::sleep::Sleep;
pub(crate) use super::slots::Refusal;
use super::slots::Slots;

/// A bounded multi-producer multi-consumer queue of `T` with waiting on both ends.
#[derive(Debug)]
pub(crate) struct JobQueue<T> {
    slots: Slots<T>,
    sleep: Sleep,
    room: Room,
}

impl<T> JobQueue<T> {
    /// The largest bound.
    pub(crate) const MAX_CAPACITY: usize = Slots::<T>::MAX_CAPACITY;

    /// A queue for `workers` workers, and the parker each worker must pass to `pop`.
    /// `capacity` must be in `1..=MAX_CAPACITY` (the builder checks it).
    pub(crate) fn new(capacity: usize, workers: usize) -> (Self, Vec<Parker>) {
        let (sleep, parkers) = Sleep::new(workers);
        (JobQueue { slots: Slots::new(capacity, workers), sleep, room: Room::new() }, parkers)
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Jobs reserved or queued, not yet taken by a worker.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Every job accepted into the queue and not given back.
    pub(crate) fn reserved_total(&self) -> usize {
        self.slots.reserved_total()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.slots.is_closed()
    }

    /// Reserves a slot without waiting, unless others already wait for one (they come first).
    /// The depth is as in `Slots::try_reserve`. A reserved slot must be filled or given back.
    pub(crate) fn try_reserve(&self) -> Result<Option<usize>, Refusal> {
        if self.room.has_waiters() {
            return Err(if self.slots.is_closed() { Refusal::Closed } else { Refusal::Full });
        }
        self.slots.try_reserve()
    }

    /// Reserves a slot, waiting in line until `deadline`. `Full` comes back only once the
    /// deadline passed; `Closed` as soon as the queue closes.
    pub(crate) fn reserve(&self, deadline: Deadline) -> Result<Option<usize>, Refusal> {
        let mut backoff = Backoff::new();
        loop {
            match self.try_reserve() {
                Err(Refusal::Full) => {}
                done => return done,
            }
            if !backoff.snooze(SUBMIT_PATIENCE) || self.room.has_waiters() {
                break;
            }
        }
        if deadline.passed() {
            return Err(Refusal::Full);
        }
        self.room.wait(&self.slots, deadline)
    }

    /// Joins the line of waiting submitters as a task; returns its ticket. Its grant may be
    /// there already: look with [`poll_room`](Self::poll_room).
    pub(crate) fn join_room(&self, waker: &Waker) -> u64 {
        self.room.join(&self.slots, Wake::Task(waker.clone()))
    }

    /// A waiting task's grant, if it came; otherwise `waker` is remembered.
    pub(crate) fn poll_room(&self, ticket: u64, waker: &Waker) -> Option<Admission> {
        self.room.poll(ticket, waker)
    }

    /// A waiting task gives up; a slot it was granted meanwhile goes back.
    pub(crate) fn leave_room(&self, ticket: u64) {
        if let Some(Admission::Slot(_)) = self.room.leave(ticket) {
            self.unreserve();
        }
    }

    /// Gives back a reserved slot that will not be filled: to the next waiter, if any.
    pub(crate) fn unreserve(&self) {
        self.slots.unreserve();
        // ORDERING: the fence between the count going down and the reads of the waiters and
        // the idle workers: the same side of the patterns as a take.
        fence(Ordering::SeqCst);
        self.after_room();
        if self.slots.drained() {
            self.sleep.wake_all();
        }
    }

    /// Puts an item into a reserved slot and wakes a parked worker if there is one.
    pub(crate) fn fill(&self, item: T) {
        self.slots.push(item);
        // ORDERING: the fence between the push (and the reservation) and the read of the sleep
        // counters: the submitter's half of the Dekker patterns in `sleep.rs`.
        fence(Ordering::SeqCst);
        self.sleep.wake_one_if_idle();
    }

    /// Takes one item without blocking, counted in `taken[slot]`: a worker's own index, or
    /// [`outside`](Self::outside) for any other thread.
    pub(crate) fn try_pop(&self, slot: usize) -> Option<T> {
        let item = self.slots.pop(slot)?;
        // ORDERING: the fence between the take and the read of the waiters: the taker's half
        // of the pattern in `room.rs` (and of the exit pattern, see the module docs).
        fence(Ordering::SeqCst);
        self.after_room();
        if slot == self.outside() && self.slots.drained() {
            self.sleep.wake_all();
        }
        Some(item)
    }

    /// Room may have appeared: admit whoever waits.
    fn after_room(&self) {
        if self.room.has_waiters() {
            self.room.admit(&self.slots);
        }
    }

    /// The `taken` slot of threads that are not workers.
    pub(crate) fn outside(&self) -> usize {
        self.slots.outside()
    }

    /// Takes the next item; while the queue is empty, spins for a short while (if few enough
    /// workers already do) and then parks. Returns `None` once the queue is closed and
    /// drained: the worker should exit.
    pub(crate) fn pop(&self, index: usize, parker: &Parker) -> Option<T> {
        let mut woken = false;
        loop {
            if let Some(item) = self.try_pop(index) {
                if woken {
                    self.pass_on_wake_up();
                }
                return Some(item);
            }
            if self.slots.drained() {
                return self.exit();
            }
            if self.sleep.start_spinning(woken) {
                let found = self.sleep.spin(|| match self.try_pop(index) {
                    Some(item) => Some(Some(item)),
                    None => self.slots.drained().then_some(None),
                });
                self.sleep.stop_spinning();
                if let Some(item) = found {
                    // ORDERING: the fence between that write and the read of the queue below.
                    fence(Ordering::SeqCst);
                    self.pass_on_wake_up();
                    return Some(item);
                }
            }
            let parked = self.sleep.park(index, parker, || match self.try_pop(index) {
                Some(item) => Some(Some(item)),
                None => self.slots.drained().then_some(None),
            });
            match parked {
                Some(Some(item)) => {
                    self.pass_on_wake_up();
                    return Some(item);
                }
                Some(None) => return self.exit(),
                None => woken = true,
            }
        }
    }

    /// A worker leaves a drained queue: every idle worker is woken to see it too.
    fn exit(&self) -> Option<T> {
        self.sleep.wake_all();
        None
    }

    /// Called by a worker that took an item after spinning, after being woken, or while
    /// registering to park: if more items wait, wakes an idle worker (unless one spins).
    ///
    /// Submitters wake nobody while a worker spins, so one spinner may stand for several
    /// pushes; the wake-up it passes on when it takes one must travel on with every later
    /// take by a worker that was woken that way, or the last items of a burst would wait in
    /// the queue beside parked workers until some busy worker comes back for them (with every
    /// busy worker waiting for those very items, forever). The caller's take already issued
    /// a SeqCst fence, so the reads here come after it: a submitter pushing after that read
    /// sees no spinner and this worker not idle, and wakes an idle worker itself.
    fn pass_on_wake_up(&self) {
        if !self.slots.looks_empty() {
            self.sleep.wake_one_if_idle();
        }
    }

    /// Refuses every later submission and wakes everyone parked: workers drain what is queued
    /// and exit; waiting submitters are refused. Returns true for the call that closed.
    pub(crate) fn close(&self) -> bool {
        let first = self.slots.close();
        // ORDERING: the fence between the close and the reads of the idle workers and the
        // waiters: a worker that registers after it sees the closed state itself, and a waiter
        // that joins after it is refused by its own attempt.
        fence(Ordering::SeqCst);
        self.sleep.wake_all();
        self.room.admit(&self.slots);
        first
    }
}
