//! The buffer recycler under random gets, writes that grow buffers past the limits, drops on
//! the getting thread or another one, detaches and trims, from several threads: every buffer
//! comes out empty with at least the configured capacity, the idle bound is never exceeded,
//! and at the end every returned buffer is accounted for.

use std::io::Write;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use boundpool::{BufferPool, PooledBuffer};

use super::{Counts, Rng};

struct Plan {
    capacity: usize,
    max_capacity: usize,
    max_retained: usize,
    trims: bool,
    threads: usize,
}

/// What one thread did.
#[derive(Default)]
struct Did {
    gets: u64,
    returned: u64,
    detached: u64,
}

fn check_fresh(pool: &BufferPool, plan: &Plan, buf: &PooledBuffer) {
    assert!(buf.is_empty(), "a buffer came out with {} bytes in it", buf.len());
    assert!(buf.capacity() >= plan.capacity, "capacity {} below {}", buf.capacity(), plan.capacity);
    check_bound(pool, plan);
}

/// The idle bound, read from `stats()`: exact only while no other thread moves buffers (a
/// buffer moving between places during the count can be counted twice), so checked when this
/// thread is the round's only one, and by `round` once every thread has ended.
fn check_bound(pool: &BufferPool, plan: &Plan) {
    if plan.threads == 1 {
        let s = pool.stats();
        assert!(
            s.retained <= plan.max_retained,
            "{} idle buffers held, bound {}",
            s.retained,
            plan.max_retained
        );
    }
}

fn worker(
    pool: Arc<BufferPool>,
    plan: Arc<Plan>,
    mut rng: Rng,
    ops: usize,
    give: mpsc::Sender<PooledBuffer>,
    take: mpsc::Receiver<PooledBuffer>,
) -> Did {
    let mut did = Did::default();
    let mut held: Vec<PooledBuffer> = Vec::new();
    for _ in 0..ops {
        match rng.range(0, 9) {
            0..=3 => {
                let buf = pool.get();
                did.gets += 1;
                check_fresh(&pool, &plan, &buf);
                held.push(buf);
            }
            4 | 5 if !held.is_empty() => {
                // Write: sometimes past the capacity the pool keeps.
                let i = rng.upto(0, held.len() - 1);
                let n = if rng.chance(20) {
                    plan.max_capacity + rng.upto(1, 100)
                } else {
                    rng.upto(0, plan.capacity)
                };
                held[i].write_all(&vec![0xA5; n]).unwrap();
                if rng.chance(10) {
                    held[i].shrink_to_fit();
                }
            }
            6 if !held.is_empty() => {
                let buf = held.swap_remove(rng.upto(0, held.len() - 1));
                if rng.chance(30) {
                    did.detached += 1;
                    drop(buf.detach());
                } else if rng.chance(50) {
                    // Dropped by another thread (or here, if it is gone).
                    did.returned += 1;
                    let _ = give.send(buf);
                } else {
                    did.returned += 1;
                    drop(buf);
                }
            }
            7 if plan.trims => pool.trim(),
            8 => check_bound(&pool, &plan),
            _ => {
                while let Ok(buf) = take.try_recv() {
                    drop(buf);
                }
            }
        }
    }
    did.returned += held.len() as u64;
    drop(held);
    while let Ok(buf) = take.try_recv() {
        drop(buf);
    }
    did
}

pub fn round(seed: u64) -> Counts {
    let mut rng = Rng::new(seed);
    let capacity = rng.upto(1, 4096);
    let plan = Arc::new(Plan {
        capacity,
        max_capacity: capacity * rng.upto(1, 8),
        max_retained: rng.upto(0, 8),
        trims: rng.chance(30),
        threads: rng.upto(1, 4),
    });
    let pool = Arc::new(
        BufferPool::builder()
            .buffer_capacity(plan.capacity)
            .max_buffer_capacity(plan.max_capacity)
            .max_retained(plan.max_retained)
            .zero_on_return(rng.chance(30))
            .build(),
    );
    let threads = plan.threads;
    let ops = rng.upto(10, 300);
    // A ring of channels: each thread drops some buffers of the one before it.
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..threads).map(|_| mpsc::channel()).unzip();
    let mut handles = Vec::new();
    for (i, take) in receivers.into_iter().enumerate() {
        let give = senders[(i + 1) % threads].clone();
        let (pool, plan, rng) = (pool.clone(), plan.clone(), rng.fork());
        handles.push(thread::spawn(move || worker(pool, plan, rng, ops, give, take)));
    }
    drop(senders);
    let mut did = Did::default();
    for h in handles {
        let d = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        did.gets += d.gets;
        did.returned += d.returned;
        did.detached += d.detached;
    }
    let s = pool.stats();
    assert!(s.retained <= plan.max_retained, "{s:?}");
    assert_eq!(s.hits + s.misses, did.gets, "every get is a hit or a miss: {s:?}");
    assert_eq!(did.returned + did.detached, did.gets, "every buffer was returned or detached");
    if !plan.trims {
        // Every returned buffer was dropped (too large or small, or over the bound), reused, or
        // is still held. (Trims drop idle buffers uncounted.)
        assert_eq!(s.discarded + s.overflowed + s.hits + s.retained as u64, did.returned, "{s:?}");
    }
    pool.trim();
    assert_eq!(pool.stats().retained, 0);
    Counts {
        rounds: 1,
        ops: threads as u64 * ops as u64,
        checkouts: did.gets,
        returned: did.returned,
        detached: did.detached,
        ..Counts::default()
    }
}
