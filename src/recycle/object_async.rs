//! `get_async`: waiting for an object without blocking a thread.
//!
//! The future waits in the same first-come, first-served list as blocked `get` calls (see
//! `waiters.rs`), as a task entry whose waker is replaced on every poll. Its steps:
//!
//! - First poll: an idle object or a free slot at once if nobody waits (the rule of `try_get`),
//!   else it joins the back of the list.
//! - Later polls: its grant if one was handed to it; else, once the pool's `wait_timeout` (if
//!   any, counted from the first poll) has passed, it leaves the list with
//!   [`GetError::Timeout`]. The deadline is served by an [`Alarm`] on the shared maintenance
//!   thread, so no thread sleeps for it.
//! - Dropped while waiting: it leaves the list; a grant that reached it first is passed on as
//!   if returned (an object to the next waiter or the idle list, a slot to the next waiter or
//!   back to the pool). Nothing leaks and nobody behind it is skipped.
//!
//! After the grant, expiry checks, `validate` and `create` run on the polling thread, as they do
//! on the calling thread of `get`. `create` is tried once: a failure is returned at once as
//! [`GetError::Create`] (its slot goes on to the next waiter), because the blocking path's
//! retries sleep between attempts and a runtime's thread must not sleep.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::object::{ObjectPool, Wait};
use super::pooled::Pooled;
use crate::alarm::Alarm;
use crate::deadline::Deadline;
use crate::error::GetError;
use crate::sync::Arc;
use crate::waitlist::{Left, Wake};

impl<T: Send + 'static, E> ObjectPool<T, E> {
    /// An object, waiting without blocking the thread while `max_live` objects are checked out.
    ///
    /// Waiting callers are served in arrival order, whether they block in [`get`](Self::get)
    /// or await this future: what comes back goes to whoever has waited longest. The future
    /// joins the line when first polled (taking an idle object or a free slot at once if nobody
    /// waits). It needs no particular runtime: it is woken through its waker, and the pool's
    /// [`wait_timeout`](crate::ObjectPoolBuilder::wait_timeout), if set, is counted from the
    /// first poll and served by the pool's shared maintenance thread.
    ///
    /// Dropping the future is always safe: it leaves the line, and an object or slot already
    /// handed to it goes on to the next caller in line (or back to the pool). So a runtime's
    /// timeout, such as `tokio::time::timeout(d, pool.get_async())`, is a sound way to bound
    /// the wait of a pool without a `wait_timeout`.
    ///
    /// Once it is served, expiry checks, [`validate`](crate::ObjectPoolBuilder::validate) and
    /// `create` run on the polling thread, like in `get`. Unlike `get`, it calls `create` once:
    /// a failure is returned at once rather than retried with backoff, which would put the
    /// polling thread to sleep. Retry with your runtime's timer if the source may be down.
    ///
    /// # Errors
    ///
    /// [`GetError::Create`] when the one call of `create` fails; [`GetError::Timeout`] when the
    /// pool's `wait_timeout` passed in line. Neither holds a slot.
    ///
    /// # Panics
    ///
    /// Propagates a panic of `create` or `validate` (the pool is unaffected). The future panics
    /// if polled again after it completed.
    ///
    /// ```
    /// use boundpool::ObjectPool;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ObjectPool::builder(|| Ok::<_, std::io::Error>(Vec::<u8>::new())).max_live(1).build()?;
    /// let held = pool.get_async().await?;
    /// let waiting = tokio::spawn({
    ///     let pool = pool.clone();
    ///     async move { pool.get_async().await.map(|v| v.len()) }
    /// });
    /// while pool.waiters() == 0 {
    ///     tokio::task::yield_now().await;
    /// }
    /// drop(held); // handed straight to the waiting task
    /// assert_eq!(waiting.await??, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_async(&self) -> impl Future<Output = Result<Pooled<T, E>, GetError<E>>> + Send + '_ {
        Get { pool: self, step: Step::Start }
    }
}

/// The future of [`ObjectPool::get_async`].
struct Get<'a, T, E> {
    pool: &'a ObjectPool<T, E>,
    step: Step,
}

enum Step {
    /// Not polled yet.
    Start,
    /// In the pool's list under `ticket`.
    Waiting { ticket: u64, in_line: Instant, deadline: Deadline, alarm: Option<Alarm> },
    /// Served (or failed): nothing of the pool's is held.
    Done,
}

impl<T: Send + 'static, E> Future for Get<'_, T, E> {
    type Output = Result<Pooled<T, E>, GetError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = &*this.pool.inner;
        let grant = match &mut this.step {
            Step::Start => {
                let mut state = inner.state.lock();
                match state.grant_now(inner.config.max_live) {
                    Some(grant) => grant,
                    None => {
                        let in_line = Instant::now();
                        let deadline = Deadline::after_opt(in_line, inner.config.wait_timeout);
                        let ticket = state.enqueue(Wake::Task(cx.waker().clone()));
                        drop(state);
                        let alarm = deadline.instant().map(|at| Alarm::new(at, cx.waker()));
                        this.step = Step::Waiting { ticket, in_line, deadline, alarm };
                        return Poll::Pending;
                    }
                }
            }
            Step::Waiting { ticket, in_line, deadline, alarm } => {
                let (ticket, in_line, deadline) = (*ticket, *in_line, *deadline);
                let mut state = inner.state.lock();
                let grant = match state.take_grant(ticket) {
                    Some(grant) => grant,
                    None if deadline.passed() => match state.leave(ticket) {
                        Left::Granted(grant) => grant,
                        Left::Queued | Left::Gone => {
                            drop(state);
                            this.step = Step::Done;
                            inner.counters.add_wait(in_line.elapsed());
                            inner.counters.timeouts.add(1);
                            return Poll::Ready(Err(GetError::Timeout));
                        }
                    },
                    None => {
                        state.set_waker(ticket, cx.waker());
                        drop(state);
                        if let Some(alarm) = alarm {
                            alarm.set_waker(cx.waker());
                            // Read after the alarm has the waker (see alarm.rs).
                            if deadline.passed() {
                                cx.waker().wake_by_ref();
                            }
                        }
                        return Poll::Pending;
                    }
                };
                drop(state);
                inner.counters.add_wait(in_line.elapsed());
                grant
            }
            Step::Done => panic!("`get_async` future polled after it completed"),
        };
        // From here the grant is ours: `realize` gives its slot back on error or panic.
        this.step = Step::Done;
        let ready = inner.realize(grant, Wait::No, inner.epoch);
        Poll::Ready(ready.map(|(obj, born)| Pooled::new(obj, born, Arc::clone(&this.pool.inner))))
    }
}

impl<T, E> Drop for Get<'_, T, E> {
    fn drop(&mut self) {
        if let Step::Waiting { ticket, .. } = self.step {
            let inner = &*self.pool.inner;
            let left = inner.state.lock().leave(ticket);
            if let Left::Granted(grant) = left {
                inner.pass_on(grant);
            }
        }
    }
}
