//! ObjectPool while `create` fails: retries with backoff until the caller's deadline, the last
//! error at the end, at most one creation per free slot in flight, `try_get` tries once, and a
//! backing-off caller takes an object returned meanwhile. Every wait is bounded.

use boundpool::{GetError, ObjectPool};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// A `create` that fails while `down` is set, numbering its errors, and records how many
/// calls ran at once.
#[derive(Default)]
struct Server {
    down: AtomicBool,
    attempts: AtomicUsize,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
}

impl Server {
    fn connect(self: &Arc<Self>) -> impl Fn() -> Result<u32, String> + Send + Sync + 'static {
        let server = Arc::clone(self);
        move || {
            let n = server.attempts.fetch_add(1, Ordering::SeqCst);
            let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            server.peak_in_flight.fetch_max(now, Ordering::SeqCst);
            // Long enough for overlapping calls to overlap.
            thread::sleep(Duration::from_millis(1));
            server.in_flight.fetch_sub(1, Ordering::SeqCst);
            if server.down.load(Ordering::SeqCst) {
                Err(format!("attempt {n} refused"))
            } else {
                Ok(n as u32)
            }
        }
    }

    fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

/// Runs `callers` threads that each `get_timeout(deadline)` from `pool` while create fails, and
/// checks (bounded by `WAIT`) that every one returns a creation error or a timeout.
fn every_caller_fails_by_its_deadline(pool: &ObjectPool<u32, String>, callers: usize, deadline: Duration) {
    let (tx, rx) = mpsc::channel();
    for _ in 0..callers {
        let (pool, tx) = (pool.clone(), tx.clone());
        thread::spawn(move || tx.send(pool.get_timeout(deadline).map(drop)).unwrap());
    }
    for _ in 0..callers {
        let result = rx.recv_timeout(WAIT).expect("every caller returns by its deadline");
        assert!(matches!(result, Err(GetError::Create(_) | GetError::Timeout)), "{result:?}");
    }
}

#[test]
fn a_waiting_get_retries_until_its_deadline_and_sees_only_the_last_error() {
    let server = Arc::new(Server::default());
    server.down.store(true, Ordering::SeqCst);
    let pool = ObjectPool::builder(server.connect()).max_live(1).build().unwrap();
    let patience = Duration::from_millis(300);
    let started = Instant::now();
    let result = pool.get_timeout(patience);
    let took = started.elapsed();
    let attempts = server.attempts();
    match result {
        Err(GetError::Create(e)) => assert_eq!(e, format!("attempt {} refused", attempts - 1)),
        other => panic!("expected the last create error, got {other:?}"),
    }
    assert!(took >= patience, "returned after {took:?}, before its deadline");
    assert!(took < patience + Duration::from_secs(2), "returned {took:?} after the call");
    // Backoff 5, 10, 20, 40, 80, 160 ms: about seven attempts in 300 ms, not hundreds.
    assert!((3..=9).contains(&attempts), "{attempts} attempts in {patience:?}");
    let stats = pool.stats();
    assert_eq!((stats.create_errors, stats.created, stats.live), (attempts as u64, 0, 0));
}

#[test]
fn a_get_succeeds_once_create_recovers() {
    let server = Arc::new(Server::default());
    server.down.store(true, Ordering::SeqCst);
    let pool = ObjectPool::builder(server.connect()).max_live(1).build().unwrap();
    let getter = thread::spawn({
        let pool = pool.clone();
        move || pool.get_timeout(WAIT).map(|n| *n)
    });
    let deadline = Instant::now() + WAIT;
    while server.attempts() < 3 {
        assert!(Instant::now() < deadline, "no retries");
        thread::yield_now();
    }
    server.down.store(false, Ordering::SeqCst);
    let got = getter.join().unwrap();
    assert!(got.is_ok(), "{got:?}");
    let stats = pool.stats();
    assert_eq!((stats.created, stats.checkouts), (1, 1));
    assert_eq!(stats.create_errors as usize, server.attempts() - 1);
}

#[test]
fn at_most_one_creation_per_free_slot_is_in_flight() {
    let server = Arc::new(Server::default());
    server.down.store(true, Ordering::SeqCst);
    let pool = ObjectPool::builder(server.connect()).max_live(2).build().unwrap();
    every_caller_fails_by_its_deadline(&pool, 8, Duration::from_millis(300));
    let peak = server.peak_in_flight.load(Ordering::SeqCst);
    assert!(peak <= 2, "{peak} creations at once with 2 free slots");
    // Two slots, each at most about seven attempts in 300 ms, plus one each for callers handed a
    // slot just before their own deadline. A caller per attempt would make thousands.
    let attempts = server.attempts();
    assert!(attempts <= 2 * 9 + 8, "{attempts} attempts");
    assert_eq!(pool.live(), 0);
}

#[test]
fn try_get_tries_once() {
    let server = Arc::new(Server::default());
    server.down.store(true, Ordering::SeqCst);
    let pool = ObjectPool::builder(server.connect()).build().unwrap();
    assert!(matches!(pool.try_get(), Err(GetError::Create(_))));
    assert_eq!((server.attempts(), pool.live()), (1, 0));
}

#[test]
fn a_get_without_a_timeout_reports_failure_at_the_pools_wait_timeout() {
    let server = Arc::new(Server::default());
    server.down.store(true, Ordering::SeqCst);
    let pool =
        ObjectPool::builder(server.connect()).wait_timeout(Duration::from_millis(100)).build().unwrap();
    let started = Instant::now();
    assert!(matches!(pool.get(), Err(GetError::Create(_))));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(100) && took < Duration::from_secs(3), "{took:?}");
    assert_eq!(boundpool::DEFAULT_CREATE_RETRY, Duration::from_secs(30));
}

#[test]
fn a_backing_off_get_takes_an_object_returned_meanwhile() {
    let server = Arc::new(Server::default());
    let pool = ObjectPool::builder(server.connect()).max_live(2).build().unwrap();
    let held = pool.get().unwrap();
    server.down.store(true, Ordering::SeqCst);
    let getter = thread::spawn({
        let pool = pool.clone();
        move || pool.get_timeout(WAIT).map(|n| *n)
    });
    let deadline = Instant::now() + WAIT;
    while server.attempts() < 3 {
        assert!(Instant::now() < deadline, "no retries");
        thread::yield_now();
    }
    drop(held); // idle now: the retrying caller takes it and gives up its slot
    assert_eq!(getter.join().unwrap().unwrap(), 0);
    assert_eq!(pool.live(), 1);
}

#[test]
fn while_create_fails_one_caller_probes_and_the_others_wait_for_its_outcome() {
    let server = Arc::new(Server::default());
    server.down.store(true, Ordering::SeqCst);
    let pool = ObjectPool::builder(server.connect()).max_live(8).build().unwrap();
    every_caller_fails_by_its_deadline(&pool, 16, Duration::from_millis(400));
    // At most one attempt per slot as the outage begins, one probe per backoff step (about
    // eight in 400 ms), and one last attempt per slot holder at its deadline. Eight slots each
    // retrying on their own would make about 70.
    let attempts = server.attempts();
    assert!(attempts <= 8 + 9 + 8, "{attempts} attempts");
    assert_eq!(pool.live(), 0);
}

#[test]
fn when_create_recovers_every_waiting_slot_holder_creates_at_once() {
    let server = Arc::new(Server::default());
    server.down.store(true, Ordering::SeqCst);
    let pool = ObjectPool::builder(server.connect()).max_live(4).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let holders: Vec<_> = (0..4)
        .map(|_| {
            let (pool, tx) = (pool.clone(), tx.clone());
            thread::spawn(move || {
                let got = pool.get_timeout(WAIT);
                let ok = got.is_ok();
                tx.send(ok).unwrap();
                // Hold it until every caller has one, so each needs its own.
                thread::sleep(Duration::from_millis(50));
                drop(got);
            })
        })
        .collect();
    let deadline = Instant::now() + WAIT;
    while server.attempts() < 8 {
        assert!(Instant::now() < deadline, "no retries");
        thread::yield_now();
    }
    let failed = server.attempts();
    server.down.store(false, Ordering::SeqCst);
    for _ in 0..4 {
        assert!(rx.recv_timeout(WAIT).unwrap(), "every caller gets a connection");
    }
    for h in holders {
        h.join().unwrap();
    }
    let stats = pool.stats();
    assert_eq!(stats.created, 4);
    // Attempts still under way when the flag flipped may fail; no more than one per slot.
    assert!(server.attempts() <= failed + 4 + 4, "{} attempts", server.attempts());
}
