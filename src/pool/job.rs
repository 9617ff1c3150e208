//! A job and the cell that carries its result: one allocation holds the closure, its state and
//! its result, shared by the queue and the handle.
//!
//! A cell moves through `Pending -> Running -> Done -> Taken`, or `Pending -> Done` when it is
//! cancelled. Every transition happens under the cell's own lock, so starting and cancelling
//! are decided once: exactly one of them wins. The lock is never held while the job runs.

use std::any::Any;
use std::borrow::Cow;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::cancel::CancelToken;
use super::erase::Ticket;
use super::fire::Fire;
use super::stats::{Outcome, Tally};
use crate::deadline::{wait_while, Deadline};
use crate::error::JobError;
use crate::sync::{Arc, AtomicBool, Backoff, Condvar, Mutex, Ordering};

/// How long a joiner keeps checking for the result before it parks.
const JOIN_PATIENCE: Duration = Duration::from_micros(20);

/// What the queue holds.
pub(crate) enum Job {
    /// From `execute`: no handle, one box (reused; see `fire`).
    Fire(Box<dyn Fire>),
    /// From `spawn`: a cell shared with the handle.
    Task(Arc<dyn Task>),
    /// From a scope, `map` or `try_scope`: a slot in the scope's job table (see `erase`).
    Scoped(Ticket),
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Fire(_) => f.write_str("Job::Fire"),
            Job::Task(_) => f.write_str("Job::Task"),
            Job::Scoped(_) => f.write_str("Job::Scoped"),
        }
    }
}

/// A job in the queue, with the time it was queued when the pool records latency and its name
/// when it has one.
///
/// Kept to three words: the queue stores items in blocks of 31 and a block of 31 three-word
/// items plus their state words stays under 1 KiB, the size from which glibc's allocator
/// serves a request by first merging every freed small chunk (which a stream of jobs freed on
/// other threads makes slow). So the timestamp and the name, needed only when latency is
/// recorded or the job was named, are boxed.
#[derive(Debug)]
pub(crate) enum Queued {
    Job(Job),
    Extra(Box<Extra>),
}

/// A queued job with its timestamp or name.
#[derive(Debug)]
pub(crate) struct Extra {
    job: Job,
    at: Option<Instant>,
    name: Option<Cow<'static, str>>,
}

const _: () = assert!(std::mem::size_of::<Queued>() <= 3 * std::mem::size_of::<usize>());

impl Queued {
    /// A queued job, stamped with the time now if `record` is set, with its name if any.
    pub(crate) fn new(job: Job, record: bool, name: Option<Cow<'static, str>>) -> Self {
        if record || name.is_some() {
            let at = record.then(Instant::now);
            Queued::Extra(Box::new(Extra { job, at, name }))
        } else {
            Queued::Job(job)
        }
    }

    /// The job, when it was queued (if that was recorded) and its name.
    pub(crate) fn into_parts(self) -> (Job, Option<Instant>, Option<Cow<'static, str>>) {
        match self {
            Queued::Job(job) => (job, None, None),
            Queued::Extra(extra) => {
                let Extra { job, at, name } = *extra;
                (job, at, name)
            }
        }
    }
}

/// Where a job's run is counted.
#[derive(Clone, Copy)]
pub(crate) enum Counted<'a> {
    /// A job the pool accepted from `spawn`, `execute` and friends: counted in this tally.
    In(&'a Tally),
    /// A scoped job (of `scope`, `map`, `try_scope`): part of the call that made it, which the
    /// caller sees end, so not counted in the pool's statistics.
    No,
}

impl Counted<'_> {
    /// The one way every job runs: counted as started, called with its panic caught, counted
    /// as ended. A panic goes to `panicked` first, whose value is returned: it runs before the
    /// job is counted, so whoever sees the count sees what `panicked` did (a panic handler's
    /// effects, a handle's payload).
    pub(crate) fn run<R>(self, f: impl FnOnce() -> R, panicked: impl FnOnce(Box<dyn Any + Send>) -> R) -> R {
        let Counted::In(tally) = self else {
            return panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(panicked);
        };
        tally.started();
        let started = tally.run_started();
        let ran = panic::catch_unwind(AssertUnwindSafe(f));
        // Recorded before the job is counted ended, like the counters.
        tally.run_ended(started);
        let (value, outcome) = match ran {
            Ok(value) => (value, Outcome::Completed),
            Err(payload) => (panicked(payload), Outcome::Panicked),
        };
        tally.ended(outcome, true);
        value
    }

    /// Counts a job that will never run.
    pub(crate) fn cancelled(self) {
        if let Counted::In(tally) = self {
            tally.ended(Outcome::Cancelled, false);
        }
    }
}

/// The queue's and the scope's view of a cell.
pub(crate) trait Task: Send + Sync {
    /// Runs the job here and now if it has not started; otherwise does nothing. True when this
    /// call took the job (ran it, or found its token cancelled and ended it).
    fn run(&self, counted: Counted<'_>) -> bool;
    /// Cancels the job if it has not started. True if this call cancelled it.
    fn cancel(&self, counted: Counted<'_>) -> bool;
    /// Neither started, nor ended, nor cancelled yet.
    fn is_pending(&self) -> bool;
    /// At a scope's end: the panic of a job whose handle never joined it.
    fn take_unjoined_panic(&self) -> Option<Box<dyn Any + Send>>;
}

/// The handle's view of a cell (it knows `T`, not the closure type).
pub(crate) trait Completion<T>: Task {
    fn is_finished(&self) -> bool;
    /// Waits until the job is done or `deadline` passes; true when done.
    fn wait(&self, deadline: Deadline) -> bool;
    /// Takes the result of a finished job.
    fn take(&self) -> Result<T, JobError>;
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, JobError>>;
}

/// How a cell calls its closure: with no argument, or with the job's cancel token (which the
/// closure's wrapper carries, so that jobs without one do not pay for it in their cell).
pub(crate) trait JobFn<T>: Send {
    /// True when the job must not start: its token was cancelled.
    fn cancelled(&self) -> bool {
        false
    }
    fn call(self) -> T;
}

/// A closure of `spawn`, `execute` or a scope: `FnOnce() -> T`.
pub(crate) struct Plain<F>(pub(crate) F);

impl<F: FnOnce() -> T + Send, T> JobFn<T> for Plain<F> {
    fn call(self) -> T {
        (self.0)()
    }
}

/// A closure of `spawn_with`: `FnOnce(&CancelToken) -> T`, with the token it is called with. A
/// job whose token is cancelled before it starts never runs.
pub(crate) struct WithToken<F> {
    pub(crate) f: F,
    pub(crate) token: CancelToken,
}

impl<F: FnOnce(&CancelToken) -> T + Send, T> JobFn<T> for WithToken<F> {
    fn cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    fn call(self) -> T {
        (self.f)(&self.token)
    }
}

enum Stage<F, T> {
    Pending(F),
    Running,
    Done(Result<T, JobError>),
    Taken,
}

struct CellState<F, T> {
    stage: Stage<F, T>,
    /// The task awaiting the handle. Boxed: a cell lives as long as its handle, and callers
    /// that hold many handles (spawn a batch, then join it) should not pay a second word for
    /// every job that is never awaited.
    waker: Option<Box<Waker>>,
}

/// The shared allocation behind a `spawn`ed or scoped job. Kept small, for the same reason as
/// the boxed waker: with a small closure and result, the cell and its reference counts take 72
/// bytes.
pub(crate) struct JobCell<F, T> {
    state: Mutex<CellState<F, T>>,
    /// Threads blocked in `wait`. Notifying it with nobody waiting costs one load.
    done: Condvar,
    /// Set (under the lock) when the result is stored: lets `is_finished` and a spinning
    /// joiner look without taking the lock.
    finished: AtomicBool,
}

impl<F, T> JobCell<F, T>
where
    F: JobFn<T>,
    T: Send,
{
    pub(crate) fn new(f: F) -> Self {
        JobCell {
            state: Mutex::new(CellState { stage: Stage::Pending(f), waker: None }),
            done: Condvar::new(),
            finished: AtomicBool::new(false),
        }
    }

    /// Gives the closure back from a cell nobody else holds (a refused submission).
    pub(crate) fn into_closure(self) -> Option<F> {
        match self.state.into_inner().stage {
            Stage::Pending(f) => Some(f),
            _ => None,
        }
    }

    /// Stores the result and wakes whoever waits. Counters are updated before this.
    fn finish(&self, result: Result<T, JobError>) {
        let waker = {
            let mut state = self.state.lock();
            state.stage = Stage::Done(result);
            // ORDERING: Release publishes the result to whoever reads the flag with Acquire
            // (they still take the lock to move it out).
            self.finished.store(true, Ordering::Release);
            self.done.notify_all();
            state.waker.take()
        };
        if let Some(waker) = waker {
            (*waker).wake();
        }
    }
}

impl<F, T> Task for JobCell<F, T>
where
    F: JobFn<T>,
    T: Send,
{
    fn run(&self, counted: Counted<'_>) -> bool {
        let f = {
            let mut state = self.state.lock();
            match mem::replace(&mut state.stage, Stage::Running) {
                Stage::Pending(f) => f,
                other => {
                    state.stage = other;
                    return false;
                }
            }
        };
        if f.cancelled() {
            drop_quietly(f);
            counted.cancelled();
            self.finish(Err(JobError::cancelled()));
            return true;
        }
        let result = counted.run(move || Ok(f.call()), |payload| Err(JobError::panic(payload)));
        self.finish(result);
        true
    }

    fn cancel(&self, counted: Counted<'_>) -> bool {
        let (f, waker) = {
            let mut state = self.state.lock();
            if !matches!(state.stage, Stage::Pending(_)) {
                return false;
            }
            counted.cancelled();
            let f = mem::replace(&mut state.stage, Stage::Done(Err(JobError::cancelled())));
            // ORDERING: as in `finish`.
            self.finished.store(true, Ordering::Release);
            self.done.notify_all();
            (f, state.waker.take())
        };
        if let Some(waker) = waker {
            (*waker).wake();
        }
        // The closure's captures are dropped outside the lock: their Drop may do anything.
        drop_quietly(f);
        true
    }

    fn is_pending(&self) -> bool {
        matches!(self.state.lock().stage, Stage::Pending(_))
    }

    fn take_unjoined_panic(&self) -> Option<Box<dyn Any + Send>> {
        let mut state = self.state.lock();
        match mem::replace(&mut state.stage, Stage::Taken) {
            Stage::Done(Err(e)) if e.is_panic() => Some(e.into_panic()),
            other => {
                state.stage = other;
                None
            }
        }
    }
}

impl<F, T> Completion<T> for JobCell<F, T>
where
    F: JobFn<T>,
    T: Send,
{
    fn is_finished(&self) -> bool {
        // ORDERING: Acquire pairs with the Release stores in `finish` and `cancel`.
        self.finished.load(Ordering::Acquire)
    }

    fn wait(&self, deadline: Deadline) -> bool {
        if self.is_finished() {
            return true;
        }
        // Short jobs often finish within microseconds: look again for a while before parking.
        let mut backoff = Backoff::new();
        while backoff.snooze(JOIN_PATIENCE) {
            if self.is_finished() {
                return true;
            }
            if deadline.passed() {
                break;
            }
        }
        let mut state = self.state.lock();
        wait_while(&self.done, &mut state, deadline, |state| {
            !matches!(state.stage, Stage::Done(_) | Stage::Taken)
        })
    }

    fn take(&self) -> Result<T, JobError> {
        match mem::replace(&mut self.state.lock().stage, Stage::Taken) {
            Stage::Done(result) => result,
            // Callers wait for `Done` first; only polling to completion can have taken it.
            _ => panic!("boundpool: the job's result was already taken by polling the handle to completion"),
        }
    }

    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, JobError>> {
        let mut state = self.state.lock();
        match mem::replace(&mut state.stage, Stage::Taken) {
            Stage::Done(result) => Poll::Ready(result),
            Stage::Taken => panic!("boundpool: JobHandle polled after it returned Ready"),
            other => {
                state.stage = other;
                match &mut state.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    Some(w) => **w = cx.waker().clone(),
                    slot => *slot = Some(Box::new(cx.waker().clone())),
                }
                Poll::Pending
            }
        }
    }
}

/// Drops a value whose Drop is user code without letting a panic in it escape.
pub(crate) fn drop_quietly<V>(value: V) {
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Drops a panic payload; a payload whose own Drop panics must not take a worker down.
pub(crate) fn drop_payload(payload: Box<dyn Any + Send>) {
    drop_quietly(payload);
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::{JobCell, Plain};

    fn cell_size<F: FnOnce() -> u64>(_: &F) -> usize {
        std::mem::size_of::<JobCell<Plain<F>, u64>>()
    }

    /// A caller holding a batch of handles keeps one cell per job alive: a closure capturing
    /// two words and a `u64` result must fit a 56-byte cell, 72 bytes with the reference counts.
    #[test]
    fn a_small_job_keeps_a_small_cell() {
        let (index, rounds) = (5usize, 3u32);
        let job = move || index as u64 + u64::from(rounds);
        assert!(cell_size(&job) <= 56, "{} bytes", cell_size(&job));
    }
}
