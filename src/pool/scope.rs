//! `ThreadPool::scope`: jobs that borrow from the caller's stack.
//!
//! A pool's workers live longer than any caller's stack frame, and handing them a borrowed
//! closure needs `unsafe` code, which this crate forbids. So a scope runs its jobs on the
//! calling thread and on up to `workers - 1` helper threads started for the scope (std's scoped
//! threads, joined before `scope` returns). That keeps the parallelism of the pool's size, never
//! waits on the pool's queue (so a scope inside a job always completes), and leaves the pool's
//! own workers to its queued jobs.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::panic::{self, AssertUnwindSafe};

use super::job::{Completion, JobCell, Plain, Task, Unjoined};
use crate::error::JobError;
use crate::sync::{self, Arc, ScopeCondvar as Condvar, ScopeMutex as Mutex, ScopeMutexGuard as MutexGuard};

/// What the scope's threads share.
pub(crate) struct ScopeState<'scope> {
    inner: Mutex<Queue<'scope>>,
    /// Signalled when a job is queued, when the last job ends, and when helpers should stop.
    changed: Condvar,
}

/// The job lists are `ManuallyDrop` so that the scope has no drop glue that borrows `'scope`
/// (the scope is borrowed for exactly `'scope`). `finish` empties both while `'scope` is live,
/// so nothing is ever left inside to leak.
struct Queue<'scope> {
    queued: ManuallyDrop<VecDeque<Arc<dyn Task + 'scope>>>,
    /// Every job of the scope, to find unjoined panics at the end.
    all: ManuallyDrop<Vec<Arc<dyn Unjoined + 'scope>>>,
    /// Jobs spawned and not yet ended.
    unfinished: usize,
    /// The scope's closure has returned and every job has ended: helpers exit.
    done: bool,
}

impl<'scope> ScopeState<'scope> {
    fn new() -> Self {
        ScopeState {
            inner: Mutex::new(Queue {
                queued: ManuallyDrop::new(VecDeque::new()),
                all: ManuallyDrop::new(Vec::new()),
                unfinished: 0,
                done: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn push<F, T>(&self, f: F) -> Arc<JobCell<Plain<F>, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let cell = Arc::new(JobCell::new(Plain(f)));
        let mut inner = self.inner.lock();
        inner.queued.push_back(cell.clone());
        inner.all.push(cell.clone());
        inner.unfinished += 1;
        self.changed.notify_one();
        cell
    }

    /// Runs `task` here if nobody has taken it, and counts it ended if this call ran it.
    pub(crate) fn run(&self, task: &dyn Task) {
        if task.run(None) {
            let mut inner = self.inner.lock();
            inner.unfinished -= 1;
            if inner.unfinished == 0 {
                self.changed.notify_all();
            }
        }
    }

    /// Runs queued jobs until `enough` holds with nothing queued, waiting for more while it
    /// does not; returns with the lock held.
    fn serve(&self, enough: impl Fn(&Queue<'scope>) -> bool) -> MutexGuard<'_, Queue<'scope>> {
        let mut inner = self.inner.lock();
        loop {
            if let Some(task) = inner.queued.pop_front() {
                drop(inner);
                self.run(&*task);
                inner = self.inner.lock();
            } else if enough(&inner) {
                return inner;
            } else {
                self.changed.wait(&mut inner);
            }
        }
    }

    /// A helper thread: run queued jobs until the scope is done.
    fn help(&self) {
        let _done = self.serve(|queue| queue.done);
    }

    /// The calling thread, once the scope's closure returned: run queued jobs and wait until
    /// every job has ended, then release the helpers.
    fn finish(&self) -> Option<Box<dyn Any + Send>> {
        let mut inner = self.serve(|queue| queue.unfinished == 0);
        inner.done = true;
        self.changed.notify_all();
        let all = mem::take(&mut *inner.all);
        let queued = mem::take(&mut *inner.queued);
        drop(inner);
        drop(queued);
        all.iter().find_map(|job| job.take_unjoined_panic())
    }
}

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
    state: ScopeState<'scope>,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Starts a job that may borrow anything that outlives the scope. It runs on the thread
    /// that called `scope` or on one of the scope's helper threads; it has ended before `scope`
    /// returns.
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
        let cell = self.state.push(f);
        ScopedJobHandle { cell, state: &self.state }
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.state.inner.lock();
        f.debug_struct("Scope").field("unfinished", &inner.unfinished).finish_non_exhaustive()
    }
}

/// The handle of a scoped job, from [`Scope::spawn`].
///
/// Joining a job that has not started runs it on the joining thread instead of waiting, so a
/// scope never waits on itself. Dropping the handle detaches the job; it still ends before the
/// scope does.
#[must_use = "dropping a ScopedJobHandle detaches the job; an unjoined panic re-raises at the scope's end"]
pub struct ScopedJobHandle<'scope, T> {
    cell: Arc<dyn Completion<T> + 'scope>,
    state: &'scope ScopeState<'scope>,
}

impl<T> ScopedJobHandle<'_, T> {
    /// Waits for the job (running it here if it has not started) and returns its value.
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
        self.state.run(&*self.cell);
        self.cell.wait(None);
        self.cell.take()
    }

    /// True once the job has finished.
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }
}

impl<T> fmt::Debug for ScopedJobHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJobHandle").field("finished", &self.is_finished()).finish_non_exhaustive()
    }
}

impl Scope<'_, '_> {
    pub(crate) fn new() -> Self {
        Scope { state: ScopeState::new(), scope: PhantomData, env: PhantomData }
    }
}

/// Runs `body` (which hands `scope` to the user's closure) with `helpers` helper threads named
/// `{name}-scope` serving the scope's jobs, and returns once every job has ended. Re-raises
/// the body's panic, or else the panic of a job nobody joined.
pub(crate) fn drive<'scope, R>(
    scope: &'scope Scope<'scope, '_>,
    helpers: usize,
    name: &str,
    body: impl FnOnce() -> R,
) -> R {
    let (result, unjoined) = sync::thread_scope(|threads| {
        for _ in 0..helpers {
            let started = sync::ScopedBuilder::new()
                .name(format!("{name}-scope"))
                .spawn_scoped(threads, || scope.state.help());
            if started.is_err() {
                // Fewer helpers only means less parallelism: the caller runs what is left.
                break;
            }
        }
        let result = panic::catch_unwind(AssertUnwindSafe(body));
        let unjoined = scope.state.finish();
        (result, unjoined)
    });
    match (result, unjoined) {
        (Err(payload), _) | (Ok(_), Some(payload)) => panic::resume_unwind(payload),
        (Ok(value), None) => value,
    }
}
