//! Turning a grant into a ready object: expiry and validation of an idle object, and creation
//! with retries while `create` fails. Also the two ways a slot goes back: with an object (to a
//! waiter or the idle list) or empty.
//!
//! Creation itself, with its retries while `create` fails, is in `probe.rs`.

use super::object::{Inner, Wait};
use super::probe::Made;
use super::waiters::{Grant, Idle};
use crate::error::GetError;
use std::time::{Duration, Instant};

/// First pause after a failed creation.
pub(crate) const BACKOFF_FIRST: Duration = Duration::from_millis(5);
/// Longest pause between two attempts of one caller.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_millis(250);

/// Why an idle object was not handed out.
enum Refused {
    Expired,
    Broken,
}

impl<T, E> Inner<T, E> {
    /// Turns a grant into a ready object and its birth instant. The caller holds one live slot
    /// from the moment it got the grant; on error or panic that slot is given back.
    pub(crate) fn realize(
        &self,
        mut grant: Grant<T>,
        wait: Wait,
        called: Instant,
    ) -> Result<(T, Instant), GetError<E>> {
        let mut slot = SlotGuard { inner: self, armed: true };
        loop {
            match grant {
                Grant::Object(idle) => {
                    match self.check_idle(idle) {
                        Ok(ready) => {
                            slot.armed = false;
                            self.counters.checkouts.add(1);
                            return Ok(ready);
                        }
                        Err(Refused::Expired) => self.counters.dropped_expired.add(1),
                        Err(Refused::Broken) => self.counters.dropped_broken.add(1),
                    }
                    // Replace the refused object with another idle one, or make a new one. While
                    // idle objects exist nobody waits, so its slot is simply given up.
                    let mut state = self.state.lock();
                    grant = match state.trade_slot_for_idle() {
                        Some(next) => Grant::Object(next),
                        None => Grant::Slot,
                    };
                }
                Grant::Slot => match self.create_for(wait, called) {
                    Ok(Made::Fresh(obj, born)) => {
                        slot.armed = false;
                        self.counters.checkouts.add(1);
                        return Ok((obj, born));
                    }
                    // The slot was given up for an idle object, which holds its own.
                    Ok(Made::Idle(idle)) => grant = Grant::Object(idle),
                    // `slot` gives the live slot back as it drops.
                    Err(error) => return Err(GetError::Create(error)),
                },
            }
        }
    }

    /// Calls `create`; an object's age counts from the start of the call that made it, so no
    /// object is used past `max_lifetime` however long its creation took.
    pub(crate) fn create_stamped(&self) -> Result<(T, Instant), E> {
        let born = self.stamp(self.config.max_lifetime.is_some());
        (self.create)().map(|obj| (obj, born))
    }

    /// An idle object if it is neither expired nor refused by `validate`; dropped otherwise
    /// (by the caller's unwinding if `validate` panics).
    fn check_idle(&self, idle: Idle<T>) -> Result<(T, Instant), Refused> {
        let Idle { mut obj, born, since } = idle;
        if !self.config.clock_on_checkout() {
            return match &self.validate {
                Some(validate) if !validate(&mut obj) => Err(Refused::Broken),
                _ => Ok((obj, born)),
            };
        }
        let now = Instant::now();
        if self.expired(born, since, now) {
            return Err(Refused::Expired);
        }
        if let Some(validate) = &self.validate {
            let due = self
                .config
                .validate_after
                .map_or(true, |after| now.saturating_duration_since(since) >= after);
            if due && !validate(&mut obj) {
                return Err(Refused::Broken);
            }
        }
        Ok((obj, born))
    }

    /// Whether an object born at `born` and idle since `since` may no longer be used at `now`.
    pub(crate) fn expired(&self, born: Instant, since: Instant, now: Instant) -> bool {
        self.too_old(born, now)
            || self.config.idle_timeout.is_some_and(|limit| now.saturating_duration_since(since) >= limit)
    }

    /// Whether an object born at `born` has outlived `max_lifetime` at `now`.
    pub(crate) fn too_old(&self, born: Instant, now: Instant) -> bool {
        self.config.max_lifetime.is_some_and(|limit| now.saturating_duration_since(born) >= limit)
    }

    /// The current instant if `needed`, else the pool's build instant (saves a clock read).
    pub(crate) fn stamp(&self, needed: bool) -> Instant {
        if needed {
            Instant::now()
        } else {
            self.epoch
        }
    }

    /// Takes back a checked-out object: to the longest waiter, to the idle list, or dropped.
    pub(crate) fn put_back(&self, obj: T, born: Instant) {
        let since = self.stamp(self.config.clock_on_return());
        self.keep_idle(Idle { obj, born, since });
    }

    /// An idle object back in the pool: to the longest waiter, to the idle list if it has
    /// room, or dropped (freeing its slot).
    fn keep_idle(&self, idle: Idle<T>) {
        let surplus = {
            let mut state = self.state.lock();
            match state.hand_off(Grant::Object(idle)) {
                Ok(wakeup) => {
                    drop(state);
                    wakeup.wake();
                    return;
                }
                Err(Grant::Object(idle)) if state.idle.len() < self.config.max_idle => {
                    state.idle.push_back(idle);
                    return;
                }
                Err(grant) => grant,
            }
        };
        // Dropped outside the lock (its Drop may be slow or panic) and before its slot is
        // freed, so that at no moment more than max_live objects exist.
        let slot = SlotGuard { inner: self, armed: true };
        drop(surplus);
        drop(slot);
    }

    /// Passes on a grant its waiter will not use (a `get_async` future dropped after it was
    /// granted): an object as if returned, a slot as if freed.
    pub(crate) fn pass_on(&self, grant: Grant<T>) {
        match grant {
            Grant::Object(idle) => self.keep_idle(idle),
            Grant::Slot => self.release_slot(),
        }
    }

    /// Gives a live slot back: to the longest waiter (who creates), or to nobody.
    pub(crate) fn release_slot(&self) {
        let wakeup = self.state.lock().release_slot();
        wakeup.wake();
    }
}

/// Gives a live slot back if dropped armed: on a failed creation, a dropped object, or during
/// a panic's unwinding.
pub(crate) struct SlotGuard<'a, T, E> {
    pub(crate) inner: &'a Inner<T, E>,
    pub(crate) armed: bool,
}

impl<T, E> Drop for SlotGuard<'_, T, E> {
    fn drop(&mut self) {
        if self.armed {
            self.inner.release_slot();
        }
    }
}
