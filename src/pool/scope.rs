//! `ThreadPool::scope`: jobs that borrow from the caller's stack, run on the pool's workers.
//!
//! A scoped job goes into the scope's job table (see `erase`, which holds the invariant that
//! makes this sound) and, if the pool's queue has room, a ticket for it goes into the queue. A
//! worker that pops the ticket runs the job unless someone took it first. The scope's own
//! thread takes the rest: a joiner runs the job it joins if nobody has started it, and once the
//! scope's closure has ended, the owner runs every job no worker has started and waits for the
//! ones that workers run. No scoped spawn ever blocks and no scope ever waits for a job that
//! only a queue can deliver, so scopes nest anywhere without deadlock.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

use super::erase::Jobs;
use super::job::{Completion, Job, JobCell, Plain};
use super::Shared;
use crate::deadline::Deadline;
use crate::error::JobError;
use crate::sync::Arc;

/// A scope for jobs that borrow from the caller, from [`ThreadPool::scope`](crate::ThreadPool::scope).
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(2)?;
/// let words = vec!["bounded", "pool"];
/// let mut lengths = Vec::new();
/// pool.scope(|s| {
///     let handles: Vec<_> = words.iter().map(|w| s.spawn(move || w.len())).collect();
///     lengths = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// });
/// assert_eq!(lengths, [7, 4]);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    shared: &'scope Shared,
    /// Every job of the scope (see `erase` for why the scope waits for all of them).
    jobs: Arc<Jobs>,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Starts a job that may borrow anything that outlives the scope. It runs on one of the
    /// pool's workers, or on the thread that called `scope`; it has ended before `scope`
    /// returns. This never blocks: when the pool's queue is full (or the pool is shut down),
    /// the job waits with the scope and the calling thread runs it when it joins the job or
    /// when the scope's closure ends.
    ///
    /// If the job panics, [`join`](ScopedJobHandle::join) returns the panic; if the handle is
    /// never joined, `scope` re-raises it after every job has ended.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(2)?;
    /// let mut left = vec![1, 2, 3];
    /// let mut right = vec![4, 5, 6];
    /// pool.scope(|s| {
    ///     s.spawn(|| left.iter_mut().for_each(|x| *x *= 10));
    ///     s.spawn(|| right.iter_mut().for_each(|x| *x += 1));
    /// });
    /// assert_eq!((left, right), (vec![10, 20, 30], vec![5, 6, 7]));
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJobHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let cell = Arc::new(JobCell::new(Plain(f)));
        let slot = self.jobs.push(cell.clone());
        self.offer(slot);
        ScopedJobHandle { cell, jobs: &self.jobs, slot }
    }

    /// Puts a ticket for `slot` in the pool's queue if it has room. Never waits.
    fn offer(&self, slot: usize) {
        if let Ok(depth) = self.shared.queue.try_reserve() {
            self.shared.counters.scoped_queued(depth);
            self.shared.enqueue(Job::Scoped(self.jobs.ticket(slot)), None);
        }
    }

    pub(crate) fn new(shared: &'scope Shared) -> Self {
        Scope { shared, jobs: Jobs::new(), scope: PhantomData, env: PhantomData }
    }

    /// Once the scope's closure has ended: runs or waits for every job (the completion signal,
    /// see `erase`), then returns the panic of a job nobody joined, if any.
    fn finish(&self) -> Option<Box<dyn Any + Send>> {
        self.jobs.finish()
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

/// The handle of a scoped job, from [`Scope::spawn`].
///
/// Joining a job that no worker has started runs it on the joining thread instead of waiting,
/// so a scope never waits on itself. Dropping the handle detaches the job; it still ends before
/// the scope does.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(2)?;
/// let total = pool.scope(|s| {
///     let a = s.spawn(|| 20);
///     let b = s.spawn(|| 22);
///     a.join().unwrap() + b.join().unwrap()
/// });
/// assert_eq!(total, 42);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[must_use = "dropping a ScopedJobHandle detaches the job; an unjoined panic re-raises at the scope's end"]
pub struct ScopedJobHandle<'scope, T> {
    cell: Arc<dyn Completion<T> + 'scope>,
    jobs: &'scope Jobs,
    slot: usize,
}

impl<T> ScopedJobHandle<'_, T> {
    /// Waits for the job (running it here if no worker has started it) and returns its value.
    ///
    /// # Errors
    ///
    /// A [`JobError`] with the payload when the job panicked; the panic then counts as joined
    /// and `scope` does not re-raise it.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(2)?;
    /// let data = [1, 2, 3];
    /// let sum = pool.scope(|s| s.spawn(|| data.iter().sum::<i32>()).join().unwrap());
    /// assert_eq!(sum, 6);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn join(self) -> Result<T, JobError> {
        self.jobs.run_here(self.slot);
        self.cell.wait(Deadline::Never);
        self.cell.take()
    }

    /// True once the job has finished (it ran or panicked).
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(1)?;
    /// pool.scope(|s| {
    ///     let handle = s.spawn(|| 1);
    ///     while !handle.is_finished() {
    ///         std::thread::yield_now(); // a worker runs it meanwhile
    ///     }
    ///     assert_eq!(handle.join().unwrap(), 1);
    /// });
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }
}

impl<T> fmt::Debug for ScopedJobHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJobHandle").field("finished", &self.is_finished()).finish_non_exhaustive()
    }
}

/// Runs `body` (which hands `scope` to the user's closure), then finishes the scope: returns
/// once every job has ended, whether `body` returned or panicked. Re-raises the body's panic,
/// or else the panic of a job nobody joined.
pub(crate) fn drive<'scope, R>(scope: &'scope Scope<'scope, '_>, body: impl FnOnce() -> R) -> R {
    let result = panic::catch_unwind(AssertUnwindSafe(body));
    let unjoined = scope.finish();
    match (result, unjoined) {
        (Err(payload), _) | (Ok(_), Some(payload)) => panic::resume_unwind(payload),
        (Ok(value), None) => value,
    }
}
