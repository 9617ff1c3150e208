//! The state of an [`ObjectPool`](crate::ObjectPool) behind its mutex, and the first-come,
//! first-served hand-off to callers waiting for an object.
//!
//! Blocked `get` calls and pending `get_async` futures wait in one [`WaitList`] (see
//! `waitlist.rs` for its argument), in arrival order whatever their kind. Whatever frees up is
//! handed to the *front* of the list directly, under the lock: a returned object as
//! [`Grant::Object`], a freed live slot (an object detached, discarded, found broken or expired,
//! or a creation given up) as [`Grant::Slot`]. The waiter finds its grant by ticket when it wakes
//! (a thread) or is polled (a task). An object returned while nobody waits goes to the idle list
//! and wakes nobody. Every method that hands something off returns the [`Wakeup`] to deliver
//! once the caller has released the lock.
//!
//! Invariants while the lock is not held: if the list has waiters then `idle` is empty and
//! `live == max_live` (everything that frees up goes to the list first). `live` counts idle
//! objects, checked-out objects, objects being created or validated (including a creation that
//! is backing off between failed attempts: it keeps its slot, which is what bounds creations in
//! flight to the free slots), and granted slots and objects not yet picked up.
//!
//! Idle objects are taken from the back (the most recently returned, still warm) and expire
//! from the front (the longest idle).

use crate::waitlist::{Left, WaitList, Wake, Wakeup};
use std::collections::VecDeque;
use std::time::Instant;

/// An idle object with the two instants its expiry is judged by.
pub(crate) struct Idle<T> {
    pub(crate) obj: T,
    /// When `create` returned it.
    pub(crate) born: Instant,
    /// When it was last returned (or made).
    pub(crate) since: Instant,
}

/// What a waiter is given.
pub(crate) enum Grant<T> {
    /// An idle object, still to be checked for expiry and validated.
    Object(Idle<T>),
    /// A live slot: the waiter creates the object.
    Slot,
}

pub(crate) struct State<T> {
    pub(crate) idle: VecDeque<Idle<T>>,
    pub(crate) live: usize,
    waits: WaitList<Grant<T>>,
    /// The last creation attempt failed (see `probe.rs`).
    pub(crate) failing: bool,
    /// A slot holder is retrying a failing `create` while others wait for its outcome.
    pub(crate) probing: bool,
}

impl<T> State<T> {
    pub(crate) fn new(max_idle: usize) -> Self {
        State {
            idle: VecDeque::with_capacity(max_idle.min(64)),
            live: 0,
            waits: WaitList::default(),
            failing: false,
            probing: false,
        }
    }

    /// How many callers wait without a grant.
    pub(crate) fn waiters(&self) -> usize {
        self.waits.len()
    }

    /// Serves a newcomer at once if that jumps nobody: an idle object first, else a free slot.
    pub(crate) fn grant_now(&mut self, max_live: usize) -> Option<Grant<T>> {
        if !self.waits.is_empty() {
            return None;
        }
        if let Some(idle) = self.idle.pop_back() {
            return Some(Grant::Object(idle));
        }
        if self.live < max_live {
            self.live += 1;
            return Some(Grant::Slot);
        }
        None
    }

    /// Joins the back of the list.
    pub(crate) fn enqueue(&mut self, wake: Wake) -> u64 {
        debug_assert!(self.idle.is_empty(), "a caller joins the list while an object is idle");
        self.waits.join(wake)
    }

    /// Gives `grant` to the longest waiter; hands it back when nobody waits.
    pub(crate) fn hand_off(&mut self, grant: Grant<T>) -> Result<Wakeup, Grant<T>> {
        self.waits.hand_off(grant)
    }

    /// The grant for `ticket`, once it has been handed one.
    pub(crate) fn take_grant(&mut self, ticket: u64) -> Option<Grant<T>> {
        self.waits.take_grant(ticket)
    }

    /// Replaces a waiting task's waker.
    pub(crate) fn set_waker(&mut self, ticket: u64, waker: &std::task::Waker) {
        self.waits.set_waker(ticket, waker);
    }

    /// Stops waiting: leaves the list, or returns the grant that came first.
    pub(crate) fn leave(&mut self, ticket: u64) -> Left<Grant<T>> {
        self.waits.leave(ticket)
    }

    /// Gives back a live slot: to the longest waiter, or to nobody.
    pub(crate) fn release_slot(&mut self) -> Wakeup {
        match self.hand_off(Grant::Slot) {
            Ok(wakeup) => wakeup,
            Err(_) => {
                debug_assert!(self.live > 0, "a live slot released twice");
                self.live -= 1;
                Wakeup::none()
            }
        }
    }

    /// Swaps a slot held by a creation that is backing off for an idle object, if one is
    /// there. Nobody waits while an object is idle, so the slot is simply given up.
    pub(crate) fn trade_slot_for_idle(&mut self) -> Option<Idle<T>> {
        let idle = self.idle.pop_back()?;
        debug_assert!(self.waits.is_empty(), "an idle object while callers wait");
        self.live -= 1;
        Some(idle)
    }
}
