//! `Sweep` driven with a real closure: the report's invariants hold (nothing finishes faster
//! than it was offered, Little's law within 10 %, every point measured as often as asked, the
//! CSV has the documented columns), and bad settings are typed errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use boundpool_capacity::{Report, Sweep, SweepError, CSV_HEADER};

/// Runs `sweep` on its own thread and fails (instead of hanging) past `limit`.
fn run_bounded(sweep: Sweep, limit: Duration) -> Result<Report, SweepError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(sweep.run());
    });
    rx.recv_timeout(limit).expect("the sweep finished in time")
}

#[test]
fn a_real_closure_gives_a_consistent_report() {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&calls);
    let sweep = Sweep::new(move || {
        // ORDERING: a plain count, read after the sweep's pools have shut down.
        counter.fetch_add(1, Ordering::Relaxed);
        std::hint::black_box((0..2_000u64).sum::<u64>());
        std::thread::sleep(Duration::from_millis(2));
    })
    .rate(500.0)
    .workers([2, 4])
    .queue_capacities([8, 64])
    .target_p99(Duration::from_millis(50))
    .duration(Duration::from_millis(800))
    .repeats(2)
    .cores(8)
    .nodes(10_000.0);
    let report = run_bounded(sweep, Duration::from_secs(120)).expect("a valid sweep runs");

    assert_eq!(report.points().len(), 4);
    let mut completed = 0;
    for p in report.points() {
        assert!(!p.runs.is_empty() && p.runs.len() <= 2, "{} runs", p.runs.len());
        for r in &p.runs {
            assert!(r.throughput <= r.offered, "throughput {} over offered {}", r.throughput, r.offered);
            assert_eq!(r.completed, r.accepted, "graceful shutdown runs every accepted job");
            // Within 10 % on a quiet machine; a run the report itself flags as disturbed (other
            // processes took the CPU the sampler needed) gets 25 %.
            let ratio = r.little_ratio();
            let tolerance = if r.disturbed() { 0.25 } else { 0.10 };
            assert!(
                (1.0 - tolerance..=1.0 + tolerance).contains(&ratio),
                "Little's law off by more than {tolerance}: {ratio} (disturbed: {})",
                r.disturbed()
            );
            assert!(r.latency.p50 <= r.latency.p99 && r.latency.p99 <= r.latency.p999);
            completed += r.completed;
        }
        assert!(p.model.throughput > 0.0 && p.model.throughput <= 500.0 + 1e-9);
    }
    // Every job ran the closure; the probe ran it too, before the sweep.
    // ORDERING: see the closure.
    assert!(calls.load(Ordering::Relaxed) > completed, "the closure ran for every job and the probe");

    let service = report.service();
    assert!(service.mean >= Duration::from_millis(2), "{service:?}");
    assert!(service.cpu < service.mean, "{service:?}");

    let csv = report.csv();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    let columns = CSV_HEADER.split(',').count();
    assert_eq!(columns, 25);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), report.points().iter().map(|p| p.runs.len()).sum::<usize>());
    for row in rows {
        assert_eq!(row.split(',').count(), columns, "{row}");
    }

    let text = report.to_string();
    assert!(text.lines().last().is_some_and(|l| l.starts_with("recommended: ")), "{text}");
    assert!(text.contains("little's law"), "{text}");
    assert!(text.contains("model for a 8-core host"), "{text}");
    assert!(text.contains("nodes: 10000 jobs/s"), "{text}");

    let dir = std::env::temp_dir().join(format!("boundpool-capacity-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    report.write_csv(dir.join("c.csv")).unwrap();
    report.write_svg(dir.join("c.svg")).unwrap();
    let svg = std::fs::read_to_string(dir.join("c.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("queue 64"), "{}", &svg[..svg.len().min(200)]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_settings_are_typed_errors() {
    let invalid = |s: Sweep| matches!(s.run(), Err(SweepError::Invalid(_)));
    assert!(invalid(Sweep::new(|| ()).rate(0.0)));
    assert!(invalid(Sweep::new(|| ()).rate(f64::NAN)));
    assert!(invalid(Sweep::new(|| ()).workers([])));
    assert!(invalid(Sweep::new(|| ()).workers([0, 2])));
    assert!(invalid(Sweep::new(|| ()).queue_capacities([0])));
    assert!(invalid(Sweep::new(|| ()).repeats(0)));
    assert!(invalid(Sweep::new(|| ()).duration(Duration::ZERO)));
    assert!(invalid(Sweep::new(|| ()).cores(0)));
    assert!(invalid(Sweep::new(|| ()).rate(10.0).nodes(-1.0)));
    let err = Sweep::new(|| ()).repeats(0).run().unwrap_err();
    assert_eq!(err.to_string(), "repeats must be from 1 to 100");
}
