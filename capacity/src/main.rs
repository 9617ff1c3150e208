//! `boundpool-capacity`: how many workers and how deep a queue does a workload need?
//!
//! `cargo run --release -p boundpool-capacity` sweeps worker counts and queue capacities for a
//! built-in profile (200 µs CPU + 1 ms I/O per job at 3000 jobs/s), measures every point three
//! times on a real pool, models it, prints a table, writes `capacity.csv` and `capacity.svg` to
//! `target/capacity`, and ends with a line starting `recommended:`. `--help` lists the flags;
//! `--quick` is a coarse sweep of about 15 s.

mod args;

use std::time::Instant;

use clap::Parser;

use crate::args::Args;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let plan = args.plan(cpus);
    let started = Instant::now();
    let sweep = match plan.sweep() {
        Ok(sweep) => sweep,
        Err(e) => {
            let file = plan_trace(&plan);
            eprintln!("error: cannot use the trace {file}: {e}");
            std::process::exit(2);
        }
    };
    let report = sweep.run()?;
    std::fs::create_dir_all(&plan.out)?;
    let csv = plan.out.join("capacity.csv");
    let svg = plan.out.join("capacity.svg");
    report.write_csv(&csv)?;
    report.write_svg(&svg)?;
    println!(
        "wrote {} and {} ({} points, {} runs, {:.1}s in all)\n",
        csv.display(),
        svg.display(),
        report.points().len(),
        report.points().iter().map(|p| p.runs.len()).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    print!("{report}");
    Ok(())
}

fn plan_trace(plan: &args::Plan) -> String {
    match &plan.work {
        args::Work::Trace(path) => path.display().to_string(),
        args::Work::Synthetic { .. } => String::new(),
    }
}
