//! Model checks of the recyclers' protocols, through the crate's `sync` seam.
//!
//! Run: `cd loom-tests && RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test recycle`

#![cfg(loom)]

use boundpool::model::BufferPoolProbe;
use boundpool::{BufferPool, GetError, ObjectPool};
use boundpool_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// An object that counts how many of its kind exist.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A pool whose `create` fails the model if more than `limit` objects would exist.
fn counted_pool(
    max_live: usize,
    max_idle: usize,
    limit: usize,
    alive: &Arc<AtomicUsize>,
) -> ObjectPool<Counted> {
    let alive = Arc::clone(alive);
    ObjectPool::builder(move || {
        let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(now <= limit, "{now} objects alive, at most {limit} allowed");
        Ok(Counted(Arc::clone(&alive)))
    })
    .max_live(max_live)
    .max_idle(max_idle)
    .build()
    .expect("valid settings")
}

/// Two racing `try_get`s and a return never make more than `max_live` objects exist, and every
/// slot comes back.
#[test]
fn object_live_bound_under_racing_getters() {
    model("object_live_bound_under_racing_getters", || {
        let alive = Arc::new(AtomicUsize::new(0));
        // max_idle 0: every return drops the object and frees its slot, the hardest case.
        let pool = counted_pool(1, 0, 1, &alive);
        let held = pool.try_get().expect("the pool is empty");
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || match pool.try_get() {
                    Ok(obj) => drop(obj),
                    Err(GetError::Exhausted) => {}
                    Err(GetError::Create(never)) => match never {},
                    Err(GetError::Timeout) => unreachable!("try_get does not wait"),
                })
            })
            .collect();
        drop(held);
        for g in getters {
            g.join().expect("getter");
        }
        assert_eq!(pool.live(), 0);
        assert_eq!(alive.load(Ordering::SeqCst), 0);
    });
}

/// Three blocking getters and a returner on a pool of two: the bound holds, nobody is left
/// asleep, and every object ends idle or dropped.
#[test]
fn object_live_bound_under_three_blocking_getters() {
    model("object_live_bound_under_three_blocking_getters", || {
        let alive = Arc::new(AtomicUsize::new(0));
        let pool = counted_pool(2, 1, 2, &alive);
        let held = pool.get().expect("the pool is empty");
        let getters: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || pool.get().map(drop).is_ok())
            })
            .collect();
        drop(held);
        for g in getters {
            assert!(g.join().expect("getter"));
        }
        assert_eq!(pool.live(), pool.idle());
        assert_eq!(alive.load(Ordering::SeqCst), pool.live());
    });
}

/// A `get` blocked at the bound is woken by a return on another thread: no lost wake-up
/// (loom reports a deadlock if the waiter can sleep forever).
#[test]
fn object_blocked_get_is_woken_by_a_return() {
    model("object_blocked_get_is_woken_by_a_return", || {
        let alive = Arc::new(AtomicUsize::new(0));
        let pool = counted_pool(1, 1, 1, &alive);
        let held = pool.get().expect("the pool is empty");
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || pool.get().map(drop).is_ok())
        };
        drop(held);
        assert!(waiter.join().expect("waiter"));
        assert_eq!((pool.live(), pool.idle()), (1, 1));
    });
}

/// The same with `detach`: the freed slot, not an object, is handed to the waiter.
#[test]
fn object_blocked_get_is_woken_by_a_detach() {
    model("object_blocked_get_is_woken_by_a_detach", || {
        let alive = Arc::new(AtomicUsize::new(0));
        // A detached object no longer counts toward max_live but still exists: limit 3.
        let pool = counted_pool(2, 2, 3, &alive);
        let a = pool.get().expect("first");
        let b = pool.get().expect("second");
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || pool.get().map(drop).is_ok())
        };
        let kept = a.detach();
        drop(b);
        assert!(waiter.join().expect("waiter"));
        drop(kept);
        // The waiter made a new object, or reused `b` if it came after b's return.
        let live = pool.live();
        assert!(live == 1 || live == 2, "{live}");
        assert_eq!(alive.load(Ordering::SeqCst), live);
    });
}

/// A buffer returned on one thread while another trims: it is either trimmed or kept, never
/// both, never lost from the retention bound.
#[test]
fn buffer_return_races_trim() {
    model("buffer_return_races_trim", || {
        let pool = Arc::new(BufferPool::builder().buffer_capacity(8).max_retained(2).build());
        let buf = pool.get();
        let returner = thread::spawn(move || drop(buf));
        let trimmer = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.trim())
        };
        returner.join().expect("returner");
        trimmer.join().expect("trimmer");
        let s = pool.stats();
        assert!(s.retained <= 1, "{s:?}");
        assert_eq!((s.hits, s.misses, s.overflowed), (0, 1, 0));
        pool.trim();
        assert_eq!(pool.stats().retained, 0);
        // Every credit is still there: two buffers can be kept again.
        drop((pool.get(), pool.get()));
        assert_eq!(pool.stats().retained, 2);
    });
}

/// Two buffers of one thread returned at once on two threads with room for one: exactly one is
/// kept and the other counted as overflowed.
#[test]
fn buffer_returns_race_for_the_last_place() {
    model("buffer_returns_race_for_the_last_place", || {
        let pool = BufferPool::builder().buffer_capacity(8).max_retained(1).build();
        let (a, b) = (pool.get(), pool.get());
        let ta = thread::spawn(move || drop(a));
        let tb = thread::spawn(move || drop(b));
        ta.join().expect("a");
        tb.join().expect("b");
        let s = pool.stats();
        assert_eq!((s.retained, s.overflowed), (1, 1), "{s:?}");
        assert!(pool.get().is_empty());
        assert_eq!(pool.stats().hits, 1);
    });
}

/// The pool is dropped on one thread while the thread that got a buffer returns it: the buffer
/// is either emptied out of its cell by the drop or freed by the return, never left behind.
#[test]
fn buffer_returned_by_its_owner_while_the_pool_is_dropped() {
    model("buffer_returned_by_its_owner_while_the_pool_is_dropped", || {
        let pool = Arc::new(BufferPool::builder().buffer_capacity(8).max_retained(2).build());
        let probe = BufferPoolProbe::new(&pool);
        let owner = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                let buf = pool.get();
                drop(pool);
                drop(buf);
            })
        };
        let dropper = thread::spawn(move || drop(pool));
        owner.join().expect("owner");
        dropper.join().expect("dropper");
        assert!(probe.freed(), "a dropped pool left memory behind");
    });
}

/// As above, with the buffer returned by a thread that never used the pool.
#[test]
fn buffer_returned_by_another_thread_while_the_pool_is_dropped() {
    model("buffer_returned_by_another_thread_while_the_pool_is_dropped", || {
        let pool = Arc::new(BufferPool::builder().buffer_capacity(8).max_retained(2).build());
        let probe = BufferPoolProbe::new(&pool);
        let buf = {
            let pool = Arc::clone(&pool);
            thread::spawn(move || pool.get()).join().expect("getter")
        };
        let returner = thread::spawn(move || drop(buf));
        let dropper = thread::spawn(move || drop(pool));
        returner.join().expect("returner");
        dropper.join().expect("dropper");
        assert!(probe.freed(), "a dropped pool left memory behind");
    });
}
