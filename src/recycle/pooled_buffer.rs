//! `PooledBuffer`: a checked-out buffer, and what happens when it comes back.

use super::idle::{with_own_slot, Node, SHRINK_AFTER};
use crate::sync::{Arc, Ordering};
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};

/// A buffer from a [`BufferPool`](crate::BufferPool). Dereferences to `Vec<u8>` and implements
/// [`io::Write`]; goes back to its pool when dropped, on any thread.
///
/// On return the pool drops the buffer if its capacity left the configured range, wipes the
/// written bytes if `zero_on_return` is set, empties it, and shrinks it if it has stayed
/// under-used (see [`BufferPool`](crate::BufferPool)).
///
/// ```
/// use std::io::Write;
///
/// let pool = boundpool::BufferPool::new();
/// let mut buf = pool.get();
/// buf.write_all(b"abc")?;
/// buf.push(b'd'); // any Vec<u8> method
/// assert_eq!(buf.as_slice(), b"abcd");
/// std::thread::spawn(move || drop(buf)).join().unwrap(); // returned from another thread
/// assert_eq!(pool.stats().retained, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct PooledBuffer {
    /// `None` only after `detach`. Its `home` is the slot of the thread that got it, where it
    /// goes back.
    node: Option<Box<Node>>,
}

impl PooledBuffer {
    pub(crate) fn new(node: Box<Node>) -> Self {
        PooledBuffer { node: Some(node) }
    }

    /// Keeps the buffer for good: it is never returned to the pool and does not count as
    /// discarded.
    ///
    /// ```
    /// let pool = boundpool::BufferPool::new();
    /// let mut buf = pool.get();
    /// buf.extend_from_slice(b"kept");
    /// let owned: Vec<u8> = buf.detach();
    /// assert_eq!(owned, b"kept");
    /// assert_eq!(pool.stats().retained, 0);
    /// ```
    pub fn detach(mut self) -> Vec<u8> {
        match self.node.take() {
            Some(node) => node.buf,
            None => Vec::new(),
        }
    }

    #[inline]
    fn node(&self) -> &Node {
        self.node.as_deref().expect("a PooledBuffer holds its buffer until dropped or detached")
    }

    #[inline]
    fn node_mut(&mut self) -> &mut Node {
        self.node.as_deref_mut().expect("a PooledBuffer holds its buffer until dropped or detached")
    }
}

impl Deref for PooledBuffer {
    type Target = Vec<u8>;

    #[inline]
    fn deref(&self) -> &Vec<u8> {
        &self.node().buf
    }
}

impl DerefMut for PooledBuffer {
    #[inline]
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.node_mut().buf
    }
}

impl AsRef<[u8]> for PooledBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.node().buf
    }
}

impl io::Write for PooledBuffer {
    #[inline]
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.node_mut().buf.extend_from_slice(data);
        Ok(data.len())
    }

    #[inline]
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.node_mut().buf.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (len, capacity) = self.node.as_deref().map_or((0, 0), |n| (n.buf.len(), n.buf.capacity()));
        f.debug_struct("PooledBuffer").field("len", &len).field("capacity", &capacity).finish()
    }
}

impl Drop for PooledBuffer {
    #[inline]
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            give_back(node);
        }
    }
}

/// The return path: check the capacity, wipe, empty, maybe shrink, then keep.
#[inline]
fn give_back(mut node: Box<Node>) {
    let Some(home) = node.home.as_ref() else {
        return; // every buffer handed out has a home; without one there is nowhere to go
    };
    let core = &home.core;
    let config = &home.config;
    let capacity = node.buf.capacity();
    if capacity > config.max_buffer_capacity || capacity < config.buffer_capacity {
        // ORDERING: a statistic; Relaxed.
        core.discarded.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let used = node.buf.len();
    if config.zero_on_return {
        node.buf.fill(0);
    }
    node.buf.clear();
    if capacity > config.buffer_capacity && used < capacity / 4 {
        node.strikes += 1;
        if node.strikes >= SHRINK_AFTER {
            node.buf.shrink_to(config.buffer_capacity);
            node.strikes = 0;
            // ORDERING: a statistic; Relaxed.
            core.shrunk.fetch_add(1, Ordering::Relaxed);
        }
    } else {
        node.strikes = 0;
    }
    let home = Arc::as_ptr(home);
    let mut node = Some(node);
    with_own_slot(
        |s| Arc::as_ptr(s) == home,
        |mine| {
            // On the thread that got it, the buffer goes back into that thread's cell still
            // holding its `home` reference: no reference count changes.
            if let Some(mine) = mine {
                if let Some(node) = node.take() {
                    mine.put(node);
                }
            }
        },
    );
    // On another thread (or one that is exiting), it goes home without the reference, which
    // the next `get` there takes again.
    if let Some(mut node) = node {
        if let Some(home) = node.home.take() {
            home.put(node);
        }
    }
}
