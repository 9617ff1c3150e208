//! The bounded job queue and the protocol that parks and wakes workers and submitters.
//!
//! One atomic word, `tail`, holds the closed bit and the number of slots ever reserved; only
//! submitters write it. A submitter reserves a slot with a CAS that fails if the queue is closed
//! or full, then pushes its job into a lock-free FIFO: a ring allocated once when the bound is
//! at most [`RING_MAX`] jobs, so queueing allocates nothing, or for larger bounds a segmented
//! queue whose memory grows with what is queued, not with the bound. Each worker counts the
//! jobs it takes on its own cache line, so on the fast paths submitters and workers write no
//! shared word: the queue's depth is the reservations minus the sum of the takes, and
//! submitters re-add the takes only when their cached sum says the queue is full. Because reserving and closing go through the same word, a
//! submit racing a shutdown is decided in one place: the job is either counted before the close
//! (and will be run or handed back) or refused with its closure.
//!
//! Workers exit once the queue is closed and every reserved job was taken, so every accepted
//! job runs.
//!
//! Idle workers park on their own parker and register in a lock-free idle set (a flag per
//! worker and a count); blocked submitters park on a mutex and condition variable. The fast
//! paths take no lock: a submitter wakes a worker only when one is registered idle and none is
//! spinning, and a worker wakes submitters only when one is blocked and the queue has drained to
//! half its capacity (or one of them waits with a deadline). A submitter that finds the queue
//! full parks at once and is woken to refill it in a burst: waking it once per job would cost a
//! system call per job and, on a machine with as many workers as cores, spinning in wait would
//! take CPU from the workers. The lost-wake-up argument
//! is a Dekker pattern each time: a parking worker registers, issues a SeqCst fence and looks at
//! the queue; a submitter pushes, issues a SeqCst fence and looks at the idle set. The two
//! fences are ordered, so one of the two sees the other's write. The same holds for blocked
//! submitters (`waiting_submitters` against a worker releasing a slot) and for a spinner that
//! stops (`spinning` against a push). The fences are explicit, not implied by SeqCst accesses,
//! so that loom checks the argument. A parker keeps a wake-up that comes before it parks, so a
//! worker woken while it is still registering does not sleep through it.

use std::time::{Duration, Instant};

use crate::sync::{
    self, fence, ArrayQueue, AtomicBool, AtomicUsize, Backoff, CachePadded, Condvar, Mutex, Ordering, Parker,
    SegQueue, Unparker,
};

/// How long an idle worker keeps looking for work before it parks. Long enough that a steady
/// stream of jobs, or a caller submitting again right after a result, finds it awake; short
/// enough that an idle pool's workers are parked (using no CPU) a moment after the last job.
const WORKER_PATIENCE: Duration = Duration::from_micros(5);
/// How long a submitter facing a full queue keeps looking for room before it parks: only the
/// few short pauses of a backoff, no yielding. A blocked submitter without a deadline is woken
/// once the queue has drained to half its capacity (see `release`), so looking longer would
/// only take CPU from the workers it waits for.
const SUBMIT_PATIENCE: Duration = Duration::ZERO;
/// How often a submitter blocked without a deadline looks for room on its own. Workers wake
/// blocked submitters when the queue has drained to half its capacity; a queue that has room
/// but does not drain that far (every worker busy with a long job, perhaps one waiting for the
/// blocked submitter itself) still takes the new job within this long of room appearing.
const NUDGE: Duration = Duration::from_millis(1);

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

/// How a park ended.
enum Parked<T> {
    Item(T),
    Drained,
    Woken,
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

/// A bounded multi-producer multi-consumer queue of `T` with blocking on both ends.
#[derive(Debug)]
pub(crate) struct JobQueue<T> {
    items: Items<T>,
    capacity: usize,
    /// Closed bit | slots ever reserved << 1. Written by submitters only.
    tail: CachePadded<AtomicUsize>,
    /// Jobs taken out of the queue: one counter per worker (written by that worker only), then
    /// one for every other thread (`shutdown_now` draining).
    taken: Box<[CachePadded<AtomicUsize>]>,
    /// A recent sum of `taken`, never more than the true sum: what submitters check room by.
    taken_seen: CachePadded<AtomicUsize>,
    /// Set once, after the closed bit: lets workers see the close without reading `tail`.
    closed: CachePadded<AtomicBool>,
    /// Per worker: registered idle (parked or about to park) and not yet claimed by a waker.
    idle: Box<[CachePadded<AtomicBool>]>,
    /// How many `idle` flags are set.
    idle_count: CachePadded<AtomicUsize>,
    unparkers: Box<[Unparker]>,
    /// Idle workers looking for work before they park, at most `max_spinners`.
    spinning: CachePadded<AtomicUsize>,
    max_spinners: usize,
    /// Submitters blocked for room, and how many of them have a deadline. Workers wake the
    /// blocked submitters when the queue has drained to half its capacity, so that they refill
    /// it in a burst instead of waking once per job; while one of them has a deadline, every
    /// take wakes them, so a timed wait ends as soon as there is room.
    waiting_submitters: CachePadded<AtomicUsize>,
    hurried_submitters: AtomicUsize,
    /// Blocked submitters park here.
    lock: Mutex<()>,
    room: Condvar,
}

impl<T> JobQueue<T> {
    /// The largest bound: `tail` keeps the closed bit beside the count, with room to spare.
    pub(crate) const MAX_CAPACITY: usize = usize::MAX >> 2;

    /// A queue for `workers` workers, and the parker each worker must pass to `pop`.
    /// `capacity` must be in `1..=MAX_CAPACITY` (the builder checks it).
    pub(crate) fn new(capacity: usize, workers: usize) -> (Self, Vec<Parker>) {
        let parkers: Vec<Parker> = (0..workers).map(|_| Parker::new()).collect();
        let queue = JobQueue {
            items: Items::new(capacity),
            capacity,
            tail: CachePadded::new(AtomicUsize::new(0)),
            taken: (0..=workers).map(|_| CachePadded::new(AtomicUsize::new(0))).collect(),
            taken_seen: CachePadded::new(AtomicUsize::new(0)),
            closed: CachePadded::new(AtomicBool::new(false)),
            idle: (0..workers).map(|_| CachePadded::new(AtomicBool::new(false))).collect(),
            idle_count: CachePadded::new(AtomicUsize::new(0)),
            unparkers: parkers.iter().map(|p| p.unparker().clone()).collect(),
            spinning: CachePadded::new(AtomicUsize::new(0)),
            max_spinners: (workers / 2).max(1),
            waiting_submitters: CachePadded::new(AtomicUsize::new(0)),
            hurried_submitters: AtomicUsize::new(0),
            lock: Mutex::new(()),
            room: Condvar::new(),
        };
        (queue, parkers)
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

    /// Slots ever reserved: every job accepted into the queue.
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

    /// Reserves a slot without blocking. Returns the queue's depth including it when it was
    /// measured exactly (every [`DEPTH_SAMPLE`]th reservation, and whenever the queue looked
    /// full). A reserved slot must be [`fill`](Self::fill)ed promptly: workers wait for it.
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

    /// Reserves a slot, waiting for room until `deadline` (forever if `None`). `Full` comes
    /// back only once the deadline passed; `Closed` as soon as the queue closes. The depth is
    /// as in [`try_reserve`](Self::try_reserve).
    pub(crate) fn reserve(&self, deadline: Option<Instant>) -> Result<Option<usize>, Refusal> {
        match self.try_reserve() {
            Err(Refusal::Full) => {}
            done => return done,
        }
        // Look again through the backoff's few short pauses (see `SUBMIT_PATIENCE`), then park.
        let mut backoff = Backoff::new();
        while backoff.snooze(SUBMIT_PATIENCE) {
            match self.try_reserve() {
                Err(Refusal::Full) if deadline.is_some_and(|d| Instant::now() >= d) => {
                    return Err(Refusal::Full)
                }
                Err(Refusal::Full) => {}
                done => return done,
            }
        }
        let mut guard = self.lock.lock();
        if deadline.is_some() {
            // ORDERING: SeqCst, written before the Dekker write below, so a taker that sees
            // that one sees this one too.
            self.hurried_submitters.fetch_add(1, Ordering::SeqCst);
        }
        // ORDERING: SeqCst, the submitter's write in the Dekker pattern with `release`.
        self.waiting_submitters.fetch_add(1, Ordering::SeqCst);
        // ORDERING: the fence between that write and the reads of `taken` in `try_reserve`.
        fence(Ordering::SeqCst);
        let result = loop {
            match self.try_reserve() {
                Err(Refusal::Full) => {}
                done => break done,
            }
            let timed_out = match deadline {
                Some(deadline) => sync::wait_until(&self.room, &mut guard, deadline),
                None => {
                    // A timeout here only prompts another look. (Models have no clock: there
                    // this is a plain wait, so a lost wake-up still deadlocks the model.)
                    let _ = sync::wait_until(&self.room, &mut guard, Instant::now() + NUDGE);
                    false
                }
            };
            if timed_out {
                // One last look: room may have come with the deadline.
                break self.try_reserve();
            }
        };
        // ORDERING: SeqCst, pairs with the read in `release`.
        self.waiting_submitters.fetch_sub(1, Ordering::SeqCst);
        if deadline.is_some() {
            // ORDERING: SeqCst, as above.
            self.hurried_submitters.fetch_sub(1, Ordering::SeqCst);
        }
        result
    }

    /// Puts an item into a slot reserved by `try_reserve` or `reserve`, and wakes a parked
    /// worker if there is one.
    pub(crate) fn fill(&self, item: T) {
        self.items.push(item);
        // ORDERING: the fence between the push (and the reservation) and the reads of
        // `spinning` and `sleepers`: the submitter's half of the Dekker patterns with parking
        // workers and with a spinner that stops (see `pop`).
        fence(Ordering::SeqCst);
        self.wake_one_if_idle();
    }

    /// Wakes an idle worker, unless a spinning one will find the work first.
    fn wake_one_if_idle(&self) {
        // ORDERING: SeqCst reads after the caller's fence (the Dekker reads).
        if self.spinning.load(Ordering::SeqCst) == 0 && self.idle_count.load(Ordering::SeqCst) > 0 {
            self.wake(false);
        }
    }

    /// Claims one registered idle worker (or all of them) and unparks it.
    fn wake(&self, all: bool) {
        for (index, flag) in self.idle.iter().enumerate() {
            // ORDERING: SeqCst; the swap decides which of waker and worker unregisters.
            if flag.swap(false, Ordering::SeqCst) {
                // ORDERING: SeqCst, the count that submitters read in the Dekker pattern.
                self.idle_count.fetch_sub(1, Ordering::SeqCst);
                self.unparkers[index].unpark();
                if !all {
                    return;
                }
            }
        }
    }

    /// Takes one item without blocking and counts it in `taken[slot]`: a worker's own index,
    /// or [`OUTSIDE`](Self::OUTSIDE) for any other thread.
    pub(crate) fn try_pop(&self, slot: usize) -> Option<T> {
        let item = self.items.pop()?;
        self.release(slot);
        Some(item)
    }

    /// The `taken` slot of threads that are not workers.
    pub(crate) fn outside(&self) -> usize {
        self.taken.len() - 1
    }

    fn release(&self, slot: usize) {
        let taken = &self.taken[slot];
        if slot == self.outside() {
            // ORDERING: SeqCst, the taker's write in the Dekker patterns below.
            taken.fetch_add(1, Ordering::SeqCst);
        } else {
            // ORDERING: only worker `slot` writes its counter: a load and a store suffice. The
            // store is the taker's write in the Dekker patterns below; the SeqCst fence after
            // it orders it (a store before one SeqCst fence is seen by a load after a later
            // one), so it need not be SeqCst itself, which would be a second full barrier.
            let now = taken.load(Ordering::Relaxed);
            taken.store(now.wrapping_add(1), Ordering::Relaxed);
        }
        // ORDERING: the fence between that write and the reads of `waiting_submitters` and
        // `closed`: the taker's half of the Dekker patterns with a blocked submitter (which
        // sums the takes after registering) and with a parking worker (which checks for the
        // drained state after registering).
        fence(Ordering::SeqCst);
        // ORDERING: SeqCst, the taker's read in the pattern with blocked submitters.
        if self.waiting_submitters.load(Ordering::SeqCst) > 0 && self.should_wake_submitters() {
            let _guard = self.lock.lock();
            self.room.notify_all();
        }
        // ORDERING: SeqCst; `closed` is written once, after the closed bit.
        if self.closed.load(Ordering::SeqCst) && self.drained() {
            // The last accepted job left a closed queue: idle workers may now exit. One that
            // registers after the fence above sees the drained state itself.
            self.wake(true);
        }
    }

    /// Whether a take should wake the blocked submitters: always while one has a deadline,
    /// otherwise once the queue has drained to half its capacity.
    ///
    /// No wake-up is lost by waiting for the low-water mark: every take the submitter's last
    /// look missed sees it registered (the Dekker pattern), and the last of those takes in the
    /// order of their fences sums every one of them, so it sees the depth fall to the mark
    /// if it does. (Other submitters filling the queue meanwhile only postpone that take.)
    fn should_wake_submitters(&self) -> bool {
        // ORDERING: SeqCst; see `reserve` for the order of the two counts.
        self.hurried_submitters.load(Ordering::SeqCst) > 0 || self.len() <= self.capacity / 2
    }

    /// Takes the next item; while the queue is empty, spins for a short while (if fewer than
    /// `max_spinners` workers already do) and then parks. Returns `None` once the queue is
    /// closed and drained: the worker should exit.
    ///
    /// Limiting spinners keeps idle workers from taking the CPU that submitters and busy
    /// workers need when threads outnumber cores. A submitter does not wake a parked worker
    /// while one spins; in exchange a spinner that takes a job wakes a parked worker if more
    /// work is waiting, and so does every worker that takes a job after being woken (see
    /// `pass_on_wake_up`), so parallelism still ramps up one worker at a time.
    pub(crate) fn pop(&self, index: usize, parker: &Parker) -> Option<T> {
        let mut woken = false;
        loop {
            if let Some(item) = self.try_pop(index) {
                if woken {
                    self.pass_on_wake_up();
                }
                return Some(item);
            }
            if self.drained() {
                return None;
            }
            if self.start_spinning(woken) {
                let found = self.spin(index);
                // ORDERING: SeqCst, the spinner's write in the Dekker pattern with `fill`.
                self.spinning.fetch_sub(1, Ordering::SeqCst);
                if let Some(item) = found {
                    // ORDERING: the fence between that write and the read of the queue below.
                    fence(Ordering::SeqCst);
                    self.pass_on_wake_up();
                    return Some(item);
                }
            }
            match self.park(index, parker) {
                Parked::Item(item) => {
                    self.pass_on_wake_up();
                    return Some(item);
                }
                Parked::Drained => return None,
                Parked::Woken => woken = true,
            }
        }
    }

    /// Called by a worker that took an item after spinning, after being woken, or while
    /// registering to park: if more items wait, wakes an idle worker (unless one spins).
    ///
    /// Submitters wake nobody while a worker spins, so one spinner may stand for several
    /// pushes; the wake-up it passes on when it takes one must travel on with every later
    /// take by a worker that was woken that way, or the last items of a burst would wait in
    /// the queue beside parked workers until some busy worker comes back for them (with every
    /// busy worker waiting for those very items, forever). The caller's take already issued
    /// a SeqCst fence (in `release`, or the spinner's own), so the reads here come after it:
    /// a submitter pushing after that read sees no spinner and this worker not idle, and wakes
    /// an idle worker itself.
    fn pass_on_wake_up(&self) {
        if !self.items.is_empty() {
            self.wake_one_if_idle();
        }
    }

    /// Closed, and every reserved job taken: nothing more can come.
    fn drained(&self) -> bool {
        // ORDERING: SeqCst; once `closed` is seen, `tail` no longer moves.
        if !self.closed.load(Ordering::SeqCst) {
            return false;
        }
        self.taken_total() == self.reserved_total()
    }

    /// Counts the caller among the spinners if there is room, or always when `woken`: a
    /// worker just woken for work looks for it a while before it parks again, so a stream of
    /// jobs does not wake it once per job.
    fn start_spinning(&self, woken: bool) -> bool {
        if woken {
            // ORDERING: as below.
            self.spinning.fetch_add(1, Ordering::SeqCst);
            return true;
        }
        // ORDERING: SeqCst, the spinner count is read by submitters in a Dekker pattern.
        let mut now = self.spinning.load(Ordering::SeqCst);
        while now < self.max_spinners {
            // ORDERING: as above.
            match self.spinning.compare_exchange_weak(now, now + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(seen) => now = seen,
            }
        }
        false
    }

    /// Looks for an item until the worker's patience runs out.
    fn spin(&self, index: usize) -> Option<T> {
        let mut backoff = Backoff::new();
        while backoff.snooze(WORKER_PATIENCE) {
            if let Some(item) = self.try_pop(index) {
                return Some(item);
            }
            if self.drained() {
                return None;
            }
        }
        None
    }

    /// Registers worker `index` as idle and parks it, unless the registration finds an item
    /// or the drained state; unregisters before returning.
    fn park(&self, index: usize, parker: &Parker) -> Parked<T> {
        // ORDERING: SeqCst, the worker's writes in the Dekker pattern with `fill`. A swap, not
        // a store: a read-modify-write is ordered with a waker's swap of the same flag directly.
        self.idle[index].swap(true, Ordering::SeqCst);
        // ORDERING: as above.
        self.idle_count.fetch_add(1, Ordering::SeqCst);
        // ORDERING: the fence between the registration and the reads of the queue below.
        fence(Ordering::SeqCst);
        let parked = if let Some(item) = self.try_pop(index) {
            Parked::Item(item)
        } else if self.drained() {
            Parked::Drained
        } else {
            parker.park();
            Parked::Woken
        };
        // ORDERING: SeqCst; whoever swaps the flag off owns the count's decrement. A waker that
        // claimed it first has unparked us (or will: the parker then keeps the wake-up, and the
        // next park returns at once; harmless).
        if self.idle[index].swap(false, Ordering::SeqCst) {
            // ORDERING: SeqCst, as in `wake`.
            self.idle_count.fetch_sub(1, Ordering::SeqCst);
        }
        parked
    }

    /// Refuses every later submission and wakes everyone parked: workers drain what is queued
    /// and exit; blocked submitters get their item back. Returns true for the call that closed.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: SeqCst, one order with every reservation.
        let before = self.tail.fetch_or(CLOSED, Ordering::SeqCst);
        // ORDERING: SeqCst, after the bit: a worker that sees the flag sees the final tail.
        self.closed.store(true, Ordering::SeqCst);
        // ORDERING: the fence between the close and the read of the idle set: a worker that
        // registers after it sees the closed state itself.
        fence(Ordering::SeqCst);
        self.wake(true);
        let _guard = self.lock.lock();
        self.room.notify_all();
        before & CLOSED == 0
    }
}
