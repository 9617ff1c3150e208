//! The worker thread: take a job, run it with its panic caught, repeat until the queue is
//! closed and drained.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use super::fire::Spare;
use super::job::{drop_payload, drop_quietly, Counted, Job, Queued};
use super::live::Live;
use super::stats::Tally;
use super::Shared;
use crate::sync::{thread_local, Arc, Parker};

/// The identity of the pool whose worker this thread is (0 on other threads), and the
/// worker's index in it.
type Current = Cell<(usize, usize)>;

#[cfg(not(loom))]
thread_local! {
    static CURRENT: Current = const { Cell::new((0, 0)) };
}

// loom's `thread_local!` has no `const` form.
#[cfg(loom)]
thread_local! {
    static CURRENT: Current = Cell::new((0, 0));
}

/// The calling thread's worker index, if it is one of the workers of the pool `shared`.
fn worker_index(shared: &Shared) -> Option<usize> {
    let (pool, index) = CURRENT.with(Cell::get);
    (pool == shared.id()).then_some(index)
}

/// True when the calling thread is one of the workers of the pool `shared`.
pub(crate) fn is_worker_of(shared: &Shared) -> bool {
    worker_index(shared).is_some()
}

/// The tally the calling thread records jobs in: its own if it is a worker of `shared`.
pub(crate) fn tally(shared: &Shared) -> &Tally {
    match worker_index(shared) {
        Some(index) => shared.counters.worker(index),
        None => shared.counters.outside(),
    }
}

/// The body of worker thread `index`.
///
/// `_live` was raised before the thread started; as a parameter it drops after everything
/// else here, so the thread counts as alive until after its stop hook ran.
pub(crate) fn run(shared: Arc<Shared>, index: usize, parker: Parker, _live: Live) {
    CURRENT.with(|c| c.set((shared.id(), index)));
    // Counted as exited even if something below unwinds, so shutdown never waits on a ghost.
    let _exit = ExitGuard(&shared, index);
    call_hook(&shared, shared.hooks.thread_start.as_ref(), index);
    let tally = shared.counters.worker(index);
    let slot = shared.activity.slot(index);
    // Emptied boxes of handle-less jobs, handed back to submitters a batch at a time.
    let mut spent = Vec::new();
    while let Some(queued) = shared.queue.pop(index, &parker) {
        let (job, at, started) = match queued {
            // The common case, kept free of the extras' moves.
            Queued::Job(job) => (job, None, slot.begin(None)),
            extra => {
                let (job, at, name) = extra.into_parts();
                (job, at, slot.begin(name))
            }
        };
        // A job's own panic is caught inside `run_job`; this catches a panic from dropping what
        // a job left behind (a result or payload with a panicking Drop), so the worker lives.
        let ran = panic::catch_unwind(AssertUnwindSafe(|| run_job(&shared, tally, job, at)));
        slot.end(started);
        if let Ok(Some(spare)) = ran {
            shared.spares.keep(&mut spent, spare);
        }
    }
}

/// Calls a thread hook; its panic goes to the panic handler like a handle-less job's.
fn call_hook(shared: &Shared, hook: Option<&super::ThreadHook>, index: usize) {
    if let Some(hook) = hook {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| hook(index))) {
            shared.report_panic(payload);
        }
    }
}

struct ExitGuard<'a>(&'a Shared, usize);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        call_hook(self.0, self.0.hooks.thread_stop.as_ref(), self.1);
        CURRENT.with(|c| c.set((0, 0)));
        self.0.life.worker_exited();
    }
}

/// Runs one job on the calling thread, with its panic caught and counted in `tally`. With the
/// time it was queued, and a tally that records latency, records its queue wait. Returns a
/// handle-less job's emptied box when it can be reused.
pub(crate) fn run_job(shared: &Shared, tally: &Tally, job: Job, queued_at: Option<Instant>) -> Option<Spare> {
    let waited = match (queued_at, tally.latency()) {
        (Some(at), Some(latency)) => {
            let waited = at.elapsed();
            latency.queue_wait.record(waited);
            Some(waited)
        }
        _ => None,
    };
    #[cfg(feature = "tracing")]
    let _span = tracing::trace_span!(
        "boundpool.job",
        pool = %shared.name,
        queue_wait_us = waited.map(|w| w.as_micros() as u64),
    )
    .entered();
    let _ = waited;
    execute(shared, tally, job)
}

/// Runs a job's closure if nobody ran or cancelled it yet. Returns a handle-less job's emptied
/// box when it can be reused.
fn execute(shared: &Shared, tally: &Tally, job: Job) -> Option<Spare> {
    match job {
        Job::Task(task) => {
            task.run(Counted::In(tally));
            None
        }
        Job::Fire(f) => Counted::In(tally).run(
            || f.call(),
            |payload| {
                shared.report_panic(payload);
                None
            },
        ),
        Job::Scoped(ticket) => {
            ticket.run();
            None
        }
    }
}

/// Drops a job unrun, counting it as cancelled.
pub(crate) fn discard_job(shared: &Shared, job: Job) {
    let counted = Counted::In(tally(shared));
    match job {
        Job::Task(task) => {
            task.cancel(counted);
        }
        Job::Fire(f) => {
            counted.cancelled();
            drop_quietly(f);
        }
        // Never handed back (see `Shared::drain`): its scope's owner runs it.
        Job::Scoped(_) => {}
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
