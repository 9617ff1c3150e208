//! BufferPool: hits and misses, the retention bound, discarding, shrinking, wiping, trim, and
//! buffers crossing threads. Every wait is bounded.

mod common;

use boundpool::{BufferPool, BufferPoolBuilder, BufferStats, PooledBuffer};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn stats(pool: &BufferPool) -> (u64, u64, usize, u64) {
    let s = pool.stats();
    (s.hits, s.misses, s.retained, s.discarded)
}

/// Spins (yielding) until `cond` holds; fails the test after `WAIT`.
fn wait_for(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached within {WAIT:?}");
        thread::yield_now();
    }
}

/// Reads the first `n` bytes of the buffer's allocation, written or not by the current user.
fn first_bytes(buf: &mut Vec<u8>, n: usize) -> Vec<u8> {
    let spare = buf.spare_capacity_mut();
    // SAFETY: the test only reads bytes an earlier user of the same allocation initialised.
    spare[..n].iter().map(|b| unsafe { b.assume_init() }).collect()
}

#[test]
fn get_is_empty_with_the_configured_capacity() {
    let pool = BufferPool::builder().buffer_capacity(1000).build();
    let buf = pool.get();
    assert_eq!(buf.len(), 0);
    assert!(buf.capacity() >= 1000);
    assert!(BufferPool::new().get().capacity() >= 8 * 1024);
}

#[test]
fn reuse_counts_hits_and_misses_exactly() {
    let pool = BufferPool::new();
    let mut a = pool.get();
    let ptr = a.as_ptr();
    a.extend_from_slice(b"hello");
    drop(a);
    assert_eq!(stats(&pool), (0, 1, 1, 0));
    for _ in 0..10 {
        let b = pool.get();
        assert!(b.is_empty());
        assert_eq!(b.as_ptr(), ptr, "the same allocation comes back");
    }
    assert_eq!(stats(&pool), (10, 1, 1, 0));
}

#[test]
fn grown_buffers_are_discarded_and_counted() {
    let pool = BufferPool::builder().buffer_capacity(64).max_buffer_capacity(128).build();
    let mut big = pool.get();
    big.extend_from_slice(&[1; 129]);
    drop(big);
    assert_eq!(stats(&pool), (0, 1, 0, 1));
    let mut small = pool.get();
    small.extend_from_slice(&[1; 100]); // grows, but stays within 128
    let cap = small.capacity();
    drop(small);
    let s = pool.stats();
    assert_eq!((s.retained, s.discarded), (usize::from(cap <= 128), 1 + u64::from(cap > 128)));
}

#[test]
fn buffers_shrunk_below_the_capacity_are_discarded() {
    let pool = BufferPool::builder().buffer_capacity(256).build();
    let mut buf = pool.get();
    buf.shrink_to_fit();
    drop(buf);
    assert_eq!(stats(&pool), (0, 1, 0, 1));
    assert!(pool.get().capacity() >= 256);
}

#[test]
fn detached_buffers_never_return() {
    let pool = BufferPool::new();
    let mut buf = pool.get();
    buf.write_all(b"mine").unwrap();
    let v = buf.detach();
    assert_eq!(v, b"mine");
    assert_eq!(stats(&pool), (0, 1, 0, 0));
}

#[test]
fn retention_is_bounded_by_max_retained() {
    let pool = BufferPool::builder().max_retained(4).build();
    let held: Vec<PooledBuffer> = (0..10).map(|_| pool.get()).collect();
    drop(held);
    let s = pool.stats();
    assert_eq!((s.misses, s.retained, s.overflowed), (10, 4, 6));
    let again: Vec<PooledBuffer> = (0..10).map(|_| pool.get()).collect();
    let s = pool.stats();
    assert_eq!((s.hits, s.misses, s.retained), (4, 16, 0));
    drop(again);
}

#[test]
fn max_retained_zero_keeps_nothing() {
    let pool = BufferPool::builder().max_retained(0).build();
    drop(pool.get());
    drop(pool.get());
    let s = pool.stats();
    assert_eq!((s.hits, s.misses, s.retained, s.overflowed), (0, 2, 0, 2));
}

#[test]
fn retention_bound_holds_across_threads() {
    let pool = BufferPool::builder().max_retained(3).build();
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let held: Vec<PooledBuffer> = (0..3).map(|_| pool.get()).collect();
                drop(held);
            });
        }
    });
    let s = pool.stats();
    assert_eq!(s.hits + s.misses, 12);
    assert!(s.retained <= 3, "{s:?}");
    assert_eq!(s.retained as u64 + s.overflowed, 12 - s.hits, "every return kept or counted: {s:?}");
}

#[test]
fn zero_on_return_wipes_only_what_was_written() {
    let pool = BufferPool::builder().buffer_capacity(64).zero_on_return(true).build();
    let mut buf = pool.get();
    buf.extend_from_slice(b"secret");
    drop(buf);
    let mut again = pool.get();
    assert!(again.is_empty());
    assert_eq!(first_bytes(&mut again, 6), [0; 6]);
}

#[test]
fn without_zero_on_return_old_bytes_stay() {
    // The control for the test above: it can fail.
    let pool = BufferPool::builder().buffer_capacity(64).build();
    let mut buf = pool.get();
    buf.extend_from_slice(b"secret");
    drop(buf);
    let mut again = pool.get();
    assert_eq!(first_bytes(&mut again, 6), b"secret");
}

#[test]
fn under_used_grown_buffers_shrink_after_eight_returns() {
    let pool = BufferPool::builder().buffer_capacity(1024).max_buffer_capacity(1 << 20).build();
    let mut buf = pool.get();
    buf.extend_from_slice(&vec![7; 64 * 1024]);
    drop(buf); // full use: no strike
    for round in 1..=8 {
        let mut buf = pool.get();
        assert!(buf.capacity() >= 64 * 1024, "still large before round {round}");
        buf.extend_from_slice(b"small");
        drop(buf);
        assert_eq!(pool.stats().shrunk, u64::from(round == 8));
    }
    let buf = pool.get();
    assert!(buf.capacity() >= 1024 && buf.capacity() < 64 * 1024, "{}", buf.capacity());
}

#[test]
fn a_well_used_grown_buffer_is_not_shrunk() {
    let pool = BufferPool::builder().buffer_capacity(1024).build();
    for _ in 0..20 {
        let mut buf = pool.get();
        buf.extend_from_slice(&[1; 8192]);
        drop(buf);
    }
    assert_eq!(pool.stats().shrunk, 0);
    assert!(pool.get().capacity() >= 8192);
}

#[test]
fn a_buffer_dropped_on_another_thread_goes_home() {
    let pool = BufferPool::new();
    let buf = pool.get();
    let ptr = buf.as_ptr();
    thread::spawn(move || drop(buf)).join().unwrap();
    assert_eq!(stats(&pool), (0, 1, 1, 0));
    let back = pool.get();
    assert_eq!(back.as_ptr(), ptr);
    assert_eq!(stats(&pool), (1, 1, 0, 0));
}

#[test]
fn a_buffer_dropped_on_another_thread_can_be_got_on_a_third() {
    let pool = BufferPool::builder().max_retained(8).build();
    thread::scope(|s| {
        // Thread A gets two buffers: the second has no room in A's cell when both come back,
        // so it moves to the shared queue where thread C finds it.
        let (a, b) = s.spawn(|| (pool.get(), pool.get())).join().unwrap();
        drop((a, b)); // on the main thread
        assert_eq!(pool.stats().retained, 2);
        s.spawn(|| {
            let c = pool.get();
            assert!(c.is_empty());
        });
    });
    let s = pool.stats();
    // C's buffer went home to C's cell; A's cell still holds the other one.
    assert_eq!((s.hits, s.misses, s.retained), (1, 2, 2));
}

#[test]
fn producer_and_consumer_recycle_through_the_producer() {
    let pool = BufferPool::new();
    let (tx, rx) = mpsc::sync_channel::<PooledBuffer>(1);
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let pool = &pool;
    thread::scope(|s| {
        s.spawn(move || {
            for i in 0..100u32 {
                let mut buf = pool.get();
                write!(buf, "{i}").unwrap();
                tx.send(buf).unwrap();
                ack_rx.recv_timeout(WAIT).unwrap(); // the consumer dropped it
            }
        });
        s.spawn(move || {
            for i in 0..100u32 {
                let buf = rx.recv_timeout(WAIT).unwrap();
                assert_eq!(&buf[..], i.to_string().as_bytes());
                drop(buf);
                ack_tx.send(()).unwrap();
            }
        });
    });
    assert_eq!(stats(pool), (99, 1, 1, 0));
}

#[test]
fn trim_empties_every_thread_cache_and_the_shared_queue() {
    let pool = BufferPool::builder().max_retained(8).build();
    drop(pool.get()); // main's cell (main takes its thread id first)
    let done = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                drop(pool.get()); // one in this thread's own cell
                                  // Stay alive until all three dropped theirs: a thread that exits frees its id,
                                  // and the next thread would take over its slot.
                done.fetch_add(1, Ordering::SeqCst);
                wait_for(|| done.load(Ordering::SeqCst) == 3);
            });
        }
    });
    drop((pool.get(), pool.get(), pool.get())); // one back in main's cell, two shared
    let s = pool.stats();
    assert_eq!((s.hits, s.misses, s.retained), (1, 6, 6));
    pool.trim();
    assert_eq!(pool.stats().retained, 0);
    // No credit was lost: main's cell plus the 4 places not reserved by the four threads'
    // cells (8 - 4) fill again; the other threads' cells stay reserved for them.
    drop((0..12).map(|_| pool.get()).collect::<Vec<_>>());
    let s = pool.stats();
    assert_eq!((s.retained, s.overflowed), (5, 7));
}

#[test]
fn a_new_thread_takes_over_the_slot_of_an_exited_one() {
    let pool = BufferPool::new();
    for _ in 0..5 {
        thread::scope(|s| {
            s.spawn(|| drop(pool.get()));
        });
    }
    // Thread ids are reused once a thread exits, and its slot with them. Other tests' threads
    // come and go too, so which ids these five get is not fixed: at most one buffer per slot.
    let s = pool.stats();
    assert_eq!(s.hits + s.misses, 5);
    // Each slot's first get missed; later ones found the buffer its last user left.
    assert_eq!(s.retained as u64, s.misses, "{s:?}");
}

#[test]
fn four_threads_hammering_keep_every_count() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 2_000;
    let pool = BufferPool::builder().buffer_capacity(512).max_retained(6).build();
    let (tx, rx) = mpsc::channel::<PooledBuffer>();
    thread::scope(|s| {
        for t in 0..THREADS {
            let tx = tx.clone();
            let pool = &pool;
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let mut a = pool.get();
                    assert!(a.is_empty() && a.capacity() >= 512);
                    write!(a, "{t}:{i}").unwrap();
                    if i % 3 == 0 {
                        let b = pool.get();
                        assert!(b.is_empty());
                        tx.send(b).unwrap(); // dropped on the main thread
                    }
                    if i % 500 == 0 && t == 0 {
                        pool.trim();
                    }
                    assert_eq!(&a[..], format!("{t}:{i}").as_bytes());
                }
            });
        }
        drop(tx);
        while let Ok(buf) = rx.recv_timeout(WAIT) {
            drop(buf);
        }
    });
    let per_thread = ROUNDS + ROUNDS.div_ceil(3);
    let s: BufferStats = pool.stats();
    assert_eq!(s.hits + s.misses, THREADS * per_thread);
    assert!(s.retained <= 6, "{s:?}");
    assert_eq!(s.discarded, 0);
    pool.trim();
    assert_eq!(pool.stats().retained, 0);
}

#[test]
fn a_thread_that_exited_leaves_its_cache_to_trim() {
    let pool = BufferPool::new();
    thread::scope(|s| {
        s.spawn(|| drop(pool.get()));
    });
    assert_eq!(pool.stats().retained, 1);
    pool.trim();
    assert_eq!(pool.stats().retained, 0);
}

#[test]
fn pooled_buffer_writes_and_derefs() {
    let pool = BufferPool::new();
    let mut buf = pool.get();
    buf.write_all(b"ab").unwrap();
    buf.flush().unwrap();
    buf.push(b'c');
    assert_eq!(buf.as_ref(), b"abc");
    assert_eq!(format!("{buf:?}"), format!("PooledBuffer {{ len: 3, capacity: {} }}", buf.capacity()));
    assert!(format!("{pool:?}").starts_with("BufferPool {"));
}

#[test]
fn try_build_refuses_a_pool_that_could_keep_nothing() {
    let err = BufferPool::builder().buffer_capacity(100).max_buffer_capacity(10).try_build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_buffer_capacity is below buffer_capacity, so no buffer could ever be kept: \
         raise max_buffer_capacity to at least buffer_capacity"
    );
    assert!(BufferPool::builder().max_retained(0).max_buffer_capacity(0).try_build().is_ok());
    assert!(BufferPool::builder().try_build().is_ok());
}

#[test]
fn build_panics_on_a_pool_that_could_keep_nothing_naming_the_fix() {
    let payload = std::panic::catch_unwind(|| {
        BufferPool::builder().buffer_capacity(100).max_buffer_capacity(10).build();
    })
    .unwrap_err();
    let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(
        msg,
        "boundpool: BufferPoolBuilder::build: max_buffer_capacity is below buffer_capacity, so no \
         buffer could ever be kept: raise max_buffer_capacity to at least buffer_capacity"
    );
    // With nothing to keep anyway, the combination is accepted.
    drop(BufferPool::builder().max_retained(0).buffer_capacity(100).max_buffer_capacity(10).build().get());
}

#[test]
fn a_buffer_capacity_above_the_maximum_is_refused_when_the_pool_is_built() {
    let max = BufferPoolBuilder::MAX_BUFFER_CAPACITY;
    assert_eq!(max, 1 << 30);
    for bytes in [max + 1, 64 << 30, usize::MAX] {
        let builder = BufferPool::builder().buffer_capacity(bytes).max_buffer_capacity(usize::MAX);
        let err = builder.clone().try_build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "buffer_capacity is too large: use at most 1 GiB (BufferPoolBuilder::MAX_BUFFER_CAPACITY)"
        );
        let payload = std::panic::catch_unwind(move || drop(builder.build())).unwrap_err();
        let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("buffer_capacity is too large"), "{msg}");
    }
    // The maximum itself builds; nothing is allocated until the first get.
    let pool = BufferPool::builder().buffer_capacity(max).max_buffer_capacity(max).try_build().unwrap();
    assert_eq!(pool.stats().misses, 0);
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<BufferPool>();
    send_sync::<PooledBuffer>();
    send_sync::<boundpool::BufferPoolBuilder>();
}

#[test]
fn buffers_outliving_their_pool_are_freed_wherever_they_are_dropped() {
    let pool = BufferPool::builder().max_retained(4).build();
    let (mine, theirs) = (pool.get(), pool.get());
    drop(pool.get()); // one idle in this thread's cell when the pool goes
    drop(pool);
    drop(mine);
    thread::spawn(move || drop(theirs)).join().unwrap();
    // The thread goes on using new pools; each counts from zero.
    let next = BufferPool::new();
    drop(next.get());
    drop(next.get());
    assert_eq!(stats(&next), (1, 1, 1, 0));
}

#[test]
fn one_thread_using_many_pools_in_turn_keeps_exact_counts() {
    let pools: Vec<BufferPool> = (0..5).map(|_| BufferPool::new()).collect();
    for round in 0..3 {
        for pool in &pools {
            let buf = pool.get();
            drop(buf);
            assert_eq!(stats(pool).0, round, "hits before this round's get");
        }
    }
    for (i, pool) in pools.into_iter().enumerate() {
        assert_eq!(stats(&pool), (2, 1, 1, 0), "pool {i}");
        drop(pool); // and the next pool still finds its own slot
    }
    for _ in 0..100 {
        let pool = BufferPool::new();
        drop(pool.get());
        drop(pool.get());
        assert_eq!(stats(&pool), (1, 1, 1, 0));
    }
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
