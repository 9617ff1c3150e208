//! Where idle buffers wait: one private cell per thread, a shared bounded queue behind them, and
//! the retention credits that bound the total.
//!
//! # Layout
//!
//! Each thread that uses a [`BufferPool`](crate::BufferPool) gets a [`Slot`] of its own: a
//! [`SwapCell`] holding at most one idle buffer, plus that thread's hit and miss counters. A
//! `get` on a thread whose cell holds a buffer is one atomic swap on memory only that thread
//! writes; dropping the buffer on the same thread is one more swap. Nothing shared is written.
//!
//! A buffer goes back to the cell of the thread that got it (its *home*), whichever thread drops
//! it. So the common producer/consumer shape, where one thread fills buffers and another drops
//! them, refills the producer's cell. When the home cell is already full, the buffer it
//! displaces moves to the shared [`ArrayQueue`], where any thread's `get` finds it.
//!
//! # The retention bound
//!
//! At most `max_retained` buffers are idle at once, counted over every cell and the shared
//! queue. The pool hands out that many *credits*. A slot reserves one credit for its cell when it
//! is made (first come, first served: once every credit is reserved or in use, new threads get a
//! slot without a cell and use only the shared queue). A buffer pushed to the shared queue takes
//! one credit and gives it back when it is popped. So, with `reserved` the number of slots with
//! a cell:
//!
//! ```text
//! free credits + reserved + buffers in the shared queue == max_retained
//! idle buffers <= reserved + buffers in the shared queue <= max_retained
//! ```
//!
//! Reservations last as long as the pool: `trim` empties cells but keeps them, so a thread that
//! keeps using the pool keeps its fast path.

use crate::sync::{Arc, ArrayQueue, AtomicU64, AtomicUsize, CachePadded, Ordering, SwapCell};

/// An idle or checked-out buffer, boxed so it moves through a [`SwapCell`] as one pointer.
/// Aligned to 128 bytes so that two threads writing their buffers' lengths never share a cache
/// line (or an adjacent-line prefetch pair): without it, small boxes allocated one after the
/// other made two threads' fast paths contend.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Node {
    pub(crate) buf: Vec<u8>,
    /// How many returns in a row used less than a quarter of a grown buffer.
    pub(crate) strikes: u8,
}

/// Settings fixed when the pool is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub(crate) buffer_capacity: usize,
    pub(crate) max_buffer_capacity: usize,
    pub(crate) max_retained: usize,
    pub(crate) zero_on_return: bool,
}

/// Returns in a row that leave a grown buffer under a quarter full before it is shrunk back.
pub(crate) const SHRINK_AFTER: u8 = 8;

/// What every slot shares: settings, the shared queue, credits and the slow-path counters.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) config: Config,
    store: ArrayQueue<Box<Node>>,
    credits: CachePadded<AtomicUsize>,
    pub(crate) discarded: AtomicU64,
    pub(crate) overflowed: AtomicU64,
    pub(crate) shrunk: AtomicU64,
}

impl Core {
    pub(crate) fn new(config: Config) -> Self {
        Core {
            config,
            // ArrayQueue refuses capacity 0; with max_retained 0 no credit ever lets a push
            // through, so the one place is never used.
            store: ArrayQueue::new(config.max_retained.max(1)),
            credits: CachePadded::new(AtomicUsize::new(config.max_retained)),
            discarded: AtomicU64::new(0),
            overflowed: AtomicU64::new(0),
            shrunk: AtomicU64::new(0),
        }
    }

    /// Takes one retention credit if any is free.
    fn take_credit(&self) -> bool {
        // ORDERING: AcqRel pairs with `give_credit`: a pop that freed a queue place happens-before
        // the push that took its credit, so that push finds the place free.
        self.credits.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1)).is_ok()
    }

    fn give_credit(&self) {
        // ORDERING: AcqRel, see `take_credit`.
        self.credits.fetch_add(1, Ordering::AcqRel);
    }

    /// Keeps `node` in the shared queue if a credit is free; drops it otherwise.
    pub(crate) fn offer(&self, node: Box<Node>) {
        if !self.take_credit() {
            // ORDERING: a statistic; Relaxed.
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Err(node) = self.store.push(node) {
            // Cannot happen while the credit arithmetic holds; if it ever did, keeping the
            // bound matters more than keeping the buffer.
            self.give_credit();
            drop(node);
            // ORDERING: a statistic; Relaxed.
            self.overflowed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes a buffer from the shared queue.
    pub(crate) fn take_shared(&self) -> Option<Box<Node>> {
        let node = self.store.pop()?;
        self.give_credit();
        Some(node)
    }

    /// Drops every buffer in the shared queue.
    pub(crate) fn drain_shared(&self) {
        while self.take_shared().is_some() {}
    }

    pub(crate) fn shared_len(&self) -> usize {
        self.store.len()
    }
}

/// One thread's share of a pool.
#[derive(Debug)]
pub(crate) struct Slot {
    cell: SwapCell<Node>,
    /// Whether this slot holds a credit for its cell. Fixed at creation.
    has_cell: bool,
    pub(crate) core: Arc<Core>,
    /// Written only by the thread that owns the slot (every `get` uses the caller's own slot).
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Slots are padded so two threads' slots never share a cache line.
pub(crate) type SlotRef = Arc<CachePadded<Slot>>;

impl Slot {
    pub(crate) fn new(core: &Arc<Core>) -> SlotRef {
        let has_cell = core.take_credit();
        Arc::new(CachePadded::new(Slot {
            cell: SwapCell::new(),
            has_cell,
            core: Arc::clone(core),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }))
    }

    /// The owner's fast path: the buffer in this thread's cell, if any.
    #[inline]
    pub(crate) fn take_own(&self) -> Option<Box<Node>> {
        if self.has_cell {
            self.cell.take()
        } else {
            None
        }
    }

    /// Puts a returned buffer in this cell; whatever it displaces goes to the shared queue.
    #[inline]
    pub(crate) fn put(&self, node: Box<Node>) {
        if !self.has_cell {
            self.core.offer(node);
            return;
        }
        if let Some(displaced) = self.cell.swap(Some(node)) {
            self.core.offer(displaced);
        }
    }

    /// Drops the buffer in this cell, if any; the cell and its credit stay.
    pub(crate) fn clear(&self) {
        drop(self.cell.take());
    }

    /// Whether the cell holds a buffer. Borrows the buffer for a moment and puts it back, so a
    /// concurrent `get` of the owner may miss it and allocate instead.
    pub(crate) fn holds_buffer(&self) -> bool {
        match self.cell.take() {
            Some(node) => {
                self.put(node);
                true
            }
            None => false,
        }
    }

    /// Counts one hit or miss. Only the owning thread calls this.
    #[inline]
    pub(crate) fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        // ORDERING: only the owning thread writes this counter, so load-then-store loses no
        // update and costs no locked instruction; readers want a value, not synchronisation.
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    pub(crate) fn hits(&self) -> u64 {
        // ORDERING: a statistic; Relaxed.
        self.hits.load(Ordering::Relaxed)
    }

    pub(crate) fn misses(&self) -> u64 {
        // ORDERING: a statistic; Relaxed.
        self.misses.load(Ordering::Relaxed)
    }
}
