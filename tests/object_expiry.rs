//! ObjectPool expiry and readiness: `max_lifetime`, `idle_timeout` and `min_idle`, carried out
//! by the shared maintenance thread and at checkout, and expiry racing checkouts. Every wait is
//! bounded.

use boundpool::ObjectPool;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not reached within {WAIT:?}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Counts objects alive.
#[derive(Default)]
struct Census {
    made: AtomicUsize,
    alive: AtomicUsize,
    peak: AtomicUsize,
}

struct Obj {
    id: usize,
    born: Instant,
    census: Arc<Census>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.census.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

fn maker(census: &Arc<Census>) -> impl Fn() -> Result<Obj, String> + Send + Sync + 'static {
    let census = Arc::clone(census);
    move || {
        let alive = census.alive.fetch_add(1, Ordering::SeqCst) + 1;
        census.peak.fetch_max(alive, Ordering::SeqCst);
        let id = census.made.fetch_add(1, Ordering::SeqCst);
        Ok(Obj { id, born: Instant::now(), census: Arc::clone(&census) })
    }
}

#[test]
fn idle_timeout_drops_idle_objects_in_the_background() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).idle_timeout(Duration::from_millis(20)).build().unwrap();
    let (a, b) = (pool.get().unwrap(), pool.get().unwrap());
    drop((a, b));
    wait_for("both idle objects expired", || pool.idle() == 0);
    let stats = pool.stats();
    assert_eq!((stats.live, stats.dropped_expired), (0, 2));
    assert_eq!(census.alive.load(Ordering::SeqCst), 0);
}

#[test]
fn max_lifetime_drops_old_objects_idle_or_returned() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).max_lifetime(Duration::from_millis(40)).build().unwrap();
    let out = pool.get().unwrap();
    drop(pool.get().unwrap()); // idle: the maintenance thread drops it
    wait_for("the idle one expired", || pool.stats().dropped_expired == 1);
    drop(out); // too old by now: dropped on return
    let stats = pool.stats();
    assert_eq!((stats.live, stats.idle, stats.dropped_expired), (0, 0, 2));
    assert_eq!(pool.get().unwrap().id, 2);
}

#[test]
fn min_idle_keeps_objects_ready_within_max_live() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).max_live(4).min_idle(3).build().unwrap();
    wait_for("three ready", || pool.idle() == 3);
    let taken = (pool.get().unwrap(), pool.get().unwrap());
    // Two out, refilled up to max_live: two idle, four live.
    wait_for("refilled", || pool.live() == 4 && pool.idle() == 2);
    drop(taken);
    assert_eq!(pool.idle(), 4);
    assert_eq!(census.made.load(Ordering::SeqCst), 4);
}

#[test]
fn min_idle_refills_back_off_while_create_fails() {
    let down = Arc::new(AtomicBool::new(true));
    let attempts = Arc::new(AtomicUsize::new(0));
    let pool = ObjectPool::builder({
        let (down, attempts) = (Arc::clone(&down), Arc::clone(&attempts));
        move || {
            attempts.fetch_add(1, Ordering::SeqCst);
            if down.load(Ordering::SeqCst) {
                Err("down")
            } else {
                Ok(())
            }
        }
    })
    .min_idle(2)
    .build()
    .unwrap();
    thread::sleep(Duration::from_millis(300));
    // Backoff 5, 10, 20, 40, 80, 160 ms: about seven attempts in 300 ms.
    let made = attempts.load(Ordering::SeqCst);
    assert!((1..=10).contains(&made), "{made} refill attempts in 300 ms");
    down.store(false, Ordering::SeqCst);
    wait_for("refilled after recovery", || pool.idle() == 2);
}

#[test]
fn expiry_racing_checkouts_never_hands_out_an_expired_object_nor_loses_a_slot() {
    let census = Arc::new(Census::default());
    let lifetime = Duration::from_millis(3);
    let pool = ObjectPool::builder(maker(&census))
        .max_live(3)
        .max_lifetime(lifetime)
        .idle_timeout(Duration::from_millis(2))
        .build()
        .unwrap();
    let threads = 4;
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (pool, start) = (pool.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let mut stale = 0;
                for _ in 0..2_000 {
                    let checked = Instant::now();
                    let obj = pool.get_timeout(WAIT).expect("an object within the wait");
                    // Checked at checkout against the clock read after `checked`.
                    if checked.duration_since(obj.born) >= lifetime {
                        stale += 1;
                    }
                }
                stale
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 0, "an object past max_lifetime was handed out");
    }
    let stats = pool.stats();
    assert!(stats.live <= 3);
    assert!(census.peak.load(Ordering::SeqCst) <= 3, "more than max_live objects at once");
    assert_eq!(census.alive.load(Ordering::SeqCst), stats.live, "every live slot is one object");
    assert_eq!(stats.created - stats.dropped_expired - stats.dropped_broken, stats.live as u64);
    wait_for("all expired", || pool.live() == 0);
    assert_eq!(census.alive.load(Ordering::SeqCst), 0);
}
