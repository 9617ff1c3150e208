//! `BufferPool`: recycled byte buffers, like Go's `sync.Pool`, with retention always bounded.

use super::idle::{remember_own_slot, with_own_slot, Config, Core, Node, Slot, SlotRef};
use super::pooled_buffer::PooledBuffer;
use crate::error::BuildError;
use crate::sync::{Arc, Ordering, PerThread};
use std::fmt;

/// Default capacity of a fresh buffer: 8 KiB, the size of `std::io::BufWriter`'s buffer.
pub(crate) const DEFAULT_BUFFER_CAPACITY: usize = 8 * 1024;
/// Default largest capacity a returned buffer may have and still be kept: 256 KiB.
pub(crate) const DEFAULT_MAX_BUFFER_CAPACITY: usize = 256 * 1024;
/// Default bound on idle buffers held, over all threads: 64.
pub(crate) const DEFAULT_MAX_RETAINED: usize = 64;

/// A pool of reusable `Vec<u8>` buffers that never blocks and keeps a bounded number idle.
///
/// [`get`](Self::get) hands out a [`PooledBuffer`]: empty (`len() == 0`), with at least the
/// configured capacity. Dropping it gives the buffer back, on whichever thread that happens;
/// [`PooledBuffer::detach`] keeps it for good.
///
/// # How it is fast
///
/// Every thread that uses the pool gets a private slot that holds one idle buffer, the way
/// `sync.Pool` gives each processor a private object. A thread that gets a buffer and drops it
/// again touches no lock, changes no reference count and writes no memory another thread
/// writes: one atomic swap to take the buffer, one to put it back. Those two swaps are the
/// least any cache can cost that `trim` may empty from another thread at any moment. A buffer
/// dropped on another thread goes back to the slot of the thread that got it; what does not fit
/// there goes to a shared bounded queue that every thread's `get` looks in before allocating.
///
/// Dropping the pool frees every idle buffer; buffers still out are freed when they are
/// dropped.
///
/// # What it keeps
///
/// - At most [`max_retained`](BufferPoolBuilder::max_retained) idle buffers in total, private
///   slots included (default 64). Each thread's slot reserves one of those
///   places when the thread first calls `get`; once all are reserved or used, further threads
///   share the queue only.
/// - Only buffers whose capacity is between
///   [`buffer_capacity`](BufferPoolBuilder::buffer_capacity) (default
///   8 KiB) and
///   [`max_buffer_capacity`](BufferPoolBuilder::max_buffer_capacity) (default
///   256 KiB). A buffer that grew past the maximum is dropped on return
///   and counted as [`discarded`](BufferStats::discarded), so one huge message cannot pin a huge
///   buffer for a stream of small ones.
/// - **Shrinking:** a buffer that grew past `buffer_capacity` but comes back less than a quarter
///   full eight times in a row is shrunk back to `buffer_capacity` (counted in
///   [`shrunk`](BufferStats::shrunk)). A workload that really needs large buffers keeps them; one
///   that needed a large buffer once stops paying for it.
/// - [`trim`](Self::trim) drops every idle buffer, in every thread's slot too.
///
/// ```
/// use boundpool::BufferPool;
/// use std::io::Write;
///
/// let pool = BufferPool::new();
/// let mut buf = pool.get();
/// write!(buf, "hello {}", 42)?;
/// assert_eq!(&buf[..], b"hello 42");
/// drop(buf); // back to the pool
///
/// let again = pool.get(); // the same allocation, emptied
/// assert!(again.is_empty());
/// assert_eq!(pool.stats().hits, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct BufferPool {
    core: Arc<Core>,
    slots: Slots,
    name: String,
    /// Publishes the pool's figures while it lives.
    #[cfg(feature = "metrics")]
    _metrics: super::buffer_metrics::Published,
}

/// The per-thread slots; shared with the metrics publisher when there is one.
#[cfg(not(feature = "metrics"))]
pub(crate) type Slots = PerThread<SlotRef>;
#[cfg(feature = "metrics")]
pub(crate) type Slots = Arc<PerThread<SlotRef>>;

/// The default name of a buffer pool.
const DEFAULT_NAME: &str = "boundpool-buffers";

impl BufferPool {
    /// A pool with the default settings: fresh buffers of 8 KiB,
    /// buffers above 256 KiB not kept, at most
    /// 64 idle buffers, no wiping.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::new();
    /// assert!(pool.get().capacity() >= 8 * 1024);
    /// ```
    pub fn new() -> BufferPool {
        BufferPool::builder().build()
    }

    /// A builder to choose the settings.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder()
    ///     .buffer_capacity(64 * 1024)
    ///     .max_buffer_capacity(1024 * 1024)
    ///     .max_retained(16)
    ///     .zero_on_return(true)
    ///     .build();
    /// assert!(pool.get().capacity() >= 64 * 1024);
    /// ```
    pub fn builder() -> BufferPoolBuilder {
        BufferPoolBuilder::default()
    }

    /// An empty buffer with at least the configured capacity. Never blocks, never fails: it
    /// reuses an idle buffer (a *hit*) or allocates a new one (a *miss*).
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder().buffer_capacity(1024).build();
    /// let mut buf = pool.get();
    /// assert!(buf.is_empty() && buf.capacity() >= 1024);
    /// buf.extend_from_slice(b"payload");
    /// ```
    #[inline]
    pub fn get(&self) -> PooledBuffer {
        let pool = Arc::as_ptr(&self.core);
        let node = with_own_slot(|s| Arc::as_ptr(&s.core) == pool, |mine| mine.map(Slot::get));
        PooledBuffer::new(node.flatten().unwrap_or_else(|| self.get_first()))
    }

    /// `get` on a thread that has not used this pool yet (or whose slot came from an exited
    /// thread): finds or makes its slot and records it for the fast path.
    #[cold]
    #[inline(never)]
    fn get_first(&self) -> Box<Node> {
        let slot = self.slots.with(|| Slot::new(&self.core), Arc::clone);
        remember_own_slot(&slot);
        Slot::get(&slot)
    }

    /// Drops every idle buffer the pool holds: each thread's private one and the shared ones.
    /// Buffers checked out at the time are not affected and come back as usual.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::new();
    /// drop((pool.get(), pool.get()));
    /// assert_eq!(pool.stats().retained, 2);
    /// pool.trim();
    /// assert_eq!(pool.stats().retained, 0);
    /// ```
    pub fn trim(&self) {
        self.slots.for_each(|slot| slot.clear());
        self.core.drain_shared();
    }

    /// A snapshot of the pool's counters. Counting the idle buffers briefly borrows each
    /// thread's private buffer, so a `get` racing with `stats` may allocate instead.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::new();
    /// let buf = pool.get(); // miss: the pool was empty
    /// drop(buf);
    /// let _buf = pool.get(); // hit
    /// let stats = pool.stats();
    /// assert_eq!((stats.hits, stats.misses, stats.retained), (1, 1, 0));
    /// ```
    pub fn stats(&self) -> BufferStats {
        stats_of(&self.core, &self.slots)
    }

    /// The pool's [`name`](BufferPoolBuilder::name) (default `"boundpool-buffers"`).
    ///
    /// ```
    /// assert_eq!(boundpool::BufferPool::builder().name("frames").build().name(), "frames");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The figures of the pool made of `core` and `slots`.
pub(crate) fn stats_of(core: &Core, slots: &PerThread<SlotRef>) -> BufferStats {
    let mut stats = BufferStats {
        retained: core.shared_len(),
        // ORDERING: statistics; Relaxed.
        discarded: core.discarded.load(Ordering::Relaxed),
        overflowed: core.overflowed.load(Ordering::Relaxed),
        shrunk: core.shrunk.load(Ordering::Relaxed),
        ..BufferStats::default()
    };
    slots.for_each(|slot| {
        stats.hits += slot.hits();
        stats.misses += slot.misses();
        stats.retained += usize::from(slot.holds_buffer());
    });
    stats
}

/// For models: tells whether everything a dropped pool held has been freed.
#[cfg(loom)]
#[derive(Debug)]
pub struct BufferPoolProbe(crate::sync::Weak<Core>);

#[cfg(loom)]
impl BufferPoolProbe {
    /// A probe of `pool`.
    pub fn new(pool: &BufferPool) -> Self {
        BufferPoolProbe(Arc::downgrade(&pool.core))
    }

    /// Whether the pool's core is gone: every slot, every idle buffer and every buffer that
    /// referred to it has been freed.
    pub fn freed(&self) -> bool {
        self.0.upgrade().is_none()
    }
}

impl Drop for BufferPool {
    /// Frees every idle buffer. Buffers still out are freed when they are dropped.
    fn drop(&mut self) {
        self.core.kill();
        self.slots.for_each(|slot| slot.kill());
    }
}

impl Default for BufferPool {
    /// Same as [`BufferPool::new`].
    ///
    /// ```
    /// let pool = boundpool::BufferPool::default();
    /// assert_eq!(pool.stats().retained, 0);
    /// ```
    fn default() -> Self {
        BufferPool::new()
    }
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.core.config;
        f.debug_struct("BufferPool")
            .field("name", &self.name)
            .field("buffer_capacity", &c.buffer_capacity)
            .field("max_buffer_capacity", &c.max_buffer_capacity)
            .field("max_retained", &c.max_retained)
            .field("zero_on_return", &c.zero_on_return)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`BufferPool`]; start from [`BufferPool::builder`].
///
/// `max_retained(0)` makes a pool that keeps nothing, which switches pooling off without
/// changing the calling code. Two settings are refused, by a [`BuildError`] from
/// [`try_build`](Self::try_build) and a panic from [`build`](Self::build), each naming the fix:
/// a `buffer_capacity` above [`MAX_BUFFER_CAPACITY`](Self::MAX_BUFFER_CAPACITY), and a
/// `max_buffer_capacity` below `buffer_capacity` (a pool that could never keep a buffer)
/// unless `max_retained` is 0.
///
/// ```
/// use boundpool::BufferPool;
///
/// let pool = BufferPool::builder().buffer_capacity(4096).max_retained(8).build();
/// assert!(pool.get().capacity() >= 4096);
/// ```
#[derive(Debug, Clone)]
pub struct BufferPoolBuilder {
    config: Config,
    name: Option<String>,
}

impl Default for BufferPoolBuilder {
    /// The defaults of [`BufferPool::new`].
    ///
    /// ```
    /// let pool = boundpool::BufferPoolBuilder::default().build();
    /// assert!(pool.get().capacity() >= 8 * 1024);
    /// ```
    fn default() -> Self {
        BufferPoolBuilder {
            config: Config {
                buffer_capacity: DEFAULT_BUFFER_CAPACITY,
                max_buffer_capacity: DEFAULT_MAX_BUFFER_CAPACITY,
                max_retained: DEFAULT_MAX_RETAINED,
                zero_on_return: false,
            },
            name: None,
        }
    }
}

impl BufferPoolBuilder {
    /// The pool's name (default `"boundpool-buffers"`): in `Debug`, [`BufferPool::name`] and,
    /// with the `metrics` feature, the label `pool` of its metrics.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder().name("frames").build();
    /// assert_eq!(pool.name(), "frames");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The largest [`buffer_capacity`](Self::buffer_capacity) a pool accepts: 1 GiB.
    ///
    /// Every miss allocates a fresh buffer of that capacity, so a capacity the allocator
    /// cannot serve would abort the process (or panic with "capacity overflow") at the first
    /// [`get`](BufferPool::get), far from the setting that caused it; the builder refuses it
    /// instead. 1 GiB is far above what a recycler of I/O buffers serves (the default is
    /// 8 KiB), and a handful of such buffers, the most a busy pool holds at once, still fits
    /// in the memory of a small server; a buffer that large is better allocated once and kept.
    ///
    /// ```
    /// use boundpool::{BufferPool, BufferPoolBuilder};
    ///
    /// let err = BufferPool::builder()
    ///     .buffer_capacity(BufferPoolBuilder::MAX_BUFFER_CAPACITY + 1)
    ///     .try_build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("buffer_capacity"));
    /// ```
    pub const MAX_BUFFER_CAPACITY: usize = 1 << 30;

    /// Capacity of a fresh buffer, in bytes (default 8 KiB, at most
    /// [`MAX_BUFFER_CAPACITY`](Self::MAX_BUFFER_CAPACITY)). A returned
    /// buffer whose capacity fell below it (say after `shrink_to_fit`) is not kept.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder().buffer_capacity(100).build();
    /// assert!(pool.get().capacity() >= 100);
    /// ```
    pub fn buffer_capacity(mut self, bytes: usize) -> Self {
        self.config.buffer_capacity = bytes;
        self
    }

    /// Largest capacity, in bytes, of a buffer the pool keeps on return (default
    /// 256 KiB); larger ones are dropped and counted as
    /// [`discarded`](BufferStats::discarded).
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder().buffer_capacity(16).max_buffer_capacity(64).build();
    /// let mut buf = pool.get();
    /// buf.extend_from_slice(&[0; 1000]); // grows past 64
    /// drop(buf);
    /// assert_eq!(pool.stats().discarded, 1);
    /// ```
    pub fn max_buffer_capacity(mut self, bytes: usize) -> Self {
        self.config.max_buffer_capacity = bytes;
        self
    }

    /// Bound on the idle buffers held, over every thread (default 64).
    /// Returns beyond it drop the buffer and count it as
    /// [`overflowed`](BufferStats::overflowed).
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder().max_retained(1).build();
    /// drop((pool.get(), pool.get()));
    /// let stats = pool.stats();
    /// assert_eq!((stats.retained, stats.overflowed), (1, 1));
    /// ```
    pub fn max_retained(mut self, buffers: usize) -> Self {
        self.config.max_retained = buffers;
        self
    }

    /// Wipe each returned buffer before anyone can get it again (default off). Only the bytes
    /// written (`0..len()` at return) are zeroed, so the cost follows what was used, not the
    /// capacity. Bytes beyond `len()` (left by `truncate` or `clear`) cannot be read without
    /// `unsafe` code and are not wiped.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder().zero_on_return(true).build();
    /// let mut buf = pool.get();
    /// buf.extend_from_slice(b"secret");
    /// drop(buf);
    /// assert!(pool.get().is_empty());
    /// ```
    pub fn zero_on_return(mut self, yes: bool) -> Self {
        self.config.zero_on_return = yes;
        self
    }

    /// Builds the pool.
    ///
    /// # Panics
    ///
    /// On the settings [`try_build`](Self::try_build) refuses, with its error's message, which
    /// names the setting to change: a `buffer_capacity` above
    /// [`MAX_BUFFER_CAPACITY`](Self::MAX_BUFFER_CAPACITY), or a `max_buffer_capacity` below
    /// `buffer_capacity` while `max_retained` is not 0. Use `try_build` to get the error
    /// instead.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::builder().max_retained(4).build();
    /// drop(pool.get());
    /// ```
    ///
    /// ```should_panic
    /// // panics: "max_buffer_capacity is below buffer_capacity, ..."
    /// let pool = boundpool::BufferPool::builder().buffer_capacity(4096).max_buffer_capacity(1024).build();
    /// ```
    #[track_caller]
    pub fn build(self) -> BufferPool {
        match self.try_build() {
            Ok(pool) => pool,
            Err(e) => panic!("boundpool: BufferPoolBuilder::build: {e}"),
        }
    }

    /// Builds the pool, refusing settings that would abort the process or under which it
    /// could never keep a buffer although `max_retained` says it should.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] when `buffer_capacity` is above
    /// [`MAX_BUFFER_CAPACITY`](Self::MAX_BUFFER_CAPACITY), or when `max_buffer_capacity` is
    /// below `buffer_capacity` and `max_retained` is not 0.
    ///
    /// ```
    /// let err = boundpool::BufferPool::builder()
    ///     .buffer_capacity(4096)
    ///     .max_buffer_capacity(1024)
    ///     .try_build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("max_buffer_capacity"));
    /// ```
    pub fn try_build(self) -> Result<BufferPool, BuildError> {
        let c = &self.config;
        if c.buffer_capacity > Self::MAX_BUFFER_CAPACITY {
            return Err(BuildError::invalid(
                "buffer_capacity is too large: use at most 1 GiB (BufferPoolBuilder::MAX_BUFFER_CAPACITY)",
            ));
        }
        if c.max_retained > 0 && c.max_buffer_capacity < c.buffer_capacity {
            return Err(BuildError::invalid(
                "max_buffer_capacity is below buffer_capacity, so no buffer could ever be kept: \
                 raise max_buffer_capacity to at least buffer_capacity",
            ));
        }
        let core = Arc::new(Core::new(self.config));
        let name = self.name.unwrap_or_else(|| DEFAULT_NAME.to_owned());
        #[cfg(not(feature = "metrics"))]
        let slots = PerThread::new();
        #[cfg(feature = "metrics")]
        let slots = Arc::new(PerThread::new());
        Ok(BufferPool {
            #[cfg(feature = "metrics")]
            _metrics: super::buffer_metrics::Published::start(&core, &slots, name.clone()),
            name,
            core,
            slots,
        })
    }
}

/// Counters of a [`BufferPool`], from [`BufferPool::stats`].
///
/// ```
/// let pool = boundpool::BufferPool::new();
/// drop(pool.get());
/// let s = pool.stats();
/// assert_eq!((s.hits, s.misses, s.retained, s.discarded), (0, 1, 1, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferStats {
    /// `get` calls served with an idle buffer.
    pub hits: u64,
    /// `get` calls that allocated a new buffer.
    pub misses: u64,
    /// Idle buffers held now. Exact while no other thread uses the pool; while others get
    /// and return buffers, one that moves between a thread's slot and the shared queue during
    /// the count may be counted twice or missed, so the figure can briefly read above
    /// `max_retained`, which the pool itself never exceeds.
    pub retained: usize,
    /// Returned buffers dropped because their capacity was above `max_buffer_capacity` or
    /// below `buffer_capacity`.
    pub discarded: u64,
    /// Returned buffers dropped because `max_retained` idle buffers were already held.
    pub overflowed: u64,
    /// Returned buffers shrunk back to `buffer_capacity` after staying under-used.
    pub shrunk: u64,
}
