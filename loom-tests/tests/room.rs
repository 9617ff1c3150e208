//! Model checks of the waiting room: threads blocked in `execute` and tasks awaiting a slot
//! wait in one line, are admitted without a timer, and a future dropped while it waits loses
//! no slot.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test room` in
//! `loom-tests/`.
#![cfg(loom)]

use boundpool::{Closed, ThreadPool};
use boundpool_loom_tests::{model, task};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

fn pool(workers: usize, capacity: usize) -> Arc<ThreadPool> {
    Arc::new(boundpool_loom_tests::pool(workers, capacity))
}

fn counting(ran: &Arc<AtomicUsize>) -> impl FnOnce() + Send + 'static {
    let ran = Arc::clone(ran);
    move || {
        ran.fetch_add(1, Ordering::SeqCst);
    }
}

/// A one-worker pool with a queue of one holding a job, and a thread submitting another (which
/// blocks until the worker takes the first). Returns whether that submission was accepted.
fn full_queue_and_a_blocked_thread() -> (Arc<ThreadPool>, Arc<AtomicUsize>, thread::JoinHandle<bool>) {
    let pool = pool(1, 1);
    let ran = Arc::new(AtomicUsize::new(0));
    pool.execute(counting(&ran)).unwrap();
    let blocked = {
        let (pool, ran) = (Arc::clone(&pool), Arc::clone(&ran));
        thread::spawn(move || pool.execute(counting(&ran)).is_ok())
    };
    (pool, ran, blocked)
}

/// A thread blocked in `execute` and a task awaiting `execute_async` wait for the same full
/// queue of one: both are admitted (no lost wake-up for either kind) and every job runs.
#[test]
fn a_thread_and_a_task_wait_in_one_line() {
    model("a_thread_and_a_task_wait_in_one_line", || {
        let (pool, ran, blocked) = full_queue_and_a_blocked_thread();
        assert!(task::block_on(pool.execute_async(counting(&ran))).is_ok());
        assert!(blocked.join().unwrap());
        let report = pool.shutdown();
        assert_eq!((ran.load(Ordering::SeqCst), report.completed, report.submitted), (3, 3, 3));
    });
}

/// A `reserve` future is dropped while a take may be granting it the one slot; a thread blocked
/// for the same slot must still get in (the slot passes on, never leaks), and nothing is counted
/// for the dropped future.
#[test]
fn a_dropped_reserve_passes_its_slot_on() {
    model("a_dropped_reserve_passes_its_slot_on", || {
        let (pool, ran, blocked) = full_queue_and_a_blocked_thread();
        {
            let (waker, _flag) = task::waker();
            let mut reserve = std::pin::pin!(pool.reserve());
            // Pending (waiting in line) or a permit: dropped unused either way.
            let _ = task::poll_once(reserve.as_mut(), &waker);
        }
        assert!(blocked.join().unwrap(), "the slot of a dropped future must reach the next waiter");
        let report = pool.shutdown();
        assert_eq!((ran.load(Ordering::SeqCst), report.completed, report.submitted), (2, 2, 2));
    });
}

/// Shutdown races a task waiting for room: the future resolves (refused, or admitted before
/// the close, in which case its job still runs); nothing hangs and the counts agree.
#[test]
fn shutdown_races_a_waiting_task() {
    model("shutdown_races_a_waiting_task", || {
        let pool = pool(1, 1);
        let ran = Arc::new(AtomicUsize::new(0));
        pool.execute(counting(&ran)).unwrap();
        let closer = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.shutdown())
        };
        let admitted = match task::block_on(pool.reserve()) {
            Ok(permit) => {
                permit.execute(counting(&ran));
                1
            }
            Err(Closed) => 0,
        };
        // Workers wait for a slot reserved before the close to be filled, so the report counts
        // the permit's job too.
        let report = closer.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1 + admitted);
        assert_eq!(report.completed, 1 + admitted as u64);
    });
}

/// A gate one job waits on, opened by another thread.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    changed: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.changed.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

/// Room appears but the queue never drains: one worker takes the first of three queued jobs
/// (capacity 3) and that job waits for a submitter blocked on the full queue. The take that
/// made room must admit the submitter by itself, with no timer; otherwise the model deadlocks.
#[test]
fn room_that_never_drains_still_admits_the_waiter() {
    model("room_that_never_drains_still_admits_the_waiter", || {
        let pool = pool(1, 3);
        let ran = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::default());
        {
            let gate = Arc::clone(&gate);
            pool.execute(move || gate.wait()).unwrap();
        }
        pool.execute(counting(&ran)).unwrap();
        pool.execute(counting(&ran)).unwrap();
        let submitter = {
            let (pool, ran, gate) = (Arc::clone(&pool), Arc::clone(&ran), Arc::clone(&gate));
            thread::spawn(move || {
                let accepted = pool.execute(counting(&ran)).is_ok();
                gate.open();
                accepted
            })
        };
        assert!(submitter.join().unwrap());
        let report = pool.shutdown();
        assert_eq!((ran.load(Ordering::SeqCst), report.completed), (3, 4));
    });
}
