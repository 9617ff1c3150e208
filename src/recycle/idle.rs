//! Where idle buffers wait: one private cell per thread, a shared bounded queue behind them, and
//! the retention credits that bound the total.
//!
//! # Layout
//!
//! Each thread that uses a [`BufferPool`](crate::BufferPool) gets a [`Slot`] of its own: a
//! [`SwapCell`] holding at most one idle buffer, plus that thread's hit and miss counters. A
//! `get` on a thread whose cell holds a buffer is one atomic swap on memory only that thread
//! writes; dropping the buffer on the same thread is one more swap. Nothing shared is written,
//! and no reference count changes: a buffer carries a reference to its home slot ([`Node::home`])
//! while it is out and while it waits in that slot's cell, and the returning thread finds its
//! own slot through a list of its slots ([`OWN_SLOTS`]) rather than through that reference.
//!
//! A buffer dropped on another thread goes back to the cell of the thread that got it (its
//! *home*). So the common producer/consumer shape, where one thread fills buffers and another
//! drops them, refills the producer's cell. When the home cell is already full, the buffer it
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
//!
//! # When the pool is dropped
//!
//! A buffer waiting in a cell refers to the slot that holds it, so cells must be emptied for
//! that memory to be freed. Dropping the pool marks its core dead and empties every cell and
//! the shared queue; a buffer returned afterwards is put in its cell and then, seeing the mark,
//! taken out and freed (see [`Slot::put`] for why it cannot miss the mark). What remains of a
//! dead pool is each thread's small slot record in [`OWN_SLOTS`], freed the next time that thread
//! starts using another pool, or when it exits.

use crate::sync::{
    fence, thread_local, Arc, ArrayQueue, AtomicBool, AtomicU64, AtomicUsize, CachePadded, Ordering, SwapCell,
};
use std::cell::RefCell;

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
    /// The slot of the thread that got this buffer. Set while the buffer is out and usually
    /// while it waits in that slot's cell, so the owner's get and return cost no reference
    /// count update; `None` in the shared queue, and in a cell after a return from another
    /// thread (the next `get` sets it again).
    pub(crate) home: Option<SlotRef>,
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
    /// Set once, when the `BufferPool` is dropped: returns free their buffers from then on.
    dead: AtomicBool,
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
            dead: AtomicBool::new(false),
        }
    }

    /// Marks the pool dropped, then frees what the shared queue holds. The caller kills every
    /// slot after this.
    pub(crate) fn kill(&self) {
        // ORDERING: this fence pairs with the one in `offer`: either the drain below sees the
        // pushed buffer, or the pusher sees the mark and drains it itself.
        self.dead.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.drain_shared();
    }

    /// Whether the pool has been dropped.
    fn is_dead(&self) -> bool {
        // ORDERING: Relaxed; the fence pairing that makes the mark visible where it matters is
        // described in `kill`.
        self.dead.load(Ordering::Relaxed)
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
    pub(crate) fn offer(&self, mut node: Box<Node>) {
        // Buffers in the shared queue refer to no slot, so the queue (owned by the core) and the
        // slots (which refer to the core) never keep each other alive.
        node.home = None;
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
            return;
        }
        // ORDERING: pairs with the fence in `kill` (a Dekker pair): a buffer pushed after the
        // drop's drain is drained here.
        fence(Ordering::SeqCst);
        if self.is_dead() {
            self.drain_shared();
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
    /// A copy of the pool's settings, read on every return.
    pub(crate) config: Config,
    cell: SwapCell<Node>,
    /// Whether this slot holds a credit for its cell. Fixed at creation.
    has_cell: bool,
    /// Set when the pool is dropped (a copy of the core's mark, next to the cell it guards).
    dead: AtomicBool,
    pub(crate) core: Arc<Core>,
    /// Written only by the thread that owns the slot (every `get` uses the caller's own slot).
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Slots are padded so two threads' slots never share a cache line.
pub(crate) type SlotRef = Arc<CachePadded<Slot>>;

/// The slots of one thread, one per pool it has got a buffer from. The one used last is kept
/// inline, so a thread that uses one pool at a time finds its slot without following a pointer.
#[derive(Default)]
struct OwnSlots {
    first: Option<SlotRef>,
    more: Vec<SlotRef>,
}

impl OwnSlots {
    /// The first slot that `matches`, moved to the front.
    #[inline]
    fn find(&mut self, matches: impl Fn(&SlotRef) -> bool) -> Option<&SlotRef> {
        if self.first.as_ref().is_some_and(&matches) {
            return self.first.as_ref();
        }
        self.find_more(matches)
    }

    #[cold]
    fn find_more(&mut self, matches: impl Fn(&SlotRef) -> bool) -> Option<&SlotRef> {
        let at = self.more.iter().position(matches)?;
        match self.first.as_mut() {
            Some(first) => std::mem::swap(first, &mut self.more[at]),
            None => self.first = Some(self.more.swap_remove(at)),
        }
        self.first.as_ref()
    }
}

thread_local! {
    /// The calling thread's slots. They give the thread its own slot without reaching it
    /// through a buffer's [`Node::home`], which lets a buffer go back into its cell still holding
    /// that reference.
    static OWN_SLOTS: RefCell<OwnSlots> = RefCell::new(OwnSlots::default());
}

/// Runs `f` on the calling thread's slot that `matches`, or on `None` when it has none. Returns
/// `None` without running `f` when the thread is exiting and its slots are gone, or when they
/// are in use further up the stack.
#[inline]
pub(crate) fn with_own_slot<R>(
    matches: impl Fn(&SlotRef) -> bool,
    f: impl FnOnce(Option<&SlotRef>) -> R,
) -> Option<R> {
    OWN_SLOTS.try_with(|own| own.try_borrow_mut().ok().map(|mut own| f(own.find(matches)))).ok().flatten()
}

/// Records `slot` as the calling thread's slot in its pool, dropping records of dead pools.
pub(crate) fn remember_own_slot(slot: &SlotRef) {
    let _ = OWN_SLOTS.try_with(|own| {
        if let Ok(mut own) = own.try_borrow_mut() {
            if own.find(|s| Arc::ptr_eq(s, slot)).is_some() {
                return;
            }
            own.more.retain(|s| !s.core.is_dead());
            let previous = own.first.replace(Arc::clone(slot));
            own.more.extend(previous.filter(|s| !s.core.is_dead()));
        }
    });
}

impl Slot {
    pub(crate) fn new(core: &Arc<Core>) -> SlotRef {
        let has_cell = core.take_credit();
        Arc::new(CachePadded::new(Slot {
            config: core.config,
            cell: SwapCell::new(),
            has_cell,
            dead: AtomicBool::new(false),
            core: Arc::clone(core),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }))
    }

    /// The owner's `get`: the buffer in this slot's cell, else one from the shared queue, else
    /// a new one. Only the thread that owns `me` calls this.
    #[inline]
    pub(crate) fn get(me: &SlotRef) -> Box<Node> {
        if me.has_cell {
            if let Some(mut node) = me.cell.take() {
                if node.home.is_none() {
                    // Returned from another thread, which kept no reference for the cell.
                    node.home = Some(Arc::clone(me));
                }
                me.count(true);
                return node;
            }
        }
        Slot::get_elsewhere(me)
    }

    /// `get` when the cell is empty: the shared queue, else a new buffer.
    #[cold]
    #[inline(never)]
    fn get_elsewhere(me: &SlotRef) -> Box<Node> {
        let (mut node, hit) = match me.core.take_shared() {
            Some(node) => (node, true),
            None => (
                Box::new(Node { buf: Vec::with_capacity(me.config.buffer_capacity), strikes: 0, home: None }),
                false,
            ),
        };
        node.home = Some(Arc::clone(me));
        me.count(hit);
        node
    }

    /// Puts a returned buffer in this cell; whatever it displaces goes to the shared queue.
    /// `node.home` is this slot or `None`.
    #[inline]
    pub(crate) fn put(&self, node: Box<Node>) {
        if !self.has_cell {
            self.core.offer(node);
            return;
        }
        if let Some(displaced) = self.cell.swap(Some(node)) {
            self.core.offer(displaced);
        }
        // ORDERING: every write to the cell is a swap (an AcqRel read-modify-write), so the
        // swaps of one cell form one chain. If the emptying swap of `kill` came before ours in
        // it, ours read from it and the `dead` store before that swap happens-before this load,
        // which sees it and frees the buffer. If ours came first, `kill`'s swap takes it.
        if self.dead.load(Ordering::Relaxed) {
            self.clear();
        }
    }

    /// Marks the slot's pool dropped and frees the buffer in its cell; see `put`.
    pub(crate) fn kill(&self) {
        // ORDERING: Relaxed; the swap in `clear` carries it (see `put`).
        self.dead.store(true, Ordering::Relaxed);
        self.clear();
    }

    /// Drops the buffer in this cell, if any; the cell and its credit stay.
    #[cold]
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
