//! The object pool under random blocking, non-blocking and timed checkouts from several
//! threads, with creations that fail, objects held a while, returned or detached: no object is
//! ever held by two callers, live objects never exceed `max_live` nor idle ones `max_idle`,
//! and at the end every object created is idle in the pool or was dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use boundpool::{ObjectPool, Pooled};

use super::{Counts, Rng};

/// An object that knows its number and counts its drop.
struct Obj {
    id: usize,
    shared: Arc<Shared>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.shared.dropped.fetch_add(1, SeqCst);
    }
}

struct Shared {
    created: AtomicU64,
    dropped: AtomicU64,
    create_errors: AtomicU64,
    /// Whether object `id` is checked out now.
    out: Vec<AtomicBool>,
    /// Objects checked out now, by this round's count.
    holding: AtomicUsize,
    max_live: usize,
    max_idle: usize,
}

fn checked_out(shared: &Shared, pool: &ObjectPool<Obj, String>, obj: &Obj) {
    assert!(!shared.out[obj.id].swap(true, SeqCst), "object {} handed to two callers", obj.id);
    let holding = shared.holding.fetch_add(1, SeqCst) + 1;
    assert!(holding <= shared.max_live, "{holding} objects out, max_live {}", shared.max_live);
    let (live, idle) = (pool.live(), pool.idle());
    assert!(live <= shared.max_live, "live {live} above max_live {}", shared.max_live);
    assert!(idle <= shared.max_idle, "idle {idle} above max_idle {}", shared.max_idle);
}

fn give_back(shared: &Shared, obj: Pooled<Obj, String>, detach: bool) {
    shared.out[obj.id].store(false, SeqCst);
    shared.holding.fetch_sub(1, SeqCst);
    if detach {
        drop(obj.detach());
    } else {
        drop(obj);
    }
}

#[derive(Default)]
struct Did {
    checkouts: u64,
    detached: u64,
    refusals: u64,
}

fn worker(pool: Arc<ObjectPool<Obj, String>>, shared: Arc<Shared>, mut rng: Rng, ops: usize) -> Did {
    let mut did = Did::default();
    let mut held: Vec<Pooled<Obj, String>> = Vec::new();
    for _ in 0..ops {
        // Hold at most one object while asking with a blocking get, so threads that block
        // never hold every object between them.
        let got = match rng.range(0, 2) {
            0 if held.is_empty() => pool.get(),
            1 => pool.get_timeout(Duration::from_micros(rng.range(0, 2000))),
            _ => pool.try_get(),
        };
        match got {
            Ok(obj) => {
                did.checkouts += 1;
                checked_out(&shared, &pool, &obj);
                held.push(obj);
            }
            // Exhausted, Timeout or Create(_): the pool is bounded and creation may fail.
            Err(_) => did.refusals += 1,
        }
        if rng.chance(10) {
            thread::sleep(Duration::from_micros(rng.range(1, 200)));
        }
        while !held.is_empty() && (held.len() > 1 || rng.chance(60)) {
            let obj = held.swap_remove(rng.upto(0, held.len() - 1));
            let detach = rng.chance(10);
            did.detached += u64::from(detach);
            give_back(&shared, obj, detach);
        }
    }
    for obj in held {
        give_back(&shared, obj, false);
    }
    did
}

pub fn round(seed: u64) -> Counts {
    let mut rng = Rng::new(seed);
    let max_live = rng.upto(1, 4);
    let max_idle = rng.upto(0, max_live);
    let threads = rng.upto(1, 4);
    let ops = rng.upto(10, 200);
    let fail_percent = if rng.chance(30) { rng.range(1, 30) } else { 0 };
    let shared = Arc::new(Shared {
        created: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        create_errors: AtomicU64::new(0),
        out: (0..threads * ops + 1).map(|_| AtomicBool::new(false)).collect(),
        holding: AtomicUsize::new(0),
        max_live,
        max_idle,
    });
    let create_shared = shared.clone();
    let fails = Arc::new(std::sync::Mutex::new(rng.fork()));
    let pool = Arc::new(
        ObjectPool::builder(move || {
            if fails.lock().unwrap().chance(fail_percent) {
                create_shared.create_errors.fetch_add(1, SeqCst);
                return Err("refused".to_owned());
            }
            let id = create_shared.created.fetch_add(1, SeqCst) as usize;
            Ok(Obj { id, shared: create_shared.clone() })
        })
        .max_live(max_live)
        .max_idle(max_idle)
        .reset(|obj: &mut Obj| assert!(obj.id < usize::MAX))
        .build()
        .expect("build the object pool"),
    );
    let mut handles = Vec::new();
    for _ in 0..threads {
        let (pool, shared, rng) = (pool.clone(), shared.clone(), rng.fork());
        handles.push(thread::spawn(move || worker(pool, shared, rng, ops)));
    }
    let mut did = Did::default();
    for h in handles {
        let d = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        did.checkouts += d.checkouts;
        did.refusals += d.refusals;
        did.detached += d.detached;
    }
    let (live, idle) = (pool.live(), pool.idle());
    assert_eq!(live, idle, "nothing is checked out, so every live object is idle");
    assert!(idle <= max_idle);
    let (created, dropped) = (shared.created.load(SeqCst), shared.dropped.load(SeqCst));
    assert_eq!(created, dropped + live as u64, "every object created is idle or dropped");
    drop(pool);
    assert_eq!(shared.dropped.load(SeqCst), created, "dropping the pool drops its idle objects");
    Counts {
        rounds: 1,
        ops: (threads * ops) as u64,
        checkouts: did.checkouts,
        returned: did.checkouts - did.detached,
        detached: did.detached,
        refused: did.refusals,
        create_errors: shared.create_errors.load(SeqCst),
        ..Counts::default()
    }
}
