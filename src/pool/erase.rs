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
//! The completion signal is the state "no slot holds a job and no worker holds one", read under
//! the table's lock by the scope's owner in [`Jobs::finish`]. It holds because:
//!
//! 1. A job leaves its slot exactly once, under the table's lock: taken by a worker, which
//!    counts itself in `running` in the same critical section, or by the scope's owner.
//! 2. A worker runs the job (its panic is caught), drops its reference to the job, and only
//!    then takes the lock again to count itself out of `running`. From that moment it touches
//!    only the `'static` table. So a worker has dropped everything of a job before it signals.
//! 3. The owner, in [`Jobs::finish`], takes every job still in a slot and runs it itself, then
//!    waits until `running` is zero. A job that a running job spawns meanwhile lands in a slot
//!    and wakes the owner, who runs it or waits for the worker that took it. Only then does the
//!    owner return, and only then may `'scope` end.
//! 4. `finish` runs whether the scope's closure returned or panicked: the scope is created and
//!    finished inside `ThreadPool::scope` (and `map`, `try_map`, `try_scope`), which catches the
//!    closure's panic first. The user is only lent a reference to the scope, never owns it, so
//!    `mem::forget` cannot skip the wait. `finish` itself cannot unwind: every piece of user
//!    code it reaches (running a job, dropping one) has its panic caught.
//! 5. After the signal, a ticket still in the queue reaches nothing: its slot is empty, so the
//!    worker that pops it finds no job and only touches the `'static` table.
//!
//! If the invariant were ever broken and a table were dropped with a job still in a slot, that
//! job is leaked, never dropped: dropping it could run code that borrows a finished `'scope`.

#![allow(unsafe_code)]

use std::mem;

use super::job::{drop_quietly, Counted, Task};
use crate::sync::{Arc, Condvar, Mutex};

/// A job of some scope, with its lifetime erased. Only ever run or dropped before its scope's
/// completion signal (see the module's invariant).
type Erased = Arc<dyn Task + 'static>;

/// A scope's job table: every job it spawned, until someone takes it to run.
pub(crate) struct Jobs {
    table: Mutex<Table>,
    /// Signalled when a job is added and when the last worker holding a job lets go of it.
    changed: Condvar,
}

struct Table {
    slots: Vec<Option<Erased>>,
    /// The first slot the owner has not looked at yet: the owner runs jobs in the order they
    /// were spawned, as the queue serves them to workers.
    unvisited: usize,
    /// Jobs workers have taken and not yet dropped.
    running: usize,
}

/// A scoped job's place in the pool's queue: the table and a slot number, `'static`.
pub(crate) struct Ticket {
    jobs: Arc<Jobs>,
    slot: usize,
}

impl Jobs {
    pub(crate) fn new() -> Arc<Jobs> {
        Arc::new(Jobs {
            table: Mutex::new(Table { slots: Vec::new(), unvisited: 0, running: 0 }),
            changed: Condvar::new(),
        })
    }

    /// Adds a job of the scope that owns this table and returns its slot. The caller keeps its
    /// own reference to the job until after [`finish`](Self::finish), so a worker's reference
    /// is never the last one.
    pub(crate) fn push<'scope>(&self, job: Arc<dyn Task + 'scope>) -> usize {
        // SAFETY: only the lifetime bound changes; the layout of the pointer is the same. The
        // erased job is taken out of its slot and dropped before the scope's completion
        // signal, and the scope waits for that signal before `'scope` ends (the module's
        // invariant, points 1 to 4), so it is never used after its borrows end.
        let job = unsafe { mem::transmute::<Arc<dyn Task + 'scope>, Erased>(job) };
        let mut table = self.table.lock();
        let slot = table.slots.len();
        table.slots.push(Some(job));
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
        let job = self.table.lock().slots[slot].take();
        if let Some(job) = job {
            job.run(Counted::No);
            drop_quietly(job);
        }
    }

    /// A worker: runs the job in `slot` if nobody has taken it, dropping it before it signals.
    fn run_on_worker(&self, slot: usize) {
        let job = {
            let mut table = self.table.lock();
            let job = table.slots[slot].take();
            if job.is_some() {
                table.running += 1;
            }
            job
        };
        if let Some(job) = job {
            job.run(Counted::No);
            drop_quietly(job);
            let mut table = self.table.lock();
            table.running -= 1;
            if table.running == 0 {
                self.changed.notify_all();
            }
        }
    }

    /// The owner, once the scope's closure has ended: runs every job no worker has taken, in
    /// the order they were spawned, then waits until every worker has let go of its job. On return the
    /// completion signal holds: no slot holds a job and no worker holds one.
    pub(crate) fn finish(&self) {
        let mut table = self.table.lock();
        loop {
            if table.unvisited < table.slots.len() {
                let slot = table.unvisited;
                table.unvisited += 1;
                if let Some(job) = table.slots[slot].take() {
                    drop(table);
                    job.run(Counted::No);
                    drop_quietly(job);
                    table = self.table.lock();
                }
            } else if table.running == 0 {
                break;
            } else {
                self.changed.wait(&mut table);
            }
        }
        debug_assert!(table.slots.iter().all(Option::is_none), "a scoped job outlived its scope's end");
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
        // Never drop a job here: by the invariant every slot is empty, and if one were not,
        // dropping its job could touch borrows of a scope that has ended. Leak it instead.
        for job in self.slots.drain(..).flatten() {
            mem::forget(job);
        }
    }
}
