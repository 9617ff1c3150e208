//! `map` and `try_map`: ordered parallel maps over a batch, chunked by the pool itself.
//!
//! The calling thread owns the input iterator (it need not be `Send`) and cuts it into chunks
//! on demand, keeping a few ready for the scope's helper threads (see `scope.rs`) and mapping
//! chunks itself in between. Only a handful of chunks exist at once, so their memory is reused
//! rather than faulted in afresh, and a million tiny items cost a few hundred hand-offs, not a
//! million queue operations. Each mapped chunk is appended to the output as soon as every
//! chunk before it is done, so results come back in input order with no final pass.

use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::mem;
use std::panic::{self, AssertUnwindSafe};

use super::scope::{self, Scope};
use super::ThreadPool;
use crate::sync::{AtomicBool, Ordering, ScopeCondvar as Condvar, ScopeMutex as Mutex};

/// Chunks per thread over a batch of known length: small enough to even out unequal items.
const CHUNKS_PER_THREAD: usize = 16;
/// A chunk holds at most this many bytes of items, so chunk buffers stay small and reusable.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks kept ready per thread, so helpers never wait while the caller maps a chunk.
const READY_PER_THREAD: usize = 2;

struct Feed<T> {
    chunks: VecDeque<(usize, Vec<T>)>,
    /// The input is exhausted (or the batch stopped): no more chunks will come.
    closed: bool,
}

struct Output<R> {
    values: Vec<R>,
    /// Index of the chunk that must be appended next.
    next: usize,
    /// Chunks done out of order, waiting for their predecessors.
    waiting: BTreeMap<usize, Vec<R>>,
}

struct Batch<T, R, E> {
    feed: Mutex<Feed<T>>,
    fed: Condvar,
    /// Set by the first error or panic: no more items start.
    stop: AtomicBool,
    output: Mutex<Output<R>>,
    error: Mutex<Option<E>>,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl<T, R, E> Batch<T, R, E> {
    fn stopped(&self) -> bool {
        // ORDERING: a hint to stop early; the results themselves travel under locks.
        self.stop.load(Ordering::Relaxed)
    }

    fn halt(&self) {
        // ORDERING: see `stopped`.
        self.stop.store(true, Ordering::Relaxed);
    }

    /// A helper's next chunk, waiting while the caller cuts more; `None` once there are none.
    fn next_chunk(&self) -> Option<(usize, Vec<T>)> {
        let mut feed = self.feed.lock();
        loop {
            if let Some(chunk) = feed.chunks.pop_front() {
                return Some(chunk);
            }
            if feed.closed {
                return None;
            }
            self.fed.wait(&mut feed);
        }
    }

    /// A helper thread's share: map chunks until there are none.
    fn help(&self, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        while let Some((index, chunk)) = self.next_chunk() {
            self.map_chunk(index, chunk, f);
        }
    }

    fn map_chunk(&self, index: usize, chunk: Vec<T>, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        if self.stopped() {
            return;
        }
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
            Ok(Ok(())) => self.deliver(index, out),
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

    /// Appends chunk `index` (and any successors already waiting) to the output, in order.
    fn deliver(&self, index: usize, values: Vec<R>) {
        let mut output = self.output.lock();
        if index != output.next {
            output.waiting.insert(index, values);
            return;
        }
        let mut values = values;
        loop {
            output.values.append(&mut values);
            output.next += 1;
            let next = output.next;
            match output.waiting.remove(&next) {
                Some(more) => values = more,
                None => break,
            }
        }
    }

    fn close_feed(&self) {
        self.feed.lock().closed = true;
        self.fed.notify_all();
    }
}

impl ThreadPool {
    /// Maps `f` over `items` in parallel and returns the results in input order. `items` and
    /// `f` may borrow from the caller, and the iterator itself need not be `Send`.
    ///
    /// The calling thread cuts the batch into chunks as it goes and maps chunks alongside up
    /// to `workers - 1` helper threads, as in [`scope`](Self::scope): a map never waits on the
    /// pool's queue, so it also completes inside one of the pool's own jobs, even with one
    /// worker. Chunks are sized from the iterator's length hint (about 16 per thread, at most
    /// 64 KiB of items each), so a million tiny items cost a few hundred hand-offs.
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
        let mut items = items.into_iter();
        let (hint, _) = items.size_hint();
        let threads = self.workers();
        if threads == 1 || hint == 1 {
            return items.map(f).collect();
        }
        let max_chunk = (CHUNK_BYTES / mem::size_of::<I::Item>().max(1)).max(1);
        let chunk_len = (hint / (threads * CHUNKS_PER_THREAD)).clamp(1, max_chunk);
        let batch = Batch {
            feed: Mutex::new(Feed { chunks: VecDeque::new(), closed: false }),
            fed: Condvar::new(),
            stop: AtomicBool::new(false),
            output: Mutex::new(Output {
                values: Vec::with_capacity(hint),
                next: 0,
                waiting: BTreeMap::new(),
            }),
            error: Mutex::new(None),
            panic: Mutex::new(None),
        };
        let scope = Scope::new();
        scope::drive(&scope, threads - 1, &self.shared.name, || {
            for _ in 1..threads {
                // Detached: `help` catches every panic of `f` itself.
                let _helper = scope.spawn(|| batch.help(&f));
            }
            let mut cut = 0;
            let mut exhausted = false;
            while !batch.stopped() {
                // Keep chunks ready for the helpers, then map the oldest one here.
                let mine = {
                    let mut feed = batch.feed.lock();
                    while !exhausted && feed.chunks.len() < threads * READY_PER_THREAD {
                        let chunk: Vec<I::Item> = items.by_ref().take(chunk_len).collect();
                        if chunk.is_empty() {
                            exhausted = true;
                        } else {
                            feed.chunks.push_back((cut, chunk));
                            cut += 1;
                            batch.fed.notify_one();
                        }
                    }
                    feed.chunks.pop_front()
                };
                match mine {
                    Some((index, chunk)) => batch.map_chunk(index, chunk, &f),
                    None => break,
                }
            }
            batch.close_feed();
        });
        if let Some(payload) = batch.panic.into_inner() {
            panic::resume_unwind(payload);
        }
        if let Some(e) = batch.error.into_inner() {
            return Err(e);
        }
        Ok(batch.output.into_inner().values)
    }
}
