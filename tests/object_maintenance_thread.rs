//! The maintenance thread is one per process, whatever the number of pools, and runs only
//! while some live pool needs it. Alone in its file: no other test's pools are alive here.

use boundpool::{maintenance_threads, ObjectPool};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not reached in 10 s");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn at_most_one_maintenance_thread_and_none_once_no_pool_needs_it() {
    assert_eq!(maintenance_threads(), 0, "no pool yet");
    let plain = ObjectPool::builder(|| Ok::<_, String>(0u8)).build().unwrap();
    drop(plain.get().unwrap());
    // With the `metrics` feature every pool publishes from that thread.
    #[cfg(not(feature = "metrics"))]
    assert_eq!(maintenance_threads(), 0, "a pool without expiry or min_idle needs no thread");

    let done = Arc::new(AtomicBool::new(false));
    let watcher = thread::spawn({
        let done = Arc::clone(&done);
        move || {
            let mut peak = 0;
            while !done.load(Ordering::SeqCst) {
                peak = peak.max(maintenance_threads());
                thread::yield_now();
            }
            peak
        }
    });
    // Eight threads, each building and dropping pools that need the thread, for several rounds:
    // the thread starts and stops many times, never two at once.
    let builders = 8;
    let start = Arc::new(Barrier::new(builders));
    let handles: Vec<_> = (0..builders)
        .map(|i| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                for round in 0..50 {
                    let pool = ObjectPool::builder(|| Ok::<_, String>(0u8))
                        .idle_timeout(Duration::from_millis(1 + (i + round) as u64 % 3))
                        .min_idle(usize::from(round % 2 == 0))
                        .build()
                        .unwrap();
                    drop(pool.get().unwrap());
                    if round % 10 == 0 {
                        thread::sleep(Duration::from_millis(3));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let many: Vec<_> = (0..100)
        .map(|_| {
            ObjectPool::builder(|| Ok::<_, String>(0u8)).max_lifetime(Duration::from_secs(1)).build().unwrap()
        })
        .collect();
    wait_for("the thread runs for the hundred pools", || maintenance_threads() == 1);
    drop(plain);
    drop(many);
    wait_for("the thread exits with the last pool", || maintenance_threads() == 0);
    done.store(true, Ordering::SeqCst);
    assert_eq!(watcher.join().unwrap(), 1, "peak count of maintenance threads");
}
