//! The `metrics` feature: a Prometheus recorder installed, a named pool's exact counts read
//! back from the rendered text after shutdown; an object pool's and a buffer pool's figures
//! and the watchdog's count within a bounded wait. One recorder per process, so one file and one test.
#![cfg(feature = "metrics")]

mod common;

use std::time::Duration;

use boundpool::{BufferPool, ObjectPool, ThreadPool, TrySubmitError};
use common::{bounded, held, wait_until};
use metrics_exporter_prometheus::PrometheusBuilder;

/// The value of the sample `name{pool="<pool>"}` in `text`, if present.
fn sample(text: &str, name: &str, pool: &str) -> Option<f64> {
    let head = format!("{name}{{pool=\"{pool}\"}} ");
    text.lines().find_map(|line| line.strip_prefix(&head)).and_then(|v| v.trim().parse().ok())
}

#[test]
fn a_named_pool_reports_exact_counts_through_the_metrics_facade() {
    bounded(60, || {
        let handle = PrometheusBuilder::new().install_recorder().expect("the only recorder of this process");

        let pool = ThreadPool::builder()
            .name("mtest")
            .workers(1)
            .queue_capacity(1)
            .record_latency(true)
            .build()
            .unwrap();
        let (job, gate) = held(());
        pool.execute(job).unwrap();
        gate.wait_started();
        pool.execute(|| ()).unwrap(); // fills the queue
        match pool.try_execute(|| ()) {
            Err(TrySubmitError::Full(_)) => {}
            other => panic!("expected Full, got {:?}", other.is_ok()),
        }
        gate.release();
        for _ in 0..3 {
            pool.spawn(|| ()).unwrap().join().unwrap();
        }
        let panicked = pool.spawn(|| panic!("expected panic")).unwrap().join();
        assert!(panicked.unwrap_err().is_panic());
        pool.shutdown();

        let text = handle.render();
        let get =
            |name: &str| sample(&text, name, "mtest").unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        assert_eq!(get("boundpool_jobs_submitted_total"), 6.0);
        assert_eq!(get("boundpool_jobs_completed_total"), 5.0);
        assert_eq!(get("boundpool_jobs_panicked_total"), 1.0);
        assert_eq!(get("boundpool_jobs_cancelled_total"), 0.0);
        assert_eq!(get("boundpool_jobs_rejected_total"), 1.0);
        assert_eq!(get("boundpool_jobs_queued"), 0.0);
        assert_eq!(get("boundpool_jobs_running"), 0.0);
        assert_eq!(get("boundpool_workers"), 0.0);
        assert_eq!(get("boundpool_job_queue_wait_seconds_count"), 6.0);
        assert_eq!(get("boundpool_job_run_seconds_count"), 6.0);

        let objects = ObjectPool::builder(|| Ok::<_, std::io::Error>(Vec::<u8>::new()))
            .name("mobj")
            .max_live(4)
            .build()
            .unwrap();
        let a = objects.get().unwrap();
        let b = objects.get().unwrap();
        drop(b);
        wait_until(10, "the object pool's gauges are published", || {
            let text = handle.render();
            sample(&text, "boundpool_objects_live", "mobj") == Some(2.0)
                && sample(&text, "boundpool_objects_idle", "mobj") == Some(1.0)
                && sample(&text, "boundpool_object_waiters", "mobj") == Some(0.0)
        });
        drop(a);

        let buffers = BufferPool::builder().name("mbuf").build();
        let (first, second) = (buffers.get(), buffers.get()); // two misses
        drop(first); // kept by this thread
        drop(second); // to the shared store
        drop(buffers.get()); // a hit
        wait_until(10, "the buffer pool's figures are published", || {
            let text = handle.render();
            sample(&text, "boundpool_buffer_hits_total", "mbuf") == Some(1.0)
                && sample(&text, "boundpool_buffer_misses_total", "mbuf") == Some(2.0)
                && sample(&text, "boundpool_buffers_retained", "mbuf") == Some(1.0)
        });

        // The watchdog counts each job it reports.
        let watched = ThreadPool::builder()
            .name("mslow")
            .workers(1)
            .slow_job(Duration::from_millis(20), |_| ())
            .build()
            .unwrap();
        let (stuck, stuck_held) = held(());
        watched.execute(stuck).unwrap();
        stuck_held.wait_started();
        wait_until(10, "the stuck job is counted", || {
            sample(&handle.render(), "boundpool_jobs_slow_total", "mslow") == Some(1.0)
        });
        stuck_held.release();
    });
}
