//! JobHandle: join, is_finished, cancel, wait_timeout, detaching, and use as a Future with no
//! runtime.

mod common;

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use boundpool::{JobHandle, ThreadPool};
use common::{block_one_worker, bounded, held};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn join_returns_the_value() {
    let values = bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let handles: Vec<JobHandle<String>> =
            (0..20).map(|i| pool.spawn(move || format!("job {i}")).unwrap()).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    assert_eq!(values.len(), 20);
    for (i, v) in values.iter().enumerate() {
        assert_eq!(v, &format!("job {i}"));
    }
}

#[test]
fn is_finished_turns_true_only_once_the_job_ended() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let (job, held) = held(5);
        let handle = pool.spawn(job).unwrap();
        held.wait_started();
        assert!(!handle.is_finished());
        held.release();
        assert!(handle.wait_timeout(WAIT));
        assert!(handle.is_finished());
        assert_eq!(handle.join().unwrap(), 5);
    });
}

#[test]
fn cancel_before_start_wins_and_the_job_never_runs() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(8).build().unwrap();
        let gate = block_one_worker(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let ran = ran.clone();
                pool.spawn(move || ran.fetch_add(1, Ordering::SeqCst)).unwrap()
            })
            .collect();
        for h in &handles {
            assert!(h.cancel());
            assert!(h.is_finished(), "a cancelled job counts as finished");
            assert!(!h.cancel(), "cancelling twice: the second call finds it already ended");
        }
        assert_eq!(pool.stats().cancelled, 3);
        for h in handles {
            let err = h.join().unwrap_err();
            assert!(err.is_cancelled() && !err.is_panic());
            assert_eq!(err.to_string(), "the job was cancelled before it started");
            assert!(err.panic_message().is_none());
        }
        gate.open();
        let report = pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 0, "a cancelled job ran");
        assert_eq!((report.submitted, report.completed, report.cancelled), (4, 1, 3));
    });
}

#[test]
fn cancel_after_start_loses_and_the_job_completes() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let (job, held) = held("done");
        let handle = pool.spawn(job).unwrap();
        held.wait_started();
        assert!(!handle.cancel());
        held.release();
        assert_eq!(handle.join().unwrap(), "done");
        assert!(pool.spawn(|| ()).unwrap().join().is_ok());
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.cancelled), (2, 0));
    });
}

#[test]
fn wait_timeout_is_false_while_running_then_true_and_the_handle_stays_usable() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let (job, held) = held(11);
        let handle = pool.spawn(job).unwrap();
        held.wait_started();
        assert!(!handle.wait_timeout(Duration::from_millis(30)));
        assert!(!handle.wait_timeout(Duration::ZERO));
        held.release();
        assert!(handle.wait_timeout(WAIT));
        assert!(handle.wait_timeout(Duration::ZERO), "still finished");
        assert_eq!(handle.join().unwrap(), 11);
    });
}

#[test]
fn dropping_a_handle_detaches_and_the_job_still_runs() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(4).build().unwrap();
        let gate = block_one_worker(&pool);
        let (tx, rx) = mpsc::channel();
        let handle = pool.spawn(move || tx.send("detached job ran").unwrap()).unwrap();
        drop(handle); // before the job started
        gate.open();
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), "detached job ran");
        let report = pool.shutdown();
        assert_eq!((report.completed, report.cancelled), (2, 0));
    });
}

/// Wakes a parked thread; counts its wake-ups.
struct ThreadWaker {
    thread: Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// A minimal executor: polls the future on this thread, parking between polls.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker { thread: thread::current(), wakes: AtomicUsize::new(0) }));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        thread::park();
    }
}

#[test]
fn a_handle_can_be_awaited_without_a_runtime() {
    common::quiet_expected_panics();
    let (sum, err) = bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        let handles: Vec<_> = (1..=10u64).map(|i| pool.spawn(move || i * i).unwrap()).collect();
        let failing = pool.spawn(|| -> u8 { panic!("{}: awaited", common::EXPECTED) }).unwrap();
        block_on(async move {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            (sum, failing.await.unwrap_err().is_panic())
        })
    });
    assert_eq!(sum, 385);
    assert!(err);
}

#[test]
fn a_waker_registered_before_completion_is_woken() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let (job, held) = held(99);
        let mut handle = pool.spawn(job).unwrap();
        held.wait_started();

        let tw = Arc::new(ThreadWaker { thread: thread::current(), wakes: AtomicUsize::new(0) });
        let waker = Waker::from(tw.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        // A second poll with the same waker must not lose the registration.
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        assert_eq!(tw.wakes.load(Ordering::SeqCst), 0);

        held.release();
        while tw.wakes.load(Ordering::SeqCst) == 0 {
            thread::park_timeout(WAIT);
        }
        assert_eq!(tw.wakes.load(Ordering::SeqCst), 1, "woken exactly once");
        match Pin::new(&mut handle).poll(&mut cx) {
            Poll::Ready(result) => assert_eq!(result.unwrap(), 99),
            Poll::Pending => panic!("woken but not ready"),
        }
    });
}

#[test]
fn a_waker_replaced_by_a_later_poll_is_the_one_woken() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let gate = block_one_worker(&pool);
        let mut handle = pool.spawn(|| 1).unwrap();
        let first = Arc::new(ThreadWaker { thread: thread::current(), wakes: AtomicUsize::new(0) });
        let second = Arc::new(ThreadWaker { thread: thread::current(), wakes: AtomicUsize::new(0) });
        let (w1, w2) = (Waker::from(first.clone()), Waker::from(second.clone()));
        assert!(Pin::new(&mut handle).poll(&mut Context::from_waker(&w1)).is_pending());
        assert!(Pin::new(&mut handle).poll(&mut Context::from_waker(&w2)).is_pending());
        gate.open();
        while second.wakes.load(Ordering::SeqCst) == 0 {
            thread::park_timeout(WAIT);
        }
        assert_eq!(first.wakes.load(Ordering::SeqCst), 0);
        assert!(matches!(Pin::new(&mut handle).poll(&mut Context::from_waker(&w2)), Poll::Ready(Ok(1))));
    });
}

#[test]
fn cancelling_a_polled_job_wakes_its_waker_and_resolves_it_cancelled() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let gate = block_one_worker(&pool);
        let mut handle = pool.spawn(|| 1).unwrap();
        let tw = Arc::new(ThreadWaker { thread: thread::current(), wakes: AtomicUsize::new(0) });
        let waker = Waker::from(tw.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        assert!(handle.cancel());
        assert_eq!(tw.wakes.load(Ordering::SeqCst), 1, "cancel wakes the registered waker");
        match Pin::new(&mut handle).poll(&mut cx) {
            Poll::Ready(result) => assert!(result.unwrap_err().is_cancelled()),
            Poll::Pending => panic!("a cancelled job is ready"),
        }
        gate.open();
        assert_eq!(pool.shutdown().cancelled, 1);
    });
}

#[test]
fn stats_count_a_job_before_its_join_returns() {
    common::quiet_expected_panics();
    bounded(60, || {
        let pool = ThreadPool::new(2).unwrap();
        for n in 1..=500u64 {
            pool.spawn(move || n).unwrap().join().unwrap();
            let stats = pool.stats();
            assert_eq!(stats.completed, n, "after join #{n}");
            assert_eq!(stats.running, 0, "after join #{n}");
        }
        for n in 1..=100u64 {
            pool.spawn(|| -> () { panic!("{}: counted", common::EXPECTED) }).unwrap().join().unwrap_err();
            assert_eq!(pool.stats().panicked, n);
            assert_eq!(pool.stats().running, 0);
        }
    });
}

#[test]
fn a_job_handle_is_send_and_can_be_joined_from_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<JobHandle<u32>>();
    let v = bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.spawn(|| 3u32).unwrap();
        thread::spawn(move || handle.join().unwrap()).join().unwrap()
    });
    assert_eq!(v, 3);
}

#[test]
fn join_after_the_handle_was_polled_to_completion_panics_as_documented() {
    bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        let mut handle = pool.spawn(|| 5).unwrap();
        assert_eq!(block_on(&mut handle).unwrap(), 5);
        let payload =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || handle.join())).unwrap_err();
        let msg = payload.downcast_ref::<&str>().copied().unwrap_or("");
        assert!(msg.contains("already taken by polling the handle to completion"), "{msg}");
        assert_eq!(pool.stats().workers, 1);
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
