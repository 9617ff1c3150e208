//! One first-come, first-served waiting list for everyone who waits for the same thing:
//! threads blocked in a call and tasks awaiting a future alike.
//!
//! The list lives inside state its owner guards with a mutex, and every method runs under that
//! lock. A waiter joins the back with a ticket and a way to be woken: a condition variable of
//! its own (a thread, which waits on it with the owner's lock) or a [`Waker`] (a task). What
//! frees up is handed to the *front* entry as a grant, under the lock, and only then is the
//! entry woken. So:
//!
//! * **No lost wake-up.** A waiter looks for its grant under the lock before it sleeps (a
//!   thread) or returns `Pending` (a task), and a grant is placed under the lock before its
//!   wake-up: either the waiter sees the grant, or it is asleep or registered when woken.
//! * **No stolen wake-up, no overtaking.** A grant names its ticket; nobody else can take it,
//!   and nobody is served behind a later arrival.
//! * **Giving up loses nothing.** A waiter that stops waiting (a timeout, a dropped future)
//!   calls [`leave`](WaitList::leave) under the lock: it either leaves the queue, or finds it
//!   was granted something already and gets the grant back to use or pass on.
//!
//! A wake-up is delivered after the owner releases its lock ([`Wakeup::wake`]), so a waker
//! never runs under it.

use std::collections::VecDeque;
use std::fmt;
use std::task::Waker;

use crate::sync::{Arc, AtomicBool, Condvar, Ordering};

/// A blocked thread's side of its entry: the condition variable it sleeps on (with the owner's
/// lock), and a flag raised when its grant is placed, which it may watch for a moment before
/// it sleeps without taking the lock.
#[derive(Debug, Default)]
pub(crate) struct ThreadWaiter {
    pub(crate) cv: Condvar,
    granted: AtomicBool,
}

impl ThreadWaiter {
    /// Whether a grant has been placed for this waiter (it still takes it under the lock).
    pub(crate) fn granted(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store in `hand_off`; a hint only: the grant
        // itself is taken under the owner's lock.
        self.granted.load(Ordering::Acquire)
    }
}

/// How a waiter is woken.
pub(crate) enum Wake {
    /// A blocked thread waiting on its own condition variable with the owner's lock.
    Thread(Arc<ThreadWaiter>),
    /// A task: its latest waker.
    Task(Waker),
}

impl Wake {
    /// A thread's entry, and the thread's side of it.
    pub(crate) fn thread() -> (Wake, Arc<ThreadWaiter>) {
        let waiter = Arc::new(ThreadWaiter { cv: Condvar::new(), granted: AtomicBool::new(false) });
        (Wake::Thread(Arc::clone(&waiter)), waiter)
    }
}

/// A wake-up decided under the owner's lock, delivered after it is released.
#[must_use = "a wake-up must be delivered"]
pub(crate) struct Wakeup(Option<Wake>);

impl Wakeup {
    /// Nobody to wake.
    pub(crate) fn none() -> Wakeup {
        Wakeup(None)
    }

    pub(crate) fn wake(self) {
        match self.0 {
            Some(Wake::Thread(waiter)) => {
                waiter.cv.notify_one();
            }
            Some(Wake::Task(waker)) => waker.wake(),
            None => {}
        }
    }
}

/// Several wake-ups decided under one lock.
#[derive(Default)]
pub(crate) struct Wakeups(Vec<Wakeup>);

impl Wakeups {
    pub(crate) fn push(&mut self, wakeup: Wakeup) {
        if wakeup.0.is_some() {
            self.0.push(wakeup);
        }
    }

    pub(crate) fn wake(self) {
        self.0.into_iter().for_each(Wakeup::wake);
    }
}

/// What a waiter that gives up finds.
pub(crate) enum Left<G> {
    /// It was still queued, and now is not.
    Queued,
    /// It had been granted this already: the caller uses it or passes it on.
    Granted(G),
    /// It was neither queued nor granted (it took its grant already).
    Gone,
}

/// Waiters in arrival order, and the grants handed to them but not yet picked up.
pub(crate) struct WaitList<G> {
    queue: VecDeque<(u64, Wake)>,
    granted: Vec<(u64, G)>,
    next_ticket: u64,
}

impl<G> Default for WaitList<G> {
    fn default() -> Self {
        WaitList { queue: VecDeque::new(), granted: Vec::new(), next_ticket: 0 }
    }
}

impl<G> fmt::Debug for WaitList<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.queue.len())
            .field("granted", &self.granted.len())
            .finish()
    }
}

impl<G> WaitList<G> {
    /// How many wait without a grant.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Joins the back of the queue; the ticket names the waiter from now on.
    pub(crate) fn join(&mut self, wake: Wake) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back((ticket, wake));
        ticket
    }

    /// Gives `grant` to the longest waiter; hands it back when nobody waits. The wake-up is to
    /// be delivered once the owner's lock is released.
    pub(crate) fn hand_off(&mut self, grant: G) -> Result<Wakeup, G> {
        match self.queue.pop_front() {
            Some((ticket, wake)) => {
                self.granted.push((ticket, grant));
                if let Wake::Thread(waiter) = &wake {
                    // ORDERING: Release, after the grant is placed (see `ThreadWaiter::granted`).
                    waiter.granted.store(true, Ordering::Release);
                }
                Ok(Wakeup(Some(wake)))
            }
            None => Err(grant),
        }
    }

    /// Gives every waiter a grant made by `grant` (a closing owner's refusal), in order.
    pub(crate) fn hand_off_all(&mut self, mut grant: impl FnMut() -> G) -> Wakeups {
        let mut wakeups = Wakeups::default();
        while let Ok(wakeup) = self.hand_off(grant()) {
            wakeups.push(wakeup);
        }
        wakeups
    }

    /// The grant for `ticket`, once it has been handed one.
    pub(crate) fn take_grant(&mut self, ticket: u64) -> Option<G> {
        let at = self.granted.iter().position(|(t, _)| *t == ticket)?;
        Some(self.granted.swap_remove(at).1)
    }

    /// Replaces a queued task's waker with the one it was last polled with.
    pub(crate) fn set_waker(&mut self, ticket: u64, waker: &Waker) {
        if let Some((_, Wake::Task(old))) = self.queue.iter_mut().find(|(t, _)| *t == ticket) {
            if !old.will_wake(waker) {
                old.clone_from(waker);
            }
        }
    }

    /// Stops waiting: leaves the queue, or returns the grant that came first.
    pub(crate) fn leave(&mut self, ticket: u64) -> Left<G> {
        if let Some(grant) = self.take_grant(ticket) {
            return Left::Granted(grant);
        }
        match self.queue.iter().position(|(t, _)| *t == ticket) {
            Some(at) => {
                self.queue.remove(at);
                Left::Queued
            }
            None => Left::Gone,
        }
    }
}

impl<G> Drop for WaitList<G> {
    fn drop(&mut self) {
        // Every waiter holds a reference to the list's owner while it waits.
        debug_assert!(self.queue.is_empty(), "a waiting list dropped with waiters in it");
    }
}
