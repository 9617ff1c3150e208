//! The slow-job watchdog: a stuck job reported exactly once and while it is still stuck, fast
//! jobs never, and every watched pool served by at most one maintenance thread, which exits
//! once the last watched pool is dropped. The tests share the process's one maintenance
//! thread, so they take turns. Every wait is bounded.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use boundpool::{maintenance_threads, SlowJob, ThreadPool};
use common::{bounded, held, wait_until};

/// The maintenance thread is process-wide: one test at a time.
static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn a_stuck_job_is_reported_exactly_once_while_it_is_still_stuck() {
    let _turn = turn();
    bounded(60, || {
        let (tx, rx) = mpsc::channel::<SlowJob>();
        let tx = Mutex::new(tx);
        let pool = ThreadPool::builder()
            .name("wdstuck")
            .workers(2)
            .slow_job(Duration::from_millis(40), move |slow| {
                let _ = tx.lock().unwrap().send(slow.clone());
            })
            .build()
            .unwrap();
        let (job, held) = held(());
        let still_running = Arc::new(AtomicBool::new(true));
        let flag = still_running.clone();
        pool.job()
            .name("stuck")
            .execute(move || {
                job();
                flag.store(false, Ordering::SeqCst);
            })
            .unwrap();
        held.wait_started();
        let slow = rx.recv_timeout(Duration::from_secs(10)).expect("the stuck job is reported");
        // Reported while it still runs: it has not been released yet.
        assert!(still_running.load(Ordering::SeqCst));
        assert_eq!((slow.pool.as_str(), slow.name.as_deref()), ("wdstuck", Some("stuck")));
        assert!(slow.running_for >= Duration::from_millis(40), "{slow}");
        assert!(slow.to_string().contains("slow job \"stuck\" on pool \"wdstuck\""), "{slow}");
        // Still stuck for several more periods: no second report.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "reported twice");
        held.release();
        pool.shutdown();
        assert!(rx.try_recv().is_err());
    });
}

#[test]
fn fast_jobs_are_never_reported() {
    let _turn = turn();
    bounded(60, || {
        let reports = Arc::new(AtomicUsize::new(0));
        let seen = reports.clone();
        let pool = ThreadPool::builder()
            .name("wdfast")
            .workers(2)
            .slow_job(Duration::from_millis(200), move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        for _ in 0..40 {
            let handles: Vec<_> =
                (0..50).map(|_| pool.spawn(|| std::hint::black_box(3) * 2).unwrap()).collect();
            handles.into_iter().for_each(|h| assert_eq!(h.join().unwrap(), 6));
            std::thread::sleep(Duration::from_millis(10));
        }
        pool.shutdown();
        assert_eq!(reports.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn many_watched_pools_share_one_maintenance_thread_which_exits_after_them() {
    let _turn = turn();
    bounded(60, || {
        wait_until(10, "no maintenance thread runs", || maintenance_threads() == 0);
        let reports = Arc::new(AtomicUsize::new(0));
        let pools: Vec<ThreadPool> = (0..12)
            .map(|i| {
                let seen = reports.clone();
                ThreadPool::builder()
                    .name(format!("wdmany{i}"))
                    .workers(1)
                    .slow_job(Duration::from_millis(20), move |_| {
                        seen.fetch_add(1, Ordering::SeqCst);
                    })
                    .build()
                    .unwrap()
            })
            .collect();
        let helds: Vec<_> = pools
            .iter()
            .map(|pool| {
                let (job, held) = held(());
                pool.execute(job).unwrap();
                held.wait_started();
                held
            })
            .collect();
        wait_until(10, "every pool's stuck job is reported", || reports.load(Ordering::SeqCst) >= 12);
        assert_eq!(maintenance_threads(), 1);
        helds.iter().for_each(|held| held.release());
        drop(pools);
        wait_until(10, "the maintenance thread exits", || maintenance_threads() == 0);
        assert_eq!(reports.load(Ordering::SeqCst), 12);
    });
}

#[test]
fn a_pool_without_a_threshold_starts_no_thread_and_a_panicking_hook_is_survived() {
    let _turn = turn();
    bounded(60, || {
        wait_until(10, "no maintenance thread runs", || maintenance_threads() == 0);
        let plain = ThreadPool::builder().workers(1).build().unwrap();
        plain.spawn(|| ()).unwrap().join().unwrap();
        // With the `metrics` feature every pool publishes from that thread.
        #[cfg(not(feature = "metrics"))]
        assert_eq!(maintenance_threads(), 0);

        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let pool = ThreadPool::builder()
            .workers(2)
            .slow_job(Duration::from_millis(20), move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
                panic!("hook failed");
            })
            .build()
            .unwrap();
        let (first, held_first) = held(());
        let (second, held_second) = held(());
        pool.execute(first).unwrap();
        pool.execute(second).unwrap();
        held_first.wait_started();
        held_second.wait_started();
        wait_until(10, "both stuck jobs are reported", || calls.load(Ordering::SeqCst) >= 2);
        held_first.release();
        held_second.release();
        drop(pool);
        drop(plain);
        wait_until(10, "the maintenance thread exits", || maintenance_threads() == 0);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    });
}
