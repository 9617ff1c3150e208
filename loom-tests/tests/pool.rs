//! Model checks of the worker pool's protocols: the shipped code, run under loom.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release` in `loom-tests/`.
#![cfg(loom)]

use boundpool::{SubmitError, ThreadPool, TrySubmitError};
use boundpool_loom_tests::pool;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;

/// A one-shot latch (loom's `Notify` may wake spuriously, so a flag confirms).
#[derive(Default)]
struct Release {
    open: AtomicBool,
    notify: Notify,
}

impl Release {
    fn wait(&self) {
        while !self.open.load(Ordering::SeqCst) {
            self.notify.wait();
        }
    }

    fn notify(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.notify.notify();
    }
}

/// A submit racing shutdown: the job runs exactly once, or it is refused and handed back
/// unrun. Never lost, never twice.
#[test]
fn submit_races_shutdown() {
    loom::model(|| {
        let pool = Arc::new(pool(1, 1));
        let ran = Arc::new(AtomicUsize::new(0));
        let submitter = {
            let (pool, ran) = (pool.clone(), ran.clone());
            thread::spawn(move || {
                let job = move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                };
                match pool.try_execute(job) {
                    Ok(()) => true,
                    Err(TrySubmitError::Shutdown(_job)) => false,
                    Err(TrySubmitError::Full(_)) => panic!("the queue of one cannot be full here"),
                }
            })
        };
        let report = pool.shutdown();
        let accepted = submitter.join().unwrap();
        // Shutdown may return before a late refusal, but never before an accepted job ran.
        assert_eq!(ran.load(Ordering::SeqCst), usize::from(accepted));
        assert_eq!(report.completed + pool.stats().completed - report.completed, u64::from(accepted));
        assert_eq!(pool.stats().workers, 0);
    });
}

/// A submitter blocked on a full queue is released by shutdown with its closure.
#[test]
fn blocked_submitter_released_by_shutdown() {
    loom::model(|| {
        let pool = Arc::new(pool(1, 1));
        let release = Arc::new(Release::default());
        {
            let release = release.clone();
            pool.execute(move || release.wait()).unwrap();
        }
        // Accepted only once the worker took the first job: the queue is full from here on.
        pool.execute(|| ()).unwrap();
        let submitter = {
            let (pool, release) = (pool.clone(), release.clone());
            thread::spawn(move || {
                let refused = matches!(pool.execute(|| ()), Err(SubmitError(_)));
                // Only now can the worker finish; had shutdown not released us, the model
                // would deadlock and loom would report it.
                release.notify();
                refused
            })
        };
        let report = pool.shutdown();
        assert!(submitter.join().unwrap(), "a submit blocked on a full queue must be refused by shutdown");
        assert_eq!(report.completed, 2);
        assert_eq!(pool.stats().rejected, 1);
    });
}

/// Shutdown with two workers drains every accepted job and joins both workers.
#[test]
fn shutdown_drains_and_joins_two_workers() {
    loom::model(|| {
        let pool = pool(2, 2);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let ran = ran.clone();
            pool.execute(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        let report = pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 2);
        assert_eq!(report.completed, 2);
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.running, stats.queued), (0, 0, 0));
    });
}

/// `cancel` racing a worker starting the job: exactly one of them wins.
#[test]
fn cancel_races_start() {
    loom::model(|| {
        let pool = pool(1, 1);
        let ran = Arc::new(AtomicUsize::new(0));
        let handle = {
            let ran = ran.clone();
            pool.spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        };
        let cancelled = handle.cancel();
        let result = handle.join();
        pool.shutdown();
        let ran = ran.load(Ordering::SeqCst);
        assert_eq!(ran + usize::from(cancelled), 1, "exactly one of run and cancel wins");
        assert_eq!(result.is_ok(), !cancelled);
        assert_eq!(result.err().map(|e| e.is_cancelled()), cancelled.then_some(true));
        let stats = pool.stats();
        assert_eq!(stats.completed + stats.cancelled, 1);
    });
}

/// `join` racing completion: the joiner is always woken (no lost wake-up), and the job is
/// counted before `join` returns.
#[test]
fn join_races_completion() {
    loom::model(|| {
        let pool = pool(1, 1);
        let handle = pool.spawn(|| 42).unwrap();
        assert_eq!(handle.join().unwrap(), 42);
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.running), (1, 0));
    });
}

/// Two submitters racing for the last slot while the worker frees one: every accepted job
/// runs once, and refusals come back only as `Full` with the closure.
#[test]
fn two_submitters_race_for_room() {
    loom::model(|| {
        let pool = Arc::new(pool(1, 1));
        let ran = Arc::new(AtomicUsize::new(0));
        let submit = |pool: Arc<ThreadPool>, ran: Arc<AtomicUsize>| {
            thread::spawn(move || {
                let job = move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                };
                usize::from(pool.try_execute(job).is_ok())
            })
        };
        let a = submit(pool.clone(), ran.clone());
        let b = submit(pool.clone(), ran.clone());
        let accepted = a.join().unwrap() + b.join().unwrap();
        pool.shutdown();
        assert!(accepted >= 1);
        assert_eq!(ran.load(Ordering::SeqCst), accepted);
        assert_eq!(pool.stats().rejected as usize, 2 - accepted);
    });
}

/// A token cancelled while its job is being started: the job either runs or is reported
/// cancelled, never both and never neither.
#[test]
fn token_cancel_races_start() {
    loom::model(|| {
        let pool = pool(1, 1);
        let token = boundpool::CancelToken::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let handle = {
            let ran = ran.clone();
            pool.spawn_with(&token, move |_| {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        };
        let canceller = {
            let token = token.clone();
            thread::spawn(move || token.cancel())
        };
        let result = handle.join();
        canceller.join().unwrap();
        pool.shutdown();
        let ran = ran.load(Ordering::SeqCst);
        match result {
            Ok(()) => assert_eq!(ran, 1),
            Err(e) => assert!(e.is_cancelled() && ran == 0, "a job reported cancelled must not have run"),
        }
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.cancelled), (ran as u64, 1 - ran as u64));
    });
}

/// The first-error path of an error group: two members fail at once; exactly one error is
/// kept, the token ends cancelled, and a member starting afterwards is skipped.
#[test]
fn error_group_first_error_wins() {
    loom::model(|| {
        let group = Arc::new(boundpool::model::Group::<&'static str>::new());
        let member = |name: &'static str| {
            let group = group.clone();
            thread::spawn(move || group.run(|_| Err(name)))
        };
        let a = member("a");
        let b = member("b");
        let (a_started, b_started) = (a.join().unwrap(), b.join().unwrap());
        assert!(a_started || b_started);
        assert!(group.token().is_cancelled());
        let late = group.run(|_| panic!("a member starting after the first error must be skipped"));
        assert!(!late);
        match group.take_error() {
            Some("a") => assert!(a_started),
            Some("b") => assert!(b_started),
            other => panic!("expected the first error, got {other:?}"),
        }
    });
}

/// Fills a one-worker pool's queue of `capacity` (the worker may already have taken some),
/// then submits from another thread, which waits in line until a take frees a slot and must
/// then be admitted, not forgotten. Every job runs.
fn blocked_submitter_gets_in(capacity: usize) {
    let pool = Arc::new(pool(1, capacity));
    let ran = Arc::new(AtomicUsize::new(0));
    let job = |ran: Arc<AtomicUsize>| {
        move || {
            ran.fetch_add(1, Ordering::SeqCst);
        }
    };
    for _ in 0..capacity {
        pool.execute(job(ran.clone())).unwrap();
    }
    let submitter = {
        let (pool, ran) = (pool.clone(), ran.clone());
        thread::spawn(move || pool.execute(job(ran)).is_ok())
    };
    assert!(submitter.join().unwrap(), "the blocked submit must be accepted once room appears");
    let report = pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), capacity + 1);
    assert_eq!(report.completed as usize, capacity + 1);
}

/// Room for 1: the take that empties the queue wakes the blocked submitter.
#[test]
fn blocked_submitter_woken_by_a_take() {
    loom::model(|| blocked_submitter_gets_in(1));
}

/// Room for 2: the take that leaves one job queued admits it.
#[test]
fn blocked_submitter_admitted_with_a_job_still_queued() {
    loom::model(|| blocked_submitter_gets_in(2));
}
