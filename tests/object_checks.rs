//! ObjectPool's checks on real-connection-like objects: `validate` with `&mut T` and
//! `validate_after`, `is_broken` on return, `Pooled::discard`, panics in the checks, and the
//! counters of `stats()`. Every wait is bounded.

use boundpool::{GetError, ObjectPool};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// A connection stand-in: an id, a ping count, and whether the "server" closed it.
#[derive(Debug)]
struct Conn {
    id: usize,
    pings: usize,
    closed: bool,
}

fn connector() -> impl Fn() -> Result<Conn, String> + Send + Sync + 'static {
    let next = AtomicUsize::new(0);
    move || Ok(Conn { id: next.fetch_add(1, Ordering::SeqCst), pings: 0, closed: false })
}

fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached within {WAIT:?}");
        thread::yield_now();
    }
}

#[test]
fn validate_gets_mut_and_a_refused_object_is_never_handed_out() {
    let pool = ObjectPool::builder(connector())
        .validate(|c: &mut Conn| {
            c.pings += 1; // a ping needs &mut
            !c.closed
        })
        .build()
        .unwrap();
    let mut first = pool.get().unwrap();
    first.closed = true; // killed server-side while idle, say
    drop(first);
    let second = pool.get().unwrap();
    assert_eq!((second.id, second.pings), (1, 0), "the closed one was dropped, a fresh one made");
    drop(second);
    assert_eq!(pool.get().unwrap().pings, 1, "an idle one is pinged before it is handed out");
    let stats = pool.stats();
    assert_eq!((stats.created, stats.dropped_broken, stats.checkouts), (2, 1, 3));
}

#[test]
fn validate_after_skips_recently_used_objects() {
    let pool = ObjectPool::builder(connector())
        .validate(|c: &mut Conn| {
            c.pings += 1;
            true
        })
        .validate_after(Duration::from_millis(50))
        .build()
        .unwrap();
    drop(pool.get().unwrap());
    let again = pool.get().unwrap();
    assert_eq!(again.pings, 0, "used a moment ago: not validated");
    drop(again);
    thread::sleep(Duration::from_millis(60));
    assert_eq!(pool.get().unwrap().pings, 1, "idle 60 ms: validated");
}

#[test]
fn is_broken_on_return_frees_the_slot_for_a_waiter() {
    let pool =
        ObjectPool::builder(connector()).max_live(1).is_broken(|c: &mut Conn| c.closed).build().unwrap();
    let mut held = pool.get().unwrap();
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn({
        let pool = pool.clone();
        move || tx.send(pool.get_timeout(WAIT).map(|c| c.id)).unwrap()
    });
    wait_for(|| pool.waiters() == 1);
    held.closed = true;
    drop(held); // broken: dropped, its slot handed to the waiter, who creates
    assert_eq!(rx.recv_timeout(WAIT).unwrap().unwrap(), 1);
    waiter.join().unwrap();
    let stats = pool.stats();
    assert_eq!((stats.created, stats.dropped_broken, stats.live, stats.idle), (2, 1, 1, 1));
}

#[test]
fn discard_frees_the_slot_for_a_waiter() {
    let pool = ObjectPool::builder(connector()).max_live(1).build().unwrap();
    let held = pool.get().unwrap();
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn({
        let pool = pool.clone();
        move || tx.send(pool.get_timeout(WAIT).map(|c| c.id)).unwrap()
    });
    wait_for(|| pool.waiters() == 1);
    held.discard();
    assert_eq!(rx.recv_timeout(WAIT).unwrap().unwrap(), 1);
    waiter.join().unwrap();
    assert_eq!((pool.stats().dropped_broken, pool.live()), (1, 1));
}

#[test]
fn a_panicking_is_broken_drops_the_object_and_frees_its_slot() {
    let pool = ObjectPool::builder(connector())
        .max_live(1)
        .is_broken(|c: &mut Conn| if c.id == 0 { panic!("check blew up") } else { false })
        .build()
        .unwrap();
    let held = pool.get().unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| drop(held))).is_err());
    assert_eq!(pool.live(), 0);
    assert_eq!(pool.get().unwrap().id, 1);
}

#[test]
fn stats_count_checkouts_waits_and_timeouts() {
    let pool = ObjectPool::builder(connector()).max_live(1).name("stats").build().unwrap();
    let held = pool.get().unwrap();
    assert!(matches!(pool.get_timeout(Duration::from_millis(20)), Err(GetError::Timeout)));
    assert!(matches!(pool.try_get(), Err(GetError::Exhausted)));
    let waiter = thread::spawn({
        let pool = pool.clone();
        move || pool.get_timeout(WAIT).map(drop)
    });
    wait_for(|| pool.stats().waiting == 1);
    drop(held);
    waiter.join().unwrap().unwrap();
    let stats = pool.stats();
    assert_eq!(
        (stats.checkouts, stats.waited, stats.timeouts, stats.created, stats.live, stats.idle, stats.waiting),
        (2, 2, 1, 1, 1, 1, 0)
    );
    assert!(stats.wait_time >= Duration::from_millis(20), "{:?}", stats.wait_time);
    assert_eq!(pool.name(), "stats");
}
