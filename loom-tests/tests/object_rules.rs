//! Model checks of ObjectPool's rules for real connections: creation retried until the
//! deadline with one creation per slot, `discard` and `is_broken` handing the slot on, and
//! expiry racing a checkout.
//!
//! loom has no clock: a backoff pause is a yield, a deadline in the past is the explicit timeout
//! branch (`get_timeout(Duration::ZERO)`), and the maintenance thread's round is called
//! directly (`maintain_now`).
//!
//! Run: `cd loom-tests && RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test object_rules`

#![cfg(loom)]

use boundpool::{GetError, ObjectPool};
use boundpool_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

/// What `create` sees: objects alive, creations in flight, calls so far.
#[derive(Default)]
struct Census {
    alive: AtomicUsize,
    creating: AtomicUsize,
    calls: AtomicUsize,
}

struct Obj(Arc<Census>);

impl Drop for Obj {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A `create` that fails on the calls `fails` says, and fails the model if more than
/// `max_live` creations run at once or more than `max_live` objects would exist.
fn create(
    census: &Arc<Census>,
    max_live: usize,
    fails: fn(usize) -> bool,
) -> impl Fn() -> Result<Obj, &'static str> + Send + Sync + 'static {
    let census = Arc::clone(census);
    move || {
        let call = census.calls.fetch_add(1, Ordering::SeqCst);
        let now = census.creating.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(now <= max_live, "{now} creations in flight, {max_live} slots");
        let result = if fails(call) {
            Err("refused")
        } else {
            let alive = census.alive.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(alive <= max_live, "{alive} objects alive, max_live {max_live}");
            Ok(Obj(Arc::clone(&census)))
        };
        census.creating.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

/// A caller whose deadline has passed gets the create error and hands its slot to the caller
/// in line, whose own creation (retried after a failure, if it came first) succeeds. One
/// creation at a time, never a lost slot.
#[test]
fn failed_creation_at_its_deadline_hands_the_slot_on() {
    model("failed_creation_at_its_deadline_hands_the_slot_on", || {
        let census = Arc::new(Census::default());
        let pool = ObjectPool::builder(create(&census, 1, |call| call == 0)).max_live(1).build().unwrap();
        let impatient = {
            let pool = pool.clone();
            thread::spawn(move || match pool.get_timeout(Duration::ZERO) {
                Ok(obj) => drop(obj),
                Err(GetError::Create("refused")) => {}
                Err(other) => panic!("unexpected {other:?}"),
            })
        };
        // Blocks in line or retries after the failure; either way it gets an object.
        let patient = pool.get().expect("an object after at most one failure");
        drop(patient);
        impatient.join().unwrap();
        assert_eq!(pool.live(), census.alive.load(Ordering::SeqCst));
        assert!(pool.live() <= 1);
    });
}

/// Two callers while `create` always fails, on a pool of one: never two creations at once,
/// both get the error, and the slot comes back.
#[test]
fn one_creation_per_free_slot_while_create_fails() {
    model("one_creation_per_free_slot_while_create_fails", || {
        let census = Arc::new(Census::default());
        let pool = ObjectPool::builder(create(&census, 1, |_| true)).max_live(1).build().unwrap();
        let other = {
            let pool = pool.clone();
            thread::spawn(move || matches!(pool.get_timeout(Duration::ZERO), Err(GetError::Create(_))))
        };
        assert!(matches!(pool.get_timeout(Duration::ZERO), Err(GetError::Create(_))));
        assert!(other.join().unwrap());
        assert_eq!(pool.live(), 0);
    });
}

/// `discard` (`which == 0`) or a return that `is_broken` refuses (`which == 1`) hands the
/// freed slot to the first of two callers in line, who creates: the bound holds and nobody
/// sleeps forever.
#[test]
fn discard_and_is_broken_hand_the_slot_to_a_waiter() {
    for which in 0..2 {
        model("discard_and_is_broken_hand_the_slot_to_a_waiter", move || {
            let census = Arc::new(Census::default());
            let pool = ObjectPool::builder(create(&census, 1, |_| false))
                .max_live(1)
                .is_broken(move |_| which == 1)
                .build()
                .unwrap();
            let held = pool.get().unwrap();
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let pool = pool.clone();
                    thread::spawn(move || pool.get().map(drop).is_ok())
                })
                .collect();
            if which == 0 {
                held.discard();
            } else {
                drop(held);
            }
            for waiter in waiters {
                assert!(waiter.join().unwrap());
            }
            // The waiters' objects went back through is_broken too when which == 1.
            assert_eq!(pool.live(), census.alive.load(Ordering::SeqCst));
            let stats = pool.stats();
            assert_eq!(stats.dropped_broken, 1 + 2 * u64::from(which == 1));
        });
    }
}

/// The maintenance round sweeping expired idle objects races a `get` that finds one and a
/// return: each expired object is dropped exactly once (by the sweep or the get), the getter
/// gets an object, and every live slot is one object.
#[test]
fn expiry_racing_checkout() {
    model("expiry_racing_checkout", || {
        let census = Arc::new(Census::default());
        let pool = ObjectPool::builder(create(&census, 2, |_| false))
            .max_live(2)
            .idle_timeout(Duration::from_nanos(1))
            .build()
            .unwrap();
        let out = pool.get().unwrap();
        drop(pool.get().unwrap()); // idle, and expired a nanosecond later
        let sweeper = {
            let pool = pool.clone();
            thread::spawn(move || pool.maintain_now())
        };
        let getter = {
            let pool = pool.clone();
            thread::spawn(move || pool.get().map(drop).is_ok())
        };
        drop(out); // idle too: a sweep or a get may find it
        assert!(getter.join().unwrap());
        sweeper.join().unwrap();
        let stats = pool.stats();
        assert!(stats.dropped_expired >= 1, "{stats:?}");
        assert_eq!(pool.live(), census.alive.load(Ordering::SeqCst));
        assert_eq!(stats.created - stats.dropped_expired, stats.live as u64);
        assert!(pool.live() <= 2);
    });
}

/// Two slot holders while `create` fails twice: one probes on its backoff while the other
/// waits for the outcome; the probe's success (or its end) wakes the waiter, which creates.
/// loom reports a deadlock if the waiter can sleep through the prober's outcome.
#[test]
fn a_waiting_slot_holder_is_woken_by_the_probes_outcome() {
    model("a_waiting_slot_holder_is_woken_by_the_probes_outcome", || {
        let census = Arc::new(Census::default());
        let pool = ObjectPool::builder(create(&census, 2, |call| call < 2)).max_live(2).build().unwrap();
        let other = {
            let pool = pool.clone();
            thread::spawn(move || pool.get().map(drop).is_ok())
        };
        assert!(pool.get().map(drop).is_ok());
        assert!(other.join().unwrap());
        let stats = pool.stats();
        assert_eq!(stats.create_errors, 2);
        assert_eq!(pool.live(), census.alive.load(Ordering::SeqCst));
    });
}
