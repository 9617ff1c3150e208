//! A future polled by hand without a runtime: [`Stepper`] polls with a waker that counts its
//! wake-ups (and unparks the thread that made it), so a test can see `Pending`, act, see how
//! often the future was woken, then wait for it (`super::block_on` drives a future whose wake-ups
//! need no counting).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Wakes a thread by unparking it, and counts how often it was woken.
struct ThreadWaker {
    thread: Thread,
    woken: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn thread_waker() -> (Arc<ThreadWaker>, Waker) {
    let inner = Arc::new(ThreadWaker { thread: thread::current(), woken: AtomicUsize::new(0) });
    let waker = Waker::from(Arc::clone(&inner));
    (inner, waker)
}

/// A future polled by hand with a counting waker (which also unparks the creating thread).
pub struct Stepper<F: Future> {
    future: Pin<Box<F>>,
    inner: Arc<ThreadWaker>,
    waker: Waker,
}

impl<F: Future> Stepper<F> {
    pub fn new(future: F) -> Self {
        let (inner, waker) = thread_waker();
        Stepper { future: Box::pin(future), inner, waker }
    }

    /// Polls once.
    pub fn poll(&mut self) -> Poll<F::Output> {
        let mut cx = Context::from_waker(&self.waker);
        self.future.as_mut().poll(&mut cx)
    }

    /// How often the future's waker was woken so far.
    pub fn wakes(&self) -> usize {
        self.inner.woken.load(Ordering::SeqCst)
    }

    /// Waits (polling once per wake-up) until it is ready; panics after `secs` seconds.
    pub fn finish(mut self, secs: u64) -> F::Output {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Poll::Ready(output) = self.poll() {
                return output;
            }
            let now = Instant::now();
            assert!(now < deadline, "the future was not ready within {secs} s: a lost wake-up?");
            thread::park_timeout(deadline - now);
        }
    }
}
