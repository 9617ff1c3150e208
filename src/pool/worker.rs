//! The worker thread: take a job, run it with its panic caught, repeat until the queue is
//! closed and drained.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use super::job::{drop_payload, drop_quietly, Job};
use super::stats::Outcome;
use super::Shared;
use crate::sync::{thread_local, Arc};

#[cfg(not(loom))]
thread_local! {
    /// The identity of the pool whose worker this thread is; 0 on other threads.
    static CURRENT_POOL: Cell<usize> = const { Cell::new(0) };
}

// loom's `thread_local!` has no `const` form.
#[cfg(loom)]
thread_local! {
    /// The identity of the pool whose worker this thread is; 0 on other threads.
    static CURRENT_POOL: Cell<usize> = Cell::new(0);
}

/// True when the calling thread is one of the workers of the pool `shared`.
pub(crate) fn is_worker_of(shared: &Shared) -> bool {
    CURRENT_POOL.with(|c| c.get()) == shared.id()
}

/// The body of worker thread `index`.
pub(crate) fn run(shared: Arc<Shared>, _index: usize) {
    CURRENT_POOL.with(|c| c.set(shared.id()));
    // Counted as exited even if something below unwinds, so shutdown never waits on a ghost.
    let _exit = ExitGuard(&shared);
    while let Some(job) = shared.queue.pop() {
        // A job's own panic is caught inside `run_job`; this catches a panic from dropping what
        // a job left behind (a result or payload with a panicking Drop), so the worker lives.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| run_job(&shared, job)));
    }
}

struct ExitGuard<'a>(&'a Shared);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        CURRENT_POOL.with(|c| c.set(0));
        self.0.life.worker_exited();
    }
}

/// Runs one job on the calling thread, with its panic caught and counted.
pub(crate) fn run_job(shared: &Shared, job: Job) {
    match job {
        Job::Task(task) => {
            task.run(Some(&shared.counters));
        }
        Job::Fire(f) => {
            shared.counters.started();
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(()) => shared.counters.ended(Outcome::Completed, true),
                Err(payload) => {
                    shared.counters.ended(Outcome::Panicked, true);
                    shared.report_panic(payload);
                }
            }
        }
    }
}

/// Drops a job unrun, counting it as cancelled.
pub(crate) fn discard_job(shared: &Shared, job: Job) {
    match job {
        Job::Task(task) => {
            task.cancel(Some(&shared.counters));
        }
        Job::Fire(f) => {
            shared.counters.ended(Outcome::Cancelled, false);
            drop_quietly(f);
        }
    }
}

/// Hands a fire-and-forget job's panic to the pool's panic handler, or drops it.
pub(crate) fn handle_panic(handler: Option<&super::PanicHandler>, payload: Box<dyn std::any::Any + Send>) {
    match handler {
        Some(handler) => {
            // A panicking handler must not take the worker down either.
            if let Err(again) = panic::catch_unwind(AssertUnwindSafe(|| handler(payload))) {
                drop_payload(again);
            }
        }
        None => drop_payload(payload),
    }
}
