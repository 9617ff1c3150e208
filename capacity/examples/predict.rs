//! The model alone, without measuring: predicts every point of a sweep from what one job costs.
//!
//! ```sh
//! cargo run --release -p boundpool-capacity --example predict -- CPU_US MEAN_US CV P99_US RATE [CORES]
//! cargo run --release -p boundpool-capacity --example predict -- 219 1190 0.75 4030 2000
//! ```
//!
//! The first four figures are the report's `one job run alone` line (CPU, mean service time,
//! its coefficient of variation and its p99); RATE is the Poisson arrival rate to predict for.
//! With no arguments it predicts the default profile's textbook figures at 2 000 jobs/s.

use std::time::Duration;

use boundpool_capacity::model::{predict, Load, Service};
use boundpool_capacity::units::format_duration;

fn main() {
    let args: Vec<f64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let [cpu, mean, cv, p99, rate] = match args[..] {
        [a, b, c, d, e, ..] if a >= 0.0 && b > 0.0 && c >= 0.0 && d > 0.0 && e > 0.0 => [a, b, c, d, e],
        [] => [200.0, 1200.0, 0.85, 5500.0, 2000.0],
        _ => {
            eprintln!("usage: predict CPU_US MEAN_US CV P99_US RATE [CORES] (all positive numbers)");
            std::process::exit(2);
        }
    };
    let cores = args
        .get(5)
        .map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |&c| c as usize);
    let us = |x: f64| Duration::from_secs_f64(x / 1e6);
    let job = Service::new(us(cpu), us(mean), cv, us(p99));
    println!("model: {rate:.0} jobs/s (poisson) on {cores} cores; job cpu {cpu}µs, mean {mean}µs, cv {cv}, p99 {p99}µs");
    println!(
        "{:>7} {:>6} {:>8} {:>9} {:>9} {:>9} {:>6}",
        "workers", "queue", "done/s", "refused", "wait p99", "p99", "util"
    );
    for workers in [1, 2, 4, 8, 16] {
        for queue in [4, 16, 64, 256] {
            let p = predict(&job, Load::Open { rate, ca2: 1.0 }, workers, queue, cores.max(1));
            println!(
                "{workers:>7} {queue:>6} {:>8.0} {:>8.2}% {:>9} {:>9} {:>5.0}%",
                p.throughput,
                p.rejected_share * 100.0,
                format_duration(p.wait_p99),
                format_duration(p.latency_p99),
                p.utilisation * 100.0
            );
        }
    }
}
