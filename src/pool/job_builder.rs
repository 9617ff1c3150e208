//! `JobBuilder`: options for one job (its name), then the usual submission calls.

use std::borrow::Cow;
use std::fmt;

use super::job::Plain;
use super::queue::Refusal;
use super::{JobHandle, Room, ThreadPool};
use crate::deadline::Deadline;
use crate::error::{SubmitError, TrySubmitError};

/// Options for one job, from [`ThreadPool::job`]. A named job shows its name in
/// [`ThreadPool::dump`] and in the slow-job watchdog's [`SlowJob`](crate::SlowJob) reports. The
/// submission calls behave exactly as the pool's own (blocking, refusal, caller-runs). A
/// `&'static str` name is not copied; a job without a name costs nothing extra.
///
/// ```
/// let pool = boundpool::ThreadPool::new(2)?;
/// pool.job().name("warm cache").execute(|| ()).unwrap();
/// let file = String::from("a.png");
/// let handle = pool.job().name(format!("resize {file}")).spawn(move || file.len()).unwrap();
/// assert_eq!(handle.join().unwrap(), 5);
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[must_use = "a job builder submits nothing until spawn, try_spawn or execute is called"]
pub struct JobBuilder<'a> {
    pool: &'a ThreadPool,
    name: Option<Cow<'static, str>>,
}

impl fmt::Debug for JobBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobBuilder").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<'a> JobBuilder<'a> {
    pub(crate) fn new(pool: &'a ThreadPool) -> Self {
        JobBuilder { pool, name: None }
    }

    /// Names the job.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// pool.job().name("nightly report").execute(|| ()).unwrap();
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// As [`ThreadPool::spawn`]: blocks while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure when the pool is shut down.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// assert_eq!(pool.job().name("add").spawn(|| 1 + 1).unwrap().join().unwrap(), 2);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn spawn<F, T>(self, f: F) -> Result<JobHandle<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.pool
            .submit(Plain(f), Room::Wait(Deadline::Never), self.name)
            .map_err(|(_, Plain(f))| SubmitError(f))
    }

    /// As [`ThreadPool::try_spawn`]: never blocks.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] or [`TrySubmitError::Shutdown`], with the closure.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// if let Ok(handle) = pool.job().name("probe").try_spawn(|| 7) {
    ///     assert_eq!(handle.join().unwrap(), 7);
    /// }
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn try_spawn<F, T>(self, f: F) -> Result<JobHandle<T>, TrySubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.pool.submit(Plain(f), Room::Refuse, self.name).map_err(|(refusal, Plain(f))| match refusal {
            Refusal::Full => TrySubmitError::Full(f),
            Refusal::Closed => TrySubmitError::Shutdown(f),
        })
    }

    /// As [`ThreadPool::execute`]: no handle; blocks while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure when the pool is shut down.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(1)?;
    /// pool.job().name("flush").execute(|| ()).unwrap();
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn execute<F>(self, f: F) -> Result<(), SubmitError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        self.pool.submit_fire(f, Room::Wait(Deadline::Never), self.name).map_err(|(_, f)| SubmitError(f))
    }
}
