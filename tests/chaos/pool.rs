//! The pool under random submissions of every kind (blocking, try, timed, fire-and-forget,
//! token-bound), from several threads at once, with panicking, slow and nesting jobs, handles
//! joined, cancelled or dropped, and a shutdown of a random kind racing it all.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use boundpool::{CancelToken, JobError, JobHandle, ThreadPool};

use super::common::{assert_no_threads_named, EXPECTED};
use super::{shut_down_randomly, Counts, Rng};

const ACCEPTED: u8 = 1;
const REFUSED: u8 = 2;

const RESULT_OK: u8 = 1;
const RESULT_PANIC: u8 = 2;
const RESULT_CANCELLED: u8 = 3;

/// What is known of one job.
#[derive(Default)]
struct Entry {
    runs: AtomicU32,
    /// ACCEPTED or REFUSED once submitted.
    state: AtomicU8,
    panics: AtomicBool,
    fire: AtomicBool,
    /// What its joined handle said, if it was joined.
    result: AtomicU8,
}

struct Ledger {
    entries: Vec<Entry>,
    next: AtomicU64,
    handler_calls: AtomicU64,
    cancel_true: AtomicU64,
    handed_back: AtomicU64,
    dropped_pending: AtomicU64,
    token_skipped: AtomicU64,
    ops: AtomicU64,
}

impl Ledger {
    /// Two ids: one for a job, the next for the child it may submit.
    fn alloc(&self) -> usize {
        self.next.fetch_add(2, SeqCst) as usize
    }

    fn entry(&self, id: usize) -> &Entry {
        &self.entries[id]
    }

    fn record(&self, id: usize, result: &Result<u64, JobError>) {
        let code = match result {
            Ok(v) => {
                assert_eq!(*v, id as u64, "job {id} returned another job's value");
                RESULT_OK
            }
            Err(e) if e.is_panic() => RESULT_PANIC,
            Err(e) => {
                assert!(e.is_cancelled());
                RESULT_CANCELLED
            }
        };
        self.entry(id).result.store(code, SeqCst);
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Quick,
    Sleep(u64),
    Panic,
    /// Submits a child job on the same pool; joins it when `true`.
    Child(bool),
    /// Shuts its own pool down from inside.
    Shutdown,
}

fn pick_kind(rng: &mut Rng) -> Kind {
    match rng.range(0, 99) {
        0..=9 => Kind::Panic,
        10..=29 => Kind::Sleep(rng.range(1, 200)),
        30..=44 => Kind::Child(rng.chance(50)),
        45 if rng.chance(30) => Kind::Shutdown,
        _ => Kind::Quick,
    }
}

/// The closure of job `id`: counts its run, then does what its kind says.
fn job(
    ledger: &Arc<Ledger>,
    pool: &Weak<ThreadPool>,
    id: usize,
    kind: Kind,
) -> impl FnOnce() -> u64 + Send + 'static {
    let entry = ledger.entry(id);
    entry.panics.store(matches!(kind, Kind::Panic), SeqCst);
    let (ledger, pool) = (ledger.clone(), pool.clone());
    move || {
        ledger.entry(id).runs.fetch_add(1, SeqCst);
        match kind {
            Kind::Quick => {}
            Kind::Sleep(us) => thread::sleep(Duration::from_micros(us)),
            Kind::Panic => panic!("{EXPECTED}: chaos job {id}"),
            Kind::Child(join) => {
                if let Some(pool) = pool.upgrade() {
                    child(&ledger, &pool, id + 1, join);
                }
            }
            Kind::Shutdown => {
                if let Some(pool) = pool.upgrade() {
                    pool.shutdown();
                }
            }
        }
        id as u64
    }
}

/// Submits job `id` (a quick one) from inside another job and, if `join`, waits for it.
fn child(ledger: &Arc<Ledger>, pool: &Arc<ThreadPool>, id: usize, join: bool) {
    let f = job(ledger, &Weak::new(), id, Kind::Quick);
    let entry = ledger.entry(id);
    if join {
        match pool.spawn(f) {
            Ok(handle) => {
                entry.state.store(ACCEPTED, SeqCst);
                ledger.record(id, &handle.join());
            }
            Err(e) => {
                entry.state.store(REFUSED, SeqCst);
                e.into_inner()();
            }
        }
    } else {
        entry.fire.store(true, SeqCst);
        match pool.execute(move || {
            f();
        }) {
            Ok(()) => entry.state.store(ACCEPTED, SeqCst),
            Err(e) => {
                entry.state.store(REFUSED, SeqCst);
                e.into_inner()();
            }
        }
    }
}

/// Runs a refused closure on the caller, as a user would, and records it.
fn refused<R>(entry: &Entry, f: impl FnOnce() -> R) {
    entry.state.store(REFUSED, SeqCst);
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// A handle the submitter still holds: joined at the end of its run.
struct Kept {
    id: usize,
    handle: JobHandle<u64>,
}

/// One submitter's share of the round's operations.
fn submitter(pool: Arc<ThreadPool>, ledger: Arc<Ledger>, mut rng: Rng, ops: usize) {
    let weak = Arc::downgrade(&pool);
    let mut kept = Vec::new();
    for _ in 0..ops {
        ledger.ops.fetch_add(1, SeqCst);
        let id = ledger.alloc();
        let kind = pick_kind(&mut rng);
        let f = job(&ledger, &weak, id, kind);
        let entry = ledger.entry(id);
        let handle = match rng.range(0, 4) {
            0 => match pool.spawn(f) {
                Ok(h) => Some(h),
                Err(e) => {
                    refused(entry, e.into_inner());
                    None
                }
            },
            1 => match pool.try_spawn(f) {
                Ok(h) => Some(h),
                Err(e) => {
                    refused(entry, e.into_inner());
                    None
                }
            },
            2 => match pool.spawn_timeout(f, Duration::from_micros(rng.range(0, 500))) {
                Ok(h) => Some(h),
                Err(e) => {
                    refused(entry, e.into_inner());
                    None
                }
            },
            3 => {
                entry.fire.store(true, SeqCst);
                let fire = move || {
                    f();
                };
                let result = if rng.chance(50) {
                    pool.execute(fire).map_err(|e| e.into_inner())
                } else {
                    pool.try_execute(fire).map_err(|e| e.into_inner())
                };
                match result {
                    Ok(()) => entry.state.store(ACCEPTED, SeqCst),
                    Err(f) => refused(entry, f),
                }
                None
            }
            4 => {
                // Bound to a token that may be cancelled before, during or after the job.
                let token = CancelToken::new();
                if rng.chance(15) {
                    token.cancel();
                }
                match pool.spawn_with(&token, move |_: &CancelToken| f()) {
                    Ok(h) => {
                        entry.state.store(ACCEPTED, SeqCst);
                        if rng.chance(40) {
                            token.cancel();
                        }
                        // Joined, never cancelled by handle: a cancelled result is the token's.
                        let result = join_bounded(id, h);
                        if matches!(result, Err(ref e) if e.is_cancelled()) {
                            ledger.token_skipped.fetch_add(1, SeqCst);
                        }
                        ledger.record(id, &result);
                    }
                    Err(e) => refused(entry, || {
                        e.into_inner()(&token);
                    }),
                }
                None
            }
            _ => unreachable!(),
        };
        let Some(handle) = handle else { continue };
        entry.state.store(ACCEPTED, SeqCst);
        match rng.range(0, 99) {
            0..=9 => ledger.record(id, &join_bounded(id, handle)),
            10..=24 => {
                if handle.cancel() {
                    ledger.cancel_true.fetch_add(1, SeqCst);
                }
                kept.push(Kept { id, handle });
            }
            25..=49 => drop(handle),
            _ => kept.push(Kept { id, handle }),
        }
        if rng.chance(3) {
            thread::yield_now();
        }
    }
    for Kept { id, handle } in kept {
        ledger.record(id, &join_bounded(id, handle));
    }
}

/// Joins a handle, failing if it does not resolve within 30 s: no handle waits forever.
fn join_bounded(id: usize, handle: JobHandle<u64>) -> Result<u64, JobError> {
    assert!(handle.wait_timeout(Duration::from_secs(30)), "the handle of job {id} never resolved");
    assert!(handle.is_finished());
    handle.join()
}

/// Shuts the pool down in a random way while the submitters run.
fn closer(pool: Arc<ThreadPool>, ledger: Arc<Ledger>, mut rng: Rng, total_ops: usize) {
    // Strikes after a random share of the submissions (bounded: submitters blocked on a full
    // queue still end, since workers drain it).
    let target = rng.range(0, total_ops as u64);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ledger.ops.load(SeqCst) < target && std::time::Instant::now() < deadline {
        thread::yield_now();
    }
    ledger.ops.fetch_add(1, SeqCst);
    shut_down_randomly(&pool, &mut rng, |pending, run| {
        ledger.handed_back.fetch_add(1, SeqCst);
        if run {
            pending.run();
        } else {
            ledger.dropped_pending.fetch_add(1, SeqCst);
            drop(pending);
        }
    });
}

/// One round: a random pool, submitters and a closer, then the accounting.
pub fn round(seed: u64) -> Counts {
    let mut rng = Rng::new(seed);
    let submitters = rng.upto(1, 3);
    let ops = rng.upto(10, 200);
    let ledger = Arc::new(Ledger {
        entries: (0..2 * submitters * ops).map(|_| Entry::default()).collect(),
        next: AtomicU64::new(0),
        handler_calls: AtomicU64::new(0),
        cancel_true: AtomicU64::new(0),
        handed_back: AtomicU64::new(0),
        dropped_pending: AtomicU64::new(0),
        token_skipped: AtomicU64::new(0),
        ops: AtomicU64::new(0),
    });
    let prefix = format!("cp{:x}", seed & 0xffff_ffff);
    let handler_ledger = ledger.clone();
    let workers = rng.upto(1, 4);
    let pool = Arc::new(
        ThreadPool::builder()
            .workers(workers)
            .queue_capacity(rng.upto(1, 16))
            .thread_name(&prefix)
            .record_latency(rng.chance(30))
            .panic_handler(move |_| {
                handler_ledger.handler_calls.fetch_add(1, SeqCst);
            })
            .build()
            .expect("build the pool"),
    );
    let mut threads = Vec::new();
    for _ in 0..submitters {
        let (pool, ledger, rng) = (pool.clone(), ledger.clone(), rng.fork());
        threads.push(thread::spawn(move || submitter(pool, ledger, rng, ops)));
    }
    {
        let (pool, ledger, rng) = (pool.clone(), ledger.clone(), rng.fork());
        threads.push(thread::spawn(move || closer(pool, ledger, rng, submitters * ops)));
    }
    for t in threads {
        if let Err(payload) = t.join() {
            std::panic::resume_unwind(payload);
        }
    }
    let report = pool.shutdown();
    let stats = pool.stats();
    assert_eq!((stats.workers, stats.running, stats.queued), (0, 0, 0), "after shutdown: {stats:?}");
    assert_eq!(
        (report.submitted, report.completed, report.panicked, report.cancelled, report.rejected),
        (stats.submitted, stats.completed, stats.panicked, stats.cancelled, stats.rejected),
        "the shutdown report and the final stats disagree"
    );

    let mut c = Counts { rounds: 1, ops: ledger.ops.load(SeqCst), ..Counts::default() };
    let mut panicked_fire = 0;
    for (id, e) in ledger.entries.iter().enumerate() {
        let (runs, state, panics, result) =
            (e.runs.load(SeqCst), e.state.load(SeqCst), e.panics.load(SeqCst), e.result.load(SeqCst));
        assert!(runs <= 1, "job {id} ran {runs} times");
        match state {
            ACCEPTED => {
                c.accepted += 1;
                c.ran += u64::from(runs);
                if runs == 1 && panics {
                    c.panicked += 1;
                    if e.fire.load(SeqCst) {
                        panicked_fire += 1;
                    }
                }
            }
            REFUSED => {
                assert_eq!(runs, 1, "refused job {id} did not come back to run on the caller");
                c.refused += 1;
            }
            _ => assert_eq!(runs, 0, "job {id} was never submitted but ran"),
        }
        match result {
            RESULT_OK => assert!(runs == 1 && !panics, "job {id}: Ok but runs {runs}, panics {panics}"),
            RESULT_PANIC => {
                assert!(runs == 1 && panics, "job {id}: a panic but runs {runs}, panics {panics}")
            }
            RESULT_CANCELLED => assert_eq!(runs, 0, "job {id}: cancelled but ran"),
            _ => {}
        }
    }
    c.cancelled = c.accepted - c.ran;
    c.handed_back = ledger.handed_back.load(SeqCst);
    // Every job that never ran was cancelled by its handle, skipped for its token, or handed
    // back and dropped. (Only bounds: a handle's cancel can race `shutdown_now` taking the job
    // out, and a token-bound job can be both handed back and skipped.)
    let (by_handle, by_token) = (ledger.cancel_true.load(SeqCst), ledger.token_skipped.load(SeqCst));
    let dropped = ledger.dropped_pending.load(SeqCst);
    assert!(
        by_handle + by_token <= c.cancelled && c.cancelled <= by_handle + by_token + dropped,
        "{} jobs never ran: {by_handle} cancelled by handle, {by_token} by token, {dropped} hand-backs dropped",
        c.cancelled
    );
    assert_eq!(stats.submitted, c.accepted, "submitted: {stats:?}");
    assert_eq!(stats.completed + stats.panicked, c.ran, "ran: {stats:?}");
    assert_eq!(stats.panicked, c.panicked, "panicked: {stats:?}");
    assert_eq!(stats.cancelled, c.cancelled, "cancelled: {stats:?}");
    assert_eq!(stats.rejected, c.refused, "rejected: {stats:?}");
    assert_eq!(ledger.handler_calls.load(SeqCst), panicked_fire, "panic handler calls");
    drop(pool);
    assert_no_threads_named(&prefix);
    c
}
