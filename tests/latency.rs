//! Latency histograms: percentiles against known inputs, and the pool's recording.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use boundpool::{LatencyHistogram, ThreadPool};
use common::bounded;

fn within(actual: Duration, expected: Duration, tolerance: f64) -> bool {
    let (a, e) = (actual.as_secs_f64(), expected.as_secs_f64());
    (a - e).abs() <= e * tolerance
}

#[test]
fn empty_histogram_reports_zero() {
    let h = LatencyHistogram::new();
    assert_eq!(h.count(), 0);
    assert_eq!(h.percentile(50.0), Duration::ZERO);
    assert_eq!((h.mean(), h.min(), h.max()), (Duration::ZERO, Duration::ZERO, Duration::ZERO));
}

#[test]
fn percentiles_of_a_uniform_range_are_within_bucket_precision() {
    let mut h = LatencyHistogram::new();
    for us in 1..=10_000u64 {
        h.record(Duration::from_micros(us));
    }
    assert_eq!(h.count(), 10_000);
    for (p, expected_us) in [(50.0, 5_000), (90.0, 9_000), (99.0, 9_900), (99.9, 9_990)] {
        let got = h.percentile(p);
        assert!(within(got, Duration::from_micros(expected_us), 0.0625), "p{p}: {got:?}");
    }
    assert_eq!(h.min(), Duration::from_micros(1));
    assert_eq!(h.max(), Duration::from_micros(10_000));
    assert_eq!(h.mean(), Duration::from_nanos(5_000_500));
    assert_eq!(h.percentile(100.0), h.max());
    assert_eq!(h.percentile(0.0), h.min());
}

#[test]
fn a_bimodal_distribution_puts_the_tail_in_the_tail() {
    let mut h = LatencyHistogram::new();
    for _ in 0..980 {
        h.record(Duration::from_micros(100));
    }
    for _ in 0..20 {
        h.record(Duration::from_millis(50));
    }
    assert!(within(h.percentile(50.0), Duration::from_micros(100), 0.0625));
    assert!(within(h.percentile(98.0), Duration::from_micros(100), 0.0625));
    assert!(within(h.percentile(98.1), Duration::from_millis(50), 0.0625));
    assert!(within(h.percentile(99.9), Duration::from_millis(50), 0.0625));
}

#[test]
fn exact_small_values_and_extremes() {
    let mut h = LatencyHistogram::new();
    for ns in 0..16u64 {
        h.record(Duration::from_nanos(ns));
    }
    // Below 16 ns every value has its own bucket.
    assert_eq!(h.percentile(50.0), Duration::from_nanos(7));
    h.record(Duration::MAX);
    assert_eq!(h.count(), 17);
    assert_eq!(h.max(), Duration::from_nanos(u64::MAX));
    assert_eq!(h.percentile(f64::NAN), h.max());
}

#[test]
fn the_pool_records_queue_wait_and_run_time_per_job() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(16).record_latency(true).build().unwrap();
        // Hold the only worker so the next jobs wait in the queue at least as long as it.
        let (release, held) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel();
        pool.execute(move || {
            started_tx.send(()).unwrap();
            held.recv_timeout(Duration::from_secs(10)).unwrap();
        })
        .unwrap();
        started.recv_timeout(Duration::from_secs(10)).unwrap();
        let handles: Vec<_> =
            (0..5).map(|_| pool.spawn(|| std::thread::sleep(Duration::from_millis(2))).unwrap()).collect();
        let hold = std::time::Instant::now();
        while hold.elapsed() < Duration::from_millis(20) {
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        for h in handles {
            h.join().unwrap();
        }
        let stats = pool.stats();
        assert_eq!(stats.run_time.count(), 6);
        assert_eq!(stats.queue_wait.count(), 6);
        // The five queued jobs waited at least the 20 ms the worker was held.
        assert!(stats.queue_wait.percentile(50.0) >= Duration::from_millis(18), "{:?}", stats.queue_wait);
        assert!(stats.run_time.min() >= Duration::from_millis(2), "{:?}", stats.run_time);
    });
}

#[test]
fn recording_is_off_by_default() {
    let pool = ThreadPool::new(1).unwrap();
    pool.spawn(|| ()).unwrap().join().unwrap();
    let stats = pool.stats();
    assert_eq!((stats.queue_wait.count(), stats.run_time.count()), (0, 0));
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
