//! Recyclers: [`BufferPool`] for byte buffers and [`ObjectPool`] for anything costly to make.
//!
//! - `buffer.rs`: the buffer pool, its builder and its counters.
//! - `pooled_buffer.rs`: a checked-out buffer and its return path.
//! - `idle.rs`: where idle buffers wait: per-thread cells, the shared queue, retention credits.
//! - `object.rs`: the bounded object pool, its builder and `Pooled`.
//! - `waiters.rs`: the FIFO queue of blocked `ObjectPool::get` calls and the hand-off to them.

mod buffer;
mod idle;
mod object;
mod pooled_buffer;
mod waiters;

#[cfg(loom)]
pub use self::buffer::BufferPoolProbe;
pub use self::buffer::{BufferPool, BufferPoolBuilder, BufferStats};
pub use self::object::{ObjectPool, ObjectPoolBuilder, Pooled};
pub use self::pooled_buffer::PooledBuffer;
