//! Scoped work on the pool's own workers: random programs of `scope`, `map`, `try_map` and
//! `try_scope`, run by outside threads and inside pool jobs, nested inside each other, whose
//! scoped jobs borrow the caller's stack, panic, and spawn and join jobs on the same pool, with
//! a shutdown of a random kind racing them. Every scoped job and map item must run exactly once
//! (or be skipped after an error), every call must return, and the pool's statistics must
//! count only the pool's own jobs.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use boundpool::{CancelToken, JobHandle, ThreadPool};

use super::common::{assert_no_threads_named, EXPECTED};
use super::{shut_down_randomly, Counts, Rng};

/// What the round's programs did, summed over every thread.
#[derive(Default)]
struct Tally {
    programs: AtomicU64,
    /// Scoped jobs and items started by the programs.
    spawned: AtomicU64,
    ran: AtomicU64,
    panicked: AtomicU64,
    /// Items or jobs skipped after an error.
    skipped: AtomicU64,
    /// Pool jobs (programs sent to the pool, jobs spawned from scoped jobs) accepted.
    pool_accepted: AtomicU64,
    pool_refused: AtomicU64,
    pool_cancelled: AtomicU64,
    handed_back: AtomicU64,
}

/// Re-raises a panic that is not one the round caused on purpose (a failed check inside a
/// nested program, say).
fn expect_planned(payload: Box<dyn std::any::Any + Send>) {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    if !msg.contains(EXPECTED) {
        resume_unwind(payload);
    }
}

/// What a scoped job or item does besides counting its run.
#[derive(Clone, Copy)]
enum Act {
    Quick,
    Sleep(u64),
    Panic,
    /// Runs a nested program with this seed.
    Nest(u64),
    /// Spawns a job on the same pool and joins it.
    SpawnJoin,
}

fn pick_act(rng: &mut Rng, depth: u32, may_panic: bool) -> Act {
    match rng.range(0, 99) {
        0..=7 if may_panic => Act::Panic,
        8..=22 if depth < 2 => Act::Nest(rng.next_u64()),
        23..=37 => Act::SpawnJoin,
        38..=52 => Act::Sleep(rng.range(1, 100)),
        _ => Act::Quick,
    }
}

fn act(pool: &ThreadPool, tally: &Tally, a: Act, depth: u32, what: &str) {
    match a {
        Act::Quick => {}
        Act::Sleep(us) => thread::sleep(Duration::from_micros(us)),
        Act::Panic => panic!("{EXPECTED}: chaos {what}"),
        Act::Nest(seed) => program(pool, tally, &mut Rng::new(seed), depth + 1),
        Act::SpawnJoin => match pool.spawn(|| 7u8) {
            Ok(handle) => {
                tally.pool_accepted.fetch_add(1, SeqCst);
                match handle.join() {
                    Ok(v) => assert_eq!(v, 7),
                    // Handed back by shutdown_now and dropped.
                    Err(e) => {
                        assert!(e.is_cancelled(), "{e}");
                        tally.pool_cancelled.fetch_add(1, SeqCst);
                    }
                }
            }
            Err(e) => {
                tally.pool_refused.fetch_add(1, SeqCst);
                assert_eq!(e.into_inner()(), 7);
            }
        },
    }
}

/// One random program on `pool`; panics only if a check fails.
fn program(pool: &ThreadPool, tally: &Tally, rng: &mut Rng, depth: u32) {
    tally.programs.fetch_add(1, SeqCst);
    match rng.range(0, 3) {
        0 => scope_program(pool, tally, rng, depth),
        1 => map_program(pool, tally, rng, depth),
        2 => try_map_program(pool, tally, rng, depth),
        _ => try_scope_program(pool, tally, rng, depth),
    }
}

fn scope_program(pool: &ThreadPool, tally: &Tally, rng: &mut Rng, depth: u32) {
    let n = rng.upto(0, 10);
    // Borrowed from this stack by every scoped job.
    let runs: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let plans: Vec<(Act, bool)> = (0..n).map(|_| (pick_act(rng, depth, true), rng.chance(60))).collect();
    let mut values = vec![0u64; n];
    let unjoined_panic = plans.iter().any(|&(a, join)| matches!(a, Act::Panic) && !join);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            let mut handles = Vec::new();
            for (i, (slot, &(a, join))) in values.iter_mut().zip(&plans).enumerate() {
                let runs = &runs;
                let handle = s.spawn(move || {
                    runs[i].fetch_add(1, SeqCst);
                    act(pool, tally, a, depth, "scoped job");
                    *slot = i as u64 + 1;
                });
                if join {
                    handles.push((i, handle));
                }
            }
            for (i, handle) in handles {
                match handle.join() {
                    Ok(()) => {
                        assert!(!matches!(plans[i].0, Act::Panic), "scoped job {i} should have panicked")
                    }
                    Err(e) => {
                        assert!(e.is_panic());
                        expect_planned(e.into_panic());
                    }
                }
                // A job spawned while others run, joined at once.
                assert!(s.spawn(|| ()).join().is_ok());
            }
        })
    }));
    match outcome {
        Ok(()) => assert!(!unjoined_panic, "an unjoined scoped panic was not re-raised by scope"),
        Err(payload) => {
            expect_planned(payload);
            assert!(unjoined_panic, "scope panicked with no unjoined scoped panic");
        }
    }
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.load(SeqCst), 1, "scoped job {i} of {n} ran {} times", r.load(SeqCst));
        if !matches!(plans[i].0, Act::Panic) {
            assert_eq!(values[i], i as u64 + 1, "scoped job {i} did not write its borrowed slot");
        }
    }
    let panics = plans.iter().filter(|p| matches!(p.0, Act::Panic)).count() as u64;
    tally.spawned.fetch_add(n as u64, SeqCst);
    tally.ran.fetch_add(n as u64, SeqCst);
    tally.panicked.fetch_add(panics, SeqCst);
}

fn map_program(pool: &ThreadPool, tally: &Tally, rng: &mut Rng, depth: u32) {
    let n = rng.upto(0, 40);
    let items: Vec<usize> = (0..n).collect();
    let offset = rng.range(0, 1000) as usize;
    let runs: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let acts: Vec<Act> = (0..n)
        .map(|_| {
            let may_panic = rng.chance(20);
            pick_act(rng, depth, may_panic)
        })
        .collect();
    let panics = acts.iter().any(|a| matches!(a, Act::Panic));
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.map(&items, |&i| {
            runs[i].fetch_add(1, SeqCst);
            act(pool, tally, acts[i], depth, "map item");
            i * 2 + offset
        })
    }));
    let ran: u32 = runs.iter().map(|r| r.load(SeqCst)).sum();
    assert!(runs.iter().all(|r| r.load(SeqCst) <= 1), "a map item ran twice");
    match result {
        Ok(out) => {
            assert!(!panics, "map returned although an item panicked");
            assert_eq!(out, items.iter().map(|i| i * 2 + offset).collect::<Vec<_>>());
            assert_eq!(ran as usize, n);
        }
        Err(payload) => {
            expect_planned(payload);
            assert!(panics, "map panicked with no panicking item");
            // The first panic stops items from starting; it ran itself.
            let ran_panics = acts
                .iter()
                .zip(&runs)
                .filter(|(a, r)| matches!(a, Act::Panic) && r.load(SeqCst) == 1)
                .count();
            assert!(ran_panics >= 1);
            tally.panicked.fetch_add(ran_panics as u64, SeqCst);
        }
    }
    tally.spawned.fetch_add(n as u64, SeqCst);
    tally.ran.fetch_add(u64::from(ran), SeqCst);
    tally.skipped.fetch_add(n as u64 - u64::from(ran), SeqCst);
}

fn try_map_program(pool: &ThreadPool, tally: &Tally, rng: &mut Rng, depth: u32) {
    let n = rng.upto(0, 40);
    let items: Vec<usize> = (0..n).collect();
    let runs: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let fails: Vec<bool> = (0..n).map(|_| rng.chance(5)).collect();
    let acts: Vec<Act> = (0..n).map(|_| pick_act(rng, depth, false)).collect();
    let result = pool.try_map(&items, |&i| {
        runs[i].fetch_add(1, SeqCst);
        act(pool, tally, acts[i], depth, "try_map item");
        if fails[i] {
            Err(i)
        } else {
            Ok(i + 1)
        }
    });
    let ran: u32 = runs.iter().map(|r| r.load(SeqCst)).sum();
    assert!(runs.iter().all(|r| r.load(SeqCst) <= 1), "a try_map item ran twice");
    match result {
        Ok(out) => {
            assert!(!fails.contains(&true), "try_map succeeded although an item fails");
            assert_eq!(out, (1..=n).collect::<Vec<_>>());
            assert_eq!(ran as usize, n);
        }
        Err(i) => assert!(fails[i] && runs[i].load(SeqCst) == 1, "try_map returned item {i}'s error"),
    }
    tally.spawned.fetch_add(n as u64, SeqCst);
    tally.ran.fetch_add(u64::from(ran), SeqCst);
    tally.skipped.fetch_add(n as u64 - u64::from(ran), SeqCst);
}

fn try_scope_program(pool: &ThreadPool, tally: &Tally, rng: &mut Rng, depth: u32) {
    let n = rng.upto(0, 10);
    let runs: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    let fails: Vec<bool> = (0..n).map(|_| rng.chance(10)).collect();
    let acts: Vec<Act> = (0..n).map(|_| pick_act(rng, depth, false)).collect();
    let result = pool.try_scope(|s| {
        for i in 0..n {
            let (runs, fails, acts) = (&runs, &fails, &acts);
            s.spawn(move |_token: &CancelToken| {
                runs[i].fetch_add(1, SeqCst);
                act(pool, tally, acts[i], depth, "try_scope job");
                if fails[i] {
                    Err(i)
                } else {
                    Ok(())
                }
            });
        }
        n
    });
    let ran: u32 = runs.iter().map(|r| r.load(SeqCst)).sum();
    assert!(runs.iter().all(|r| r.load(SeqCst) <= 1), "a try_scope job ran twice");
    match result {
        Ok(m) => {
            assert_eq!(m, n);
            assert!(!fails.contains(&true), "try_scope succeeded although a job fails");
            assert_eq!(ran as usize, n);
        }
        Err(i) => assert!(fails[i] && runs[i].load(SeqCst) == 1, "try_scope returned job {i}'s error"),
    }
    tally.spawned.fetch_add(n as u64, SeqCst);
    tally.ran.fetch_add(u64::from(ran), SeqCst);
    tally.skipped.fetch_add(n as u64 - u64::from(ran), SeqCst);
}

/// A caller: runs programs itself or sends them to the pool as jobs, then joins those.
fn caller(pool: Arc<ThreadPool>, tally: Arc<Tally>, mut rng: Rng, programs: usize) {
    let weak: Weak<ThreadPool> = Arc::downgrade(&pool);
    let mut handles: Vec<JobHandle<()>> = Vec::new();
    for _ in 0..programs {
        let mut prng = rng.fork();
        if rng.chance(50) {
            program(&pool, &tally, &mut prng, 0);
            continue;
        }
        let (weak, t) = (weak.clone(), tally.clone());
        let job = move || {
            if let Some(pool) = weak.upgrade() {
                program(&pool, &t, &mut prng, 0);
            }
        };
        match pool.spawn(job) {
            Ok(h) => {
                tally.pool_accepted.fetch_add(1, SeqCst);
                handles.push(h);
            }
            Err(e) => {
                tally.pool_refused.fetch_add(1, SeqCst);
                e.into_inner()();
            }
        }
    }
    for h in handles {
        assert!(h.wait_timeout(Duration::from_secs(30)), "a program sent to the pool never ended");
        match h.join() {
            Ok(()) => {}
            Err(e) if e.is_cancelled() => {
                tally.pool_cancelled.fetch_add(1, SeqCst);
            }
            Err(e) => resume_unwind(e.into_panic()),
        }
    }
}

/// Shuts the pool down in a random way while the programs run.
fn closer(pool: Arc<ThreadPool>, tally: Arc<Tally>, mut rng: Rng, programs: usize) {
    // Strikes once a random number of the callers' programs have started.
    let target = rng.range(0, programs as u64);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tally.programs.load(SeqCst) < target && Instant::now() < deadline {
        thread::yield_now();
    }
    shut_down_randomly(&pool, &mut rng, |pending, run| {
        tally.handed_back.fetch_add(1, SeqCst);
        if run {
            pending.run();
        }
    });
}

/// One round: a random pool, callers running programs and a closer, then the accounting.
pub fn round(seed: u64) -> Counts {
    let mut rng = Rng::new(seed);
    let prefix = format!("cs{:x}", seed & 0xffff_ffff);
    let workers = rng.upto(1, 3);
    let pool = Arc::new(
        ThreadPool::builder()
            .workers(workers)
            .queue_capacity(rng.upto(1, 8))
            .thread_name(&prefix)
            .build()
            .expect("build the pool"),
    );
    let tally = Arc::new(Tally::default());
    let mut threads = Vec::new();
    let mut total = 0;
    for _ in 0..rng.upto(1, 3) {
        let (pool, tally, rng, programs) = (pool.clone(), tally.clone(), rng.fork(), rng.upto(1, 6));
        total += programs;
        threads.push(thread::spawn(move || caller(pool, tally, rng, programs)));
    }
    {
        let (pool, tally, rng) = (pool.clone(), tally.clone(), rng.fork());
        threads.push(thread::spawn(move || closer(pool, tally, rng, total)));
    }
    for t in threads {
        if let Err(payload) = t.join() {
            resume_unwind(payload);
        }
    }
    let report = pool.shutdown();
    let stats = pool.stats();
    assert_eq!((stats.workers, stats.running, stats.queued), (0, 0, 0), "after shutdown: {stats:?}");
    let accepted = tally.pool_accepted.load(SeqCst);
    let cancelled = tally.pool_cancelled.load(SeqCst);
    // Scoped jobs are not the pool's jobs: only programs sent to the pool and the jobs scoped
    // jobs spawned are counted.
    assert_eq!(stats.submitted, accepted, "submitted: {stats:?}");
    assert_eq!(
        (stats.completed, stats.panicked, stats.cancelled),
        (accepted - cancelled, 0, cancelled),
        "{stats:?}"
    );
    assert_eq!(stats.rejected, tally.pool_refused.load(SeqCst), "rejected: {stats:?}");
    assert_eq!(
        (report.submitted, report.completed, report.cancelled),
        (stats.submitted, stats.completed, stats.cancelled)
    );
    drop(pool);
    assert_no_threads_named(&prefix);
    Counts {
        rounds: 1,
        ops: tally.programs.load(SeqCst),
        accepted: tally.spawned.load(SeqCst) + accepted,
        ran: tally.ran.load(SeqCst) + accepted - cancelled,
        panicked: tally.panicked.load(SeqCst),
        cancelled: tally.skipped.load(SeqCst) + cancelled,
        handed_back: tally.handed_back.load(SeqCst),
        refused: tally.pool_refused.load(SeqCst),
        ..Counts::default()
    }
}
