//! The process's one maintenance thread: periodic work for whichever pools need it (object
//! expiry and `min_idle` refills, the thread pools' slow-job watchdog).
//!
//! # Rules
//!
//! - At most one maintenance thread exists in the process, whatever the number of pools.
//! - It runs only while some registered [`Task`] exists: registering the first one starts it,
//!   and it exits once the last [`Registration`] is dropped.
//!
//! # How
//!
//! A registry behind one lock lists the tasks (as weak references, so the thread never keeps a
//! pool alive) with the instant each is next due, plus whether the thread runs and its join
//! handle. The thread sleeps on a condition variable until the earliest due instant; a new
//! registration or a dropped one notifies it. It runs due tasks with the lock released (a task
//! may take its pool's lock, call user code, or drop the last handle to its pool, whose
//! `Registration` then takes the registry lock) and records each task's next due instant.
//!
//! When it finds the list empty, the thread clears `running` under the lock and returns, never
//! touching the registry again. A registration that finds `running` clear joins the previous
//! thread's handle (which has nothing left to do but return, so the join is short and cannot
//! wait on the lock it holds) before starting a new one, so two maintenance threads never
//! overlap. A task's panic is caught: the thread survives and runs the task again later.
//!
//! Under loom there is no background thread: registration is a no-op and the models call a
//! pool's maintenance directly.

#[cfg(not(loom))]
pub(crate) use self::real::{register, running_threads, Registration};

#[cfg(loom)]
pub(crate) use self::model::{register, running_threads, Registration};

use std::time::Instant;

/// Periodic work for the maintenance thread.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) trait Task: Send + Sync {
    /// Does what is due at `now`; returns when it next wants to run.
    fn run(&self, now: Instant) -> Instant;
}

#[cfg(not(loom))]
mod real {
    use super::Task;
    use crate::deadline::{wait_while, Deadline};
    use crate::sync::{thread, AtomicUsize, Condvar, Mutex, Ordering, Weak};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::time::{Duration, Instant};

    /// Name of the maintenance thread.
    const THREAD_NAME: &str = "boundpool-maint";

    /// How soon a task that panicked is tried again.
    const RETRY: Duration = Duration::from_millis(100);
    /// How soon a task whose owner is still being built is tried again.
    const NOT_READY: Duration = Duration::from_millis(1);

    struct Entry {
        id: u64,
        task: Weak<dyn Task>,
        due: Instant,
    }

    struct Registry {
        entries: Vec<Entry>,
        next_id: u64,
        running: bool,
        thread: Option<thread::JoinHandle<()>>,
    }

    static REGISTRY: Mutex<Registry> =
        Mutex::new(Registry { entries: Vec::new(), next_id: 0, running: false, thread: None });
    static WAKE: Condvar = Condvar::new();
    /// Maintenance threads alive: incremented first thing in the thread, decremented last.
    static THREADS: AtomicUsize = AtomicUsize::new(0);

    /// Keeps a task on the maintenance thread's list; dropping it takes the task off.
    pub(crate) struct Registration {
        id: u64,
    }

    /// Adds `task`, due at once, starting the thread if it is not running. If the thread cannot
    /// be started (the OS refuses), the task simply never runs; the next registration tries
    /// again.
    pub(crate) fn register(task: Weak<dyn Task>) -> Registration {
        let mut registry = REGISTRY.lock();
        let id = registry.next_id;
        registry.next_id += 1;
        registry.entries.push(Entry { id, task, due: Instant::now() });
        if registry.running {
            WAKE.notify_one();
        } else {
            if let Some(previous) = registry.thread.take() {
                // It cleared `running` and has only to return; it never takes the lock again.
                let _ = previous.join();
            }
            let started = thread::Builder::new().name(THREAD_NAME.to_owned()).spawn(run);
            if let Ok(handle) = started {
                registry.thread = Some(handle);
                registry.running = true;
            }
        }
        Registration { id }
    }

    impl Drop for Registration {
        fn drop(&mut self) {
            let mut registry = REGISTRY.lock();
            registry.entries.retain(|e| e.id != self.id);
            if registry.entries.is_empty() {
                WAKE.notify_one();
            }
        }
    }

    /// How many maintenance threads are alive now (0 or 1).
    pub(crate) fn running_threads() -> usize {
        // ORDERING: a count read for tests; the thread's start and end are ordered by the
        // registry lock and the join, not by this load.
        THREADS.load(Ordering::SeqCst)
    }

    /// Counts the thread alive until it has released everything.
    struct Alive;

    impl Alive {
        fn new() -> Self {
            // ORDERING: SeqCst so a reader sees the count move in the order threads start/end.
            THREADS.fetch_add(1, Ordering::SeqCst);
            Alive
        }
    }

    impl Drop for Alive {
        fn drop(&mut self) {
            // ORDERING: as in `new`.
            THREADS.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn run() {
        let _alive = Alive::new();
        let mut registry = REGISTRY.lock();
        loop {
            if registry.entries.is_empty() {
                registry.running = false;
                return;
            }
            let now = Instant::now();
            let due: Vec<(u64, Weak<dyn Task>)> = registry
                .entries
                .iter()
                .filter(|e| e.due <= now)
                .map(|e| (e.id, Weak::clone(&e.task)))
                .collect();
            if due.is_empty() {
                // Until the earliest due instant, or a registration added or dropped.
                let next = registry.entries.iter().map(|e| e.due).min().unwrap_or(now);
                wait_while(&WAKE, &mut registry, Deadline::At(next), |registry| {
                    let now = Instant::now();
                    !registry.entries.is_empty() && registry.entries.iter().all(|e| e.due > now)
                });
                continue;
            }
            drop(registry);
            let mut next = Vec::with_capacity(due.len());
            for (id, task) in due {
                let at = match task.upgrade() {
                    // The owner's last handle may be dropped here, with the lock released.
                    Some(task) => catch_unwind(AssertUnwindSafe(|| task.run(now))).unwrap_or(now + RETRY),
                    // Its owner is being built (or dropped: then its entry is about to go).
                    None => now + NOT_READY,
                };
                next.push((id, at));
            }
            registry = REGISTRY.lock();
            for (id, at) in next {
                if let Some(entry) = registry.entries.iter_mut().find(|e| e.id == id) {
                    entry.due = at;
                }
            }
        }
    }
}

#[cfg(loom)]
mod model {
    use super::Task;
    use crate::sync::Weak;

    /// Nothing to undo: loom models have no maintenance thread.
    pub(crate) struct Registration;

    pub(crate) fn register(_task: Weak<dyn Task>) -> Registration {
        Registration
    }

    pub(crate) fn running_threads() -> usize {
        0
    }
}
