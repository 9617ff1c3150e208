//! Turns the measured points into the terminal table, `capacity.csv`, the recommendation and the
//! Little's-law cross-check.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::args::{Arrival, Plan};
use crate::sweep::Point;

/// In open loop, a point whose submitter offered less than this share of `--rate` (because the
/// machine could not keep up) cannot vouch for that rate.
const KEPT_UP: f64 = 0.95;
/// In closed loop, a point must reach this share of the best throughput seen to qualify.
const NEAR_BEST: f64 = 0.9;

/// `850µs`, `12.3ms`, `1.25s`: three significant figures, the unit chosen to fit.
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 10_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else if us < 1_000_000.0 {
        format!("{:.1}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

/// The terminal table, one row per point.
pub fn table(points: &[Point], plan: &Plan) -> String {
    let mut out = String::new();
    let header = [
        "workers",
        "queue",
        "offered/s",
        "done/s",
        "p50",
        "p99",
        "p99.9",
        "wait p50",
        "wait p99",
        "wait p99.9",
        "rejected",
        "peak q",
        "cpu",
        "L ratio",
        "ok",
    ];
    let widths = [7, 6, 10, 9, 9, 9, 9, 9, 9, 10, 9, 7, 5, 8, 3];
    let row = |out: &mut String, cells: &[String]| {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let _ = write!(out, "{sep}{cell:>w$}");
        }
        out.push('\n');
    };
    row(&mut out, &header.map(str::to_owned));
    for p in points {
        let cpu = p.cpu_util.map_or_else(|| "n/a".to_owned(), |u| format!("{:.0}%", u * 100.0));
        let ok = if meets(p, points, plan) { "yes" } else { "-" };
        row(
            &mut out,
            &[
                p.workers.to_string(),
                p.queue.to_string(),
                format!("{:.0}", p.offered),
                format!("{:.0}", p.throughput),
                fmt_duration(p.latency.p50),
                fmt_duration(p.latency.p99),
                fmt_duration(p.latency.p999),
                fmt_duration(p.queue_wait.p50),
                fmt_duration(p.queue_wait.p99),
                fmt_duration(p.queue_wait.p999),
                p.rejected.to_string(),
                p.peak_queued.to_string(),
                cpu,
                format!("{:.2}", p.little_ratio()),
                ok.to_owned(),
            ],
        );
    }
    out
}

/// `capacity.csv`: one row per point, times in microseconds.
pub fn write_csv(points: &[Point], path: &Path) -> std::io::Result<()> {
    let mut out = String::from(
        "workers,queue,offered_per_s,throughput_per_s,accepted,rejected,completed,\
         latency_p50_us,latency_p99_us,latency_p999_us,latency_mean_us,\
         queue_wait_p50_us,queue_wait_p99_us,queue_wait_p999_us,peak_queued,cpu_util,\
         little_measured,little_predicted\n",
    );
    let us = |d: Duration| d.as_micros();
    for p in points {
        let cpu = p.cpu_util.map_or_else(String::new, |u| format!("{u:.3}"));
        let _ = writeln!(
            out,
            "{},{},{:.1},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3}",
            p.workers,
            p.queue,
            p.offered,
            p.throughput,
            p.accepted,
            p.rejected,
            p.completed,
            us(p.latency.p50),
            us(p.latency.p99),
            us(p.latency.p999),
            us(p.latency.mean),
            us(p.queue_wait.p50),
            us(p.queue_wait.p99),
            us(p.queue_wait.p999),
            p.peak_queued,
            cpu,
            p.little_measured,
            p.little_predicted,
        );
    }
    std::fs::write(path, out)
}

/// Whether `p` meets the target: in open loop, p99 within target, no rejection, and the offered
/// rate held; in closed loop, p99 within target at nearly the best throughput of the sweep.
pub fn meets(p: &Point, points: &[Point], plan: &Plan) -> bool {
    if p.latency.p99 > plan.target_p99 {
        return false;
    }
    match plan.arrival {
        Arrival::Open { rate, .. } => p.rejected == 0 && p.offered >= KEPT_UP * rate,
        Arrival::Closed => p.throughput >= NEAR_BEST * best_throughput(points),
    }
}

fn best_throughput(points: &[Point]) -> f64 {
    points.iter().map(|p| p.throughput).fold(0.0, f64::max)
}

fn describe(p: &Point) -> String {
    format!(
        "workers={} queue={} (p99 {}, {:.0} jobs/s done, {} rejected, peak queue {})",
        p.workers,
        p.queue,
        fmt_duration(p.latency.p99),
        p.throughput,
        p.rejected,
        p.peak_queued
    )
}

/// The smallest qualifying point (fewest workers, then smallest queue), or else the closest one
/// (fewest rejections, then lowest p99), and whether it qualified.
pub fn choose<'a>(points: &'a [Point], plan: &Plan) -> Option<(&'a Point, bool)> {
    let best = points.iter().filter(|p| meets(p, points, plan)).min_by_key(|p| (p.workers, p.queue));
    match best {
        Some(p) => Some((p, true)),
        None => points.iter().min_by_key(|p| (p.rejected, p.latency.p99)).map(|p| (p, false)),
    }
}

/// The closing lines: Little's-law cross-check, then the line starting with `recommended:`.
pub fn closing(points: &[Point], plan: &Plan) -> String {
    let load = match plan.arrival {
        Arrival::Open { rate, .. } => format!("{rate:.0} jobs/s offered"),
        Arrival::Closed => "the closed-loop load".to_owned(),
    };
    let target = fmt_duration(plan.target_p99);
    let Some((p, ok)) = choose(points, plan) else {
        return "recommended: nothing measured (empty sweep)\n".to_owned();
    };
    let mut out = String::new();
    let (lo, hi) = points
        .iter()
        .map(Point::little_ratio)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r), hi.max(r)));
    let _ = writeln!(
        out,
        "little's law at workers={} queue={}: mean jobs in pool measured {:.2} (sampled running + queued) \
         vs accepted arrivals {:.0}/s × mean time in pool {} = {:.2}; ratio {:.2} (all points: {:.2}..{:.2})",
        p.workers,
        p.queue,
        p.little_measured,
        p.accepted_rate,
        fmt_duration(p.mean_in_pool),
        p.little_predicted,
        p.little_ratio(),
        lo,
        hi,
    );
    if ok {
        let _ = writeln!(out, "recommended: {} meets p99 ≤ {target} at {load}", describe(p));
    } else {
        let _ = writeln!(
            out,
            "recommended: none of the {} configurations meets p99 ≤ {target} at {load} without rejections; \
             closest: {}; try more workers (--workers) or a lower --rate",
            points.len(),
            describe(p)
        );
    }
    out
}
