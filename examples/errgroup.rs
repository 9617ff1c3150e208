//! Go's errgroup with boundpool: fetch several mirrors in `try_scope`; one of them fails, the
//! fetches already running notice the group's token and stop early, and the ones not started
//! yet are skipped. `try_scope` returns the first error once every job has ended.
//!
//! Run with `cargo run --example errgroup` (or `-- --quick` for shorter steps).

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use boundpool::{CancelToken, ThreadPool};

const MIRRORS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
const STEPS: u32 = 10;
/// The mirror that fails, and after how many steps.
const BROKEN: (&str, u32) = ("charlie", 3);

#[derive(Clone, Debug)]
enum Outcome {
    Skipped,
    Fetched,
    StoppedEarly { after_steps: u32 },
    Failed,
}

/// Downloads a mirror in `STEPS` chunks, checking the group's token between chunks.
fn fetch(name: &str, step: Duration, token: &CancelToken) -> Result<Outcome, String> {
    for done in 0..STEPS {
        if token.is_cancelled() {
            return Ok(Outcome::StoppedEarly { after_steps: done });
        }
        if (name, done) == BROKEN {
            return Err(format!("{name}: connection reset after {done} of {STEPS} chunks"));
        }
        thread::sleep(step); // stands in for a network read
    }
    Ok(Outcome::Fetched)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");
    let step = Duration::from_millis(if quick { 2 } else { 40 });
    let pool = ThreadPool::new(2)?;

    // Every mirror starts as skipped; a job that starts overwrites its own entry.
    let outcomes = Mutex::new(vec![Outcome::Skipped; MIRRORS.len()]);
    let started = Instant::now();
    let result: Result<(), String> = pool.try_scope(|g| {
        for (i, name) in MIRRORS.iter().enumerate() {
            let outcomes = &outcomes;
            g.spawn(move |token| {
                let outcome = fetch(name, step, token);
                outcomes.lock().unwrap()[i] = outcome.clone().unwrap_or(Outcome::Failed);
                outcome.map(drop)
            });
        }
    });

    println!("{} mirrors on {} workers, {:?} per chunk:", MIRRORS.len(), pool.workers(), step);
    for (name, outcome) in MIRRORS.iter().zip(outcomes.into_inner().unwrap()) {
        let what = match outcome {
            Outcome::Skipped => "skipped: never started, the group had already failed".to_string(),
            Outcome::Fetched => format!("fetched all {STEPS} chunks"),
            Outcome::StoppedEarly { after_steps } => format!("stopped early after {after_steps} chunks"),
            Outcome::Failed => "failed".to_string(),
        };
        println!("  {name:<8} {what}");
    }
    match result {
        Ok(()) => println!("all mirrors fetched"),
        Err(e) => println!("group error: {e}"),
    }
    println!("took {:.0?}", started.elapsed());
    Ok(())
}
