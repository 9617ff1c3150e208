//! Building a pool: settings, their defaults, thread names and every typed build error.

mod common;

use std::error::Error;
use std::sync::{Arc, Barrier};

use boundpool::{Builder, ThreadPool, DEFAULT_QUEUE_PER_WORKER};
use common::{assert_no_threads_named, bounded, threads_named};

#[test]
fn zero_workers_is_a_build_error_with_a_message() {
    for err in [ThreadPool::new(0).unwrap_err(), ThreadPool::builder().workers(0).build().unwrap_err()] {
        assert_eq!(err.to_string(), "a pool needs at least one worker: set workers to 1 or more");
        assert!(!err.is_spawn_failure());
        assert!(err.source().is_none());
        assert!(format!("{err:?}").contains("at least one worker"));
    }
}

#[test]
fn zero_queue_capacity_is_a_build_error() {
    let err = ThreadPool::builder().workers(1).queue_capacity(0).build().unwrap_err();
    assert!(err.to_string().contains("queue_capacity"), "{err}");
    assert!(!err.is_spawn_failure());
    assert!(err.source().is_none());
}

#[test]
fn a_queue_capacity_beyond_what_the_pool_can_count_is_a_build_error() {
    let err = ThreadPool::builder().workers(1).queue_capacity(usize::MAX).build().unwrap_err();
    assert!(err.to_string().contains("queue_capacity"), "{err}");
    assert!(!err.is_spawn_failure());
}

#[test]
fn a_worker_thread_that_cannot_start_is_a_spawn_failure_with_the_io_error_as_source() {
    let prefix = "bspawnf";
    let err = bounded(30, move || {
        ThreadPool::builder().workers(2).thread_name(prefix).stack_size(1 << 46).build().unwrap_err()
    });
    assert!(err.is_spawn_failure(), "{err:?}");
    assert_eq!(err.to_string(), "could not start worker thread 0");
    let source = err.source().expect("the io::Error is the source");
    assert!(source.downcast_ref::<std::io::Error>().is_some(), "source is {source:?}");
    assert_no_threads_named(prefix);
}

#[test]
fn worker_threads_are_named_prefix_dash_index() {
    let prefix = "bnames";
    bounded(30, move || {
        let workers = 3;
        let pool = ThreadPool::builder().workers(workers).thread_name(prefix).build().unwrap();
        // Hold every worker inside a job at once: each has started and named itself.
        let barrier = Arc::new(Barrier::new(workers + 1));
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let barrier = barrier.clone();
                pool.spawn(move || {
                    barrier.wait();
                    std::thread::current().name().map(str::to_owned)
                })
                .unwrap()
            })
            .collect();
        barrier.wait();
        assert_eq!(threads_named(prefix), ["bnames-0", "bnames-1", "bnames-2"]);
        let mut seen: Vec<String> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
        seen.sort();
        assert_eq!(seen, ["bnames-0", "bnames-1", "bnames-2"]);
        pool.shutdown();
        assert_no_threads_named(prefix);
    });
}

#[test]
fn the_default_thread_name_is_boundpool() {
    assert_eq!(boundpool::DEFAULT_THREAD_NAME, "boundpool");
    let name = bounded(30, || {
        let pool = ThreadPool::new(1).unwrap();
        pool.spawn(|| std::thread::current().name().map(str::to_owned)).unwrap().join().unwrap()
    });
    assert_eq!(name.as_deref(), Some("boundpool-0"));
}

#[test]
fn default_workers_is_the_cpu_count_and_default_capacity_is_256_per_worker() {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let pool = ThreadPool::builder().build().unwrap();
    assert_eq!(pool.workers(), cpus);
    assert_eq!(DEFAULT_QUEUE_PER_WORKER, 256);
    assert_eq!(pool.queue_capacity(), 256 * cpus);
    assert_eq!(pool.stats().workers, cpus);
    bounded(30, move || drop(pool));
}

#[test]
fn new_uses_the_default_capacity_and_the_builder_settings_are_reported() {
    let pool = ThreadPool::new(3).unwrap();
    assert_eq!((pool.workers(), pool.queue_capacity()), (3, 768));
    bounded(30, move || drop(pool));

    let pool = ThreadPool::builder().workers(2).queue_capacity(7).stack_size(256 * 1024).build().unwrap();
    assert_eq!((pool.workers(), pool.queue_capacity()), (2, 7));
    let debug = format!("{pool:?}");
    assert!(debug.contains("workers: 2") && debug.contains("queue_capacity: 7"), "{debug}");
    let stats = pool.stats();
    assert_eq!((stats.workers, stats.running, stats.queued, stats.submitted), (2, 0, 0, 0));
    bounded(30, move || drop(pool));
}

#[test]
fn a_small_stack_size_still_runs_jobs() {
    let value = bounded(30, || {
        let pool = ThreadPool::builder().workers(1).stack_size(64 * 1024).build().unwrap();
        pool.spawn(|| (1..=100u64).sum::<u64>()).unwrap().join().unwrap()
    });
    assert_eq!(value, 5050);
}

#[test]
fn a_thread_name_with_a_nul_byte_is_a_build_error_naming_the_setter() {
    for name in ["bad\0name", "\0", "trailing\0"] {
        let err = ThreadPool::builder().workers(1).thread_name(name).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "thread_name contains a NUL byte, which a thread name cannot hold: remove it from the prefix"
        );
        assert!(!err.is_spawn_failure());
        assert!(err.source().is_none());
    }
}

#[test]
fn a_worker_count_above_the_maximum_is_a_build_error_before_anything_is_allocated() {
    for n in [Builder::MAX_WORKERS + 1, 100_000, 1_000_000_000, usize::MAX / 2, usize::MAX] {
        let err = ThreadPool::builder().workers(n).build().unwrap_err();
        assert_eq!(err.to_string(), "workers is too large: use at most 8192 (Builder::MAX_WORKERS)");
        assert!(!err.is_spawn_failure());
        assert!(ThreadPool::new(n).is_err());
    }
}

#[test]
fn the_largest_worker_count_builds_and_shuts_down() {
    let prefix = "bmaxw";
    bounded(120, move || {
        match ThreadPool::builder()
            .workers(Builder::MAX_WORKERS)
            .queue_capacity(1)
            .thread_name(prefix)
            .build()
        {
            Ok(pool) => {
                assert_eq!(pool.stats().workers, Builder::MAX_WORKERS);
                assert_eq!(pool.spawn(|| 7).unwrap().join().unwrap(), 7);
                pool.shutdown();
            }
            // A machine (or a container's pids limit) with fewer threads to give fails
            // cleanly with the operating system's error, never by aborting.
            Err(err) => assert!(err.is_spawn_failure(), "{err:?}"),
        }
    });
    assert_no_threads_named(prefix);
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
