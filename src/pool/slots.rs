//! The queue's slots: the reservation word, the per-taker counts and the ring the jobs wait in.
//!
//! One atomic word, `tail`, holds the closed bit and the number of slots ever reserved (minus
//! those given back unused); only submitters write it. A submitter reserves a slot with a CAS
//! that fails if the queue is closed or full, then pushes its job into a lock-free FIFO: a ring
//! allocated once when the bound is at most [`RING_MAX`] jobs, so queueing allocates nothing,
//! or for larger bounds a segmented queue whose memory grows with what is queued, not with the
//! bound. Because reserving and closing go through the same word, a submit racing a shutdown is
//! decided in one place: the job is either counted before the close (and will be run or handed
//! back) or refused with its closure.
//!
//! Each worker counts the jobs it takes on its own cache line, so on the fast paths submitters
//! and workers write no shared word: the queue's depth is the reservations minus the sum of the
//! takes. Summing the takes reads every worker's line, so submitters keep a cached sum,
//! `taken_seen`, which is a hint and never state: it only ever lags the true sum, so it can say
//! "room" falsely never, and "full" only until a fresh sum is taken, which happens before any
//! refusal. (Summing on every reservation would cost a cache miss per worker per job.)
//!
//! A reserved slot that is never filled (a dropped [`Permit`](crate::Permit)) is given back by
//! [`unreserve`](Slots::unreserve): the count goes down again, so every identity that counts
//! reservations as accepted jobs stays exact. A take is always of a filled slot, so the takes
//! never exceed the reservations still held.

use crate::sync::{ArrayQueue, AtomicUsize, CachePadded, Ordering, SegQueue};

/// The largest bound served by a ring allocated up front. The ring has two slots of 32 bytes
/// per job of the bound (so 2 MiB at most): with the queue full, submitters then write slots
/// half a ring away from the ones workers read, not the very slots and cache lines just freed.
pub(crate) const RING_MAX: usize = 1 << 15;

/// Submitters measure the queue's exact depth (for the peak) every this many reservations.
pub(crate) const DEPTH_SAMPLE: usize = 16;

const CLOSED: usize = 1;
const ONE: usize = 2;

fn reserved(tail: usize) -> usize {
    tail >> 1
}

/// Why a reservation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Full,
    Closed,
}

/// Where queued items wait, in order.
#[derive(Debug)]
enum Items<T> {
    /// A ring of twice the queue's capacity: no allocation per item.
    Ring(ArrayQueue<T>),
    /// Blocks allocated as items arrive: memory follows the depth, not the bound.
    Blocks(SegQueue<T>),
}

impl<T> Items<T> {
    fn new(capacity: usize) -> Self {
        // Models use the stand-in segmented queue, which lets a pop miss a push it is not
        // ordered after, as both real queues do.
        if capacity <= RING_MAX && !cfg!(loom) {
            Items::Ring(ArrayQueue::new(capacity * 2))
        } else {
            Items::Blocks(SegQueue::new())
        }
    }

    /// Adds an item to a slot reserved in the queue's count.
    fn push(&self, item: T) {
        match self {
            Items::Ring(ring) => {
                // The ring has a slot for every reservation: reserved minus taken never exceeds
                // the capacity (half the ring), and an item leaves the ring before its take is
                // counted. So this push finds room the first time.
                let mut item = item;
                while let Err(back) = ring.push(item) {
                    item = back;
                    std::hint::spin_loop();
                }
            }
            Items::Blocks(blocks) => blocks.push(item),
        }
    }

    fn pop(&self) -> Option<T> {
        match self {
            Items::Ring(ring) => ring.pop(),
            Items::Blocks(blocks) => blocks.pop(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Items::Ring(ring) => ring.is_empty(),
            Items::Blocks(blocks) => blocks.is_empty(),
        }
    }
}

/// The bounded slots of a job queue.
#[derive(Debug)]
pub(crate) struct Slots<T> {
    items: Items<T>,
    capacity: usize,
    /// Closed bit | slots reserved and not given back << 1. Written by submitters only.
    tail: CachePadded<AtomicUsize>,
    /// Jobs taken out of the queue: one counter per worker (written by that worker only), then
    /// one for every other thread (`shutdown_now` draining).
    taken: Box<[CachePadded<AtomicUsize>]>,
    /// A recent sum of `taken`, never more than the true sum: a hint (see the module docs).
    taken_seen: CachePadded<AtomicUsize>,
}

impl<T> Slots<T> {
    /// The largest bound: `tail` keeps the closed bit beside the count, with room to spare.
    pub(crate) const MAX_CAPACITY: usize = usize::MAX >> 2;

    pub(crate) fn new(capacity: usize, workers: usize) -> Self {
        Slots {
            items: Items::new(capacity),
            capacity,
            tail: CachePadded::new(AtomicUsize::new(0)),
            taken: (0..=workers).map(|_| CachePadded::new(AtomicUsize::new(0))).collect(),
            taken_seen: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Jobs reserved or queued, not yet taken by a worker.
    pub(crate) fn len(&self) -> usize {
        // Takes first: a take read before its reservation could make the difference negative.
        let taken = self.taken_total();
        self.reserved_total().saturating_sub(taken)
    }

    /// Slots reserved and not given back: every job accepted into the queue.
    pub(crate) fn reserved_total(&self) -> usize {
        // ORDERING: SeqCst, after the takes summed by callers that subtract.
        reserved(self.tail.load(Ordering::SeqCst))
    }

    fn taken_total(&self) -> usize {
        // ORDERING: SeqCst loads; the sum is exact once the queue is quiet, and never more
        // than the true total while it is not.
        self.taken.iter().map(|t| t.load(Ordering::SeqCst)).fold(0, usize::wrapping_add)
    }

    pub(crate) fn is_closed(&self) -> bool {
        // ORDERING: SeqCst, so a caller that saw the close also sees what preceded it.
        self.tail.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// Closed, and every reserved job taken: nothing more can come.
    pub(crate) fn drained(&self) -> bool {
        // Takes first, as in `len`: once the closed bit is seen, `tail` only goes down (slots
        // given back), never up.
        let taken = self.taken_total();
        // ORDERING: SeqCst, one order with the close and every reservation.
        let tail = self.tail.load(Ordering::SeqCst);
        tail & CLOSED != 0 && reserved(tail) == taken
    }

    /// Reserves a slot without blocking. Returns the queue's depth including it when it was
    /// measured exactly (every [`DEPTH_SAMPLE`]th reservation, and whenever the queue looked
    /// full). A reserved slot must be [`fill`](Self::fill)ed or given back with
    /// [`unreserve`](Self::unreserve): workers wait for it.
    pub(crate) fn try_reserve(&self) -> Result<Option<usize>, Refusal> {
        // ORDERING: SeqCst throughout: the reservation is one side of the Dekker patterns with
        // parking workers and with `close`.
        let mut tail = self.tail.load(Ordering::SeqCst);
        loop {
            if tail & CLOSED != 0 {
                return Err(Refusal::Closed);
            }
            let depth = self.depth_before(reserved(tail))?;
            // ORDERING: see above.
            match self.tail.compare_exchange_weak(tail, tail + ONE, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Ok(depth.map(|d| d + 1)),
                Err(now) => tail = now,
            }
        }
    }

    /// `Full`, or room with `reserved` slots reserved, and the depth when it was measured.
    /// Re-adds the takes only when the cached sum says full, or to sample the depth: a worker
    /// that keeps up costs the submitter almost nothing.
    fn depth_before(&self, reserved: usize) -> Result<Option<usize>, Refusal> {
        // ORDERING: the cached sum is a hint; only a fresh sum may refuse.
        let seen = self.taken_seen.load(Ordering::Relaxed);
        if reserved.wrapping_sub(seen) < self.capacity && reserved % DEPTH_SAMPLE != 0 {
            return Ok(None);
        }
        let taken = self.taken_total();
        // ORDERING: a hint, as above; `fetch_max` keeps it from going back.
        self.taken_seen.fetch_max(taken, Ordering::Relaxed);
        let depth = reserved.wrapping_sub(taken);
        if depth < self.capacity {
            Ok(Some(depth))
        } else {
            Err(Refusal::Full)
        }
    }

    /// Gives back a reserved slot that was never filled.
    pub(crate) fn unreserve(&self) {
        // ORDERING: SeqCst, one order with the reservations, the close and the sums.
        let before = self.tail.fetch_sub(ONE, Ordering::SeqCst);
        debug_assert!(reserved(before) > 0, "a slot given back that was never reserved");
    }

    /// Puts an item into a reserved slot.
    pub(crate) fn push(&self, item: T) {
        self.items.push(item);
    }

    /// Takes one item and counts it in `taken[slot]`: a worker's own index, or
    /// [`outside`](Self::outside) for any other thread. The caller issues the SeqCst fence
    /// that orders the count (see `JobQueue::release`).
    pub(crate) fn pop(&self, slot: usize) -> Option<T> {
        let item = self.items.pop()?;
        let taken = &self.taken[slot];
        if slot == self.outside() {
            // ORDERING: SeqCst, the taker's write in the Dekker patterns of the queue.
            taken.fetch_add(1, Ordering::SeqCst);
        } else {
            // ORDERING: only worker `slot` writes its counter: a load and a store suffice. The
            // store is the taker's write in the Dekker patterns of the queue; the SeqCst fence
            // the caller issues after it orders it (a store before one SeqCst fence is seen by
            // a load after a later one), so it need not be SeqCst itself, which would be a
            // second full barrier.
            let now = taken.load(Ordering::Relaxed);
            taken.store(now.wrapping_add(1), Ordering::Relaxed);
        }
        Some(item)
    }

    /// Whether no item is in the ring (a reserved slot may still be on its way).
    pub(crate) fn looks_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The `taken` slot of threads that are not workers.
    pub(crate) fn outside(&self) -> usize {
        self.taken.len() - 1
    }

    /// Sets the closed bit; true for the call that set it.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: SeqCst, one order with every reservation.
        self.tail.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }
}
