//! `map` and `try_map`: ordered parallel maps over a batch, chunked by the pool itself.
//!
//! A batch is cut into chunks claimed one at a time by the threads of a scope (see `scope.rs`):
//! each claim takes a share of what is left (a quarter of it divided by the thread count, but
//! never less than a floor), so the first chunks are large and cheap to hand out and the last
//! ones small, which evens out items of unequal cost. A million tiny items cost about a hundred
//! claims, not a million queue operations. Results are put back in input order at the end.

use std::any::Any;
use std::convert::Infallible;
use std::panic::{self, AssertUnwindSafe};
use std::vec;

use super::scope::{self, Scope};
use super::ThreadPool;
use crate::sync::{AtomicBool, Ordering, ScopeMutex as Mutex};

/// Each claim takes at most `remaining / (threads * SHARE)` items.
const SHARE: usize = 4;
/// ... and at least `len / (threads * FLOOR)`, so the tail is not cut into crumbs.
const FLOOR: usize = 256;

struct Batch<T, R, E> {
    /// The next item's index and the items not yet claimed.
    source: Mutex<(usize, vec::IntoIter<T>)>,
    threads: usize,
    min_chunk: usize,
    /// Set by the first error or panic: no more items start.
    stop: AtomicBool,
    done: Mutex<Vec<(usize, Vec<R>)>>,
    error: Mutex<Option<E>>,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl<T, R, E> Batch<T, R, E> {
    fn claim(&self) -> Option<(usize, Vec<T>)> {
        let mut source = self.source.lock();
        let (next, items) = &mut *source;
        let remaining = items.len();
        if remaining == 0 {
            return None;
        }
        let size = (remaining / (self.threads * SHARE)).max(self.min_chunk).min(remaining);
        let start = *next;
        *next += size;
        Some((start, items.by_ref().take(size).collect()))
    }

    fn stopped(&self) -> bool {
        // ORDERING: a hint to stop early; the results themselves travel under locks.
        self.stop.load(Ordering::Relaxed)
    }

    /// One thread's share: claim chunks and map them until the batch is drained or stopped.
    fn work(&self, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        while !self.stopped() {
            let Some((start, chunk)) = self.claim() else { return };
            let mut out = Vec::with_capacity(chunk.len());
            let ran = panic::catch_unwind(AssertUnwindSafe(|| {
                for item in chunk {
                    if self.stopped() {
                        return Ok(());
                    }
                    out.push(f(item)?);
                }
                Ok(())
            }));
            match ran {
                Ok(Ok(())) => self.done.lock().push((start, out)),
                Ok(Err(e)) => {
                    self.error.lock().get_or_insert(e);
                    self.halt();
                }
                Err(payload) => {
                    self.panic.lock().get_or_insert(payload);
                    self.halt();
                }
            }
        }
    }

    fn halt(&self) {
        // ORDERING: see `stopped`.
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl ThreadPool {
    /// Maps `f` over `items` in parallel and returns the results in input order. `items` and
    /// `f` may borrow from the caller.
    ///
    /// The batch is cut into chunks (large first, smaller towards the end, so items of unequal
    /// cost even out) that run on the calling thread and on up to `workers - 1` helper threads,
    /// as in [`scope`](Self::scope): a map never waits on the pool's queue, so it also completes
    /// inside one of the pool's own jobs, even with one worker.
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
        match self.run_batch(items, |item| Ok::<R, Infallible>(f(item))) {
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
        self.run_batch(items, f)
    }

    fn run_batch<I, F, R, E>(&self, items: I, f: F) -> Result<Vec<R>, E>
    where
        I: IntoIterator,
        I::Item: Send,
        F: Fn(I::Item) -> Result<R, E> + Sync,
        R: Send,
        E: Send,
    {
        let items: Vec<I::Item> = items.into_iter().collect();
        let len = items.len();
        let threads = self.workers().min(len);
        if threads <= 1 {
            return items.into_iter().map(f).collect();
        }
        let batch = Batch {
            source: Mutex::new((0, items.into_iter())),
            threads,
            min_chunk: (len / (threads * FLOOR)).max(1),
            stop: AtomicBool::new(false),
            done: Mutex::new(Vec::new()),
            error: Mutex::new(None),
            panic: Mutex::new(None),
        };
        let scope = Scope::new();
        scope::drive(&scope, threads - 1, &self.shared.name, || {
            for _ in 1..threads {
                // Detached: `work` catches every panic of `f` itself.
                let _helper = scope.spawn(|| batch.work(&f));
            }
            batch.work(&f);
        });
        if let Some(payload) = batch.panic.into_inner() {
            panic::resume_unwind(payload);
        }
        if let Some(e) = batch.error.into_inner() {
            return Err(e);
        }
        let mut done = batch.done.into_inner();
        done.sort_unstable_by_key(|(start, _)| *start);
        let mut values = Vec::with_capacity(len);
        for (_, chunk) in done {
            values.extend(chunk);
        }
        Ok(values)
    }
}
