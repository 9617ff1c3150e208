//! Worker sleep: how idle workers spin, park and are woken.
//!
//! One word, `counters`, holds how many workers are registered idle (parked or about to park,
//! and not yet claimed by a waker) and how many spin looking for work: a submitter decides with
//! one load whether to wake anyone. Each worker also has a flag, set while it is registered
//! idle: a waker claims a worker by swapping its flag off, so exactly one of waker and worker
//! takes the worker off the count, and the waker knows whose parker to unpark.
//!
//! The lost-wake-up argument is a Dekker pattern each time: a parking worker registers, issues
//! a SeqCst fence and looks at the queue; a submitter pushes, issues a SeqCst fence and looks
//! at `counters`. The two fences are ordered, so one of the two sees the other's write. The
//! same holds for a spinner that stops (its decrement against a push). The fences are
//! explicit, not implied by SeqCst accesses, so that loom checks the argument. A parker keeps a
//! wake-up that comes before it parks, so a worker woken while it is still registering does not
//! sleep through it.
//!
//! Limiting spinners keeps idle workers from taking the CPU that submitters and busy workers
//! need when threads outnumber cores. A submitter does not wake a parked worker while one
//! spins; in exchange a spinner that takes a job wakes a parked worker if more work is waiting,
//! and so does every worker that takes a job after being woken (see `JobQueue::pop`), so
//! parallelism still ramps up one worker at a time.

use std::time::Duration;

use crate::sync::{AtomicBool, AtomicUsize, Backoff, CachePadded, Ordering, Parker, Unparker};

/// How long an idle worker keeps looking for work before it parks. Long enough that a steady
/// stream of jobs, or a caller submitting again right after a result, finds it awake; short
/// enough that an idle pool's workers are parked (using no CPU) a moment after the last job.
pub(crate) const WORKER_PATIENCE: Duration = Duration::from_micros(5);

/// `counters`: spinners in the low half, idle workers in the high half. Each half holds far
/// more than `Builder::MAX_WORKERS`.
const SPINNER: usize = 1;
const IDLE: usize = 1 << 16;
const HALF: usize = IDLE - 1;

fn spinners(counters: usize) -> usize {
    counters & HALF
}

fn idlers(counters: usize) -> usize {
    counters >> 16
}

/// The sleep state of a pool's workers.
#[derive(Debug)]
pub(crate) struct Sleep {
    counters: CachePadded<AtomicUsize>,
    /// Per worker: registered idle and not yet claimed by a waker.
    idle: Box<[CachePadded<AtomicBool>]>,
    unparkers: Box<[Unparker]>,
    max_spinners: usize,
}

impl Sleep {
    /// Sleep state for `workers` workers, and the parker each worker must pass to its calls.
    pub(crate) fn new(workers: usize) -> (Self, Vec<Parker>) {
        debug_assert!(workers <= HALF, "more workers than the counters hold");
        let parkers: Vec<Parker> = (0..workers).map(|_| Parker::new()).collect();
        let sleep = Sleep {
            counters: CachePadded::new(AtomicUsize::new(0)),
            idle: (0..workers).map(|_| CachePadded::new(AtomicBool::new(false))).collect(),
            unparkers: parkers.iter().map(|p| p.unparker().clone()).collect(),
            max_spinners: (workers / 2).max(1),
        };
        (sleep, parkers)
    }

    /// Wakes an idle worker, unless a spinning one will find the work first. The caller has
    /// made its work visible and issued a SeqCst fence (the Dekker write and fence).
    pub(crate) fn wake_one_if_idle(&self) {
        // ORDERING: SeqCst, the Dekker read after the caller's fence.
        let counters = self.counters.load(Ordering::SeqCst);
        if spinners(counters) == 0 && idlers(counters) > 0 {
            self.wake(false);
        }
    }

    /// Wakes every idle worker: the queue closed, or drained after closing.
    pub(crate) fn wake_all(&self) {
        // ORDERING: SeqCst, the Dekker read after the caller's fence.
        if idlers(self.counters.load(Ordering::SeqCst)) > 0 {
            self.wake(true);
        }
    }

    /// Claims one registered idle worker (or all of them) and unparks it.
    fn wake(&self, all: bool) {
        for (index, flag) in self.idle.iter().enumerate() {
            // ORDERING: SeqCst; the swap decides which of waker and worker unregisters.
            if flag.swap(false, Ordering::SeqCst) {
                // ORDERING: SeqCst, the count submitters read in the Dekker pattern.
                self.counters.fetch_sub(IDLE, Ordering::SeqCst);
                self.unparkers[index].unpark();
                if !all {
                    return;
                }
            }
        }
    }

    /// Counts the caller among the spinners if there is room, or always when `woken`: a
    /// worker just woken for work looks for it a while before it parks again, so a stream of
    /// jobs does not wake it once per job.
    pub(crate) fn start_spinning(&self, woken: bool) -> bool {
        if woken {
            // ORDERING: as below.
            self.counters.fetch_add(SPINNER, Ordering::SeqCst);
            return true;
        }
        // ORDERING: SeqCst, the count is read by submitters in a Dekker pattern.
        let mut now = self.counters.load(Ordering::SeqCst);
        while spinners(now) < self.max_spinners {
            // ORDERING: as above.
            match self.counters.compare_exchange_weak(now, now + SPINNER, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return true,
                Err(seen) => now = seen,
            }
        }
        false
    }

    /// Looks for an item with `look` until the worker's patience runs out; stops early when
    /// `look` says there is nothing more to wait for (`Some(None)`).
    pub(crate) fn spin<T>(&self, mut look: impl FnMut() -> Option<Option<T>>) -> Option<T> {
        let mut backoff = Backoff::new();
        while backoff.snooze(WORKER_PATIENCE) {
            if let Some(found) = look() {
                return found;
            }
        }
        None
    }

    /// Stops counting the caller as a spinner: the spinner's write in the Dekker pattern with
    /// a submitter (which wakes nobody while it sees a spinner). The caller issues a SeqCst
    /// fence before it looks at the queue again.
    pub(crate) fn stop_spinning(&self) {
        // ORDERING: SeqCst, as above.
        self.counters.fetch_sub(SPINNER, Ordering::SeqCst);
    }

    /// Registers worker `index` as idle; `look` then checks the queue (after the fence) and
    /// the worker parks unless it found something. Unregisters before returning.
    pub(crate) fn park<R>(
        &self,
        index: usize,
        parker: &Parker,
        look: impl FnOnce() -> Option<R>,
    ) -> Option<R> {
        // ORDERING: SeqCst, the worker's writes in the Dekker pattern with a submitter. A swap,
        // not a store: a read-modify-write is ordered with a waker's swap of the same flag.
        self.idle[index].swap(true, Ordering::SeqCst);
        // ORDERING: as above.
        self.counters.fetch_add(IDLE, Ordering::SeqCst);
        // ORDERING: the fence between the registration and the reads of the queue in `look`.
        crate::sync::fence(Ordering::SeqCst);
        let found = look();
        if found.is_none() {
            parker.park();
        }
        // ORDERING: SeqCst; whoever swaps the flag off owns the count's decrement. A waker that
        // claimed it first has unparked us (or will: the parker then keeps the wake-up, and the
        // next park returns at once; harmless).
        if self.idle[index].swap(false, Ordering::SeqCst) {
            // ORDERING: SeqCst, as in `wake`.
            self.counters.fetch_sub(IDLE, Ordering::SeqCst);
        }
        found
    }
}
