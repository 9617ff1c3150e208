//! The recommendation rule on fixed data: every repeat must meet the target with the margin,
//! the smallest such configuration wins, and without one the closest is named, unqualified.

use std::time::Duration;

use boundpool_capacity::model::Prediction;
use boundpool_capacity::recommend::{Choice, Rule, MARGIN, REJECT_BUDGET};
use boundpool_capacity::{Arrival, Point, Quantiles, Run};

const RATE: f64 = 1000.0;
const TARGET: Duration = Duration::from_millis(20);

fn run(p99_ms: f64, rejected: u64) -> Run {
    let p99 = Duration::from_secs_f64(p99_ms / 1e3);
    let q = Quantiles { p50: p99 / 4, p99, p999: p99 * 2, mean: p99 / 3 };
    Run {
        offered: RATE,
        accepted: 3000 - rejected,
        rejected,
        completed: 3000 - rejected,
        throughput: RATE * (1.0 - rejected as f64 / 3000.0),
        latency: q,
        queue_wait: q,
        peak_queued: 4,
        cpu_util: None,
        little_measured: 1.0,
        accepted_rate: RATE,
        mean_in_pool: Duration::from_millis(1),
        little_predicted: 1.0,
        others_cpu: Some(0.05),
        max_late: Duration::from_micros(100),
    }
}

fn point(workers: usize, queue: usize, runs: Vec<Run>) -> Point {
    let model = Prediction {
        throughput: RATE,
        rejected_share: 0.0,
        wait_p99: Duration::ZERO,
        latency_p99: Duration::from_millis(5),
        utilisation: 0.5,
    };
    Point { workers, queue, runs, model }
}

fn rule(repeats: u32) -> Rule {
    Rule { arrival: Arrival::Open { rate: RATE, poisson: true }, target_p99: TARGET, repeats }
}

#[test]
fn the_stated_margins() {
    assert_eq!(MARGIN, 0.8);
    assert_eq!(REJECT_BUDGET, 0.001);
}

#[test]
fn the_smallest_point_meeting_the_target_in_every_repeat_wins() {
    let points = vec![
        point(2, 16, vec![run(50.0, 900), run(55.0, 950), run(52.0, 920)]), // overloaded
        point(4, 16, vec![run(9.0, 0), run(17.0, 0), run(9.5, 0)]),         // one repeat over 80 % of target
        point(4, 64, vec![run(9.0, 0), run(9.2, 0), run(9.1, 4)]),          // 4 of 3000 refused: over 0.1 %
        point(8, 4, vec![run(5.0, 3), run(5.1, 1), run(5.0, 0)]),           // 3 of 3000: within budget
        point(8, 16, vec![run(5.0, 0), run(5.0, 0), run(5.0, 0)]),
        point(16, 4, vec![run(4.0, 0), run(4.0, 0), run(4.0, 0)]),
    ];
    let r = rule(3);
    let ok: Vec<bool> = points.iter().map(|p| r.qualifies(p, &points)).collect();
    assert_eq!(ok, [false, false, false, true, true, true]);
    assert_eq!(r.choose(&points), Some(Choice { index: 3, qualified: true }));
}

#[test]
fn a_point_with_fewer_repeats_than_asked_never_qualifies() {
    // Measured once (dropped after a hopeless first run, or cut short): not enough evidence.
    let points = vec![point(4, 16, vec![run(5.0, 0)]), point(8, 16, vec![run(6.0, 0), run(6.0, 0)])];
    assert_eq!(rule(2).choose(&points), Some(Choice { index: 1, qualified: true }));
    assert_eq!(rule(1).choose(&points), Some(Choice { index: 0, qualified: true }));
}

#[test]
fn the_margin_is_on_the_worst_repeat() {
    // 16 ms is exactly 80 % of 20 ms: allowed; 16.1 ms in one repeat is not.
    let at = point(4, 16, vec![run(16.0, 0), run(3.0, 0)]);
    let over = point(4, 16, vec![run(16.1, 0), run(3.0, 0)]);
    let r = rule(2);
    assert!(r.qualifies(&at, std::slice::from_ref(&at)));
    assert!(!r.qualifies(&over, std::slice::from_ref(&over)));
}

#[test]
fn without_a_qualifying_point_the_closest_is_named_unqualified() {
    let points = vec![
        point(1, 4, vec![run(30.0, 500)]),
        point(2, 4, vec![run(40.0, 100), run(35.0, 90)]),
        point(2, 64, vec![run(25.0, 100), run(90.0, 80)]), // same worst refusals, worse p99
    ];
    assert_eq!(rule(2).choose(&points), Some(Choice { index: 1, qualified: false }));
    assert_eq!(rule(2).choose(&[]), None);
}

#[test]
fn closed_loop_needs_near_the_best_throughput() {
    let fast = |tput: f64| Run { throughput: tput, ..run(5.0, 0) };
    let points = vec![
        point(2, 16, vec![fast(500.0), fast(520.0)]),
        point(4, 16, vec![fast(950.0), fast(880.0)]), // 880 < 90 % of the best median (1000)
        point(8, 16, vec![fast(1000.0), fast(990.0)]),
    ];
    let r = Rule { arrival: Arrival::Closed, target_p99: TARGET, repeats: 2 };
    assert_eq!(r.choose(&points), Some(Choice { index: 2, qualified: true }));
}
