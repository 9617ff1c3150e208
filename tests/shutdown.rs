//! Shutdown: graceful drain and join, drop, timeouts, shutdown_now handing jobs back, blocked
//! submitters released, final stats, and shutdown racing several submitting threads.

mod common;

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

use boundpool::{JobHandle, PendingJob, SubmitTimeoutError, ThreadPool, TrySubmitError};
use common::{assert_no_threads_named, block_one_worker, bounded, threads_named, wait_until};

const WAIT: Duration = Duration::from_secs(10);

fn counting_pool(prefix: &str, workers: usize, capacity: usize) -> ThreadPool {
    ThreadPool::builder().workers(workers).queue_capacity(capacity).thread_name(prefix).build().unwrap()
}

/// Queues `jobs` jobs that each add one to `ran`.
fn execute_counted(pool: &ThreadPool, jobs: usize, ran: &Arc<AtomicU64>) {
    for _ in 0..jobs {
        let ran = ran.clone();
        pool.execute(move || {
            ran.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
}

#[test]
fn shutdown_runs_every_queued_job_and_joins_every_thread() {
    let prefix = "sdrain";
    bounded(60, move || {
        let pool = Arc::new(counting_pool(prefix, 2, 100));
        // Each worker names itself as it starts.
        wait_until(10, "both workers are named", || threads_named(prefix).len() == 2);
        let gate_a = block_one_worker(&pool);
        let gate_b = block_one_worker(&pool);
        let ran = Arc::new(AtomicU64::new(0));
        execute_counted(&pool, 100, &ran);
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown())
        };
        // Release the workers only once intake has stopped: the queued jobs run after the close.
        wait_until(10, "shutdown has started", || pool.is_shutdown());
        assert!(pool.execute(|| ()).is_err());
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        gate_a.open();
        gate_b.open();
        let report = stopper.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 100);
        assert_eq!((report.completed, report.panicked, report.cancelled), (102, 0, 0));
        assert_eq!((report.submitted, report.rejected), (102, 1));
        assert_no_threads_named(prefix);
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.running, stats.queued), (0, 0, 0));
    });
}

#[test]
fn drop_runs_every_queued_job_and_joins_every_thread() {
    let prefix = "sdrop";
    bounded(60, move || {
        let pool = counting_pool(prefix, 2, 64);
        let ran = Arc::new(AtomicU64::new(0));
        execute_counted(&pool, 64, &ran);
        drop(pool);
        assert_eq!(ran.load(Ordering::SeqCst), 64);
        assert_no_threads_named(prefix);
    });
}

#[test]
fn shutdown_is_idempotent() {
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..10 {
            pool.execute(|| ()).unwrap();
        }
        let first = pool.shutdown();
        let second = pool.shutdown();
        assert_eq!(first, second);
        assert_eq!(first.completed, 10);
        assert_eq!(pool.shutdown_timeout(Duration::ZERO).unwrap(), first);
        assert!(pool.shutdown_now().is_empty());
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.submitted, stats.completed), (0, 10, 10));
    });
}

/// Counts a thread's end when the thread is torn down: after its last code ran, before a
/// join of it returns.
struct CountsItsEnd(Arc<AtomicU64>);

impl Drop for CountsItsEnd {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static END: std::cell::RefCell<Option<CountsItsEnd>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn concurrent_shutdowns_all_return_after_every_thread_is_joined() {
    bounded(60, move || {
        // A worker's thread-local guard is dropped as its thread ends, and a join returns only
        // after that; so a shutdown that returns before joining every thread sees fewer ends.
        // (The kernel may list a joined thread a moment longer, so names would not tell.)
        let ended = Arc::new(AtomicU64::new(0));
        let counter = ended.clone();
        let pool = ThreadPool::builder()
            .workers(2)
            .queue_capacity(8)
            .on_thread_start(move |_| END.with(|end| *end.borrow_mut() = Some(CountsItsEnd(counter.clone()))))
            .build()
            .unwrap();
        let gate = block_one_worker(&pool);
        for _ in 0..8 {
            pool.execute(|| ()).unwrap();
        }
        let reports = thread::scope(|s| {
            let stoppers: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        let report = pool.shutdown();
                        (report, ended.load(Ordering::SeqCst))
                    })
                })
                .collect();
            wait_until(10, "shutdown has started", || pool.is_shutdown());
            gate.open();
            stoppers.into_iter().map(|t| t.join().unwrap()).collect::<Vec<_>>()
        });
        for (report, ended) in reports {
            assert_eq!(report.completed, 9);
            assert_eq!(ended, 2, "a shutdown returned before every worker thread ended");
        }
    });
}

#[test]
fn shutdown_timeout_reports_busy_workers_and_a_later_drop_joins_them() {
    let prefix = "stime";
    bounded(60, move || {
        let pool = counting_pool(prefix, 2, 8);
        let gate = block_one_worker(&pool);
        let queued = pool.spawn(|| "queued").unwrap();
        let err = pool.shutdown_timeout(Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.busy_workers(), 1);
        assert_eq!(err.to_string(), "shutdown timed out with 1 worker(s) still busy");
        // The timed-out shutdown stopped intake, and killed nothing.
        assert!(pool.is_shutdown());
        assert!(pool.execute(|| ()).is_err());
        // The idle worker exits; the busy one lives on.
        wait_until(10, "the idle worker is gone", || threads_named(prefix).len() == 1);
        gate.open();
        assert_eq!(queued.join().unwrap(), "queued", "the queue is still drained");
        drop(pool);
        assert_no_threads_named(prefix);
    });
}

#[test]
fn shutdown_timeout_that_succeeds_returns_the_report() {
    bounded(30, || {
        let pool = ThreadPool::new(2).unwrap();
        for _ in 0..5 {
            pool.execute(|| ()).unwrap();
        }
        let report = pool.shutdown_timeout(WAIT).unwrap();
        assert_eq!(report.completed, 5);
        assert_eq!(pool.stats().workers, 0);
    });
}

#[test]
fn shutdown_now_hands_back_exactly_the_queued_jobs() {
    let prefix = "snow";
    bounded(60, move || {
        let pool = Arc::new(counting_pool(prefix, 1, 16));
        let gate = block_one_worker(&pool);
        let ran = Arc::new(AtomicU64::new(0));
        let handles: Vec<JobHandle<u64>> = (0..6)
            .map(|i| {
                let ran = ran.clone();
                pool.spawn(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    i
                })
                .unwrap()
            })
            .collect();
        execute_counted(&pool, 4, &ran);
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown_now())
        };
        wait_until(10, "the queue was emptied", || pool.is_shutdown() && pool.stats().queued == 0);
        gate.open();
        let pending: Vec<PendingJob> = stopper.join().unwrap();
        assert_no_threads_named(prefix);
        assert_eq!(pending.len(), 10);
        assert_eq!(pending.iter().filter(|p| p.has_handle()).count(), 6);
        assert!(format!("{:?}", pending[0]).contains("has_handle: true"));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "nothing queued ran");

        // FIFO: the six handle jobs first, then the four fire-and-forget ones. Run the even
        // ones here, drop the odd ones.
        let (mut runs, mut drops) = (0, 0);
        for (i, job) in pending.into_iter().enumerate() {
            if i % 2 == 0 {
                job.run();
                runs += 1;
            } else {
                drop(job);
                drops += 1;
            }
        }
        assert_eq!((runs, drops), (5, 5));
        assert_eq!(ran.load(Ordering::SeqCst), 5);
        for (i, handle) in handles.into_iter().enumerate() {
            let result = handle.join();
            if i % 2 == 0 {
                assert_eq!(result.unwrap(), i as u64);
            } else {
                assert!(result.unwrap_err().is_cancelled(), "job {i} was dropped unrun");
            }
        }
        let stats = pool.stats();
        assert_eq!(stats.cancelled, 5);
        assert_eq!(stats.completed, 6, "the blocking job and the five run here");
        assert_eq!((stats.submitted, stats.workers, stats.queued, stats.running), (11, 0, 0, 0));
    });
}

#[test]
fn a_pending_job_that_panics_when_run_is_caught_and_counted() {
    common::quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(4).build().unwrap();
        let gate = block_one_worker(&pool);
        let handle = pool.spawn(|| -> () { panic!("{}: pending", common::EXPECTED) }).unwrap();
        pool.execute(|| panic!("{}: pending fire", common::EXPECTED)).unwrap();
        let pending = thread::scope(|s| {
            let stopper = s.spawn(|| pool.shutdown_now());
            wait_until(10, "the queue was emptied", || pool.is_shutdown() && pool.stats().queued == 0);
            gate.open();
            stopper.join().unwrap()
        });
        assert_eq!(pending.len(), 2);
        for job in pending {
            job.run();
        }
        assert!(handle.join().unwrap_err().is_panic());
        assert_eq!(pool.stats().panicked, 2);
    });
}

#[test]
fn blocked_submitters_are_released_with_their_closure_when_shutdown_starts() {
    bounded(60, || {
        let pool = Arc::new(ThreadPool::builder().workers(1).queue_capacity(1).build().unwrap());
        let gate = block_one_worker(&pool);
        let queued = pool.spawn(|| "queued").unwrap();
        let (tx, rx) = mpsc::channel::<(&str, u32)>();
        let mut submitters = Vec::new();
        {
            let (pool, tx) = (pool.clone(), tx.clone());
            submitters.push(thread::spawn(move || {
                let err = pool.spawn(|| 1u32).unwrap_err();
                tx.send(("spawn", err.into_inner()())).unwrap();
            }));
        }
        {
            let (pool, tx) = (pool.clone(), tx.clone());
            submitters.push(thread::spawn(move || {
                let (inner_tx, inner_rx) = mpsc::channel();
                let err = pool.execute(move || inner_tx.send(2u32).unwrap()).unwrap_err();
                err.into_inner()();
                tx.send(("execute", inner_rx.try_recv().unwrap())).unwrap();
            }));
        }
        {
            let (pool, tx) = (pool.clone(), tx.clone());
            submitters.push(thread::spawn(move || {
                match pool.spawn_timeout(|| 3u32, Duration::from_secs(60)) {
                    Err(SubmitTimeoutError::Shutdown(f)) => tx.send(("spawn_timeout", f())).unwrap(),
                    Err(SubmitTimeoutError::Timeout(_)) => panic!("timed out instead of being released"),
                    Ok(_) => panic!("accepted after shutdown"),
                }
            }));
        }
        drop(tx);
        // The queue stays full while the worker is held: none of them may return yet.
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "a submitter did not block");

        // A shutdown that cannot finish (the worker is held) still releases them at once.
        let err = pool.shutdown_timeout(Duration::ZERO).unwrap_err();
        assert_eq!(err.busy_workers(), 1);
        let mut released: Vec<_> =
            (0..3).map(|_| rx.recv_timeout(WAIT).expect("a submitter was released")).collect();
        released.sort();
        assert_eq!(released, [("execute", 2), ("spawn", 1), ("spawn_timeout", 3)]);
        for t in submitters {
            t.join().unwrap();
        }
        match pool.try_spawn(|| 4u32) {
            Err(TrySubmitError::Shutdown(f)) => assert_eq!(f(), 4),
            _ => panic!("expected Shutdown"),
        }
        gate.open();
        assert_eq!(queued.join().unwrap(), "queued");
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed, report.rejected), (2, 2, 4));
    });
}

#[test]
fn stats_are_final_after_shutdown() {
    common::quiet_expected_panics();
    bounded(30, || {
        let pool = ThreadPool::builder().workers(2).queue_capacity(4).build().unwrap();
        let gate_a = block_one_worker(&pool);
        let gate_b = block_one_worker(&pool);
        let cancelled = pool.spawn(|| ()).unwrap();
        assert!(cancelled.cancel());
        gate_a.open();
        gate_b.open();
        for i in 0..20 {
            pool.spawn(move || i).unwrap().join().unwrap();
        }
        pool.spawn(|| -> () { panic!("{}: final", common::EXPECTED) }).unwrap().join().unwrap_err();
        let report = pool.shutdown();
        let stats = pool.stats();
        assert_eq!((stats.workers, stats.running, stats.queued), (0, 0, 0));
        assert_eq!((stats.submitted, stats.completed, stats.panicked, stats.cancelled), (24, 22, 1, 1));
        assert_eq!(
            (report.submitted, report.completed, report.panicked, report.cancelled, report.rejected),
            (24, 22, 1, 1, 0)
        );
        assert_eq!(pool.stats(), stats, "nothing moves after shutdown");
    });
}

/// Which submission call a racing submitter makes.
#[derive(Clone, Copy)]
enum Call {
    Spawn,
    Execute,
    TrySpawn,
    SpawnTimeout,
    TryExecute,
}

const CALLS: [Call; 5] = [Call::Spawn, Call::Execute, Call::TrySpawn, Call::SpawnTimeout, Call::TryExecute];

#[derive(Default)]
struct Submitted {
    handles: Vec<(usize, JobHandle<usize>)>,
    fired: Vec<usize>,
    refused: Vec<usize>,
}

/// One round of the race: `SUBMITTERS` threads submit through every call while another thread
/// shuts the pool down (`now`: with `shutdown_now`). Accounts for every job exactly.
fn race_round(round: u64, now: bool, prefix: &'static str) {
    const SUBMITTERS: usize = 3;
    const PER_SUBMITTER: usize = 40;
    let pool = counting_pool(prefix, 2, 3);
    let runs: Arc<Vec<AtomicU8>> =
        Arc::new((0..SUBMITTERS * PER_SUBMITTER).map(|_| AtomicU8::new(0)).collect());
    let ran = Arc::new(AtomicU64::new(0));
    let start = Barrier::new(SUBMITTERS + 1);
    // A different moment for the shutdown each round.
    let mut x = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    let delay = x % 400;

    let (submitted, pending) = thread::scope(|s| {
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|t| {
                let (pool, start, runs, ran) = (&pool, &start, runs.clone(), ran.clone());
                s.spawn(move || {
                    let mut out = Submitted::default();
                    start.wait();
                    for k in 0..PER_SUBMITTER {
                        let id = t * PER_SUBMITTER + k;
                        let (runs, ran) = (runs.clone(), ran.clone());
                        let job = move || {
                            runs[id].fetch_add(1, Ordering::SeqCst);
                            ran.fetch_add(1, Ordering::SeqCst);
                            id
                        };
                        let fire = {
                            let job = job.clone();
                            move || {
                                job();
                            }
                        };
                        let accepted = match CALLS[(k + t) % CALLS.len()] {
                            Call::Spawn => pool.spawn(job).map(Some).map_err(drop),
                            Call::TrySpawn => pool.try_spawn(job).map(Some).map_err(drop),
                            Call::SpawnTimeout => {
                                pool.spawn_timeout(job, Duration::from_millis(1)).map(Some).map_err(drop)
                            }
                            Call::Execute => pool.execute(fire).map(|()| None).map_err(drop),
                            Call::TryExecute => pool.try_execute(fire).map(|()| None).map_err(drop),
                        };
                        match accepted {
                            Ok(Some(handle)) => out.handles.push((id, handle)),
                            Ok(None) => out.fired.push(id),
                            Err(()) => out.refused.push(id),
                        }
                    }
                    out
                })
            })
            .collect();
        let stopper = s.spawn(|| {
            start.wait();
            for _ in 0..delay {
                thread::yield_now();
            }
            if now {
                pool.shutdown_now()
            } else {
                pool.shutdown();
                Vec::new()
            }
        });
        let submitted: Vec<Submitted> = submitters.into_iter().map(|t| t.join().unwrap()).collect();
        (submitted, stopper.join().unwrap())
    });

    assert!(now || pending.is_empty());
    // Run the even handed-back jobs here, drop the odd ones.
    let handed_back = pending.len() as u64;
    let mut dropped = 0u64;
    for (i, job) in pending.into_iter().enumerate() {
        if i % 2 == 0 {
            job.run();
        } else {
            drop(job);
            dropped += 1;
        }
    }

    let mut accepted = 0u64;
    let mut refused = 0u64;
    let mut cancelled_handles = 0u64;
    for sub in submitted {
        accepted += (sub.handles.len() + sub.fired.len()) as u64;
        refused += sub.refused.len() as u64;
        for id in sub.refused {
            assert_eq!(runs[id].load(Ordering::SeqCst), 0, "round {round}: refused job {id} ran");
        }
        for (id, handle) in sub.handles {
            match handle.join() {
                Ok(value) => {
                    assert_eq!(value, id);
                    assert_eq!(runs[id].load(Ordering::SeqCst), 1, "round {round}: job {id}");
                }
                Err(e) => {
                    assert!(e.is_cancelled(), "round {round}: job {id}: {e}");
                    assert_eq!(runs[id].load(Ordering::SeqCst), 0, "round {round}: cancelled job {id} ran");
                    cancelled_handles += 1;
                }
            }
        }
        for id in sub.fired {
            assert!(runs[id].load(Ordering::SeqCst) <= 1, "round {round}: job {id} ran twice");
        }
    }
    let ran = ran.load(Ordering::SeqCst);
    let ran_once = runs.iter().filter(|r| r.load(Ordering::SeqCst) == 1).count() as u64;
    assert!(runs.iter().all(|r| r.load(Ordering::SeqCst) <= 1), "round {round}: a job ran twice");
    assert_eq!(ran, ran_once);
    assert_eq!(accepted, ran + dropped, "round {round}: every accepted job ran or was dropped unrun");
    assert!(cancelled_handles <= dropped);
    assert!(dropped <= handed_back);
    assert_eq!(accepted + refused, (SUBMITTERS * PER_SUBMITTER) as u64);

    let stats = pool.stats();
    assert_eq!(stats.submitted, accepted, "round {round}");
    assert_eq!(stats.rejected, refused, "round {round}");
    assert_eq!(stats.completed, ran, "round {round}");
    assert_eq!(stats.cancelled, dropped, "round {round}");
    assert_eq!(stats.panicked, 0);
    assert_eq!((stats.workers, stats.running, stats.queued), (0, 0, 0), "round {round}");
    assert_no_threads_named(prefix);
}

#[test]
fn shutdown_racing_several_submitters_loses_nothing_and_runs_nothing_twice() {
    for round in 0..200 {
        bounded(20, move || race_round(round, false, "rgrace"));
    }
}

#[test]
fn shutdown_now_racing_several_submitters_loses_nothing_and_runs_nothing_twice() {
    for round in 0..200 {
        bounded(20, move || race_round(round, true, "rnow"));
    }
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
