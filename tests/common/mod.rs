//! Helpers shared by the integration tests: bounded waits, a gate to hold a worker busy, a job
//! held until released, a CPU-bound busy loop, and the thread names of this process; futures
//! polled by hand with a counting waker (`stepper.rs`) and a timer task that measures an async
//! runtime's lateness (`ticker.rs`).
#![allow(dead_code)]

pub mod stepper;
pub mod ticker;

use std::sync::mpsc;
use std::sync::{Arc, Once};
use std::thread;
use std::time::{Duration, Instant};

use boundpool::ThreadPool;

/// Runs `f` on its own thread and returns its value, or panics if it has not finished within
/// `secs` seconds, so a deadlock fails the test instead of hanging it. A panic in `f` is
/// re-raised here.
pub fn bounded<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::Builder::new()
        .name("bounded".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(result);
        })
        .expect("start the bounded test thread");
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(value)) => {
            let _ = worker.join();
            value
        }
        Ok(Err(payload)) => {
            let _ = worker.join();
            std::panic::resume_unwind(payload)
        }
        Err(_) => panic!("did not finish within {secs} s: probably a deadlock or a lost wake-up"),
    }
}

/// Polls `cond` (yielding between looks) until it is true; panics after `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting until {what}");
        thread::yield_now();
    }
}

/// How long a gate waits for its release before giving up, so a failing test cannot leave a
/// worker blocked forever.
pub const GATE_LIMIT: Duration = Duration::from_secs(30);

/// A job that holds one worker busy until the gate is opened (or dropped).
pub struct Gate {
    release: Option<mpsc::Sender<()>>,
}

impl Gate {
    /// Opens the gate: the blocked job returns.
    pub fn open(mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
    }
}

/// Submits a job to `pool` that blocks until the returned gate opens, and waits until a
/// worker has started it.
pub fn block_one_worker(pool: &ThreadPool) -> Gate {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    pool.execute(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(GATE_LIMIT);
    })
    .unwrap_or_else(|_| panic!("the pool refused the blocking job"));
    started_rx.recv_timeout(Duration::from_secs(10)).expect("a worker should start the blocking job");
    Gate { release: Some(release_tx) }
}

/// How long a held job and its test wait on each other before failing.
pub const HELD_LIMIT: Duration = Duration::from_secs(10);

/// The test's side of a held job: it learns when the job starts and releases it.
pub struct Held {
    started: mpsc::Receiver<()>,
    release: mpsc::Sender<()>,
}

impl Held {
    /// Waits until the job has started; fails the test after `HELD_LIMIT`.
    pub fn wait_started(&self) {
        self.started.recv_timeout(HELD_LIMIT).expect("the held job should start");
    }

    /// Lets the job return.
    pub fn release(&self) {
        self.release.send(()).expect("the held job should still be waiting");
    }
}

/// A job that reports its start, waits to be released (failing after `HELD_LIMIT`) and returns
/// `value`; with the [`Held`] that controls it.
pub fn held<T: Send + 'static>(value: T) -> (impl FnOnce() -> T + Send + 'static, Held) {
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let job = move || {
        started_tx.send(()).unwrap();
        release_rx.recv_timeout(HELD_LIMIT).unwrap();
        value
    };
    (job, Held { started, release })
}

/// Keeps the calling thread busy (a CPU loop, not a sleep) for `d`; returns a value that depends
/// on the work so the loop cannot be optimised away.
pub fn busy_for(d: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < d {
        for _ in 0..64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    x
}

/// The names of this process's threads (`/proc/self/task/*/comm`, at most 15 bytes each).
pub fn thread_names() -> Vec<String> {
    let mut names = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return names };
    for task in tasks.flatten() {
        if let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) {
            names.push(comm.trim_end_matches('\n').to_owned());
        }
    }
    names
}

/// Whether a thread of this process named `name` is asleep (state `S`): blocked in the kernel,
/// as a thread parked on a lock or a condition variable is.
pub fn thread_is_asleep(name: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return false };
    tasks.flatten().any(|task| {
        let named = std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim_end() == name);
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // The state follows the name, which is in parentheses and may itself hold any byte.
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
        named && state == Some("S")
    })
}

/// The threads of this process whose name starts with `{prefix}-`.
pub fn threads_named(prefix: &str) -> Vec<String> {
    let head = format!("{prefix}-");
    let mut names: Vec<String> = thread_names().into_iter().filter(|n| n.starts_with(&head)).collect();
    names.sort();
    names
}

/// Marks a panic message as expected by a test: the quiet hook does not print it.
pub const EXPECTED: &str = "expected panic";

/// The names of the threads that had a panic not marked [`EXPECTED`], once
/// [`quiet_expected_panics`] is installed.
static UNEXPECTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// How many panics not marked [`EXPECTED`] happened on threads whose name starts with `prefix`
/// since [`quiet_expected_panics`] was installed (including ones caught inside the pool).
pub fn unexpected_panics_on(prefix: &str) -> usize {
    let names = UNEXPECTED.lock().unwrap_or_else(|e| e.into_inner());
    names.iter().filter(|name| name.starts_with(prefix)).count()
}

/// Installs (once) a panic hook that stays silent for panics whose message contains
/// [`EXPECTED`] and prints every other one as the default hook does, noting the thread's name
/// for [`unexpected_panics_on`].
pub fn quiet_expected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = Arc::new(std::panic::take_hook());
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("");
            if !msg.contains(EXPECTED) {
                let name = thread::current().name().unwrap_or("").to_owned();
                UNEXPECTED.lock().unwrap_or_else(|e| e.into_inner()).push(name);
                default(info);
            }
        }));
    });
}

/// Asserts that no thread named `{prefix}-*` is left. A joined thread can stay listed in
/// `/proc/self/task` for a moment: the kernel wakes `pthread_join` when the thread releases
/// its memory, a little before it removes the task. So this allows the kernel up to two
/// seconds to finish; a thread that was not joined (still running or blocked) stays listed.
pub fn assert_no_threads_named(prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = threads_named(prefix);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "threads of the pool still alive: {left:?}");
        thread::yield_now();
    }
}

/// How long the last test of a binary waits for the tests still running beside it.
pub const OUTLIVE_LIMIT: Duration = Duration::from_secs(120);

/// The leak check that ends every integration test binary, in the spirit of Go's goleak: no
/// worker thread of any pool is alive once every test has ended, counted by the pool itself
/// ([`boundpool::live_worker_threads`]), not guessed from thread names.
///
/// Call it from a test named `zzz_no_pool_thread_outlives_the_tests`: libtest starts tests in
/// name order, so it starts last, and it waits (up to [`OUTLIVE_LIMIT`]) for the tests that
/// still run beside it to end and shut their pools down. A pool that a test dropped or shut
/// down has no live thread; one that a test forgot, or whose worker is stuck, keeps the count
/// above zero and fails this test.
pub fn assert_no_pool_thread_outlives_the_tests() {
    let deadline = Instant::now() + OUTLIVE_LIMIT;
    loop {
        let live = boundpool::live_worker_threads();
        if live == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{live} worker threads of some pool are still alive {OUTLIVE_LIMIT:?} after the last test started"
        );
        // Polling a count with a deadline, not synchronising: nothing here signals its end.
        thread::sleep(Duration::from_millis(5));
    }
}

/// Wakes a parked thread: the waker of [`block_on`].
struct ThreadWaker(thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the calling thread, parking between polls: async code
/// driven without any runtime, by its waker alone.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    loop {
        if let std::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        thread::park();
    }
}

/// A waker that only records that it was woken, for futures polled by hand.
#[derive(Default)]
pub struct Flag(std::sync::atomic::AtomicBool);

impl Flag {
    /// A new flag and a waker that raises it.
    pub fn waker() -> (Arc<Flag>, std::task::Waker) {
        let flag = Arc::new(Flag::default());
        (Arc::clone(&flag), std::task::Waker::from(flag))
    }

    /// Whether it was woken since the last look; lowers it.
    pub fn take(&self) -> bool {
        // ORDERING: SeqCst: a test's flag, read after the waking thread's other effects.
        self.0.swap(false, std::sync::atomic::Ordering::SeqCst)
    }
}

impl std::task::Wake for Flag {
    fn wake(self: Arc<Self>) {
        // ORDERING: as in `take`.
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Polls `future` once with `waker`.
pub fn poll_once<F: std::future::Future + Unpin>(
    future: &mut F,
    waker: &std::task::Waker,
) -> std::task::Poll<F::Output> {
    std::pin::Pin::new(future).poll(&mut std::task::Context::from_waker(waker))
}

/// Runs `make()`'s future on a two-worker tokio runtime, on a thread of its own, bounded by
/// `secs` seconds.
pub fn on_runtime<Fut>(secs: u64, make: impl FnOnce() -> Fut + Send + 'static)
where
    Fut: std::future::Future<Output = ()>,
{
    bounded(secs, move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(make());
    });
}
