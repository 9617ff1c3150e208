//! `map` and `try_map`: ordered parallel maps over a batch, split adaptively over the pool's
//! workers and the calling thread.
//!
//! The calling thread collects the batch (the iterator need not be `Send`) and cuts it into
//! chunks whose lengths shrink as the batch is used up (guided self-scheduling): each chunk is
//! the remaining items divided by twice the number of threads, at least one item. The chunks go
//! on a shared stack, biggest first. The caller and up to `workers - 1` scoped jobs (at least
//! one; see `scope.rs`) take chunks from it until it is empty; each chunk's results fill a
//! vector of its own, written by the thread that maps it, and the caller joins them in input
//! order at the end, growing the first and biggest in place. Big early chunks make a million
//! tiny items cost a few dozen hand-offs; small late ones let a thread that drew slow items
//! finish while the others take the rest, so skewed batches still balance. A helper job that
//! no worker has started when the caller runs out of chunks costs one look at the empty stack.

use std::any::Any;
use std::convert::Infallible;
use std::panic::{self, AssertUnwindSafe};

use super::scope::{self, Scope};
use super::{worker, ThreadPool};
use crate::sync::{AtomicBool, Mutex, Ordering};

/// A piece of the batch: its place among the pieces and its items (each taken once).
type Chunk<'a, T> = (usize, &'a mut [Option<T>]);

/// Why a batch stopped early: the first error or panic.
enum Failure<E> {
    Error(E),
    Panic(Box<dyn Any + Send>),
}

struct Batch<'a, T, R, E> {
    /// Chunks not yet taken, the next one last.
    chunks: Mutex<Vec<Chunk<'a, T>>>,
    /// Each chunk's results, by the chunk's place.
    results: Mutex<Vec<Vec<R>>>,
    /// Set by the first error or panic: no more items start.
    stop: AtomicBool,
    failure: Mutex<Option<Failure<E>>>,
}

impl<'a, T, R, E> Batch<'a, T, R, E> {
    /// Cuts `items` into chunks for `threads` threads.
    fn new(mut items: &'a mut [Option<T>], threads: usize) -> Self {
        let mut chunks = Vec::new();
        while !items.is_empty() {
            let len = (items.len() / (2 * threads)).max(1);
            let (these, rest) = items.split_at_mut(len);
            chunks.push((chunks.len(), these));
            items = rest;
        }
        let results = Mutex::new((0..chunks.len()).map(|_| Vec::new()).collect());
        chunks.reverse();
        Batch { chunks: Mutex::new(chunks), results, stop: AtomicBool::new(false), failure: Mutex::new(None) }
    }

    /// The results in input order, once every chunk has been mapped.
    fn into_results(self, len: usize) -> Vec<R> {
        let mut parts = self.results.into_inner().into_iter();
        let Some(mut all) = parts.next() else { return Vec::new() };
        // The first part is the biggest: growing it in place saves copying it.
        all.reserve_exact(len - all.len());
        for part in parts {
            all.extend(part);
        }
        all
    }

    fn stopped(&self) -> bool {
        // ORDERING: a hint to stop early; the results themselves travel under locks and the
        // scope's completion.
        self.stop.load(Ordering::Relaxed)
    }

    fn fail(&self, failure: Failure<E>) {
        self.failure.lock().get_or_insert(failure);
        // ORDERING: see `stopped`.
        self.stop.store(true, Ordering::Relaxed);
    }

    /// One thread's share: map chunks until there are none left.
    fn help(&self, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        loop {
            let chunk = self.chunks.lock().pop();
            match chunk {
                Some(chunk) if !self.stopped() => self.map_chunk(chunk, f),
                _ => return,
            }
        }
    }

    fn map_chunk(&self, (place, items): Chunk<'_, T>, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        let mut out = Vec::with_capacity(items.len());
        let ran = panic::catch_unwind(AssertUnwindSafe(|| {
            for item in items.iter_mut() {
                if self.stopped() {
                    return Ok(());
                }
                if let Some(item) = item.take() {
                    out.push(f(item)?);
                }
            }
            Ok(())
        }));
        match ran {
            Ok(Ok(())) => self.results.lock()[place] = out,
            Ok(Err(e)) => self.fail(Failure::Error(e)),
            Err(payload) => self.fail(Failure::Panic(payload)),
        }
    }
}

impl ThreadPool {
    /// Maps `f` over `items` in parallel and returns the results in input order. `items` and
    /// `f` may borrow from the caller, and the iterator itself need not be `Send`.
    ///
    /// The calling thread collects the items, then maps them together with the pool's workers,
    /// taking chunks from a shared cursor: early chunks are big (a million tiny items cost a few
    /// dozen hand-offs), later ones shrink to a single item (a batch of uneven items still
    /// balances). No thread is started: the work goes through the pool's queue as scoped jobs
    /// (see [`scope`](Self::scope)), and whatever no worker has picked up the calling thread
    /// maps itself, so a map never waits on the queue: it completes inside one of the pool's
    /// own jobs, on a full or one-worker pool, and after shutdown (on the calling thread
    /// alone).
    ///
    /// # Panics
    ///
    /// If `f` panics, no further items start, and the first panic is re-raised once every
    /// running item has ended.
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(2)?;
    /// let words = vec!["apple", "kiwi", "banana"];
    /// let suffix = "!";
    /// let loud = pool.map(&words, |w| format!("{}{suffix}", w.to_uppercase()));
    /// assert_eq!(loud, ["APPLE!", "KIWI!", "BANANA!"]);
    ///
    /// let squares = pool.map(1..=1000u64, |n| n * n);
    /// assert_eq!(squares[999], 1_000_000);
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn map<I, F, R>(&self, items: I, f: F) -> Vec<R>
    where
        I: IntoIterator,
        I::Item: Send,
        F: Fn(I::Item) -> R + Sync,
        R: Send,
    {
        match self.try_map(items, |item| Ok::<R, Infallible>(f(item))) {
            Ok(values) => values,
            Err(never) => match never {},
        }
    }

    /// Maps a fallible `f` over `items` in parallel. The first error wins: items not yet
    /// started are skipped, and `Err(first)` comes back once the running items have ended.
    /// Otherwise the results, in input order. Runs as [`map`](Self::map) does.
    ///
    /// # Errors
    ///
    /// The first error `f` returned.
    ///
    /// # Panics
    ///
    /// As [`map`](Self::map).
    ///
    /// ```
    /// use boundpool::ThreadPool;
    ///
    /// let pool = ThreadPool::new(2)?;
    /// let parsed: Result<Vec<u8>, _> = pool.try_map(["1", "2", "3"], str::parse::<u8>);
    /// assert_eq!(parsed.unwrap(), [1, 2, 3]);
    ///
    /// let failed = pool.try_map(["1", "300", "3"], str::parse::<u8>);
    /// assert!(failed.is_err());
    /// # Ok::<(), boundpool::BuildError>(())
    /// ```
    pub fn try_map<I, F, R, E>(&self, items: I, f: F) -> Result<Vec<R>, E>
    where
        I: IntoIterator,
        I::Item: Send,
        F: Fn(I::Item) -> Result<R, E> + Sync,
        R: Send,
        E: Send,
    {
        let mut items: Vec<Option<I::Item>> = items.into_iter().map(Some).collect();
        if items.len() <= 1 {
            return items.into_iter().flatten().map(f).collect();
        }
        // The caller is one of the threads: with the other workers it makes up the pool's
        // parallelism (more threads than that would only take turns on the cores, and a thread
        // descheduled while holding the last chunk delays the whole batch). A caller from
        // outside a one-worker pool still gets that worker's help.
        let others = if worker::is_worker_of(&self.shared) {
            self.workers() - 1
        } else {
            self.workers().saturating_sub(1).max(1)
        };
        let helpers = others.min(items.len() - 1);
        let len = items.len();
        let batch = Batch::new(&mut items, helpers + 1);
        let scope = Scope::new(&self.shared);
        scope::drive(&scope, || {
            for _ in 0..helpers {
                // Detached: `help` catches every panic of `f` itself.
                let _helper = scope.spawn(|| batch.help(&f));
            }
            batch.help(&f);
        });
        let failure = batch.failure.lock().take();
        match failure {
            Some(Failure::Panic(payload)) => panic::resume_unwind(payload),
            Some(Failure::Error(e)) => Err(e),
            None => Ok(batch.into_results(len)),
        }
    }
}
