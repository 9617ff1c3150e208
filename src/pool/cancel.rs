//! `CancelToken`: cooperative cancellation shared between a caller and its jobs.
//!
//! # Waiting for it from async code
//!
//! A [`CancelToken::cancelled`] future waits in its token's [`WaitList`] (see `waitlist.rs`).
//! `cancel` sets the flag of each token it reaches, then, under that token's `waiting` lock,
//! hands every queued future a grant and takes them out; the wake-ups are delivered after the
//! lock is released. A future reads the flag under the same lock before it joins (or renews its
//! waker), so either it sees the flag, or `cancel` takes that lock after it and finds it in the
//! list: no wake-up is lost.
//!
//! A deadline needs a clock to pass. While a future waits on a token with a deadline, the token
//! is registered as a task on the process's one maintenance thread (see `maintenance.rs`), due at
//! the deadline, which cancels the token then (and so wakes its futures and its descendants').
//! The registration is made by the first waiting future, under the `waiting` lock, and dropped
//! when the token is cancelled or the last future stops waiting, so the thread runs only while
//! some future waits on a deadline. Lock order: a token's `waiting`, then the maintenance
//! registry; nothing holds the registry while it takes a token's lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::deadline::Deadline;
use crate::maintenance::{register, Registration, Task};
use crate::sync::{Arc, AtomicBool, Mutex, Ordering, Weak};
use crate::waitlist::{WaitList, Wake};

/// How long the maintenance thread may leave a token it has cancelled before it looks again
/// (cancelling drops the registration, so it never does).
const CANCELLED: Duration = Duration::from_secs(3600);

/// A shared cancellation flag, like Go's `context.Context` without the values.
///
/// Clones share one flag. [`cancel`](Self::cancel) sets it for every clone and every
/// [`child`](Self::child); a job started with [`ThreadPool::spawn_with`](crate::ThreadPool::spawn_with)
/// whose token is cancelled before it starts never runs. Running jobs see the flag by calling
/// [`is_cancelled`](Self::is_cancelled), which costs one atomic load (plus a clock read while a
/// deadline is pending). A token with a timeout needs no timer thread: it reads the clock when
/// asked. Async code awaits [`cancelled`](Self::cancelled) instead.
///
/// ```
/// use boundpool::CancelToken;
///
/// let parent = CancelToken::new();
/// let child = parent.child();
/// child.cancel();
/// assert!(child.is_cancelled());
/// assert!(!parent.is_cancelled()); // never upwards
/// let other_child = parent.child();
/// parent.cancel();
/// assert!(other_child.is_cancelled()); // always downwards
/// ```
#[derive(Clone)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

struct Inner {
    cancelled: AtomicBool,
    /// The earliest deadline of this token and its ancestors.
    deadline: Option<Instant>,
    children: Mutex<Vec<Weak<Inner>>>,
    /// The token this one is a child of (none for a root). A dropped token hands its live
    /// children to its parent, so cancelling an ancestor still reaches every descendant that
    /// exists, whatever tokens in between were dropped.
    parent: Mutex<Weak<Inner>>,
    /// `cancelled` futures waiting for the flag, and the deadline's maintenance task while one
    /// waits.
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    list: WaitList<()>,
    timer: Option<Registration>,
}

impl Inner {
    fn new(deadline: Option<Instant>, parent: Weak<Inner>) -> Arc<Inner> {
        Arc::new(Inner {
            cancelled: AtomicBool::new(false),
            deadline,
            children: Mutex::new(Vec::new()),
            parent: Mutex::new(parent),
            waiting: Mutex::new(Waiting::default()),
        })
    }

    /// Flags this token and every descendant. Walks the whole subtree even through nodes that
    /// are already flagged, so that when it returns every descendant reports cancelled, even
    /// if another thread is cancelling part of the tree at the same time. A loop, not
    /// recursion: a chain of children may be deeper than any thread's stack.
    fn cancel(&self) {
        self.set_cancelled();
        let mut pending = self.live_children();
        while let Some(child) = pending.pop() {
            child.set_cancelled();
            pending.append(&mut child.live_children());
        }
    }

    fn live_children(&self) -> Vec<Arc<Inner>> {
        self.children.lock().iter().filter_map(Weak::upgrade).collect()
    }

    /// Sets the flag, then wakes the futures waiting for it and drops the deadline's task.
    fn set_cancelled(&self) {
        // ORDERING: Release: work done before `cancel` is visible to whoever sees the flag.
        self.cancelled.store(true, Ordering::Release);
        let (wakeups, timer) = {
            let mut waiting = self.waiting.lock();
            (waiting.list.hand_off_all(|| ()), waiting.timer.take())
        };
        wakeups.wake();
        drop(timer);
    }

    fn is_cancelled(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store in `set_cancelled`.
        if self.cancelled.load(Ordering::Acquire) {
            return true;
        }
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => {
                self.cancel();
                true
            }
            _ => false,
        }
    }
}

impl Drop for Inner {
    /// Moves the live children up to this token's parent (see `parent`). The children are
    /// added to the parent's list before the parent's flag is read, and `cancel` sets the flag
    /// before it reads the list, both under the list's lock: either the parent's walk finds
    /// the children, or this sees the flag and cancels them.
    fn drop(&mut self) {
        let children: Vec<Weak<Inner>> =
            std::mem::take(&mut *self.children.lock()).into_iter().filter(|c| c.strong_count() > 0).collect();
        if children.is_empty() {
            return;
        }
        let grandparent = std::mem::take(&mut *self.parent.lock());
        let Some(parent) = grandparent.upgrade() else {
            return;
        };
        for child in children.iter().filter_map(Weak::upgrade) {
            *child.parent.lock() = Weak::clone(&grandparent);
        }
        parent.children.lock().extend(children.iter().cloned());
        if parent.is_cancelled() {
            // A child already flagged was flagged by a walk that covers its whole subtree.
            // ORDERING: Acquire, as in `is_cancelled`.
            for child in
                children.iter().filter_map(Weak::upgrade).filter(|c| !c.cancelled.load(Ordering::Acquire))
            {
                child.cancel();
            }
        }
    }
}

impl Task for Inner {
    fn run(&self, now: Instant) -> Instant {
        match self.deadline {
            Some(deadline) if now < deadline => deadline,
            _ => {
                self.cancel();
                now + CANCELLED
            }
        }
    }
}

impl CancelToken {
    /// A token that is not cancelled and has no deadline.
    ///
    /// ```
    /// let token = boundpool::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn new() -> CancelToken {
        CancelToken { inner: Inner::new(None, Weak::new()) }
    }

    /// A token that counts as cancelled once `timeout` has passed (or earlier, if cancelled).
    ///
    /// ```
    /// use boundpool::CancelToken;
    /// use std::time::Duration;
    ///
    /// assert!(CancelToken::with_timeout(Duration::ZERO).is_cancelled());
    /// assert!(!CancelToken::with_timeout(Duration::from_secs(3600)).is_cancelled());
    /// ```
    pub fn with_timeout(timeout: Duration) -> CancelToken {
        // A timeout too long to represent never passes.
        CancelToken { inner: Inner::new(Deadline::after(timeout).instant(), Weak::new()) }
    }

    /// A token cancelled whenever this one is (and by its own deadline, if this one has one);
    /// cancelling the child leaves this token alone.
    ///
    /// ```
    /// let parent = boundpool::CancelToken::new();
    /// let child = parent.child();
    /// parent.cancel();
    /// assert!(child.is_cancelled());
    /// ```
    pub fn child(&self) -> CancelToken {
        let child = Inner::new(self.inner.deadline, Arc::downgrade(&self.inner));
        {
            let mut children = self.inner.children.lock();
            // Forget children that are gone, so a long-lived parent does not grow.
            if children.len() >= 8 && children.len().is_power_of_two() {
                children.retain(|c| c.strong_count() > 0);
            }
            children.push(Arc::downgrade(&child));
        }
        // Read after registering: a concurrent `cancel` either finds this child in the list or
        // set the parent's flag before we read it.
        if self.inner.is_cancelled() {
            child.cancel();
        }
        CancelToken { inner: child }
    }

    /// Cancels this token, its clones and all its descendants: once it returns, every one of
    /// them reports cancelled. Idempotent.
    ///
    /// ```
    /// let token = boundpool::CancelToken::new();
    /// let clone = token.clone();
    /// token.cancel();
    /// assert!(clone.is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// True once this token, or one of its ancestors, was cancelled or its deadline passed.
    ///
    /// ```
    /// let token = boundpool::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// token.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }

    /// The deadline after which this token counts as cancelled, if it has one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let token = boundpool::CancelToken::with_timeout(Duration::from_secs(1));
    /// assert!(token.deadline().is_some());
    /// assert!(boundpool::CancelToken::new().deadline().is_none());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }
}

impl CancelToken {
    /// A future that resolves once this token, or one of its ancestors, is cancelled or its
    /// deadline passes: what [`is_cancelled`](Self::is_cancelled) reports, awaited.
    ///
    /// It owns a handle to the token (it is `'static` and `Send`), needs no particular runtime
    /// (it is woken through its waker) and may be dropped at any time, which takes it off the
    /// token's list. A deadline is served by the process's one maintenance thread, which runs
    /// only while some such future waits: it wakes the future within a few milliseconds of the
    /// deadline. Awaiting it in a `select!` against other work is the async counterpart of
    /// checking `is_cancelled` between steps.
    ///
    /// ```
    /// use boundpool::CancelToken;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let token = CancelToken::new();
    /// let stop = token.child();
    /// let worker = tokio::spawn(async move {
    ///     tokio::select! {
    ///         _ = stop.cancelled() => "stopped",
    ///         _ = tokio::time::sleep(Duration::from_secs(3600)) => "finished",
    ///     }
    /// });
    /// token.cancel(); // reaches the child, and wakes its future
    /// assert_eq!(worker.await.unwrap(), "stopped");
    ///
    /// // A deadline resolves it too, without a thread of its own.
    /// CancelToken::with_timeout(Duration::from_millis(5)).cancelled().await;
    /// # }
    /// ```
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        Cancelled { token: Arc::clone(&self.inner), ticket: None }
    }
}

/// The future of [`CancelToken::cancelled`].
struct Cancelled {
    token: Arc<Inner>,
    /// Its place in the token's list, once it waits.
    ticket: Option<u64>,
}

impl Cancelled {
    /// Stops waiting; drops the deadline's task if nobody else waits.
    fn leave(&mut self) {
        let Some(ticket) = self.ticket.take() else { return };
        let timer = {
            let mut waiting = self.token.waiting.lock();
            // Queued or granted, it is out of the list either way.
            let _ = waiting.list.leave(ticket);
            if waiting.list.is_empty() {
                waiting.timer.take()
            } else {
                None
            }
        };
        drop(timer);
    }
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Reads the clock too: a deadline that passed cancels the token here.
        if this.token.is_cancelled() {
            this.leave();
            return Poll::Ready(());
        }
        let mut waiting = this.token.waiting.lock();
        // ORDERING: Acquire pairs with the Release store in `set_cancelled`; read under the
        // lock `cancel` takes after that store, so a cancel not seen here will find this entry.
        if this.token.cancelled.load(Ordering::Acquire) {
            drop(waiting);
            this.leave();
            return Poll::Ready(());
        }
        match this.ticket {
            Some(ticket) => waiting.list.set_waker(ticket, cx.waker()),
            None => this.ticket = Some(waiting.list.join(Wake::Task(cx.waker().clone()))),
        }
        if this.token.deadline.is_some() && waiting.timer.is_none() {
            let task: Weak<dyn Task> = Arc::downgrade(&this.token) as Weak<dyn Task>;
            waiting.timer = Some(register(task));
        }
        Poll::Pending
    }
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        self.leave();
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .field("deadline", &self.inner.deadline)
            .finish()
    }
}
