//! What the shared maintenance thread does for one [`ObjectPool`](crate::ObjectPool): drop idle
//! objects that expired, and create objects while fewer than `min_idle` are idle.
//!
//! Expiry here only frees memory and connections early: a `get` never hands out an expired
//! object whatever this thread does (it checks the clock itself), so a sweep that races a
//! checkout can only find fewer idle objects, never hand out or drop a checked-out one. Both
//! take objects off the idle list under the pool's lock, and an object is in the list or in
//! one thread's hands, never both. The sweep keeps the live slots of what it took until each
//! object is dropped, then frees them one by one (to a caller in line, if one came meanwhile):
//! never more than `max_live` objects exist, even for a moment.
//!
//! Refills take a live slot each, under the lock, only while nobody waits (a waiter would be
//! owed that slot) and `max_live` allows, then create with the lock released and put the object
//! back as a return does: to a waiter who arrived meanwhile, or to the idle list. A failed
//! refill gives its slot back and the next one waits a backoff (doubling up to 1 s).

use super::checkout::{SlotGuard, BACKOFF_FIRST};
use super::object::Inner;
use crate::maintenance::Task;
use std::time::{Duration, Instant};

/// Longest pause between two failed `min_idle` refills.
const REFILL_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How often a pool with `min_idle` is looked at when nothing else is due.
const REFILL_PERIOD: Duration = Duration::from_millis(100);
/// Bounds on how often expiry is swept: a quarter of the shortest limit, within these.
#[cfg_attr(loom, allow(dead_code))]
const SWEEP_MIN: Duration = Duration::from_millis(5);
#[cfg_attr(loom, allow(dead_code))]
const SWEEP_MAX: Duration = Duration::from_millis(500);

impl<T: Send + 'static, E: 'static> Task for Inner<T, E> {
    fn run(&self, now: Instant) -> Instant {
        self.sweep(now);
        let mut next = now + self.sweep_period();
        if self.config.min_idle > 0 {
            next = next.min(self.refill());
        }
        #[cfg(feature = "metrics")]
        {
            self.publish_metrics();
            next = next.min(now + super::object_metrics::PERIOD);
        }
        next
    }
}

impl<T, E> Inner<T, E> {
    /// One round of maintenance at `now`.
    #[cfg(loom)]
    pub(crate) fn upkeep(&self, now: Instant) {
        self.sweep(now);
        if self.config.min_idle > 0 {
            self.refill();
        }
    }

    /// How long the maintenance thread may wait before the next sweep.
    #[cfg_attr(loom, allow(dead_code))]
    fn sweep_period(&self) -> Duration {
        let shortest = match (self.config.max_lifetime, self.config.idle_timeout) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return REFILL_PERIOD,
        };
        (shortest / 4).clamp(SWEEP_MIN, SWEEP_MAX)
    }

    /// Drops every idle object that has expired at `now`.
    fn sweep(&self, now: Instant) {
        if self.config.max_lifetime.is_none() && self.config.idle_timeout.is_none() {
            return;
        }
        let expired: Vec<T> = {
            let mut state = self.state.lock();
            let mut expired = Vec::new();
            let mut kept = std::collections::VecDeque::with_capacity(state.idle.len());
            for idle in state.idle.drain(..) {
                if self.expired(idle.born, idle.since, now) {
                    expired.push(idle.obj);
                } else {
                    kept.push_back(idle);
                }
            }
            state.idle = kept;
            expired
        };
        // Each dropped outside the lock and before its slot is freed, so that at no moment
        // more than max_live objects exist (the slot may go to a caller who came meanwhile);
        // the guard frees it even if the object's Drop panics.
        let n = expired.len();
        for obj in expired {
            let slot = SlotGuard { inner: self, armed: true };
            drop(obj);
            drop(slot);
        }
        self.counters.dropped_expired.add(n as u64);
    }

    /// Creates objects while fewer than `min_idle` are idle; returns when to look again.
    fn refill(&self) -> Instant {
        loop {
            {
                let mut state = self.state.lock();
                if state.idle.len() >= self.config.min_idle
                    || state.live >= self.config.max_live
                    || state.waiters() > 0
                {
                    return Instant::now() + REFILL_PERIOD;
                }
                state.live += 1;
            }
            let mut slot = SlotGuard { inner: self, armed: true };
            match self.attempt() {
                Ok((obj, born)) => {
                    slot.armed = false;
                    *self.upkeep_backoff.lock() = BACKOFF_FIRST;
                    self.put_back(obj, born);
                }
                Err(_) => {
                    drop(slot);
                    let mut backoff = self.upkeep_backoff.lock();
                    let pause = *backoff;
                    *backoff = (pause * 2).min(REFILL_BACKOFF_MAX);
                    return Instant::now() + pause;
                }
            }
        }
    }
}
