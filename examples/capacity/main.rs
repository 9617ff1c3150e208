//! Capacity planning: how many workers and how deep a queue does a workload need?
//!
//! `cargo run --release --example capacity` sweeps worker counts and queue capacities for a
//! built-in profile (200 µs CPU + 1 ms I/O per job at 3000 jobs/s), measures every point on a
//! real pool, prints a table, writes `capacity.csv` and `capacity.svg` to `target/capacity`, and
//! ends with a line starting `recommended:`. `--help` lists the flags; `--quick` is a coarse
//! sweep that finishes within a minute.

mod args;
mod chart;
mod probe;
mod report;
mod sweep;
mod workload;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::{Args, Arrival};
use crate::workload::Calibration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let plan = args.plan(cpus);
    let run_started = Instant::now();

    let calibration = Calibration::measure();
    let load = match plan.arrival {
        Arrival::Open { rate, poisson } => {
            let kind = if poisson { "poisson" } else { "uniform" };
            let busy = rate * (plan.cpu.mean() + plan.io.mean()).as_secs_f64();
            let cores = rate * plan.cpu.mean().as_secs_f64();
            format!("{rate:.0} jobs/s ({kind}): on average {busy:.2} busy workers, {cores:.2} cores of CPU")
        }
        Arrival::Closed => "closed loop (one submitter, as fast as the pool accepts)".to_owned(),
    };
    println!("profile: cpu {} + io {} per job; arrivals {load}", plan.cpu, plan.io);
    println!(
        "sweep: workers {:?} × queue {:?}, {} per point, {cpus} CPUs; target p99 {}",
        plan.workers,
        plan.queues,
        report::fmt_duration(plan.duration),
        report::fmt_duration(plan.target_p99)
    );

    let total = (plan.workers.len() * plan.queues.len()) as u64;
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} points, {elapsed} [{msg}]")?);
    bar.enable_steady_tick(Duration::from_millis(250));

    let mut points = Vec::with_capacity(total as usize);
    for &workers in &plan.workers {
        for &queue in &plan.queues {
            bar.set_message(format!("workers {workers}, queue {queue}"));
            points.push(sweep::run_point(&plan, workers, queue, calibration, cpus)?);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    print!("\n{}", report::table(&points, &plan));
    std::fs::create_dir_all(&plan.out)?;
    let csv = plan.out.join("capacity.csv");
    let svg = plan.out.join("capacity.svg");
    report::write_csv(&points, &csv)?;
    chart::write_svg(&points, &plan, &svg)?;
    println!(
        "\nwrote {} and {} ({} points in {:.1}s)",
        csv.display(),
        svg.display(),
        points.len(),
        run_started.elapsed().as_secs_f64()
    );
    print!("{}", report::closing(&points, &plan));
    Ok(())
}
