//! ObjectPool: the live bound, blocking, timeouts, FIFO hand-off, create failures, reset,
//! validate, max_idle, detach, and panics in every callback. Every wait is bounded.

use boundpool::{GetError, ObjectPool, Pooled};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// Spins (yielding) until `cond` holds; fails the test after `WAIT`.
fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached within {WAIT:?}");
        thread::yield_now();
    }
}

/// Counts objects made and dropped, and the most alive at once.
#[derive(Default)]
struct Census {
    made: AtomicUsize,
    dropped: AtomicUsize,
    alive: AtomicUsize,
    peak: AtomicUsize,
}

struct Obj {
    id: usize,
    census: Arc<Census>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.census.dropped.fetch_add(1, Ordering::SeqCst);
        self.census.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

fn maker(census: &Arc<Census>) -> impl Fn() -> Result<Obj, String> + Send + Sync + 'static {
    let census = Arc::clone(census);
    move || {
        let id = census.made.fetch_add(1, Ordering::SeqCst);
        let alive = census.alive.fetch_add(1, Ordering::SeqCst) + 1;
        census.peak.fetch_max(alive, Ordering::SeqCst);
        Ok(Obj { id, census: Arc::clone(&census) })
    }
}

fn counts(c: &Census) -> (usize, usize) {
    (c.made.load(Ordering::SeqCst), c.dropped.load(Ordering::SeqCst))
}

#[test]
fn at_most_max_live_then_exhausted() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).max_live(2).build().unwrap();
    let a = pool.try_get().unwrap();
    let b = pool.try_get().unwrap();
    assert!(matches!(pool.try_get(), Err(GetError::Exhausted)));
    assert_eq!((pool.live(), pool.idle()), (2, 0));
    drop(a);
    assert_eq!((pool.live(), pool.idle()), (2, 1));
    let c = pool.try_get().unwrap();
    assert_eq!(c.id, 0, "the idle object is reused");
    assert_eq!(counts(&census), (2, 0));
    drop((b, c));
    drop(pool);
    assert_eq!(counts(&census), (2, 2), "dropping the pool drops idle objects");
}

#[test]
fn get_blocks_until_an_object_returns() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).max_live(1).build().unwrap();
    let held = pool.get().unwrap();
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn({
        let pool = pool.clone();
        move || tx.send(pool.get().map(|o| o.id)).unwrap()
    });
    wait_for(|| pool.waiters() == 1);
    assert!(rx.try_recv().is_err(), "still blocked");
    drop(held);
    assert_eq!(rx.recv_timeout(WAIT).unwrap().unwrap(), 0);
    waiter.join().unwrap();
    assert_eq!((pool.live(), pool.idle(), pool.waiters()), (1, 1, 0));
    assert_eq!(counts(&census), (1, 0));
}

#[test]
fn get_timeout_times_out_and_leaves_the_queue() {
    let pool = ObjectPool::builder(|| Ok::<_, String>(1u8)).max_live(1).build().unwrap();
    let held = pool.get().unwrap();
    let start = Instant::now();
    assert!(matches!(pool.get_timeout(Duration::from_millis(30)), Err(GetError::Timeout)));
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(30) && waited < WAIT, "{waited:?}");
    assert_eq!(pool.waiters(), 0);
    drop(held);
    assert_eq!(pool.idle(), 1, "nobody was waiting, so it went idle");
    assert!(pool.get_timeout(Duration::ZERO).is_ok());
    assert!(pool.get_timeout(Duration::MAX).is_ok(), "a huge timeout is no timeout");
}

#[test]
fn waiters_are_served_in_arrival_order() {
    const WAITERS: usize = 5;
    let pool = ObjectPool::builder(|| Ok::<_, String>(())).max_live(1).build().unwrap();
    let held = pool.get().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut threads = Vec::new();
    for i in 0..WAITERS {
        let (theirs, tx) = (pool.clone(), tx.clone());
        threads.push(thread::spawn(move || {
            let obj = theirs.get_timeout(WAIT).unwrap();
            tx.send(i).unwrap();
            drop(obj);
        }));
        wait_for(|| pool.waiters() == i + 1); // i is queued before i + 1 arrives
    }
    // A newcomer may not jump the queue even when an object comes back.
    assert!(matches!(pool.try_get(), Err(GetError::Exhausted)));
    drop(held);
    let order: Vec<usize> = (0..WAITERS).map(|_| rx.recv_timeout(WAIT).unwrap()).collect();
    assert_eq!(order, (0..WAITERS).collect::<Vec<_>>());
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!((pool.live(), pool.idle(), pool.waiters()), (1, 1, 0));
}

#[test]
fn create_failure_holds_no_slot() {
    let fail = Arc::new(AtomicUsize::new(2));
    let pool = ObjectPool::builder({
        let fail = Arc::clone(&fail);
        move || {
            if fail.load(Ordering::SeqCst) > 0 {
                fail.fetch_sub(1, Ordering::SeqCst);
                Err("refused".to_string())
            } else {
                Ok(5u32)
            }
        }
    })
    .max_live(1)
    .build()
    .unwrap();
    // try_get tries once: one error each, no slot kept.
    for _ in 0..2 {
        match pool.try_get() {
            Err(GetError::Create(e)) => assert_eq!(e, "refused"),
            other => panic!("expected Create, got {other:?}"),
        }
        assert_eq!(pool.live(), 0);
    }
    assert_eq!(*pool.get().unwrap(), 5);
    assert_eq!(pool.stats().create_errors, 2);
}

#[test]
fn a_waiter_gets_the_slot_when_a_failing_creation_gives_up() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pool = ObjectPool::builder({
        let failing = Arc::clone(&failing);
        move || if failing.load(Ordering::SeqCst) { Err("refused") } else { Ok(()) }
    })
    .max_live(1)
    .build()
    .unwrap();
    let held = pool.get().unwrap();
    let (tx, rx) = mpsc::channel();
    let mut threads = Vec::new();
    for (i, patience) in [(0, Duration::from_millis(50)), (1, WAIT)] {
        let (theirs, tx) = (pool.clone(), tx.clone());
        threads.push(thread::spawn(move || tx.send((i, theirs.get_timeout(patience).map(drop))).unwrap()));
        wait_for(|| pool.waiters() == i + 1);
    }
    failing.store(true, Ordering::SeqCst);
    held.detach(); // frees the slot: the first waiter creates, and keeps failing until its deadline
    let (i, first) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(i, 0);
    assert!(matches!(first, Err(GetError::Create("refused"))), "{first:?}");
    failing.store(false, Ordering::SeqCst);
    let (i, second) = rx.recv_timeout(WAIT).unwrap();
    assert_eq!(i, 1);
    assert!(second.is_ok(), "the second waiter got the slot: {second:?}");
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(pool.live(), 1);
}

#[test]
fn reset_runs_on_every_return() {
    let resets = Arc::new(AtomicUsize::new(0));
    let pool = ObjectPool::builder(|| Ok::<_, String>(Vec::<u8>::new()))
        .reset({
            let resets = Arc::clone(&resets);
            move |v| {
                v.clear();
                resets.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    for i in 0..3u8 {
        let mut v = pool.get().unwrap();
        assert!(v.is_empty());
        v.push(i);
    }
    assert_eq!(resets.load(Ordering::SeqCst), 3);
    let detached = pool.get().unwrap().detach();
    assert_eq!(resets.load(Ordering::SeqCst), 3, "a detached object is not reset");
    drop(detached);
}

#[test]
fn validate_replaces_failed_objects() {
    let census = Arc::new(Census::default());
    let checks = Arc::new(AtomicUsize::new(0));
    let pool = ObjectPool::builder(maker(&census))
        .max_live(3)
        .validate({
            let checks = Arc::clone(&checks);
            move |o| {
                checks.fetch_add(1, Ordering::SeqCst);
                o.id % 2 == 1 // even ids are "broken"
            }
        })
        .build()
        .unwrap();
    let fresh: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect(); // ids 0, 1, 2
    assert_eq!(checks.load(Ordering::SeqCst), 0, "fresh objects are not validated");
    drop(fresh); // idle: 0, 1, 2 (2 on top)
    let got = pool.get().unwrap(); // 2 fails, then 1 passes
    assert_eq!(got.id, 1);
    assert_eq!(checks.load(Ordering::SeqCst), 2);
    assert_eq!(counts(&census), (3, 1));
    assert_eq!((pool.live(), pool.idle()), (2, 1));
    let next = pool.get().unwrap(); // 0 fails, nothing idle: a new one (id 3)
    assert_eq!(next.id, 3);
    assert_eq!(counts(&census), (4, 2));
    assert_eq!((pool.live(), pool.idle()), (2, 0));
}

#[test]
fn at_most_max_idle_are_kept() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).max_live(4).max_idle(1).build().unwrap();
    let all: Vec<_> = (0..4).map(|_| pool.get().unwrap()).collect();
    drop(all);
    assert_eq!((pool.live(), pool.idle()), (1, 1));
    assert_eq!(counts(&census), (4, 3));
}

#[test]
fn detach_frees_the_live_slot_and_wakes_a_waiter() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).max_live(1).build().unwrap();
    let held = pool.get().unwrap();
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn({
        let pool = pool.clone();
        move || tx.send(pool.get_timeout(WAIT).map(|o| o.id)).unwrap()
    });
    wait_for(|| pool.waiters() == 1);
    let kept = held.detach();
    assert_eq!(rx.recv_timeout(WAIT).unwrap().unwrap(), 1, "the waiter made a new object");
    waiter.join().unwrap();
    assert_eq!(kept.id, 0);
    assert_eq!(pool.live(), 1);
    assert_eq!(counts(&census), (2, 0));
}

#[test]
fn panic_in_create_leaks_no_slot() {
    let calls = Arc::new(AtomicUsize::new(0));
    let pool = ObjectPool::builder({
        let calls = Arc::clone(&calls);
        move || {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("create blew up");
            }
            Ok::<_, String>(9u8)
        }
    })
    .max_live(1)
    .build()
    .unwrap();
    let err = catch_unwind(AssertUnwindSafe(|| pool.get())).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"create blew up"));
    assert_eq!(pool.live(), 0);
    assert_eq!(*pool.try_get().unwrap(), 9);
}

#[test]
fn panic_in_validate_drops_the_object_and_frees_its_slot() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census))
        .max_live(1)
        .validate(|o| if o.id == 0 { panic!("validate blew up") } else { true })
        .build()
        .unwrap();
    drop(pool.get().unwrap()); // object 0, idle
    assert!(catch_unwind(AssertUnwindSafe(|| pool.get())).is_err());
    assert_eq!(counts(&census), (1, 1), "object 0 was dropped");
    assert_eq!((pool.live(), pool.idle()), (0, 0));
    assert_eq!(pool.try_get().unwrap().id, 1);
}

#[test]
fn panic_in_reset_drops_the_object_and_frees_its_slot() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census))
        .max_live(1)
        .reset(|o| {
            if o.id == 0 {
                panic!("reset blew up")
            }
        })
        .build()
        .unwrap();
    let first = pool.get().unwrap();
    assert!(catch_unwind(AssertUnwindSafe(move || drop(first))).is_err());
    assert_eq!(counts(&census), (1, 1));
    assert_eq!((pool.live(), pool.idle()), (0, 0));
    let second = pool.try_get().unwrap();
    assert_eq!(second.id, 1);
    drop(second);
    assert_eq!(pool.idle(), 1, "reset of object 1 works, the pool is not poisoned");
}

#[test]
fn an_object_dropped_while_panicking_is_not_kept() {
    let census = Arc::new(Census::default());
    let pool = ObjectPool::builder(maker(&census)).max_live(1).build().unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _obj = pool.get().unwrap();
        panic!("user code failed while holding it");
    }));
    assert!(result.is_err());
    assert_eq!(counts(&census), (1, 1));
    assert_eq!((pool.live(), pool.idle()), (0, 0));
}

#[test]
fn four_threads_hammering_never_exceed_max_live() {
    const MAX_LIVE: usize = 3;
    const ROUNDS: usize = 2_000;
    let census = Arc::new(Census::default());
    let resets = Arc::new(AtomicUsize::new(0));
    let pool = ObjectPool::builder(maker(&census))
        .max_live(MAX_LIVE)
        .max_idle(2)
        .reset({
            let resets = Arc::clone(&resets);
            move |_| {
                resets.fetch_add(1, Ordering::SeqCst);
            }
        })
        .validate(|o| o.id % 7 != 3)
        .build()
        .unwrap();
    let got = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..4 {
            let (pool, got) = (&pool, &got);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let obj: Pooled<Obj, String> = match (t + i) % 3 {
                        0 => pool.get().unwrap(),
                        1 => pool.get_timeout(WAIT).unwrap(),
                        _ => match pool.try_get() {
                            Ok(o) => o,
                            Err(GetError::Exhausted) => continue,
                            Err(e) => panic!("{e:?}"),
                        },
                    };
                    got.fetch_add(1, Ordering::SeqCst);
                    if i % 97 == 0 {
                        drop(obj.detach());
                    }
                }
            });
        }
    });
    let (made, dropped) = counts(&census);
    assert!(census.peak.load(Ordering::SeqCst) <= MAX_LIVE);
    assert_eq!(made - dropped, pool.live(), "every object is idle or dropped");
    assert_eq!(pool.live(), pool.idle());
    assert!(pool.idle() <= 2);
    let detached =
        (0..4).map(|t| (0..ROUNDS).filter(|i| i % 97 == 0 && (t + i) % 3 != 2).count()).sum::<usize>();
    let got = got.load(Ordering::SeqCst);
    assert!(detached <= got);
    assert!(resets.load(Ordering::SeqCst) <= got - detached + 4);
    assert_eq!(pool.waiters(), 0);
}

#[test]
fn build_refuses_nonsense_settings() {
    let err = ObjectPool::builder(|| Ok::<_, String>(())).max_live(0).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_live is 0, so the pool could never hand out an object: set max_live to 1 or more"
    );
    let err = ObjectPool::builder(|| Ok::<_, String>(())).max_live(2).max_idle(3).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_idle is above max_live, but idle objects count toward max_live: lower max_idle to max_live or less"
    );
    assert!(ObjectPool::builder(|| Ok::<_, String>(())).max_live(2).max_idle(2).build().is_ok());
    assert!(
        ObjectPool::builder(|| Ok::<_, String>(())).max_live(1).build().is_ok(),
        "max_idle follows max_live"
    );
}

#[test]
fn defaults_allow_sixteen_live_objects() {
    let pool = ObjectPool::builder(|| Ok::<_, String>(())).build().unwrap();
    let held: Vec<_> = (0..16).map(|_| pool.try_get().unwrap()).collect();
    assert!(matches!(pool.try_get(), Err(GetError::Exhausted)));
    drop(held);
    assert_eq!(pool.idle(), 16);
}

#[test]
fn errors_display_and_debug() {
    let e: GetError<std::io::Error> = GetError::Exhausted;
    assert_eq!(e.to_string(), "every object of the pool is checked out");
    let e: GetError<std::io::Error> = GetError::Create(std::io::Error::other("down"));
    assert_eq!(e.to_string(), "could not create a pooled object: down");
    assert!(std::error::Error::source(&e).is_some());
    let pool = ObjectPool::builder(|| Ok::<_, String>(1u8)).max_live(2).build().unwrap();
    let one = pool.get().unwrap();
    assert_eq!(format!("{one:?}"), "Pooled(1)");
    assert_eq!(
        format!("{pool:?}"),
        "ObjectPool { name: \"boundpool-objects\", max_live: 2, max_idle: 2, live: 1, idle: 0, waiters: 0 }"
    );
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ObjectPool<Vec<u8>>>();
    send_sync::<ObjectPool<Vec<u8>, std::io::Error>>();
    send_sync::<Pooled<Vec<u8>>>();
    send_sync::<boundpool::ObjectPoolBuilder<Vec<u8>>>();
}
