//! What a sweep found: every point's runs and model, the recommendation, and what the model says
//! past this machine. Printed with `Display`; written with [`Report::write_csv`] and
//! [`Report::write_svg`].

use std::fmt::{self, Write as _};
use std::path::Path;
use std::time::Duration;

use crate::measure::Run;
use crate::model::{Prediction, Service};
use crate::reach::{self, Reach};
use crate::recommend::{Choice, Rule, MARGIN, REJECT_BUDGET};
use crate::sweep::Arrival;
use crate::units::format_duration as fmt_d;

/// Model and measurement disagree when one is more than this many times the other.
pub const DISAGREE: f64 = 2.0;

/// The sweep's settings, as the report states them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) workload: String,
    pub(crate) arrival: Arrival,
    pub(crate) target_p99: Duration,
    pub(crate) duration: Duration,
    pub(crate) repeats: u32,
    pub(crate) cpus: usize,
    pub(crate) cores: Option<usize>,
    pub(crate) nodes: Option<f64>,
    /// Runs measured again because the machine was busy.
    pub(crate) retried: u32,
    /// Time spent waiting for the neighbours to quieten before runs.
    pub(crate) waited: Duration,
}

/// One configuration: its runs and the model's figures.
#[derive(Debug, Clone)]
pub struct Point {
    /// Worker count.
    pub workers: usize,
    /// Queue capacity.
    pub queue: usize,
    /// Every measurement of this point, in order.
    pub runs: Vec<Run>,
    /// The model's prediction for this point on this machine.
    pub model: Prediction,
}

impl Point {
    /// The median over the runs of `f` (the lower middle for an even count; 0 without runs).
    ///
    /// ```
    /// # fn check(p: &boundpool_capacity::Point) {
    /// let done_per_s = p.median(|r| r.throughput);
    /// # }
    /// ```
    pub fn median(&self, f: impl Fn(&Run) -> f64) -> f64 {
        let mut v: Vec<f64> = self.runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
    }

    /// The largest over the runs of `f`.
    ///
    /// ```
    /// # fn check(p: &boundpool_capacity::Point) {
    /// let refused = p.worst(|r| r.rejected);
    /// # }
    /// ```
    pub fn worst<T: Ord + Default>(&self, f: impl Fn(&Run) -> T) -> T {
        self.runs.iter().map(f).max().unwrap_or_default()
    }

    /// Median end-to-end p99 over the runs.
    ///
    /// ```
    /// # fn check(p: &boundpool_capacity::Point) { assert!(p.p99() <= p.worst_p99()); }
    /// ```
    pub fn p99(&self) -> Duration {
        Duration::from_secs_f64(self.median(|r| r.latency.p99.as_secs_f64()))
    }

    /// Largest end-to-end p99 over the runs.
    ///
    /// ```
    /// # fn check(p: &boundpool_capacity::Point) { let _ = p.worst_p99(); }
    /// ```
    pub fn worst_p99(&self) -> Duration {
        self.worst(|r| r.latency.p99)
    }

    /// Median p99 queue wait over the runs.
    ///
    /// ```
    /// # fn check(p: &boundpool_capacity::Point) { let _ = p.wait_p99(); }
    /// ```
    pub fn wait_p99(&self) -> Duration {
        Duration::from_secs_f64(self.median(|r| r.queue_wait.p99.as_secs_f64()))
    }

    /// The spread of the end-to-end p99 over the runs: (max − min) ÷ median.
    ///
    /// ```
    /// # fn check(p: &boundpool_capacity::Point) { assert!(p.p99_spread() >= 0.0); }
    /// ```
    pub fn p99_spread(&self) -> f64 {
        let p99s = self.runs.iter().map(|r| r.latency.p99.as_secs_f64());
        let (lo, hi) = p99s.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let median = self.p99().as_secs_f64();
        if median > 0.0 && hi >= lo {
            (hi - lo) / median
        } else {
            0.0
        }
    }

    /// Whether model and measurement disagree by more than 2× on throughput or p99 queue wait.
    /// Waits shorter than half a mean service time count as equal: at that scale a wait is a
    /// thread waking up, not queueing.
    ///
    /// ```
    /// # fn check(p: &boundpool_capacity::Point, s: &boundpool_capacity::model::Service) {
    /// let flagged = p.disagrees(s);
    /// # }
    /// ```
    pub fn disagrees(&self, service: &Service) -> bool {
        let floor = service.mean.as_secs_f64() / 2.0;
        let off = |a: f64, b: f64, floor: f64| {
            let (a, b) = (a.max(floor), b.max(floor));
            a > DISAGREE * b || b > DISAGREE * a
        };
        off(self.wait_p99().as_secs_f64(), self.model.wait_p99.as_secs_f64(), floor)
            || off(self.median(|r| r.throughput), self.model.throughput, 1.0)
    }
}

/// What a sweep found. `Display` prints the table, the Little's-law check, what the model says
/// beyond this machine, and ends with a line starting `recommended:`.
///
/// ```no_run
/// let report = boundpool_capacity::Sweep::new(|| ()).rate(100.0).run()?;
/// println!("{report}");
/// # Ok::<(), boundpool_capacity::SweepError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    settings: Settings,
    service: Service,
    points: Vec<Point>,
    choice: Option<Choice>,
    reach: Reach,
}

impl Report {
    pub(crate) fn new(settings: Settings, service: Service, points: Vec<Point>) -> Report {
        let choice =
            Rule { arrival: settings.arrival, target_p99: settings.target_p99, repeats: settings.repeats }
                .choose(&points);
        let reach = reach::Reach::plan(&settings, &service, &points);
        Report { settings, service, points, choice, reach }
    }

    /// Every point, in sweep order (workers, then queue capacity).
    ///
    /// ```no_run
    /// # let report = boundpool_capacity::Sweep::new(|| ()).run()?;
    /// for p in report.points() {
    ///     println!("{} workers, queue {}: p99 {:?}", p.workers, p.queue, p.p99());
    /// }
    /// # Ok::<(), boundpool_capacity::SweepError>(())
    /// ```
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// What one job costs run alone, as the probe measured it.
    ///
    /// ```no_run
    /// # let report = boundpool_capacity::Sweep::new(|| ()).run()?;
    /// println!("cpu per job {:?}", report.service().cpu);
    /// # Ok::<(), boundpool_capacity::SweepError>(())
    /// ```
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The recommended point and whether it met the target (else it is only the closest).
    ///
    /// ```no_run
    /// # let report = boundpool_capacity::Sweep::new(|| ()).run()?;
    /// if let Some((p, true)) = report.recommended() {
    ///     println!("run {} workers with a queue of {}", p.workers, p.queue);
    /// }
    /// # Ok::<(), boundpool_capacity::SweepError>(())
    /// ```
    pub fn recommended(&self) -> Option<(&Point, bool)> {
        self.choice.map(|c| (&self.points[c.index], c.qualified))
    }

    /// The recommendation as `(workers, queue)`, if a point qualified.
    ///
    /// ```no_run
    /// # let report = boundpool_capacity::Sweep::new(|| ()).run()?;
    /// let (workers, queue) = report.recommendation().expect("a configuration met the target");
    /// # Ok::<(), boundpool_capacity::SweepError>(())
    /// ```
    pub fn recommendation(&self) -> Option<(usize, usize)> {
        self.recommended().filter(|(_, ok)| *ok).map(|(p, _)| (p.workers, p.queue))
    }

    /// Writes one CSV row per run: the point, the repeat, what was measured (times in µs),
    /// then the model's figures for the point.
    ///
    /// # Errors
    ///
    /// The error from writing the file.
    ///
    /// ```no_run
    /// # let report = boundpool_capacity::Sweep::new(|| ()).run()?;
    /// report.write_csv("target/capacity.csv")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_csv(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.csv())
    }

    /// The CSV text [`write_csv`](Self::write_csv) writes.
    ///
    /// ```no_run
    /// # let report = boundpool_capacity::Sweep::new(|| ()).run()?;
    /// assert!(report.csv().starts_with("workers,queue,repeat,"));
    /// # Ok::<(), boundpool_capacity::SweepError>(())
    /// ```
    pub fn csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        let us = |d: Duration| d.as_micros();
        for p in &self.points {
            for (i, r) in p.runs.iter().enumerate() {
                let cpu = r.cpu_util.map_or_else(String::new, |u| format!("{u:.3}"));
                let _ = writeln!(
                    out,
                    "{},{},{},{:.1},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{},{},{:.1},{:.5},{},{}",
                    p.workers,
                    p.queue,
                    i + 1,
                    r.offered,
                    r.throughput,
                    r.accepted,
                    r.rejected,
                    r.completed,
                    us(r.latency.p50),
                    us(r.latency.p99),
                    us(r.latency.p999),
                    us(r.latency.mean),
                    us(r.queue_wait.p50),
                    us(r.queue_wait.p99),
                    us(r.queue_wait.p999),
                    r.peak_queued,
                    cpu,
                    r.little_measured,
                    r.little_predicted,
                    r.others_cpu.map_or_else(String::new, |u| format!("{u:.3}")),
                    us(r.max_late),
                    p.model.throughput,
                    p.model.rejected_share,
                    us(p.model.wait_p99),
                    us(p.model.latency_p99),
                );
            }
        }
        out
    }

    /// Draws p99 latency and throughput against workers, measured (solid, with each repeat's
    /// range) and modelled (dashed), one colour per queue capacity, to an SVG file.
    ///
    /// # Errors
    ///
    /// The error from drawing or writing the file, as an `io::Error`.
    ///
    /// ```no_run
    /// # let report = boundpool_capacity::Sweep::new(|| ()).run()?;
    /// report.write_svg("target/capacity.svg")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_svg(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        crate::chart::write_svg(&self.points, self.settings.arrival, self.settings.target_p99, path.as_ref())
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    fn rule(&self) -> Rule {
        Rule {
            arrival: self.settings.arrival,
            target_p99: self.settings.target_p99,
            repeats: self.settings.repeats,
        }
    }

    fn header(&self, out: &mut String) {
        let s = &self.settings;
        let sv = &self.service;
        let load = match s.arrival {
            Arrival::Open { rate, poisson } => {
                let kind = if poisson { "poisson" } else { "uniform" };
                let busy = rate * sv.mean.as_secs_f64();
                let cores = rate * sv.cpu.as_secs_f64();
                format!(
                    "{rate:.0} jobs/s ({kind}): on average {busy:.2} busy workers, {cores:.2} cores of CPU"
                )
            }
            Arrival::Closed => "closed loop (one submitter, as fast as the pool accepts)".to_owned(),
        };
        let _ = writeln!(out, "workload: {}; arrivals {load}", s.workload);
        let _ = writeln!(
            out,
            "one job run alone: cpu {} + blocking {} = {} mean (cv {:.2}, p99 {})",
            fmt_d(sv.cpu),
            fmt_d(sv.io()),
            fmt_d(sv.mean),
            sv.cv,
            fmt_d(sv.p99)
        );
        let mut workers: Vec<usize> = self.points.iter().map(|p| p.workers).collect();
        workers.dedup();
        let mut queues: Vec<usize> = self.points.iter().map(|p| p.queue).collect();
        queues.sort_unstable();
        queues.dedup();
        let _ = writeln!(
            out,
            "sweep: workers {workers:?} × queue {queues:?}, {} × {} per point, {} CPUs; target p99 {} \
             (qualifies: every repeat p99 ≤ {}{})",
            s.repeats,
            fmt_d(s.duration),
            s.cpus,
            fmt_d(s.target_p99),
            fmt_d(s.target_p99.mul_f64(MARGIN)),
            match s.arrival {
                Arrival::Open { .. } => format!(", ≤ {:.1}% refused", REJECT_BUDGET * 100.0),
                Arrival::Closed => ", ≥ 90% of the best throughput".to_owned(),
            }
        );
    }

    fn table(&self, out: &mut String) {
        let header = [
            "workers",
            "queue",
            "runs",
            "offered/s",
            "done/s",
            "model/s",
            "p50",
            "p99",
            "±",
            "p99.9",
            "wait p99",
            "model",
            "rejected",
            "peak q",
            "cpu",
            "L ratio",
            "ok",
        ];
        let widths = [7, 6, 4, 9, 8, 8, 8, 8, 4, 8, 8, 8, 8, 6, 4, 7, 6];
        let row = |out: &mut String, cells: &[String]| {
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                let sep = if i == 0 { "" } else { " " };
                let _ = write!(out, "{sep}{cell:>w$}");
            }
            out.push('\n');
        };
        row(out, &header.map(str::to_owned));
        let rule = self.rule();
        for p in &self.points {
            let cpu = p
                .runs
                .iter()
                .filter_map(|r| r.cpu_util)
                .fold(None, |a: Option<f64>, u| Some(a.map_or(u, |a| a.max(u))));
            let mut ok = if rule.qualifies(p, &self.points) { "yes" } else { "-" }.to_owned();
            if p.runs.iter().any(Run::disturbed) {
                ok.push('~');
            }
            if p.disagrees(&self.service) {
                ok.push_str(" 2×");
            }
            let q =
                |f: fn(&Run) -> Duration| fmt_d(Duration::from_secs_f64(p.median(|r| f(r).as_secs_f64())));
            row(
                out,
                &[
                    p.workers.to_string(),
                    p.queue.to_string(),
                    p.runs.len().to_string(),
                    format!("{:.0}", p.median(|r| r.offered)),
                    format!("{:.0}", p.median(|r| r.throughput)),
                    format!("{:.0}", p.model.throughput),
                    q(|r| r.latency.p50),
                    fmt_d(p.p99()),
                    if p.runs.len() > 1 { format!("{:.0}%", p.p99_spread() * 50.0) } else { "-".to_owned() },
                    q(|r| r.latency.p999),
                    fmt_d(p.wait_p99()),
                    fmt_d(p.model.wait_p99),
                    p.worst(|r| r.rejected).to_string(),
                    p.worst(|r| r.peak_queued).to_string(),
                    cpu.map_or_else(|| "n/a".to_owned(), |u| format!("{:.0}%", u * 100.0)),
                    format!("{:.2}", p.median(Run::little_ratio)),
                    ok,
                ],
            );
        }
    }

    fn closing(&self, out: &mut String) {
        let runs: Vec<&Run> = self.points.iter().flat_map(|p| &p.runs).collect();
        let disturbed = runs.iter().filter(|r| r.disturbed()).count();
        let others = runs.iter().filter_map(|r| r.others_cpu).fold(0.0f64, f64::max);
        let _ = writeln!(
            out,
            "machine: other processes used up to {:.0}% of the CPUs during a run; waited {} for quieter moments; \
             {} runs measured again because they used over {:.0}%{}",
            others * 100.0,
            fmt_d(self.settings.waited),
            self.settings.retried,
            crate::measure::DISTURBED * 100.0,
            if disturbed > 0 { format!("; {disturbed} runs kept disturbed (`~`)") } else { String::new() }
        );
        let flagged = self.points.iter().filter(|p| p.disagrees(&self.service)).count();
        let _ = writeln!(
            out,
            "model: within {DISAGREE}× of the measurement at {} of {} points (throughput and p99 wait){}",
            self.points.len() - flagged,
            self.points.len(),
            if flagged > 0 {
                "; `2×` marks the others: noise, CPU contention, or a job that does not queue like the model"
            } else {
                ""
            }
        );
        let Some(choice) = self.choice else {
            let _ = writeln!(out, "recommended: nothing measured (empty sweep)");
            return;
        };
        let p = &self.points[choice.index];
        let (lo, hi) = self
            .points
            .iter()
            .flat_map(|p| p.runs.iter().map(Run::little_ratio))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| (lo.min(r), hi.max(r)));
        if let Some(r) = p.runs.first() {
            let _ = writeln!(
                out,
                "little's law at workers={} queue={}: mean jobs in pool measured {:.2} (sampled running + queued) \
                 vs accepted arrivals {:.0}/s × mean time in pool {} = {:.2}; ratio {:.2} (all runs: {:.2}..{:.2})",
                p.workers,
                p.queue,
                r.little_measured,
                r.accepted_rate,
                fmt_d(r.mean_in_pool),
                r.little_predicted,
                r.little_ratio(),
                lo,
                hi,
            );
        }
        self.reach.describe(out, &self.settings);
        let s = &self.settings;
        let load = match s.arrival {
            Arrival::Open { rate, .. } => format!("{rate:.0} jobs/s offered"),
            Arrival::Closed => "the closed-loop load".to_owned(),
        };
        let describe = format!(
            "workers={} queue={} (p99 {} median, {} worst of {} runs; {:.0} jobs/s done; worst {} refused; peak queue {})",
            p.workers,
            p.queue,
            fmt_d(p.p99()),
            fmt_d(p.worst_p99()),
            p.runs.len(),
            p.median(|r| r.throughput),
            p.worst(|r| r.rejected),
            p.worst(|r| r.peak_queued),
        );
        let target = fmt_d(s.target_p99);
        let busy = p.runs.iter().filter(|r| r.disturbed()).count();
        if busy > 0 {
            let _ = writeln!(
                out,
                "caution: {busy} of the {} runs below were measured while other processes used over {:.0}% of the \
                 CPUs; rerun on a quiet machine to confirm",
                p.runs.len(),
                crate::measure::DISTURBED * 100.0
            );
        }
        if choice.qualified {
            let _ = writeln!(
                out,
                "recommended: {describe} meets p99 ≤ {target} with 20% margin in every repeat at {load}"
            );
        } else if !runs.is_empty() && disturbed * 2 > runs.len() {
            // Most runs were disturbed: the misses say more about the neighbours than the pool.
            let model = self.reach.this_machine().map_or_else(
                || "the model finds no configuration either".to_owned(),
                |c| format!("the model alone suggests workers={} queue={}", c.workers, c.queue),
            );
            let _ = writeln!(
                out,
                "recommended: nothing measured reliably: {disturbed} of {} runs were disturbed by other processes \
                 (up to {:.0}% of the CPUs) and none of the {} configurations met p99 ≤ {target} in every repeat; \
                 {model}; rerun on a quiet machine (closest measured: {describe})",
                runs.len(),
                others * 100.0,
                self.points.len()
            );
        } else {
            let _ = writeln!(
                out,
                "recommended: none of the {} configurations meets p99 ≤ {target} (with 20% margin, in every repeat) \
                 at {load}; closest: {describe}; try more workers (--workers) or a lower --rate",
                self.points.len()
            );
        }
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: &str =
    "workers,queue,repeat,offered_per_s,throughput_per_s,accepted,rejected,completed,\
latency_p50_us,latency_p99_us,latency_p999_us,latency_mean_us,queue_wait_p50_us,queue_wait_p99_us,\
queue_wait_p999_us,peak_queued,cpu_util,little_measured,little_predicted,others_cpu,max_late_us,\
model_throughput_per_s,model_rejected_share,model_queue_wait_p99_us,model_latency_p99_us";

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.header(&mut out);
        out.push('\n');
        self.table(&mut out);
        out.push('\n');
        self.closing(&mut out);
        f.write_str(&out)
    }
}
