//! ThreadPool.
