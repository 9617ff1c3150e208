//! `map` and `try_map`: ordered parallel maps over a batch, split adaptively over the pool's
//! workers and the calling thread.
//!
//! The calling thread pulls the batch from the iterator (which need not be `Send`) and cuts it
//! into owned chunks whose lengths shrink as the batch is used up (guided self-scheduling):
//! each chunk is the remaining items divided by twice the number of threads, at least one
//! item. Chunks go out on a FIFO, biggest first. When the iterator knows its length, each
//! chunk of a long batch goes out as soon as it is cut, so the workers map the first chunks
//! while the caller still pulls the rest; a short one (cut faster than a worker wakes up) goes
//! out whole once cut; an iterator of unknown length is collected first. Handing out chunks
//! starts helper jobs (scoped jobs, see `scope.rs`) while fewer than `workers - 1` (at least
//! one) are live; a helper maps chunks until it finds the FIFO empty and then ends, so no
//! helper ever waits for the caller. Once every chunk is out, the caller maps chunks too. Big
//! early chunks make a million tiny items cost a few dozen hand-offs; small late ones let a
//! thread that drew slow items finish while the others take the rest, so skewed batches still
//! balance.
//!
//! A chunk's results take the place of its items in the chunk's own vector (std collects a
//! vector's iterator into a `Vec` in place when both types fit the same memory). The first
//! chunk's vector is made big enough for the whole batch and becomes the result: whichever
//! thread ends the chunk whose turn it is appends it, and any later ones already done, while
//! the others go on mapping. A map between types of one size thus holds the batch in memory
//! once, with no result vector beside it, and leaves little copying for the end; a million
//! items reuse the memory the allocator kept from the last call instead of faulting in fresh
//! pages.

use std::any::Any;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::{self, AssertUnwindSafe};

use super::scope::{self, Scope};
use super::{worker, ThreadPool};
use crate::sync::{AtomicBool, Mutex, Ordering};

/// A piece of the batch: its place among the pieces and its items.
type Chunk<T> = (usize, Vec<T>);

/// Why a batch stopped early: the first error or panic.
enum Failure<E> {
    Error(E),
    Panic(Box<dyn Any + Send>),
}

/// Chunks handed out and not yet taken, and the helper jobs that may still take them.
struct Fifo<T> {
    chunks: VecDeque<Chunk<T>>,
    /// Helper jobs spawned that have not yet found the FIFO empty.
    helpers: usize,
}

/// The results joined so far and those waiting for their turn.
struct Joined<R> {
    /// The results of every chunk before `next`, in input order. `None` before the first chunk
    /// ends and while a thread appends to it outside the lock.
    front: Option<Vec<R>>,
    next: usize,
    /// Results of chunks that ended before their turn, by place.
    waiting: Vec<Option<Vec<R>>>,
}

impl<R> Joined<R> {
    /// The front and the part whose turn it is, if both are here (`front` is away until the
    /// first chunk ends and while another thread appends to it: that thread looks again once
    /// it puts it back).
    fn take_next(&mut self) -> Option<(Vec<R>, Vec<R>)> {
        let part = self.waiting.get_mut(self.next)?;
        if self.front.is_none() || part.is_none() {
            return None;
        }
        let taken = (self.front.take()?, part.take()?);
        self.next += 1;
        Some(taken)
    }
}

/// Batches shorter than this are cut whole before any chunk goes out (see `Batch::cut`).
const HAND_OUT_EARLY: usize = 1024;

/// The length of the next chunk when `remaining` items are left for `threads` threads.
fn chunk_len(remaining: usize, threads: usize) -> usize {
    (remaining / (2 * threads)).max(1)
}

/// Whether `part` is quick enough to append while holding the lock.
fn short<R>(part: &[R]) -> bool {
    std::mem::size_of_val(part) <= 16 * 1024
}

struct Batch<T, R, E> {
    /// Items the caller expects to cut: the first chunk's vector is made this big.
    len: usize,
    /// The most helper jobs live at once.
    helpers: usize,
    /// How many chunks `len` items make.
    chunks: usize,
    fifo: Mutex<Fifo<T>>,
    joined: Mutex<Joined<R>>,
    /// Set by the first error or panic: no more items start.
    stop: AtomicBool,
    failure: Mutex<Option<Failure<E>>>,
}

impl<T, R, E> Batch<T, R, E> {
    fn new(len: usize, helpers: usize) -> Self {
        let mut chunks = 0;
        let mut remaining = len;
        while remaining > 0 {
            remaining -= chunk_len(remaining, helpers + 1);
            chunks += 1;
        }
        Batch {
            len,
            helpers,
            chunks,
            fifo: Mutex::new(Fifo { chunks: VecDeque::with_capacity(chunks), helpers: 0 }),
            joined: Mutex::new(Joined { front: None, next: 0, waiting: Vec::new() }),
            stop: AtomicBool::new(false),
            failure: Mutex::new(None),
        }
    }

    /// Cuts `items` into chunks and hands them out; `spawn` starts a helper job when one is
    /// wanted. Stops early once the batch has failed.
    fn cut(&self, mut items: impl Iterator<Item = T>, mut spawn: impl FnMut()) {
        // A short batch is cut faster than a worker wakes up: it goes out whole, at the end.
        let early = self.len >= HAND_OUT_EARLY;
        let mut held = Vec::new();
        let mut remaining = self.len;
        let mut place = 0;
        while !self.stopped() {
            let Some(first) = items.next() else { break };
            let len = chunk_len(remaining, self.helpers + 1);
            // The first chunk's vector becomes the result (see the module docs).
            let mut chunk = Vec::with_capacity(if place == 0 { self.len } else { len });
            chunk.push(first);
            chunk.extend(items.by_ref().take(len - 1));
            remaining = remaining.saturating_sub(chunk.len());
            if early {
                (0..self.hand_out([(place, chunk)])).for_each(|_| spawn());
            } else {
                held.push((place, chunk));
            }
            place += 1;
        }
        (0..self.hand_out(held)).for_each(|_| spawn());
    }

    /// Puts `chunks` on the FIFO; returns how many helper jobs to start for them (counted as
    /// live here).
    fn hand_out(&self, chunks: impl IntoIterator<Item = Chunk<T>>) -> usize {
        let mut fifo = self.fifo.lock();
        fifo.chunks.extend(chunks);
        let wanted = self.helpers.saturating_sub(fifo.helpers).min(fifo.chunks.len());
        fifo.helpers += wanted;
        wanted
    }

    /// The next chunk, or `None` when there is none or the batch has failed.
    fn take(fifo: &mut Fifo<T>, stopped: bool) -> Option<Chunk<T>> {
        if stopped {
            None
        } else {
            fifo.chunks.pop_front()
        }
    }

    /// A helper job: maps chunks until the FIFO is empty, then ends.
    fn help(&self, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        loop {
            let chunk = {
                let mut fifo = self.fifo.lock();
                let chunk = Self::take(&mut fifo, self.stopped());
                if chunk.is_none() {
                    fifo.helpers -= 1;
                }
                chunk
            };
            match chunk {
                Some(chunk) => self.map_chunk(chunk, f),
                None => return,
            }
        }
    }

    /// The caller's share, once every chunk is out: maps chunks until none is left.
    fn map_rest(&self, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        loop {
            let chunk = Self::take(&mut self.fifo.lock(), self.stopped());
            match chunk {
                Some(chunk) => self.map_chunk(chunk, f),
                None => return,
            }
        }
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

    fn map_chunk(&self, (place, items): Chunk<T>, f: &(impl Fn(T) -> Result<R, E> + Sync)) {
        let len = items.len();
        let mut error = None;
        // `map_while` over the vector's own iterator lets std write the results in place.
        let ran = panic::catch_unwind(AssertUnwindSafe(|| {
            items
                .into_iter()
                .map_while(|item| {
                    if self.stopped() {
                        return None;
                    }
                    f(item).map_err(|e| error = Some(e)).ok()
                })
                .collect::<Vec<R>>()
        }));
        match (ran, error) {
            (Err(payload), _) => self.fail(Failure::Panic(payload)),
            (Ok(_), Some(e)) => self.fail(Failure::Error(e)),
            (Ok(out), None) if out.len() == len => self.join(place, out),
            // Stopped by another thread's failure: these results are not wanted.
            (Ok(_), None) => {}
        }
    }

    /// Files the results of the chunk at `place`; whoever ends the chunk whose turn it is
    /// appends it and every later one already done.
    fn join(&self, place: usize, mut out: Vec<R>) {
        if place == 0 {
            out.reserve_exact(self.len.saturating_sub(out.len()));
        }
        let mut joined = self.joined.lock();
        let state = &mut *joined;
        match state.front.as_mut() {
            _ if place == 0 => {
                state.front = Some(out);
                state.next = 1;
            }
            // Its turn, and quick to copy: no need to file it first.
            Some(front) if place == state.next && short(&out) => {
                front.append(&mut out);
                state.next += 1;
            }
            _ => {
                if state.waiting.len() <= place {
                    state.waiting.resize_with((place + 1).max(self.chunks), || None);
                }
                state.waiting[place] = Some(out);
            }
        }
        while let Some((mut front, mut part)) = joined.take_next() {
            if short(&part) {
                front.append(&mut part);
            } else {
                // Copied outside the lock, while other threads go on mapping.
                drop(joined);
                front.append(&mut part);
                drop(part);
                joined = self.joined.lock();
            }
            joined.front = Some(front);
        }
    }

    /// The results in input order, once every chunk has been mapped.
    fn into_results(self) -> Vec<R> {
        let joined = self.joined.into_inner();
        debug_assert!(joined.waiting.iter().all(Option::is_none), "a chunk's results were never joined");
        let mut all = joined.front.unwrap_or_default();
        // A first chunk collected in place into a smaller result type has room to spare.
        if all.capacity() > all.len() {
            all.shrink_to_fit();
        }
        all
    }
}

impl ThreadPool {
    /// Maps `f` over `items` in parallel and returns the results in input order. `items` and
    /// `f` may borrow from the caller, and the iterator itself need not be `Send`.
    ///
    /// The calling thread pulls the items and hands them out in chunks, mapping them together
    /// with the pool's workers: early chunks are big (a million tiny items cost a few dozen
    /// hand-offs), later ones shrink to a single item (a batch of uneven items still balances).
    /// When the iterator knows its length (ranges, slices, vectors and their adapters), the
    /// workers start on the first chunks of a long batch while the caller still pulls the rest,
    /// so `f` may run while the iterator is being advanced; an iterator of unknown length is
    /// collected first. No thread is started: the work goes through the pool's queue as scoped
    /// jobs (see [`scope`](Self::scope)), and whatever no worker has picked up the calling
    /// thread maps itself, so a map never waits on the queue: it completes inside one of the
    /// pool's own jobs, on a full or one-worker pool, and after shutdown (on the calling thread
    /// alone).
    ///
    /// # Panics
    ///
    /// If `f` panics, no further items start, and the first panic is re-raised once every
    /// running item has ended. A panic of the iterator is re-raised the same way.
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
        // The caller is one of the threads: with the other workers it makes up the pool's
        // parallelism (more threads than that would only take turns on the cores, and a thread
        // descheduled while holding the last chunk delays the whole batch). A caller from
        // outside a one-worker pool still gets that worker's help.
        let others = if worker::is_worker_of(&self.shared) {
            self.workers() - 1
        } else {
            self.workers().saturating_sub(1).max(1)
        };
        let items = items.into_iter();
        match items.size_hint() {
            (len, Some(upper)) if len == upper => self.map_cut(len, others, items, &f),
            _ => {
                let items: Vec<I::Item> = items.collect();
                self.map_cut(items.len(), others, items.into_iter(), &f)
            }
        }
    }

    /// Maps a batch of about `len` items with up to `others` helper jobs.
    fn map_cut<T, R, E>(
        &self,
        len: usize,
        others: usize,
        items: impl Iterator<Item = T>,
        f: &(impl Fn(T) -> Result<R, E> + Sync),
    ) -> Result<Vec<R>, E>
    where
        T: Send,
        R: Send,
        E: Send,
    {
        let helpers = others.min(len.saturating_sub(1));
        if helpers == 0 {
            // The calling thread alone, in order.
            return items.map(f).collect();
        }
        let batch = Batch::new(len, helpers);
        let scope = Scope::new(&self.shared);
        scope::drive(&scope, || {
            let cut = panic::catch_unwind(AssertUnwindSafe(|| {
                batch.cut(items, || {
                    // Detached: `help` catches every panic of `f` itself.
                    let _helper = scope.spawn(|| batch.help(f));
                });
            }));
            match cut {
                Ok(()) => batch.map_rest(f),
                Err(payload) => batch.fail(Failure::Panic(payload)),
            }
        });
        let failure = batch.failure.lock().take();
        match failure {
            Some(Failure::Panic(payload)) => panic::resume_unwind(payload),
            Some(Failure::Error(e)) => Err(e),
            None => Ok(batch.into_results()),
        }
    }
}
