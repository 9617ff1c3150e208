//! The chaos suite: seeded random operations against the pool, scoped work on the pool, and
//! both recyclers, each round checked with exact accounting (every accepted job ran exactly
//! once, or was cancelled, or was handed back and then run or dropped; refused closures come
//! back; no handle waits forever; the statistics add up after shutdown; no pool thread is left;
//! the recyclers' bounds are never exceeded).
//!
//! Every round runs under a watchdog: a round that hangs fails with its seed. Knobs, all read
//! from the environment:
//! - `CHAOS_SECS` (default 3): the suite's duration; each subject runs for half of it, two at a
//!   time on two test threads, so the whole suite takes about this long.
//! - `CHAOS_SEED`: run only the round with this seed (once per selected subject), to replay a
//!   failure.
//! - `CHAOS_SUBJECT` (`pool`, `scoped`, `buffers` or `objects`): run only this subject.
//!
//! `CHAOS_SECS=60 cargo test --release --test chaos -- --nocapture` prints the counts.

#[path = "../common/mod.rs"]
mod common;

mod buffers;
mod objects;
mod pool;
mod scoped;

use std::fmt;
use std::ops::AddAssign;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one round may take before the watchdog calls it a hang.
const ROUND_LIMIT: Duration = Duration::from_secs(60);

/// A small seeded generator (SplitMix64): every choice of a round comes from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// A `usize` in `lo..=hi`.
    pub fn upto(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as u64, hi as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// A seed for a thread of the round, derived from this generator.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// A round's closer: shuts `pool` down in a random way (`shutdown`, `shutdown_timeout` of up
/// to 1 ms, `shutdown_now`, `shutdown_async` awaited without a runtime or dropped after its
/// first poll, or not at all until the round ends). Each job `shutdown_now` hands back goes to
/// `handed_back`, with whether to run it (about half) or drop it.
pub fn shut_down_randomly(
    pool: &boundpool::ThreadPool,
    rng: &mut Rng,
    mut handed_back: impl FnMut(boundpool::PendingJob, bool),
) {
    match rng.range(0, 4) {
        0 => {
            pool.shutdown();
        }
        1 => {
            let _ = pool.shutdown_timeout(Duration::from_micros(rng.range(0, 1000)));
        }
        2 => {
            for pending in pool.shutdown_now() {
                let run = rng.chance(50);
                handed_back(pending, run);
            }
        }
        3 => {
            let mut stopping = common::stepper::Stepper::new(pool.shutdown_async());
            if rng.chance(50) {
                let _ = stopping.poll(); // dropped: the pool stays closed and drains
            } else {
                stopping.finish(ROUND_LIMIT.as_secs());
            }
        }
        _ => {} // no shutdown until the end of the round
    }
}

/// What a round did, summed over a subject's rounds and printed at the end.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub rounds: u64,
    /// Operations issued (submissions, programs, checkouts, writes, ...).
    pub ops: u64,
    /// Jobs (or scoped jobs, map items) the pool accepted.
    pub accepted: u64,
    /// Accepted jobs that ran.
    pub ran: u64,
    pub panicked: u64,
    /// Accepted jobs that never ran: cancelled, skipped after an error, or handed back and
    /// dropped.
    pub cancelled: u64,
    /// Jobs handed back by `shutdown_now`.
    pub handed_back: u64,
    /// Refused submissions whose closure came back (and was then run by the caller), or
    /// checkouts refused.
    pub refused: u64,
    /// Buffers or objects checked out of a recycler.
    pub checkouts: u64,
    /// ... given back to it.
    pub returned: u64,
    /// ... kept by the caller for good.
    pub detached: u64,
    /// Object creations that failed.
    pub create_errors: u64,
}

impl Counts {
    fn fields(&self) -> [(&'static str, u64); 12] {
        [
            ("rounds", self.rounds),
            ("ops", self.ops),
            ("accepted", self.accepted),
            ("ran", self.ran),
            ("panicked", self.panicked),
            ("cancelled or skipped", self.cancelled),
            ("handed back", self.handed_back),
            ("refused", self.refused),
            ("checkouts", self.checkouts),
            ("returned", self.returned),
            ("detached", self.detached),
            ("create errors", self.create_errors),
        ]
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.rounds += o.rounds;
        self.ops += o.ops;
        self.accepted += o.accepted;
        self.ran += o.ran;
        self.panicked += o.panicked;
        self.cancelled += o.cancelled;
        self.handed_back += o.handed_back;
        self.refused += o.refused;
        self.checkouts += o.checkouts;
        self.returned += o.returned;
        self.detached += o.detached;
        self.create_errors += o.create_errors;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, value) in self.fields() {
            if value > 0 || name == "rounds" {
                write!(f, "{}{value} {name}", if first { "" } else { ", " })?;
                first = false;
            }
        }
        Ok(())
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().parse().unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")))
}

/// Whether `subject` is selected by `CHAOS_SUBJECT` (every subject when it is unset).
fn selected(subject: &str) -> bool {
    std::env::var("CHAOS_SUBJECT").map_or(true, |s| s.split(',').any(|s| s.trim() == subject))
}

/// Subjects that have started, and finished (or failed): the last test waits for them.
static STARTED: AtomicUsize = AtomicUsize::new(0);
static FINISHED: AtomicUsize = AtomicUsize::new(0);

/// Counts a subject as finished when dropped, even if it failed.
struct Finished;

impl Drop for Finished {
    fn drop(&mut self) {
        FINISHED.fetch_add(1, SeqCst);
    }
}

/// Runs one round under the watchdog: a panic or a hang fails the test with the seed and the
/// command that replays it.
fn one_round(subject: &'static str, seed: u64, round: fn(u64) -> Counts) -> Counts {
    let (tx, rx) = mpsc::channel();
    let replay = format!("CHAOS_SUBJECT={subject} CHAOS_SEED={seed} cargo test --test chaos -- --nocapture");
    thread::Builder::new()
        .name(format!("chaos-{subject}"))
        .spawn(move || {
            let _ = tx.send(std::panic::catch_unwind(move || round(seed)));
        })
        .expect("start the round's thread");
    match rx.recv_timeout(ROUND_LIMIT) {
        Ok(Ok(counts)) => counts,
        Ok(Err(payload)) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("chaos {subject}: round with seed {seed} failed: {msg}\n  replay: {replay}")
        }
        Err(_) => {
            panic!("chaos {subject}: round with seed {seed} hung for {ROUND_LIMIT:?}\n  replay: {replay}")
        }
    }
}

/// Runs a subject's rounds for its share of `CHAOS_SECS` (or the one round `CHAOS_SEED`
/// names) and prints its counts.
fn run(subject: &'static str, round: fn(u64) -> Counts) {
    STARTED.fetch_add(1, SeqCst);
    let _finished = Finished;
    if !selected(subject) {
        return;
    }
    common::quiet_expected_panics();
    let mut total = Counts::default();
    if let Some(seed) = env_u64("CHAOS_SEED") {
        total += one_round(subject, seed, round);
        println!("chaos {subject}: seed {seed}: {total}");
        return;
    }
    let secs = env_u64("CHAOS_SECS").unwrap_or(3) as f64 / 2.0;
    let budget = Duration::from_secs_f64(secs);
    let base = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut seeds = Rng::new(base ^ subject.len() as u64);
    let started = Instant::now();
    while started.elapsed() < budget {
        total += one_round(subject, seeds.next_u64(), round);
    }
    println!("chaos {subject}: {total} in {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn pool() {
    run("pool", pool::round);
}

#[test]
fn scoped() {
    run("scoped", scoped::round);
}

#[test]
fn buffers() {
    run("buffers", buffers::round);
}

#[test]
fn objects() {
    run("objects", objects::round);
}

/// Waits for the subjects still running (they run for their share of `CHAOS_SECS`, longer
/// than the shared check would wait), then checks that no pool thread is left.
#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    let limit = Duration::from_secs(env_u64("CHAOS_SECS").unwrap_or(3)) + ROUND_LIMIT * 2;
    let started = Instant::now();
    while FINISHED.load(SeqCst) < STARTED.load(SeqCst) {
        assert!(started.elapsed() < limit, "the chaos subjects did not finish within {limit:?}");
        // Polling with a deadline: the subjects signal nothing else.
        thread::sleep(Duration::from_millis(20));
    }
    common::assert_no_pool_thread_outlives_the_tests();
}
