//! Backpressure: the waiting room where submitters wait for a slot in a full queue.
//!
//! Everyone who waits for a slot (a thread blocked in `spawn`, `execute` or `spawn_timeout`, a
//! task awaiting `reserve`, `spawn_async` or `execute_async`) waits in one first-come,
//! first-served [`WaitList`], and is admitted in arrival order: a slot that frees up is
//! reserved *for* the front waiter and handed to it as a grant (see `waitlist.rs`), so a
//! wake-up can be neither lost nor stolen. A newcomer queues behind anyone already waiting
//! instead of taking a slot before them.
//!
//! # The wake rule
//!
//! One rule, with no timer: whenever room may have appeared (a worker took a job, a reserved
//! slot was given back, the queue closed) and someone waits, the room admits waiters from the
//! front while slots can be reserved for them ([`Room::admit`]).
//!
//! **No lost wake-up.** It is a Dekker pattern, on `waiting` (how many are in the list, the
//! lock-free view of it that takers read) against the takes. A waiter joins the list and
//! increments `waiting` under the lock, issues a SeqCst fence, then tries to admit the front of
//! the list itself, which sums the takes. A taker counts its take, issues a SeqCst fence, then
//! reads `waiting`. The fences are ordered: either the waiter's sum sees the take (and the room
//! is used now), or the taker sees the waiter and admits it (taking the lock, so after the
//! waiter's own attempt). A slot given back and a close go the same way (`JobQueue`). Liveness
//! therefore needs no timer: a room that appears but never drains to any mark still admits
//! the waiter at the take that made it.
//!
//! **Burst refill.** A submitter that finds the queue full first looks for room for a few
//! microseconds (spins, then yields; see [`SUBMIT_PATIENCE`]): while the workers drain a full
//! queue a slot frees every few hundred nanoseconds, so a fast producer refills the queue in
//! bursts without parking at all. Only a submitter that finds no room in that window joins the
//! line; in line, a thread watches its grant flag for the same window before it sleeps, so
//! several producers taking turns at the front are granted one after another without a
//! park and wake per job. While nobody waits, a take costs one load of `waiting` and no lock.

use crate::deadline::{wait_while, Deadline};
use crate::sync::{fence, AtomicUsize, Backoff, CachePadded, Mutex, Ordering};
use crate::waitlist::{Left, WaitList, Wake, Wakeups};
use std::task::Waker;
use std::time::Duration;

use super::slots::{Refusal, Slots};

/// How long a submitter facing a full queue keeps looking for room before it waits in line,
/// and how long one in line watches for its grant before it sleeps: a few spins, then yields.
/// While the workers drain a full queue a slot frees every few hundred nanoseconds, so a fast
/// producer almost always finds one within this window and refills the queue without ever
/// parking; parking instead would wake it at the first slot freed, once per handful of jobs
/// (measured: thousands of park/wake cycles per 100 000 empty jobs, against none with this
/// window). A submitter that gets nothing within it sleeps and costs nothing.
pub(crate) const SUBMIT_PATIENCE: Duration = Duration::from_micros(5);

/// What a waiter is granted.
#[derive(Debug)]
pub(crate) enum Admission {
    /// A slot reserved for it, with the queue's depth when it was measured.
    Slot(Option<usize>),
    /// The queue closed while it waited.
    Closed,
}

impl Admission {
    pub(crate) fn into_result(self) -> Result<Option<usize>, Refusal> {
        match self {
            Admission::Slot(depth) => Ok(depth),
            Admission::Closed => Err(Refusal::Closed),
        }
    }
}

/// The waiting room of one queue.
#[derive(Debug)]
pub(crate) struct Room {
    /// How many wait in `list` without a grant. Written under the lock; read without it.
    waiting: CachePadded<AtomicUsize>,
    list: Mutex<WaitList<Admission>>,
}

impl Room {
    pub(crate) fn new() -> Self {
        Room { waiting: CachePadded::new(AtomicUsize::new(0)), list: Mutex::new(WaitList::default()) }
    }

    /// Whether anyone waits: newcomers queue behind them, takers admit them. The caller has
    /// issued the SeqCst fence of its side of the pattern.
    pub(crate) fn has_waiters(&self) -> bool {
        // ORDERING: SeqCst, the taker's read in the Dekker pattern (see the module docs).
        self.waiting.load(Ordering::SeqCst) > 0
    }

    /// Admits waiters from the front while slots can be reserved for them, or refuses them
    /// all once the queue is closed.
    pub(crate) fn admit<T>(&self, slots: &Slots<T>) {
        let wakeups = {
            let mut list = self.list.lock();
            self.admit_locked(&mut list, slots)
        };
        wakeups.wake();
    }

    fn admit_locked<T>(&self, list: &mut WaitList<Admission>, slots: &Slots<T>) -> Wakeups {
        let mut wakeups = Wakeups::default();
        while !list.is_empty() {
            let grant = match slots.try_reserve() {
                Ok(depth) => Admission::Slot(depth),
                Err(Refusal::Closed) => Admission::Closed,
                Err(Refusal::Full) => break,
            };
            match list.hand_off(grant) {
                Ok(wakeup) => {
                    // ORDERING: SeqCst, under the lock that every write of it holds.
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    wakeups.push(wakeup);
                }
                Err(grant) => {
                    // The list is not empty: never happens, but a slot must not leak.
                    if let Admission::Slot(_) = grant {
                        slots.unreserve();
                    }
                    break;
                }
            }
        }
        wakeups
    }

    /// Joins the back of the line and tries to admit the front at once (the waiter's half of
    /// the pattern). Returns the waiter's ticket; its grant may already be there.
    pub(crate) fn join<T>(&self, slots: &Slots<T>, wake: Wake) -> u64 {
        let (ticket, wakeups) = {
            let mut list = self.list.lock();
            let ticket = list.join(wake);
            // ORDERING: SeqCst, the waiter's write in the Dekker pattern with takers.
            self.waiting.fetch_add(1, Ordering::SeqCst);
            // ORDERING: the fence between that write and the sum of the takes in `try_reserve`.
            fence(Ordering::SeqCst);
            (ticket, self.admit_locked(&mut list, slots))
        };
        wakeups.wake();
        ticket
    }

    /// The waiter's grant if it has come; otherwise remembers `waker` to wake it with.
    pub(crate) fn poll(&self, ticket: u64, waker: &Waker) -> Option<Admission> {
        let mut list = self.list.lock();
        let grant = list.take_grant(ticket);
        if grant.is_none() {
            list.set_waker(ticket, waker);
        }
        grant
    }

    /// Stops waiting; returns a grant that came first (the caller uses or gives back a slot).
    pub(crate) fn leave(&self, ticket: u64) -> Option<Admission> {
        let mut list = self.list.lock();
        match list.leave(ticket) {
            Left::Granted(grant) => Some(grant),
            Left::Queued => {
                // ORDERING: SeqCst, under the lock, as in `admit_locked`.
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                None
            }
            Left::Gone => None,
        }
    }

    /// Waits in line, blocking the thread, until admitted or `deadline`; `Full` only once the
    /// deadline passed without a grant.
    pub(crate) fn wait<T>(&self, slots: &Slots<T>, deadline: Deadline) -> Result<Option<usize>, Refusal> {
        let (wake, waiter) = Wake::thread();
        let ticket = self.join(slots, wake);
        // With several submitters in line, grants come every few hundred nanoseconds: watch for
        // ours a moment before sleeping, or each of them would sleep and be woken once per job.
        let mut backoff = Backoff::new();
        while !waiter.granted() && backoff.snooze(SUBMIT_PATIENCE) {}
        let mut grant = None;
        {
            let mut list = self.list.lock();
            wait_while(&waiter.cv, &mut list, deadline, |list| {
                grant = list.take_grant(ticket);
                grant.is_none()
            });
        }
        // A grant that came with the deadline is used, not wasted.
        match grant.or_else(|| self.leave(ticket)) {
            Some(grant) => grant.into_result(),
            None => Err(Refusal::Full),
        }
    }
}
