//! `CancelToken`: cooperative cancellation shared between a caller and its jobs.

use std::fmt;
use std::time::{Duration, Instant};

use crate::sync::{Arc, AtomicBool, Mutex, Ordering, Weak};

/// A shared cancellation flag, like Go's `context.Context` without the values.
///
/// Clones share one flag. [`cancel`](Self::cancel) sets it for every clone and every
/// [`child`](Self::child); a job started with [`ThreadPool::spawn_with`](crate::ThreadPool::spawn_with)
/// whose token is cancelled before it starts never runs. Running jobs see the flag by calling
/// [`is_cancelled`](Self::is_cancelled), which costs one atomic load (plus a clock read while a
/// deadline is pending). A token with a timeout needs no timer thread: it reads the clock when
/// asked.
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
}

impl Inner {
    fn new(deadline: Option<Instant>) -> Arc<Inner> {
        Arc::new(Inner { cancelled: AtomicBool::new(false), deadline, children: Mutex::new(Vec::new()) })
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

    fn set_cancelled(&self) {
        // ORDERING: Release: work done before `cancel` is visible to whoever sees the flag.
        self.cancelled.store(true, Ordering::Release);
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

impl CancelToken {
    /// A token that is not cancelled and has no deadline.
    ///
    /// ```
    /// let token = boundpool::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    pub fn new() -> CancelToken {
        CancelToken { inner: Inner::new(None) }
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
        CancelToken { inner: Inner::new(Instant::now().checked_add(timeout)) }
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
        let child = Inner::new(self.inner.deadline);
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
