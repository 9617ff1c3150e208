//! Async backpressure: [`ThreadPool::reserve`] waits for a queue slot without blocking the
//! thread and resolves to a [`Permit`] that holds it; `spawn_async` and `execute_async` are the
//! one-call forms.
//!
//! A waiting future sits in the same first-come, first-served line as threads blocked in
//! `spawn` (see `room.rs`), woken through its `Waker`: no runtime is needed. Every future here
//! is cancel-safe: dropped while it waits, it leaves the line, and a slot granted to it
//! meanwhile goes to the next in line (or back to the queue). A dropped `spawn_async` future
//! drops its closure unrun; nothing is counted.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::job::{Counted, Job, JobCell, Plain, Task};
use super::queue::Refusal;
use super::{fire, worker, JobHandle, ThreadPool};
use crate::error::{Closed, SubmitError};
use crate::sync::Arc;

/// One reserved slot in a pool's queue: submitting through it cannot fail or wait.
///
/// Made by [`ThreadPool::reserve`]. [`spawn`](Self::spawn) and [`execute`](Self::execute) fill
/// the slot; dropping the permit unused gives the slot back and admits the next waiter. A
/// permit is counted among the queued jobs (and as submitted) while it holds its slot, so hold
/// it briefly. Workers wait for a held slot before they exit at shutdown.
///
/// Reserved on one of the pool's own workers while the queue was full, a permit holds no slot:
/// its job runs inline on the calling thread (caller-runs), as `spawn` does there.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::builder().workers(1).queue_capacity(1).build()?;
/// let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// let answer = rt.block_on(async {
///     let permit = pool.reserve().await?; // waits for room without blocking the thread
///     Ok::<_, Box<dyn std::error::Error>>(permit.spawn(|| 6 * 7).await?)
/// })?;
/// assert_eq!(answer, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Permit<'a> {
    pool: &'a ThreadPool,
    /// Holds a slot (false: the job runs inline, see above).
    slot: bool,
}

impl<'a> Permit<'a> {
    /// Submits a job into the reserved slot and returns its handle.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// let handle = rt.block_on(pool.reserve())?.spawn(|| "done");
    /// assert_eq!(handle.join()?, "done");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn<F, T>(self, f: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &self.pool.shared;
        let cell = Arc::new(JobCell::<Plain<F>, T>::new(Plain(f)));
        if self.take_slot() {
            shared.enqueue(Job::Task(cell.clone()), None);
        } else {
            shared.counters.submitted_inline();
            cell.run(Counted::In(worker::tally(shared)));
        }
        JobHandle::new(cell, Arc::clone(shared))
    }

    /// Submits a job without a handle into the reserved slot.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let ran = Arc::new(AtomicUsize::new(0));
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// let r = ran.clone();
    /// rt.block_on(pool.reserve())?.execute(move || {
    ///     r.fetch_add(1, Ordering::SeqCst);
    /// });
    /// pool.shutdown();
    /// assert_eq!(ran.load(Ordering::SeqCst), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute<F>(self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let shared = &self.pool.shared;
        let boxed = fire::boxed(f, &shared.spares);
        if self.take_slot() {
            shared.enqueue(Job::Fire(boxed), None);
        } else {
            shared.counters.submitted_inline();
            worker::run_job(shared, worker::tally(shared), Job::Fire(boxed), None);
        }
    }

    /// Whether the permit holds a slot, which the caller now fills (the drop no longer gives
    /// it back).
    fn take_slot(mut self) -> bool {
        std::mem::replace(&mut self.slot, false)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.slot {
            self.pool.shared.queue.unreserve();
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("pool", &self.pool.name()).field("inline", &!self.slot).finish()
    }
}

/// Where a [`Reserve`] future is.
enum State {
    Start,
    Waiting(u64),
    Done,
}

/// The future of [`ThreadPool::reserve`].
pub(crate) struct Reserve<'a> {
    pool: &'a ThreadPool,
    state: State,
}

impl<'a> Reserve<'a> {
    pub(crate) fn new(pool: &'a ThreadPool) -> Self {
        Reserve { pool, state: State::Start }
    }

    fn resolve(&mut self, admitted: Result<Option<usize>, Refusal>) -> Poll<Result<Permit<'a>, Closed>> {
        self.state = State::Done;
        Poll::Ready(match admitted {
            Ok(depth) => {
                if let Some(depth) = depth {
                    self.pool.shared.counters.observe_depth(depth);
                }
                Ok(Permit { pool: self.pool, slot: true })
            }
            Err(_) => Err(Closed),
        })
    }
}

impl<'a> Future for Reserve<'a> {
    type Output = Result<Permit<'a>, Closed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = &this.pool.shared;
        match this.state {
            State::Start => match shared.queue.try_reserve() {
                Err(Refusal::Full) if worker::is_worker_of(shared) => {
                    // Never wait on our own pool: the job will run inline.
                    this.state = State::Done;
                    Poll::Ready(Ok(Permit { pool: this.pool, slot: false }))
                }
                Err(Refusal::Full) => {
                    let ticket = shared.queue.join_room(cx.waker());
                    this.state = State::Waiting(ticket);
                    match shared.queue.poll_room(ticket, cx.waker()) {
                        Some(admission) => this.resolve(admission.into_result()),
                        None => Poll::Pending,
                    }
                }
                done => this.resolve(done),
            },
            State::Waiting(ticket) => match shared.queue.poll_room(ticket, cx.waker()) {
                Some(admission) => this.resolve(admission.into_result()),
                None => Poll::Pending,
            },
            State::Done => panic!("boundpool: a reserve future polled after it resolved"),
        }
    }
}

impl Drop for Reserve<'_> {
    fn drop(&mut self) {
        if let State::Waiting(ticket) = self.state {
            self.pool.shared.queue.leave_room(ticket);
        }
    }
}

impl ThreadPool {
    /// Waits for a slot in the queue without blocking the thread, and resolves to a [`Permit`]
    /// holding it (the shape of tokio's `mpsc::Sender::reserve`). Needs no runtime: the future
    /// is woken through its `Waker`.
    ///
    /// Blocked threads and waiting tasks are admitted in arrival order. Called from one of this
    /// pool's own jobs while the queue is full, it resolves at once to a permit whose job runs
    /// inline (caller-runs), so a pool never waits on itself.
    ///
    /// Cancel-safe: dropping the future before it resolves gives a slot granted meanwhile to
    /// the next waiter; nothing is lost or counted.
    ///
    /// # Errors
    ///
    /// [`Closed`] if the pool is shut down, or shuts down while this waits.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().workers(2).queue_capacity(8).build()?;
    /// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build()?;
    /// let sum = rt.block_on(async {
    ///     let mut handles = Vec::new();
    ///     for i in 0..100u64 {
    ///         let permit = pool.reserve().await?; // backpressure: waits while 8 are queued
    ///         handles.push(permit.spawn(move || i * i));
    ///     }
    ///     let mut sum = 0;
    ///     for handle in handles {
    ///         sum += handle.await?;
    ///     }
    ///     Ok::<u64, Box<dyn std::error::Error>>(sum)
    /// })?;
    /// assert_eq!(sum, (0..100u64).map(|i| i * i).sum::<u64>());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reserve(&self) -> impl Future<Output = Result<Permit<'_>, Closed>> + Send + '_ {
        Reserve::new(self)
    }

    /// Waits for room without blocking the thread, then submits the job and returns its
    /// [`JobHandle`] (which is itself a future). `reserve().await` then [`Permit::spawn`].
    ///
    /// Dropping the future before it resolves withdraws the submission: the closure is dropped
    /// unrun and nothing is counted. From one of this pool's own jobs on a full queue the job
    /// runs inline, as with [`spawn`](Self::spawn).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure if the pool is shut down, or shuts down while this
    /// waits.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// let len = rt.block_on(async {
    ///     let handle = pool.spawn_async(|| "computed off the runtime".len()).await?;
    ///     Ok::<_, Box<dyn std::error::Error>>(handle.await?)
    /// })?;
    /// assert_eq!(len, 24);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_async<F, T>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<JobHandle<T>, SubmitError<F>>> + Send + '_
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let reserve = Reserve::new(self);
        async move {
            match reserve.await {
                Ok(permit) => Ok(permit.spawn(f)),
                Err(Closed) => {
                    self.shared.counters.rejected();
                    Err(SubmitError(f))
                }
            }
        }
    }

    /// Waits for room without blocking the thread, then submits a job without a handle.
    /// `reserve().await` then [`Permit::execute`]; cancel-safe in the same way as
    /// [`spawn_async`](Self::spawn_async).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the closure if the pool is shut down, or shuts down while this
    /// waits.
    ///
    /// ```
    /// let pool = boundpool::ThreadPool::new(2)?;
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// rt.block_on(async {
    ///     for _ in 0..10 {
    ///         pool.execute_async(|| { /* background work */ }).await?;
    ///     }
    ///     Ok::<_, boundpool::SubmitError<_>>(())
    /// })
    /// .ok();
    /// assert_eq!(pool.shutdown().completed, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute_async<F>(&self, f: F) -> impl Future<Output = Result<(), SubmitError<F>>> + Send + '_
    where
        F: FnOnce() + Send + 'static,
    {
        let reserve = Reserve::new(self);
        async move {
            match reserve.await {
                Ok(permit) => {
                    permit.execute(f);
                    Ok(())
                }
                Err(Closed) => {
                    self.shared.counters.rejected();
                    Err(SubmitError(f))
                }
            }
        }
    }
}
