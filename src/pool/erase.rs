//! The one place where a scoped job's lifetime is erased so that it can travel through the
//! pool's queue to a worker, and the protocol that makes that sound. This is the only module of
//! the crate allowed to use `unsafe` code, and it has exactly one `unsafe` block.
//!
//! # The invariant
//!
//! A scoped job borrows from the stack of the thread that called `scope` (or `map`,
//! `try_map`, `try_scope`) for a lifetime `'scope`. The pool's queue holds only `'static`
//! items, so [`Jobs::push`] stores the job, with its lifetime erased, in a slot of the scope's
//! job table, which is `'static` (it lives in an `Arc`). The queue carries a [`Ticket`]: the
//! table and a slot number, nothing that borrows `'scope`. Soundness rests on one invariant:
//!
//! > **Nothing that borrows `'scope` (a job's closure, its result slot, the cell that owns a
//! > panic payload) is touched after the scope's completion signal, and the scope does not
//! > return before that signal.**
//!
//! The completion signal is the state "every job has been taken and no worker still holds
//! one", read under the table's lock by the scope's owner in [`Jobs::finish`]. It holds
//! because:
//!
//! 1. A job is taken exactly once, under the table's lock: by a worker, which counts itself in
//!    `running` in the same critical section, or by the scope's owner or a joiner. The table
//!    itself keeps a reference to every job until `finish` drops them all, so the reference a
//!    worker takes to run a job is never the last one.
//! 2. A worker runs the job (its panic is caught), drops its reference to the job, and only
//!    then takes the lock again to count itself out of `running`. From that moment it touches
//!    only the `'static` table. So a worker has let go of everything of a job before it
//!    signals.
//! 3. The owner, in [`Jobs::finish`], takes every job not yet taken and runs it itself, then
//!    waits until `running` is zero. A job that a running job spawns meanwhile lands in the
//!    table and wakes the owner, who runs it or waits for the worker that took it. Then the
//!    owner takes the table's references out and drops them, on its own thread, while
//!    `'scope` is still live; only then does it return, and only then may `'scope` end.
//! 4. `finish` runs whether the scope's closure returned or panicked: the scope is created and
//!    finished inside `ThreadPool::scope` (and `map`, `try_map`, `try_scope`), which catches the
//!    closure's panic first. The user is only lent a reference to the scope, never owns it, so
//!    `mem::forget` cannot skip the wait. `finish` itself cannot unwind: every piece of user
//!    code it reaches (running a job, dropping one) has its panic caught.
//! 5. After the signal, a ticket still in the queue reaches nothing: its job is marked taken,
//!    and the table holds no job any more (its slot is gone: taking it finds nothing), so the
//!    worker that pops it only touches the `'static` table.
//!
//! If the invariant were ever broken and a table were dropped with a job still in it, that job
//! is leaked, never dropped: dropping it could run code that borrows a finished `'scope`.

#![allow(unsafe_code)]

use std::any::Any;
use std::mem;
use std::time::Duration;

use super::job::{drop_quietly, Counted, Task};
use crate::sync::{Arc, Backoff, Condvar, Mutex};

/// How long a scope's owner with nothing left to run looks for its workers to finish before
/// it sleeps.
const FINISH_PATIENCE: Duration = Duration::from_micros(20);

/// A job of some scope, with its lifetime erased. Only ever run or dropped before its scope's
/// completion signal (see the module's invariant).
type Erased = Arc<dyn Task + 'static>;

/// A scope's job table: every job it spawned, with whether someone has taken it to run.
pub(crate) struct Jobs {
    table: Mutex<Table>,
    /// Signalled when a job is added and when the last worker holding a job lets go of it.
    changed: Condvar,
}

struct Table {
    /// Every job of the scope, in spawn order, and whether it has been taken.
    jobs: Vec<(Erased, bool)>,
    /// The first job the owner has not looked at yet: the owner runs jobs in the order they
    /// were spawned, as the queue serves them to workers.
    unvisited: usize,
    /// Jobs workers have taken and not yet let go of.
    running: usize,
}

impl Table {
    /// Takes job `slot` to run if nobody has: a reference to it, apart from the table's own.
    /// After `finish` emptied the table there is no slot left to take (a ticket still queued
    /// then finds nothing, see point 5 of the invariant).
    fn take(&mut self, slot: usize) -> Option<Erased> {
        let (job, taken) = self.jobs.get_mut(slot)?;
        (!mem::replace(taken, true)).then(|| Arc::clone(job))
    }
}

/// A scoped job's place in the pool's queue: the table and a slot number, `'static`.
pub(crate) struct Ticket {
    jobs: Arc<Jobs>,
    slot: usize,
}

impl Jobs {
    pub(crate) fn new() -> Arc<Jobs> {
        Arc::new(Jobs {
            table: Mutex::new(Table { jobs: Vec::new(), unvisited: 0, running: 0 }),
            changed: Condvar::new(),
        })
    }

    /// Adds a job of the scope that owns this table and returns its slot.
    pub(crate) fn push<'scope>(&self, job: Arc<dyn Task + 'scope>) -> usize {
        // SAFETY: only the lifetime bound changes; the layout of the pointer is the same. Every
        // reference to the erased job is dropped before the scope's owner returns from
        // `finish`, and every run of it ends before the completion signal that `finish` waits
        // for, so it is never used after its borrows end (the module's invariant).
        let job = unsafe { mem::transmute::<Arc<dyn Task + 'scope>, Erased>(job) };
        let mut table = self.table.lock();
        let slot = table.jobs.len();
        table.jobs.push((job, false));
        // An owner waiting in `finish` has a job to run.
        self.changed.notify_all();
        slot
    }

    /// A ticket for `slot`, to put in the pool's queue.
    pub(crate) fn ticket(self: &Arc<Self>, slot: usize) -> Ticket {
        Ticket { jobs: Arc::clone(self), slot }
    }

    /// The owner (or a joiner): runs the job in `slot` on this thread if nobody has taken it.
    pub(crate) fn run_here(&self, slot: usize) {
        let job = self.table.lock().take(slot);
        if let Some(job) = job {
            job.run(Counted::No);
        }
    }

    /// A worker: runs the job in `slot` if nobody has taken it, letting go of it before it
    /// signals.
    fn run_on_worker(&self, slot: usize) {
        let job = {
            let mut table = self.table.lock();
            let job = table.take(slot);
            if job.is_some() {
                table.running += 1;
            }
            job
        };
        if let Some(job) = job {
            job.run(Counted::No);
            // Not the last reference: the table keeps one until `finish`.
            drop(job);
            let mut table = self.table.lock();
            table.running -= 1;
            if table.running == 0 {
                self.changed.notify_all();
            }
        }
    }

    /// The owner, once the scope's closure has ended: runs every job nobody has taken, in the
    /// order they were spawned, then waits until every worker has let go of its job (the
    /// completion signal). Returns the panic of a job whose handle never joined it, then drops
    /// every job, on this thread.
    pub(crate) fn finish(&self) -> Option<Box<dyn Any + Send>> {
        // The last jobs workers run often end within microseconds of the owner's own: look
        // again for a while before sleeping, which would cost a wake-up on each side.
        let mut backoff = Backoff::new();
        let mut patient = true;
        let mut table = self.table.lock();
        loop {
            if table.unvisited < table.jobs.len() {
                let slot = table.unvisited;
                table.unvisited += 1;
                if let Some(job) = table.take(slot) {
                    drop(table);
                    job.run(Counted::No);
                    table = self.table.lock();
                }
            } else if table.running == 0 {
                break;
            } else if patient {
                drop(table);
                patient = backoff.snooze(FINISH_PATIENCE);
                table = self.table.lock();
            } else {
                self.changed.wait(&mut table);
            }
        }
        let jobs = mem::take(&mut table.jobs);
        drop(table);
        let unjoined = jobs.iter().find_map(|(job, _)| job.take_unjoined_panic());
        // Unjoined results are dropped here, while `'scope` is live; their Drop is user code.
        drop_quietly(jobs);
        unjoined
    }
}

impl Ticket {
    /// Runs the job on the calling worker, if neither the owner nor a joiner has taken it.
    pub(crate) fn run(self) {
        self.jobs.run_on_worker(self.slot);
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // Never drop a job here: by the invariant `finish` has emptied the table, and if it had
        // not, dropping a job could touch borrows of a scope that has ended. Leak it instead.
        for job in self.jobs.drain(..) {
            mem::forget(job);
        }
    }
}
