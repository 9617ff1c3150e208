//! The one way boundpool waits on a condition: [`Deadline`] says how long, [`wait_while`] waits.
//!
//! Every blocking wait in the crate (a handle's join, shutdown waiting for its workers, a
//! submitter waiting for room, a `get` waiting for an object, the maintenance thread's sleep)
//! goes through these two, so a timeout is turned into an instant in one place and a wait that
//! has run out of time is told apart from one whose condition cleared in one place.

use std::time::{Duration, Instant};

use crate::sync::{self, Condvar, MutexGuard};

/// When a wait gives up: never, or at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    Never,
    At(Instant),
}

impl Deadline {
    /// `timeout` from now; a timeout too large to add to the clock is as good as none.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        Deadline::after_from(Instant::now(), timeout)
    }

    /// `timeout` after `start`, with the same rule.
    pub(crate) fn after_from(start: Instant, timeout: Duration) -> Deadline {
        match start.checked_add(timeout) {
            Some(at) => Deadline::At(at),
            None => Deadline::Never,
        }
    }

    /// An optional timeout: none means never.
    pub(crate) fn after_opt(start: Instant, timeout: Option<Duration>) -> Deadline {
        timeout.map_or(Deadline::Never, |t| Deadline::after_from(start, t))
    }

    /// Whether the deadline has passed.
    pub(crate) fn passed(self) -> bool {
        match self {
            Deadline::Never => false,
            Deadline::At(at) => Instant::now() >= at,
        }
    }

    /// The instant, if there is one.
    pub(crate) fn instant(self) -> Option<Instant> {
        match self {
            Deadline::Never => None,
            Deadline::At(at) => Some(at),
        }
    }
}

impl From<Option<Instant>> for Deadline {
    fn from(at: Option<Instant>) -> Deadline {
        at.map_or(Deadline::Never, Deadline::At)
    }
}

/// Waits on `cv` while `blocked` holds for the guarded state, until `deadline`. True when the
/// condition cleared, false when the deadline passed with it still holding. `blocked` is
/// checked before the first wait and after every wake-up, under the lock.
///
/// Under loom a deadline never passes (models have no clock): a model that needs the timeout
/// branch drives it explicitly.
pub(crate) fn wait_while<T>(
    cv: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    deadline: Deadline,
    mut blocked: impl FnMut(&mut T) -> bool,
) -> bool {
    while blocked(&mut **guard) {
        match deadline {
            Deadline::Never => cv.wait(guard),
            Deadline::At(at) => {
                if sync::wait_until(cv, guard, at) {
                    return !blocked(&mut **guard);
                }
            }
        }
    }
    true
}
