//! Model tests of boundpool live in `tests/`; run them with `RUSTFLAGS="--cfg loom" cargo test --release`.
//! This library holds what several of them share.

/// A pool of `workers` with a queue of `capacity`, for the models.
#[cfg(loom)]
pub fn pool(workers: usize, capacity: usize) -> boundpool::ThreadPool {
    boundpool::ThreadPool::builder().workers(workers).queue_capacity(capacity).build().expect("pool builds")
}

/// Runs a loom model and prints how many interleavings it explored and how long that took.
#[cfg(loom)]
pub fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let start = std::time::Instant::now();
    loom::model(move || {
        // ORDERING: a count read after the model has ended.
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("{name}: {runs} iterations in {:.2?}", start.elapsed());
}

/// Polling futures inside a model: a waker that flags the polling thread and notifies it.
#[cfg(loom)]
pub mod task {
    use loom::sync::{Condvar, Mutex};
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    /// Set by a wake-up; the polling thread waits until it is.
    #[derive(Default)]
    pub struct Flag {
        woken: Mutex<bool>,
        changed: Condvar,
    }

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            *self.woken.lock().unwrap() = true;
            self.changed.notify_all();
        }
    }

    /// A waker for the current thread.
    pub fn waker() -> (Waker, Arc<Flag>) {
        let flag = Arc::new(Flag::default());
        (Waker::from(Arc::clone(&flag)), flag)
    }

    /// Polls once with `waker`.
    pub fn poll_once<F: Future>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(waker))
    }

    /// Waits until `flag` was set by a wake-up, and clears it.
    pub fn wait(flag: &Flag) {
        let mut woken = flag.woken.lock().unwrap();
        while !*woken {
            woken = flag.changed.wait(woken).unwrap();
        }
        *woken = false;
    }

    /// Polls `f` to completion on the current thread, waiting between wake-ups. A lost wake-up
    /// leaves the thread waiting forever, which the model reports as a deadlock.
    pub fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let (waker, flag) = waker();
        loop {
            if let Poll::Ready(out) = poll_once(f.as_mut(), &waker) {
                return out;
            }
            wait(&flag);
        }
    }
}
