//! The state of an [`ObjectPool`](crate::ObjectPool) behind its mutex, and the first-come,
//! first-served hand-off to blocked `get` calls.
//!
//! A `get` that finds every live slot taken joins the back of `queue` with a ticket and a
//! condition variable of its own, then sleeps. Whatever frees up is handed to the *front* of the
//! queue directly, under the lock: a returned object as [`Grant::Object`], a freed live slot (an
//! object detached, discarded, found broken or expired, or a creation given up) as
//! [`Grant::Slot`]. The waiter finds its grant by ticket when it wakes. Because a grant is
//! placed before the waiter is woken, a wake-up can be neither lost nor stolen by a newcomer,
//! and nobody waits behind a later arrival. An object returned while nobody waits goes to the
//! idle list and wakes nobody.
//!
//! Invariants while the lock is not held: if `queue` is not empty then `idle` is empty and
//! `live == max_live` (everything that frees up goes to the queue first). `live` counts idle
//! objects, checked-out objects, objects being created or validated (including a creation that
//! is backing off between failed attempts: it keeps its slot, which is what bounds creations in
//! flight to the free slots), and granted slots and objects not yet picked up.
//!
//! Idle objects are taken from the back (the most recently returned, still warm) and expire
//! from the front (the longest idle).

use crate::sync::{Arc, Condvar};
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

struct Waiter {
    ticket: u64,
    wake: Arc<Condvar>,
}

pub(crate) struct State<T> {
    pub(crate) idle: VecDeque<Idle<T>>,
    pub(crate) live: usize,
    queue: VecDeque<Waiter>,
    granted: Vec<(u64, Grant<T>)>,
    next_ticket: u64,
}

impl<T> State<T> {
    pub(crate) fn new(max_idle: usize) -> Self {
        State {
            idle: VecDeque::with_capacity(max_idle.min(64)),
            live: 0,
            queue: VecDeque::new(),
            granted: Vec::new(),
            next_ticket: 0,
        }
    }

    pub(crate) fn waiters(&self) -> usize {
        self.queue.len()
    }

    /// Serves a newcomer at once if that jumps nobody: an idle object first, else a free slot.
    pub(crate) fn grant_now(&mut self, max_live: usize) -> Option<Grant<T>> {
        if !self.queue.is_empty() {
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

    /// Joins the back of the queue.
    pub(crate) fn enqueue(&mut self) -> (u64, Arc<Condvar>) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let wake = Arc::new(Condvar::new());
        self.queue.push_back(Waiter { ticket, wake: Arc::clone(&wake) });
        (ticket, wake)
    }

    /// Gives `grant` to the longest waiter and wakes it; hands it back when nobody waits.
    pub(crate) fn hand_off(&mut self, grant: Grant<T>) -> Result<(), Grant<T>> {
        match self.queue.pop_front() {
            Some(waiter) => {
                self.granted.push((waiter.ticket, grant));
                waiter.wake.notify_one();
                Ok(())
            }
            None => Err(grant),
        }
    }

    /// The grant for `ticket`, once it has been handed one.
    pub(crate) fn take_grant(&mut self, ticket: u64) -> Option<Grant<T>> {
        let at = self.granted.iter().position(|(t, _)| *t == ticket)?;
        Some(self.granted.swap_remove(at).1)
    }

    /// Leaves the queue after a timeout. The caller has checked `take_grant` first under the
    /// same lock, so the ticket is still queued.
    pub(crate) fn leave(&mut self, ticket: u64) {
        self.queue.retain(|w| w.ticket != ticket);
    }

    /// Gives back a live slot: to the longest waiter, or to nobody.
    pub(crate) fn release_slot(&mut self) {
        if self.hand_off(Grant::Slot).is_err() {
            debug_assert!(self.live > 0, "a live slot released twice");
            self.live -= 1;
        }
    }

    /// Swaps a slot held by a creation that is backing off for an idle object, if one is
    /// there. Nobody waits while an object is idle, so the slot is simply given up.
    pub(crate) fn trade_slot_for_idle(&mut self) -> Option<Idle<T>> {
        let idle = self.idle.pop_back()?;
        debug_assert!(self.queue.is_empty(), "an idle object while callers wait");
        self.live -= 1;
        Some(idle)
    }
}
