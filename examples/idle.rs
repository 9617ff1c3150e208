//! How much CPU an idle pool uses: run a burst of jobs, then let the pool sit idle and read
//! the process's CPU time from `/proc/self/stat` (Linux).
//!
//! `cargo run --release --example idle` (add `--quick` for a shorter idle period).

use std::time::{Duration, Instant};

use boundpool::ThreadPool;

/// User plus system CPU time of this process, on Linux.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in clock ticks of 1/100 s on every mainstream Linux configuration.
    Some(Duration::from_millis(ticks * 10))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let idle_for = if quick { Duration::from_millis(500) } else { Duration::from_secs(5) };
    let pool = ThreadPool::builder().thread_name("idle").build()?;

    // A burst, so the workers have just been busy when the idle period starts.
    let handles: Vec<_> = (0..10_000u64).map(|i| pool.spawn(move || i * i).expect("open")).collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().expect("ran")).sum();
    println!(
        "burst done ({} jobs, checksum {sum}); idling {idle_for:?} with {} workers",
        10_000,
        pool.workers()
    );

    let (Some(before), start) = (cpu_time(), Instant::now()) else {
        println!("CPU time is only read on Linux; nothing to measure here");
        return Ok(());
    };
    std::thread::sleep(idle_for);
    let used = cpu_time().unwrap_or(before) - before;
    let share = used.as_secs_f64() / start.elapsed().as_secs_f64() * 100.0;
    println!("idle pool used {used:?} of CPU in {:?}: {share:.2} % of one core", start.elapsed());
    Ok(())
}
