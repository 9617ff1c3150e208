//! Cancel safety of the async submissions: a `spawn_async`, `execute_async` or `reserve` future
//! dropped while it waits for room drops its closure unrun, counts nothing and leaks no slot; a
//! slot granted to a future that is then dropped passes to the next in line; an unused permit
//! gives its slot back; and shutdown resolves every waiting future at once with its closure.
//! (Arrival order across threads and tasks is tested in `waiting_room.rs`.)

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use boundpool::{Closed, SubmitError, ThreadPool, TrySubmitError};
use common::stepper::Stepper;
use common::{block_one_worker, bounded, wait_until, Gate};

/// Counts its drops: captured by a closure, it tells whether the closure was dropped (run or
/// not); with a second counter for runs, whether it was dropped unrun.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A job that adds one to `ran` when it runs, holding a guard that adds one to `dropped` when
/// the closure is dropped.
fn guarded_job(
    ran: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicUsize>,
) -> impl FnOnce() -> usize + Send + 'static {
    let ran = ran.clone();
    let guard = DropCount(dropped.clone());
    move || {
        let _guard = guard;
        ran.fetch_add(1, Ordering::SeqCst) + 1
    }
}

fn counters() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)))
}

fn pool(prefix: &str, capacity: usize) -> ThreadPool {
    ThreadPool::builder().workers(1).queue_capacity(capacity).thread_name(prefix).build().unwrap()
}

/// Holds the pool's only worker and fills its queue with `capacity` no-op jobs.
fn hold_and_fill(pool: &ThreadPool) -> Gate {
    let gate = block_one_worker(pool);
    for _ in 0..pool.queue_capacity() {
        pool.execute(|| ()).unwrap();
    }
    gate
}

/// Once the pool is idle: with its worker held, the queue takes exactly `queue_capacity` jobs
/// and refuses the next; then it is released and drained.
fn assert_exact_capacity(pool: &ThreadPool) {
    wait_until(10, "the pool is idle", || {
        let s = pool.stats();
        s.queued == 0 && s.running == 0
    });
    let gate = block_one_worker(pool);
    for n in 0..pool.queue_capacity() {
        assert!(pool.try_execute(|| ()).is_ok(), "slot {n} of {} is free", pool.queue_capacity());
    }
    assert!(matches!(pool.try_execute(|| ()), Err(TrySubmitError::Full(_))), "no slot leaked in");
    gate.open();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

#[test]
fn spawn_async_dropped_by_a_timeout_drops_its_closure_unrun() {
    bounded(30, || {
        let pool = pool("acancel-timeout", 2);
        let gate = hold_and_fill(&pool);
        let before = pool.stats();
        let (ran, dropped) = counters();
        let outcome = runtime().block_on(async {
            tokio::time::timeout(Duration::from_millis(20), pool.spawn_async(guarded_job(&ran, &dropped)))
                .await
        });
        assert!(outcome.is_err(), "the queue stayed full: the timeout elapsed");
        assert_eq!((ran.load(Ordering::SeqCst), dropped.load(Ordering::SeqCst)), (0, 1), "dropped unrun");
        let after = pool.stats();
        assert_eq!((after.submitted, after.rejected, after.queued), (before.submitted, before.rejected, 2));
        gate.open();
        assert_exact_capacity(&pool);
        let report = pool.shutdown();
        // 1 + 2 before, 1 + 2 in the capacity check.
        assert_eq!((report.submitted, report.completed, report.rejected), (6, 6, 1));
    });
}

#[test]
fn execute_async_and_reserve_dropped_while_waiting_leave_nothing_behind() {
    bounded(30, || {
        let pool = pool("acancel-drop", 1);
        let gate = hold_and_fill(&pool);
        let before = pool.stats();
        let (ran, dropped) = counters();
        let job = guarded_job(&ran, &dropped);
        let mut execute = Stepper::new(pool.execute_async(move || {
            job();
        }));
        let mut reserve = Stepper::new(pool.reserve());
        assert!(execute.poll().is_pending());
        assert!(reserve.poll().is_pending());
        drop(execute);
        drop(reserve);
        assert_eq!((ran.load(Ordering::SeqCst), dropped.load(Ordering::SeqCst)), (0, 1));
        let after = pool.stats();
        assert_eq!((after.submitted, after.rejected), (before.submitted, before.rejected));
        gate.open();
        assert_exact_capacity(&pool);
        assert_eq!(pool.shutdown().completed, 2 + 2);
    });
}

#[test]
fn a_slot_granted_to_a_dropped_future_goes_to_the_next_in_line() {
    bounded(30, || {
        let pool = pool("acancel-pass", 1);
        let gate = block_one_worker(&pool);
        let permit = runtime().block_on(pool.reserve()).unwrap(); // holds the only slot
        let (ran_a, dropped_a) = counters();
        let (ran_b, dropped_b) = counters();
        let mut first = Stepper::new(pool.spawn_async(guarded_job(&ran_a, &dropped_a)));
        let mut second = Stepper::new(pool.spawn_async(guarded_job(&ran_b, &dropped_b)));
        assert!(first.poll().is_pending());
        assert!(second.poll().is_pending());
        drop(permit); // unused: its slot goes to the first in line
        assert_eq!(first.wakes(), 1, "the first in line is granted the slot");
        assert_eq!(second.wakes(), 0);
        drop(first); // granted but never polled again: the slot passes on
        assert_eq!(dropped_a.load(Ordering::SeqCst), 1);
        assert_eq!(second.wakes(), 1, "the slot passed to the next in line");
        let handle = match second.poll() {
            std::task::Poll::Ready(Ok(handle)) => handle,
            _ => panic!("the second future holds the passed slot"),
        };
        gate.open();
        assert_eq!(handle.join().unwrap(), 1);
        assert_eq!((ran_a.load(Ordering::SeqCst), ran_b.load(Ordering::SeqCst)), (0, 1));
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed, report.cancelled), (2, 2, 0));
    });
}

#[test]
fn an_unused_permit_gives_its_slot_back() {
    bounded(30, || {
        let pool = pool("acancel-permit", 2);
        let gate = block_one_worker(&pool);
        let before = pool.stats();
        let rt = runtime();
        let permits = [rt.block_on(pool.reserve()).unwrap(), rt.block_on(pool.reserve()).unwrap()];
        assert!(matches!(pool.try_execute(|| ()), Err(TrySubmitError::Full(_))));
        drop(permits);
        let after = pool.stats();
        assert_eq!((after.submitted, after.queued), (before.submitted, 0));
        gate.open();
        assert_exact_capacity(&pool);
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed, report.rejected), (4, 4, 2));
    });
}

#[test]
fn shutdown_resolves_every_waiting_future_at_once_with_its_closure() {
    bounded(30, || {
        let pool = pool("acancel-shut", 1);
        let gate = hold_and_fill(&pool);
        let (ran, dropped) = counters();
        let mut spawn = Stepper::new(pool.spawn_async(guarded_job(&ran, &dropped)));
        let mut execute = Stepper::new(pool.execute_async(|| ()));
        let mut reserve = Stepper::new(pool.reserve());
        assert!(spawn.poll().is_pending() && execute.poll().is_pending() && reserve.poll().is_pending());
        let mut stopping = Stepper::new(pool.shutdown_async());
        // Woken by the close itself, while the worker is still held.
        assert_eq!((spawn.wakes(), execute.wakes(), reserve.wakes()), (1, 1, 1));
        match spawn.poll() {
            std::task::Poll::Ready(Err(SubmitError(job))) => assert_eq!(job(), 1, "the closure comes back"),
            _ => panic!("refused with its closure"),
        }
        assert!(matches!(execute.poll(), std::task::Poll::Ready(Err(SubmitError(_)))));
        assert!(matches!(reserve.poll(), std::task::Poll::Ready(Err(Closed))));
        assert!(stopping.poll().is_pending(), "the held worker has not exited");
        gate.open();
        let report = stopping.finish(20);
        assert_eq!((report.submitted, report.completed, report.rejected), (2, 2, 2));
    });
}

#[test]
fn tasks_awaiting_room_are_refused_when_the_pool_shuts_down() {
    bounded(30, || {
        let pool = Arc::new(pool("acancel-tasks", 1));
        let gate = hold_and_fill(&pool);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let waiting_now = Arc::new(AtomicUsize::new(0));
        let waiting: Vec<_> = (0..10u64)
            .map(|i| {
                let (pool, waiting_now) = (pool.clone(), waiting_now.clone());
                rt.spawn(async move {
                    let mut submit = std::pin::pin!(pool.spawn_async(move || i));
                    // Counted once its first poll found the queue full and it joined the line.
                    let mut counted = false;
                    let outcome = std::future::poll_fn(|cx| {
                        let poll = submit.as_mut().poll(cx);
                        if poll.is_pending() && !counted {
                            counted = true;
                            waiting_now.fetch_add(1, Ordering::SeqCst);
                        }
                        poll
                    })
                    .await;
                    match outcome {
                        Ok(_) => panic!("the queue stays full until shutdown"),
                        Err(SubmitError(job)) => job(),
                    }
                })
            })
            .collect();
        wait_until(10, "every task waits for room", || waiting_now.load(Ordering::SeqCst) == 10);
        let report = rt.block_on(async {
            let stopping = pool.shutdown_async();
            let mut sum = 0;
            for task in waiting {
                sum += task.await.unwrap();
            }
            assert_eq!(sum, 45, "every closure came back");
            gate.open();
            stopping.await
        });
        assert_eq!((report.submitted, report.completed, report.rejected), (2, 2, 10));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
