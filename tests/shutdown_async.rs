//! `shutdown_async`: intake stops at the call, the future resolves with the exact totals once
//! every accepted job ran and every worker exited, it is woken (never polled in a loop), it
//! is cancel-safe, it returns at once on one of the pool's own workers, and the runtime
//! thread awaiting it stays free (a measurement, printed, never asserted).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use boundpool::ThreadPool;
use common::stepper::Stepper;
use common::ticker::{Lateness, Ticker};
use common::{
    assert_no_threads_named, block_on, block_one_worker, bounded, busy_for, thread_is_asleep, wait_until,
};

fn pool(prefix: &str, workers: usize, capacity: usize) -> ThreadPool {
    ThreadPool::builder().workers(workers).queue_capacity(capacity).thread_name(prefix).build().unwrap()
}

/// Queues `jobs` jobs that each spin for `each` and then add one to the returned counter.
fn queue_busy_jobs(pool: &ThreadPool, jobs: usize, each: Duration) -> Arc<AtomicU64> {
    let ran = Arc::new(AtomicU64::new(0));
    for _ in 0..jobs {
        let ran = ran.clone();
        pool.execute(move || {
            busy_for(each);
            ran.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    ran
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

#[test]
fn resolves_with_the_exact_report_once_every_job_ran() {
    let prefix = "sasync-exact";
    bounded(60, move || {
        let pool = pool(prefix, 2, 64);
        let ran = queue_busy_jobs(&pool, 40, Duration::from_millis(2));
        let report = current_thread_runtime().block_on(pool.shutdown_async());
        assert_eq!(ran.load(Ordering::SeqCst), 40);
        assert_eq!((report.completed, report.panicked, report.cancelled), (40, 0, 0));
        assert_eq!((report.submitted, report.rejected), (40, 0));
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.running, stats.queued), (0, 0, 0));
        assert_no_threads_named(prefix);
        // Idempotent, like shutdown: the same totals again, sync or async.
        assert_eq!(pool.shutdown().completed, 40);
        assert_eq!(block_on(pool.shutdown_async()).completed, 40);
    });
}

#[test]
fn intake_stops_when_the_future_is_created_not_when_polled() {
    bounded(30, || {
        let pool = pool("sasync-intake", 1, 4);
        let stopping = pool.shutdown_async();
        assert!(pool.is_shutdown());
        assert!(pool.execute(|| ()).is_err());
        assert!(pool.spawn(|| 1).is_err());
        drop(stopping); // never polled
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.rejected), (0, 2));
        assert_eq!(pool.stats().workers, 0);
    });
}

#[test]
fn is_woken_when_the_last_worker_exits() {
    let prefix = "sasync-wake";
    bounded(30, move || {
        let pool = pool(prefix, 2, 8);
        let gate_a = block_one_worker(&pool);
        let gate_b = block_one_worker(&pool);
        let ran = queue_busy_jobs(&pool, 4, Duration::ZERO);
        let mut stopping = Stepper::new(pool.shutdown_async());
        assert!(stopping.poll().is_pending(), "both workers are held");
        assert!(stopping.poll().is_pending(), "a second poll only refreshes the waker");
        gate_a.open();
        // One worker may exit now; the future waits for both.
        assert!(stopping.poll().is_pending());
        assert_eq!(stopping.wakes(), 0, "woken only by the last exit");
        gate_b.open();
        let report = stopping.finish(20);
        assert_eq!(ran.load(Ordering::SeqCst), 4);
        assert_eq!(report.completed, 6);
        assert_no_threads_named(prefix);
    });
}

#[test]
fn releases_submitters_waiting_for_room_at_once() {
    bounded(30, || {
        let pool = Arc::new(pool("sasync-release", 1, 1));
        let gate = block_one_worker(&pool);
        pool.execute(|| ()).unwrap(); // fills the queue
        let (refused_tx, refused_rx) = mpsc::channel();
        let submitter = {
            let pool = pool.clone();
            thread::Builder::new()
                .name("sasync-submit".into())
                .spawn(move || {
                    let refused = pool.spawn(|| 7).is_err();
                    refused_tx.send(refused).unwrap();
                })
                .unwrap()
        };
        wait_until(10, "the submitter sleeps, waiting for room", || thread_is_asleep("sasync-submit"));
        let mut stopping = Stepper::new(pool.shutdown_async());
        // The blocked submitter is refused while the worker is still held.
        assert!(refused_rx.recv_timeout(Duration::from_secs(10)).unwrap());
        submitter.join().unwrap();
        assert!(stopping.poll().is_pending());
        gate.open();
        let report = stopping.finish(20);
        assert_eq!((report.completed, report.submitted, report.rejected), (2, 2, 1));
    });
}

#[test]
fn dropping_the_future_leaves_the_pool_closed_and_draining() {
    let prefix = "sasync-drop";
    bounded(30, move || {
        let pool = pool(prefix, 1, 16);
        let gate = block_one_worker(&pool);
        let ran = queue_busy_jobs(&pool, 10, Duration::ZERO);
        let mut stopping = Stepper::new(pool.shutdown_async());
        assert!(stopping.poll().is_pending());
        drop(stopping); // cancelled while waiting in the list
        assert!(pool.is_shutdown());
        assert!(pool.execute(|| ()).is_err());
        gate.open();
        wait_until(10, "the queue drained without anyone waiting", || ran.load(Ordering::SeqCst) == 10);
        let report = pool.shutdown();
        assert_eq!((report.completed, report.submitted, report.rejected), (11, 11, 1));
        assert_no_threads_named(prefix);
    });
}

#[test]
fn several_waiters_threads_and_tasks_all_get_the_same_report() {
    let prefix = "sasync-many";
    bounded(30, move || {
        let pool = Arc::new(pool(prefix, 2, 64));
        let gate = block_one_worker(&pool);
        queue_busy_jobs(&pool, 20, Duration::from_micros(200));
        let mut first = Stepper::new(pool.shutdown_async());
        let mut second = Stepper::new(pool.shutdown_async());
        assert!(first.poll().is_pending());
        assert!(second.poll().is_pending());
        let blocking = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown())
        };
        let timed = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown_timeout(Duration::from_secs(20)))
        };
        gate.open();
        let reports = [
            first.finish(20),
            second.finish(20),
            blocking.join().unwrap(),
            timed.join().unwrap().expect("all workers exit well within the timeout"),
        ];
        for report in reports {
            assert_eq!((report.completed, report.submitted), (21, 21));
        }
        assert_no_threads_named(prefix);
    });
}

#[test]
fn a_shutdown_timeout_that_gave_up_leaves_nothing_behind_for_the_async_one() {
    bounded(30, || {
        let pool = pool("sasync-after-timeout", 1, 4);
        let gate = block_one_worker(&pool);
        assert!(pool.shutdown_timeout(Duration::from_millis(10)).is_err());
        let mut stopping = Stepper::new(pool.shutdown_async());
        assert!(stopping.poll().is_pending());
        gate.open();
        assert_eq!(stopping.finish(20).completed, 1);
    });
}

#[test]
fn a_permit_reserved_before_the_close_is_honoured() {
    bounded(30, || {
        let pool = pool("sasync-permit", 1, 2);
        let permit = block_on(pool.reserve()).unwrap();
        let mut stopping = Stepper::new(pool.shutdown_async());
        assert!(pool.execute(|| ()).is_err(), "closed to new submissions");
        assert!(stopping.poll().is_pending(), "the workers wait for the held slot");
        let handle = permit.spawn(|| 5);
        assert_eq!(stopping.finish(20).completed, 1);
        assert_eq!(handle.join().unwrap(), 5);
    });
}

#[test]
fn from_one_of_its_own_jobs_it_returns_at_once() {
    let prefix = "sasync-inside";
    bounded(30, move || {
        let pool = Arc::new(pool(prefix, 1, 8));
        let (report_tx, report_rx) = mpsc::channel();
        let inner = pool.clone();
        pool.execute(move || {
            // Polled on the pool's only worker: waiting for its own exit would never end.
            let report = block_on(inner.shutdown_async());
            report_tx.send((report, inner.is_shutdown())).unwrap();
        })
        .unwrap();
        let (report, closed) = report_rx.recv_timeout(Duration::from_secs(10)).expect("returns at once");
        assert!(closed);
        assert_eq!((report.submitted, report.completed), (1, 0), "its own job is still running");
        // A later shutdown from outside joins the worker.
        let report = pool.shutdown();
        assert_eq!(report.completed, 1);
        assert_no_threads_named(prefix);
    });
}

/// While 40 jobs of 2 ms drain on 2 workers, a 5 ms timer task on a current-thread runtime
/// keeps ticking when the runtime's one thread awaits `shutdown_async`, and stalls when a task
/// calls the blocking `shutdown` instead. Both figures are printed (`--nocapture`).
#[test]
fn measure_timer_lateness_while_shutting_down() {
    bounded(60, || {
        let measure = |use_async: bool| -> (Lateness, u64) {
            let runtime = current_thread_runtime();
            runtime.block_on(async {
                let pool = pool(if use_async { "sasync-tick-a" } else { "sasync-tick-b" }, 2, 64);
                let ran = queue_busy_jobs(&pool, 40, Duration::from_millis(2));
                let ticker = Ticker::start(Duration::from_millis(5));
                tokio::task::yield_now().await; // let the ticker arm its first timer
                let report = if use_async { pool.shutdown_async().await } else { pool.shutdown() };
                assert_eq!(ran.load(Ordering::SeqCst), 40);
                // Give the ticker a couple of periods to notice a stall.
                tokio::time::sleep(Duration::from_millis(12)).await;
                (ticker.stop().await, report.completed)
            })
        };
        let (awaited, completed_a) = measure(true);
        let (blocked, completed_b) = measure(false);
        assert_eq!((completed_a, completed_b), (40, 40));
        eprintln!(
            "5 ms timer on a current-thread runtime during shutdown of 40 x 2 ms jobs on 2 workers: \
             max lateness {:.2} ms awaiting shutdown_async ({} ticks), {:.2} ms calling blocking shutdown ({} ticks)",
            awaited.max.as_secs_f64() * 1e3,
            awaited.ticks,
            blocked.max.as_secs_f64() * 1e3,
            blocked.ticks,
        );
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
