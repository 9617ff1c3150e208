//! A wake-up at an instant for a waiting future, without a thread of its own.
//!
//! A future that must give up at a deadline (a `get_async` on a pool with a `wait_timeout`)
//! holds an [`Alarm`]: a task on the process's one maintenance thread (see `maintenance.rs`),
//! due at the deadline, that wakes the future's latest waker then. The alarm is registered while
//! it exists and taken off the maintenance thread's list when dropped, so the thread still runs
//! only while something needs it.
//!
//! No wake-up is lost: the future stores its waker, then reads the clock. The alarm takes the
//! waker only once its instant has passed, so either the future's own clock read sees the
//! instant passed, or the waker it stored is still there for the alarm to take.
//!
//! Under loom there is no maintenance thread: an alarm never rings (models have no clock), as a
//! deadline never passes in a blocking wait there.

use std::task::Waker;
use std::time::{Duration, Instant};

use crate::maintenance::{register, Registration, Task};
use crate::sync::{Arc, Mutex, Weak};

/// How long the maintenance thread may leave an alarm that has rung before it looks again (its
/// owner is about to drop it).
const RUNG: Duration = Duration::from_secs(3600);

/// Wakes a waker at an instant, from the maintenance thread, while it exists.
pub(crate) struct Alarm {
    shared: Arc<Shared>,
    _registration: Registration,
}

struct Shared {
    at: Instant,
    waker: Mutex<Option<Waker>>,
}

impl Alarm {
    /// An alarm that wakes `waker` (or the waker last given to [`set_waker`](Self::set_waker))
    /// once `at` has passed.
    pub(crate) fn new(at: Instant, waker: &Waker) -> Alarm {
        let shared = Arc::new(Shared { at, waker: Mutex::new(Some(waker.clone())) });
        let task: Weak<dyn Task> = Arc::downgrade(&shared) as Weak<dyn Task>;
        Alarm { _registration: register(task), shared }
    }

    /// Replaces the waker to wake. The caller reads the clock after this call.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut slot = self.shared.waker.lock();
        match &*slot {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }
}

impl Task for Shared {
    fn run(&self, now: Instant) -> Instant {
        if now < self.at {
            return self.at;
        }
        let waker = self.waker.lock().take();
        if let Some(waker) = waker {
            waker.wake();
        }
        now + RUNG
    }
}
