//! Creation while `create` fails: retries with backoff, and one probe at a time.
//!
//! # Rules
//!
//! - A caller that holds a live slot and may wait retries a failing `create` with backoff
//!   (5 ms doubling to 250 ms) until its deadline, and then returns the last error.
//! - Each attempt holds a live slot, so at most one creation per free slot is in flight.
//! - While the source is failing, only one slot holder at a time (the *prober*) retries on its
//!   backoff; the others wait for its outcome. An outage therefore costs about one attempt per
//!   backoff step, plus one per slot when it begins (attempts already under way) and one per
//!   caller whose deadline comes while it waits (its last chance, so that it too returns an
//!   error of its own, never an invented one).
//! - The moment an attempt succeeds, every waiting slot holder is woken and creates at once:
//!   the pool is back to full strength one connect after the source is.
//! - `try_get` and the maintenance thread's `min_idle` refills try once and do not wait for the
//!   probe; their outcome updates the failing flag all the same.
//!
//! # State and wake-ups
//!
//! Two flags under the pool's lock: `failing` (the last attempt failed) and `probing` (a prober
//! holds the token). The token is an RAII guard: however the prober leaves (success, deadline,
//! an idle object taken instead, or a panic in `create`), dropping it clears `probing` and
//! notifies `probe_done`. A success clears `failing` and notifies too. A waiter sleeps on
//! `probe_done` only while `failing && probing`, re-checked under the lock after every wake-up,
//! and every change that ends that condition notifies under the same lock, so no wake-up is
//! lost; it also wakes at its own deadline. Before waiting and after each wake-up it takes an
//! idle object if one came back meanwhile (giving up its slot; nobody waits in line while an
//! object is idle).

use super::checkout::{BACKOFF_FIRST, BACKOFF_MAX};
use super::object::{Inner, Wait, DEFAULT_CREATE_RETRY};
use super::waiters::Idle;
use crate::deadline::{wait_while, Deadline};
use crate::sync::pause;
use std::time::Instant;

/// What a slot holder ends up with.
pub(crate) enum Made<T> {
    /// A new object and the instant its creation began.
    Fresh(T, Instant),
    /// An idle object taken instead; the caller's slot was given up for it.
    Idle(Idle<T>),
}

/// The prober's token: dropping it while held ends the probe and wakes the waiters.
struct ProbeToken<'a, T, E> {
    inner: &'a Inner<T, E>,
    held: bool,
}

impl<T, E> Drop for ProbeToken<'_, T, E> {
    fn drop(&mut self) {
        if self.held {
            self.inner.state.lock().probing = false;
            self.inner.probe_done.notify_all();
        }
    }
}

impl<T, E> Inner<T, E> {
    /// One call of `create`, counted, with its outcome recorded in the failing flag.
    pub(crate) fn attempt(&self) -> Result<(T, Instant), E> {
        let result = self.create_stamped();
        match &result {
            Ok(_) => {
                self.counters.created.add(1);
                let mut state = self.state.lock();
                if state.failing {
                    state.failing = false;
                    drop(state);
                    self.probe_done.notify_all();
                }
            }
            Err(_) => {
                self.counters.create_errors.add(1);
                self.state.lock().failing = true;
            }
        }
        result
    }

    /// Creates an object for a caller holding a live slot, under the rules above.
    pub(crate) fn create_for(&self, wait: Wait, called: Instant) -> Result<Made<T>, E> {
        let deadline = match wait {
            Wait::No => return self.attempt().map(|(obj, born)| Made::Fresh(obj, born)),
            Wait::Within(Deadline::Never) => Deadline::after_from(called, DEFAULT_CREATE_RETRY),
            Wait::Within(deadline) => deadline,
        };
        let mut token = ProbeToken { inner: self, held: false };
        let mut backoff = BACKOFF_FIRST;
        loop {
            if !token.held {
                let mut state = self.state.lock();
                // A caller out of time makes its last attempt without waiting. (loom has no
                // clock: there a deadline in the future waits for the prober's outcome only.)
                if !deadline.passed() {
                    wait_while(&self.probe_done, &mut state, deadline, |state| {
                        state.idle.is_empty() && state.failing && state.probing
                    });
                }
                if let Some(idle) = state.trade_slot_for_idle() {
                    return Ok(Made::Idle(idle));
                }
                if state.failing && !state.probing {
                    state.probing = true;
                    token.held = true;
                }
            }
            let error = match self.attempt() {
                Ok((obj, born)) => return Ok(Made::Fresh(obj, born)),
                Err(error) => error,
            };
            let left = match deadline {
                Deadline::Never => BACKOFF_MAX,
                Deadline::At(at) => {
                    match at.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
                        Some(left) => left,
                        None => return Err(error),
                    }
                }
            };
            if !token.held {
                let mut state = self.state.lock();
                if !state.probing {
                    state.probing = true;
                    token.held = true;
                }
                drop(state);
                if !token.held {
                    // Another caller probes: wait for its outcome rather than back off alone.
                    continue;
                }
            }
            pause(backoff.min(left));
            backoff = (backoff * 2).min(BACKOFF_MAX);
            if let Some(idle) = self.state.lock().trade_slot_for_idle() {
                return Ok(Made::Idle(idle));
            }
            if deadline.passed() {
                return Err(error);
            }
        }
    }
}
