//! `try_scope` and `spawn_with`: Go's errgroup and context, for the pool.

use std::fmt;

use super::cancel::CancelToken;
use super::job::WithToken;
use super::scope::{self, Scope};
use super::{JobHandle, Room, ThreadPool};
use crate::deadline::Deadline;
use crate::error::SubmitError;
use crate::sync::Mutex;

/// A group of fallible scoped jobs that share a [`CancelToken`], from
/// [`ThreadPool::try_scope`]: Go's `errgroup.WithContext`, with borrowing.
///
/// The first job to return `Err` cancels the group's token: jobs of the group that have not
/// started yet are skipped, running ones can watch [`CancelToken::is_cancelled`], and
/// `try_scope` returns that first error once every job has ended.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::new(2)?;
/// let inputs = ["1", "2", "x", "4"];
/// let result = pool.try_scope(|g| {
///     for s in &inputs {
///         g.spawn(move |_token| s.parse::<u32>().map(drop).map_err(|e| format!("{s}: {e}")));
///     }
/// });
/// assert_eq!(result.unwrap_err(), "x: invalid digit found in string");
/// # Ok::<(), boundpool::BuildError>(())
/// ```
pub struct TryScope<'scope, 'env: 'scope, E> {
    scope: Scope<'scope, 'env>,
    group: Group<E>,
}

/// What the jobs of an error group share: the token and the first error. Kept apart from the
/// scope's threads so that the loom models can race its members on loom threads.
#[doc(hidden)]
pub struct Group<E> {
    token: CancelToken,
    first_error: Mutex<Option<E>>,
}

impl<E> Group<E> {
    /// A group with a fresh token and no error.
    pub fn new() -> Self {
        Group { token: CancelToken::new(), first_error: Mutex::new(None) }
    }

    /// Runs one member job unless the group is cancelled; true if it started. Its error, if
    /// it is the first, is kept, and cancels the group.
    pub fn run(&self, f: impl FnOnce(&CancelToken) -> Result<(), E>) -> bool {
        if self.token.is_cancelled() {
            return false;
        }
        if let Err(e) = f(&self.token) {
            let mut first = self.first_error.lock();
            if first.is_none() {
                *first = Some(e);
            }
            drop(first);
            self.token.cancel();
        }
        true
    }

    /// The group's token.
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    /// Takes the first error, if a member failed.
    pub fn take_error(&self) -> Option<E> {
        self.first_error.lock().take()
    }
}

impl<E> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("cancelled", &self.token.is_cancelled())
            .field("failed", &self.first_error.lock().is_some())
            .finish()
    }
}

impl<'scope, 'env, E: Send> TryScope<'scope, 'env, E> {
    /// Starts a fallible job of the group. It runs unless the group's token is cancelled
    /// before it starts (by an earlier error, or by the caller through [`token`](Self::token)).
    /// It gets the token to check while it works.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(2)?;
    /// let result: Result<(), String> = pool.try_scope(|g| {
    ///     g.spawn(|token| {
    ///         for _step in 0..1000 {
    ///             if token.is_cancelled() {
    ///                 return Ok(()); // someone else failed: stop early
    ///             }
    ///         }
    ///         Ok(())
    ///     });
    ///     g.spawn(|_| Err("lost the connection".to_string()));
    /// });
    /// assert_eq!(result.unwrap_err(), "lost the connection");
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn spawn<F>(&'scope self, f: F)
    where
        F: FnOnce(&CancelToken) -> Result<(), E> + Send + 'scope,
    {
        // The handle is dropped: a job's panic re-raises at the end of `try_scope`.
        let _detached = self.scope.spawn(move || {
            self.group.run(f);
        });
    }

    /// The group's token: cancelled by the first error. Cancel it yourself to stop the group;
    /// then `try_scope` returns `Ok` unless a job failed.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let outcome: Result<(), ()> = pool.try_scope(|g| {
    ///     g.token().cancel();
    ///     g.spawn(|_| panic!("skipped: the token was cancelled before it started"));
    /// });
    /// assert!(outcome.is_ok());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn token(&self) -> &CancelToken {
        self.group.token()
    }
}

impl<E> fmt::Debug for TryScope<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryScope").field("group", &self.group).finish_non_exhaustive()
    }
}

impl ThreadPool {
    /// Runs `f` with a [`TryScope`]: scoped jobs that may fail, sharing a [`CancelToken`]. The
    /// first `Err` cancels the token (jobs not yet started are skipped) and is returned once
    /// every job has ended; otherwise `Ok` with `f`'s value. Jobs run as in
    /// [`scope`](Self::scope), and may borrow from the caller.
    ///
    /// # Errors
    ///
    /// The first error a job returned.
    ///
    /// # Panics
    ///
    /// As [`scope`](Self::scope): a panic in `f` or in a job re-raises after every job ended.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = ThreadPool::new(2)?;
    /// let checked = AtomicUsize::new(0);
    /// let files = ["a.txt", "b.txt", "c.txt"];
    /// let all_ok: Result<(), String> = pool.try_scope(|g| {
    ///     for name in files {
    ///         let checked = &checked;
    ///         g.spawn(move |_| {
    ///             checked.fetch_add(1, Ordering::Relaxed);
    ///             if name.ends_with(".txt") { Ok(()) } else { Err(format!("bad name {name}")) }
    ///         });
    ///     }
    /// });
    /// assert!(all_ok.is_ok());
    /// assert_eq!(checked.into_inner(), 3);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn try_scope<'env, F, R, E>(&self, f: F) -> Result<R, E>
    where
        F: for<'scope> FnOnce(&'scope TryScope<'scope, 'env, E>) -> R,
        E: Send,
    {
        let group = TryScope { scope: Scope::new(&self.shared), group: Group::new() };
        let value = scope::drive(&group.scope, || f(&group));
        // Taken through the lock: `group` stays borrowed for as long as its type names 'scope.
        let first_error = group.group.take_error();
        match first_error {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }

    /// Submits a job tied to `token`: if the token is cancelled before the job starts, the job
    /// never runs, its handle reports [`is_cancelled`](crate::JobError::is_cancelled) and
    /// [`Stats::cancelled`](crate::Stats::cancelled) counts it. The job gets the token, to
    /// stop early if it is cancelled while running. Blocks while the queue is full, as
    /// [`spawn`](Self::spawn) does (caller-runs included).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure when the pool is shut down.
    ///
    /// ```
    /// use boundpool::{CancelToken, ThreadPool};
    ///
    /// let pool = ThreadPool::new(1)?;
    /// let token = CancelToken::new();
    /// token.cancel();
    /// let handle = pool.spawn_with(&token, |_| "never runs").unwrap();
    /// assert!(handle.join().unwrap_err().is_cancelled());
    /// assert_eq!(pool.stats().cancelled, 1);
    ///
    /// let live = CancelToken::new();
    /// let handle = pool.spawn_with(&live, |t| if t.is_cancelled() { 0 } else { 1 }).unwrap();
    /// assert_eq!(handle.join().unwrap(), 1);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn spawn_with<F, T>(&self, token: &CancelToken, f: F) -> Result<JobHandle<T>, SubmitError<F>>
    where
        F: FnOnce(&CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(WithToken { f, token: token.clone() }, Room::Wait(Deadline::Never), None)
            .map_err(|(_, WithToken { f, .. })| SubmitError(f))
    }
}
