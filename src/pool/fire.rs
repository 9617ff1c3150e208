//! A handle-less job's closure, in a box that is refilled instead of freed.
//!
//! `execute` must box its closure. Left to the allocator, a stream of small jobs allocates
//! every box on the submitting thread and frees it on a worker, a pattern general-purpose
//! allocators serve slowly: each free lands in the worker's cache, so the submitter's cache is
//! always empty and every allocation takes the slow, shared path. Measured on empty jobs, that
//! was about two thirds of the pool's time per job.
//!
//! So the box of a small closure comes back. It holds an `Option` of the closure, which a
//! worker takes out and calls, leaving the box empty. The worker collects emptied boxes into
//! batches of [`BATCH`] and hands each batch to the pool's exchange (a bounded queue of
//! batches); a submitting thread takes a whole batch into a thread-local stock and refills
//! those boxes whose closure type matches its own. That is one queue operation per batch, and
//! no allocation at all while one kind of job streams through the pool.
//!
//! What is kept is bounded: only closures of at most [`MAX_BYTES`] are reused, each worker
//! holds at most one unfinished batch, the exchange at most [`MAX_BATCHES`] batches, and each
//! submitting thread one batch (freed when the thread exits). An emptied box holds no captured
//! value: the closure's captures were moved out and dropped when it ran.

use std::any::Any;
use std::cell::RefCell;
use std::mem;

use crate::sync::{thread_local, ArrayQueue};

/// Emptied boxes move between threads this many at a time.
pub(crate) const BATCH: usize = 32;
/// Closures larger than this are freed after they run, not reused.
pub(crate) const MAX_BYTES: usize = 128;
/// The most batches the exchange keeps.
const MAX_BATCHES: usize = 16;

/// An emptied box, typed only by its contents' `TypeId`.
pub(crate) type Spare = Box<dyn Any + Send>;

/// A handle-less job's closure, type-erased for the queue.
pub(crate) trait Fire: Send {
    /// Calls the closure. Returns the emptied box when it is worth reusing.
    fn call(self: Box<Self>) -> Option<Spare>;
}

/// The box behind a [`Fire`]: empty once the closure has been taken out to run.
pub(crate) struct Once<F>(Option<F>);

/// Whether emptied boxes of closures of type `F` are reused.
const fn reused<F>() -> bool {
    mem::size_of::<F>() <= MAX_BYTES
}

impl<F: FnOnce() + Send + 'static> Fire for Once<F> {
    fn call(mut self: Box<Self>) -> Option<Spare> {
        let f = self.0.take()?;
        if !reused::<F>() {
            // Not kept: free the box before the closure runs, as a plain box would be.
            drop(self);
            f();
            return None;
        }
        // A panic unwinds through here and frees the box; the caller catches it.
        f();
        Some(self)
    }
}

impl<F> Once<F> {
    /// The closure back out of a box that was never queued.
    pub(crate) fn into_inner(self) -> Option<F> {
        self.0
    }
}

/// Boxes `f`, refilling an emptied box of the same closure type from the calling thread's
/// stock (topped up from `spares`) when there is one.
pub(crate) fn boxed<F: FnOnce() + Send + 'static>(f: F, spares: &Spares) -> Box<Once<F>> {
    if reused::<F>() {
        if let Some(mut reused) = spares.take().and_then(|spare| spare.downcast::<Once<F>>().ok()) {
            reused.0 = Some(f);
            return reused;
        }
    }
    Box::new(Once(Some(f)))
}

type Stock = RefCell<Vec<Spare>>;

#[cfg(not(loom))]
thread_local! {
    /// The calling thread's emptied boxes, ready to be refilled.
    static STOCK: Stock = const { RefCell::new(Vec::new()) };
}

// loom's `thread_local!` has no `const` form.
#[cfg(loom)]
thread_local! {
    static STOCK: Stock = RefCell::new(Vec::new());
}

/// A pool's exchange of emptied boxes, from the workers that ran them to the threads that
/// submit.
#[derive(Debug)]
pub(crate) struct Spares {
    batches: ArrayQueue<Vec<Spare>>,
}

impl Spares {
    /// An exchange for a queue of `capacity` jobs: room for as many boxes as the queue holds
    /// jobs, within [`MAX_BATCHES`] batches.
    pub(crate) fn new(capacity: usize) -> Self {
        Spares { batches: ArrayQueue::new(capacity.div_ceil(BATCH).clamp(1, MAX_BATCHES)) }
    }

    /// One emptied box from the calling thread's stock, which is topped up with a batch from
    /// the exchange when it is empty. `None` when there is none, and while the thread is
    /// being torn down.
    fn take(&self) -> Option<Spare> {
        STOCK
            .try_with(|stock| {
                let mut stock = stock.try_borrow_mut().ok()?;
                if stock.is_empty() {
                    *stock = self.batches.pop()?;
                }
                stock.pop()
            })
            .ok()
            .flatten()
    }

    /// Adds an emptied box to a worker's unfinished batch; hands the batch over once it is
    /// full. With the exchange full, the batch is freed.
    pub(crate) fn keep(&self, batch: &mut Vec<Spare>, spare: Spare) {
        if batch.capacity() == 0 {
            batch.reserve_exact(BATCH);
        }
        batch.push(spare);
        if batch.len() >= BATCH {
            let full = mem::replace(batch, Vec::with_capacity(BATCH));
            // Full: nobody is taking spares; the batch is dropped.
            let _ = self.batches.push(full);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address<T: ?Sized>(b: &T) -> usize {
        b as *const T as *const u8 as usize
    }

    /// Runs `BATCH` boxes of `make`'s closures and hands their emptied boxes to `spares`.
    fn fill_one_batch<F: FnOnce() + Send + 'static>(
        spares: &Spares,
        make: impl Fn(usize) -> F,
    ) -> Vec<usize> {
        let mut batch = Vec::new();
        let mut addresses = Vec::new();
        for i in 0..BATCH {
            let boxed: Box<dyn Fire> = Box::new(Once(Some(make(i))));
            addresses.push(address(boxed.as_ref()));
            let spare = boxed.call().expect("a small closure's box is kept");
            spares.keep(&mut batch, spare);
        }
        assert!(batch.is_empty(), "a full batch was handed to the exchange");
        addresses
    }

    #[test]
    fn an_emptied_box_is_refilled_by_the_next_closure_of_its_type() {
        let spares = Spares::new(BATCH);
        let make = |i: usize| move || assert!(i < BATCH);
        let kept = fill_one_batch(&spares, make);
        for i in 0..BATCH {
            let reused = boxed(make(i), &spares);
            assert!(kept.contains(&address(reused.as_ref())), "box {i} was allocated, not reused");
            assert!(reused.call().is_some());
        }
        assert!(spares.batches.is_empty());
        assert!(spares.take().is_none(), "the stock holds no more than one batch");
    }

    /// Spares left in the calling thread's stock.
    fn stocked() -> usize {
        STOCK.with(|stock| stock.borrow().len())
    }

    #[test]
    fn a_spare_of_another_closure_type_is_freed_not_kept_or_retried() {
        let spares = Spares::new(BATCH);
        let kept = fill_one_batch(&spares, |i: usize| move || assert!(i < BATCH));
        let other = boxed(move || assert!(kept.len() == BATCH), &spares);
        // The batch moved into the stock, and the one spare taken for `other` was dropped.
        assert_eq!(stocked(), BATCH - 1);
        assert!(spares.batches.is_empty());
        assert!(other.call().is_some());
    }

    #[test]
    fn a_large_closure_runs_and_its_box_is_freed() {
        let big = [7u8; MAX_BYTES + 1];
        let boxed: Box<dyn Fire> = Box::new(Once(Some(move || assert_eq!(big[MAX_BYTES], 7))));
        assert!(boxed.call().is_none());
    }

    #[test]
    fn a_full_exchange_frees_further_batches() {
        let spares = Spares::new(1);
        let first = fill_one_batch(&spares, |i: usize| move || assert!(i < BATCH));
        // The exchange holds one batch; this one is freed.
        fill_one_batch(&spares, |i: usize| move || assert!(i < BATCH));
        assert_eq!(spares.batches.len(), 1);
        let reused = boxed(move || assert!(first.len() == BATCH), &spares);
        assert!(reused.call().is_some());
        assert!(spares.batches.is_empty());
        assert_eq!(stocked(), BATCH - 1, "the stock holds the one batch the exchange kept");
    }
}
