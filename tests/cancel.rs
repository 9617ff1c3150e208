//! `CancelToken` (clones, children, deadlines, races between threads), `spawn_with` (a job whose
//! token is cancelled before it starts never runs; a running job sees the cancel) and
//! `JobHandle::wait_timeout`. Every wait is bounded.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use boundpool::{CancelToken, ThreadPool};
use common::{block_one_worker, bounded};

const WAIT: Duration = Duration::from_secs(10);

fn pool(workers: usize, prefix: &str) -> ThreadPool {
    ThreadPool::builder().workers(workers).thread_name(prefix).build().unwrap()
}

/// Spins until `token` is cancelled; panics if that takes more than ten seconds.
fn wait_for_cancel(token: &CancelToken) {
    let deadline = Instant::now() + WAIT;
    while !token.is_cancelled() {
        assert!(Instant::now() < deadline, "the token was never cancelled");
        thread::yield_now();
    }
}

#[test]
fn a_token_is_send_sync_clone_and_debug() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug + Default + 'static>() {}
    check::<CancelToken>();
}

#[test]
fn a_new_token_is_live_and_cancel_reaches_every_clone() {
    let token = CancelToken::new();
    let clone = token.clone();
    let default = CancelToken::default();
    assert!(!token.is_cancelled() && !clone.is_cancelled() && !default.is_cancelled());
    assert_eq!(token.deadline(), None);
    clone.cancel();
    assert!(token.is_cancelled());
    assert!(clone.is_cancelled());
    assert!(token.clone().is_cancelled(), "a clone of a cancelled token is cancelled");
    token.cancel(); // idempotent
    assert!(token.is_cancelled());
    assert!(!default.is_cancelled(), "separate tokens share nothing");
}

#[test]
fn children_cancel_with_their_parent_and_never_the_reverse() {
    let root = CancelToken::new();
    let a = root.child();
    let b = root.child();
    let a1 = a.child();
    let a2 = a.child();
    let a1x = a1.child();
    let b1 = b.child();

    // Upwards: nothing.
    a1x.cancel();
    assert!(a1x.is_cancelled());
    assert!(!a1.is_cancelled() && !a.is_cancelled() && !root.is_cancelled());

    // A middle node: its subtree only.
    a.cancel();
    assert!(a.is_cancelled() && a1.is_cancelled() && a2.is_cancelled());
    assert!(!root.is_cancelled() && !b.is_cancelled() && !b1.is_cancelled());

    // A child made after its parent was cancelled is born cancelled, at any depth.
    assert!(a.child().is_cancelled());
    assert!(a2.child().child().is_cancelled());

    // The root: everything, including grandchildren made before.
    let b2 = b.child();
    root.cancel();
    assert!(b.is_cancelled() && b1.is_cancelled() && b2.is_cancelled());
    assert!(root.child().is_cancelled());
}

#[test]
fn dropped_children_do_not_stop_the_parent_from_cancelling_the_others() {
    let root = CancelToken::new();
    let kept: Vec<CancelToken> = (0..100)
        .map(|i| {
            // Drop most children at once, so the parent's list holds dead entries.
            for _ in 0..i % 5 {
                drop(root.child());
            }
            root.child()
        })
        .collect();
    assert!(kept.iter().all(|t| !t.is_cancelled()));
    root.cancel();
    assert!(kept.iter().all(CancelToken::is_cancelled));
}

#[test]
fn cancelling_the_root_of_a_very_deep_chain_of_children_does_not_overflow_the_stack() {
    // `bounded` runs this on a thread with the default 2 MiB stack.
    bounded(60, || {
        let root = CancelToken::new();
        let mut chain = vec![root.clone()];
        for _ in 0..200_000 {
            let next = chain.last().unwrap().child();
            chain.push(next);
        }
        assert!(!chain.last().unwrap().is_cancelled());
        root.cancel();
        assert!(chain.iter().all(CancelToken::is_cancelled));
    });
}

#[test]
fn with_timeout_cancels_once_the_time_has_passed() {
    bounded(30, || {
        let timeout = Duration::from_millis(30);
        let made = Instant::now();
        let token = CancelToken::with_timeout(timeout);
        let child = token.child();
        let deadline = token.deadline().expect("a token with a timeout has a deadline");
        assert!(deadline >= made + timeout);
        assert_eq!(child.deadline(), Some(deadline), "a child inherits its parent's deadline");
        let limit = Instant::now() + WAIT;
        while !token.is_cancelled() {
            assert!(Instant::now() < limit, "the timeout never fired");
            thread::yield_now();
        }
        assert!(Instant::now() >= deadline, "cancelled before its deadline");
        assert!(child.is_cancelled());
        assert!(token.child().is_cancelled(), "a child made after the deadline is born cancelled");
        // A long timeout is not cancelled early, nor are its children.
        let long = CancelToken::with_timeout(Duration::from_secs(3600));
        assert!(!long.is_cancelled() && !long.child().is_cancelled());
    });
}

#[test]
fn with_timeout_of_duration_max_never_cancels_and_does_not_panic() {
    let token = CancelToken::with_timeout(Duration::MAX);
    let child = token.child();
    assert!(!token.is_cancelled());
    assert!(!child.is_cancelled());
    let _ = format!("{token:?}");
    // It can still be cancelled by hand.
    token.cancel();
    assert!(token.is_cancelled() && child.is_cancelled());
}

#[test]
fn spawn_with_a_token_cancelled_before_start_never_runs_the_job() {
    bounded(30, || {
        let pool = pool(1, "cbefore");
        let token = CancelToken::new();
        token.cancel();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let handle = pool.spawn_with(&token, move |_| flag.store(true, Ordering::SeqCst)).unwrap();
        assert!(handle.wait_timeout(WAIT));
        assert!(handle.join().unwrap_err().is_cancelled());
        assert!(!ran.load(Ordering::SeqCst));
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed, stats.cancelled, stats.panicked), (1, 0, 1, 0));

        // A token whose deadline has passed counts as cancelled too.
        let expired = CancelToken::with_timeout(Duration::ZERO);
        let flag = ran.clone();
        let handle = pool.spawn_with(&expired, move |_| flag.store(true, Ordering::SeqCst)).unwrap();
        assert!(handle.join().unwrap_err().is_cancelled());
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(pool.stats().cancelled, 2);
    });
}

#[test]
fn a_token_cancelled_while_its_job_waits_in_the_queue_stops_the_job() {
    bounded(30, || {
        let pool = pool(1, "cqueued");
        let gate = block_one_worker(&pool);
        let parent = CancelToken::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let (r1, r2) = (ran.clone(), ran.clone());
        let direct = pool.spawn_with(&parent, move |_| r1.fetch_add(1, Ordering::SeqCst)).unwrap();
        let by_parent = pool.spawn_with(&parent.child(), move |_| r2.fetch_add(1, Ordering::SeqCst)).unwrap();
        assert_eq!(pool.stats().queued, 2);
        parent.cancel();
        gate.open();
        assert!(direct.join().unwrap_err().is_cancelled());
        assert!(by_parent.join().unwrap_err().is_cancelled());
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        let stats = pool.stats();
        // The gate's job completed; both token jobs were cancelled.
        assert_eq!((stats.submitted, stats.completed, stats.cancelled, stats.panicked), (3, 1, 2, 0));
    });
}

#[test]
fn a_running_job_sees_its_token_cancelled() {
    bounded(30, || {
        let pool = pool(1, "crunning");
        let token = CancelToken::new();
        let (started_tx, started_rx) = mpsc::channel();
        let handle = pool
            .spawn_with(&token.child(), move |t| {
                started_tx.send(()).unwrap();
                wait_for_cancel(t);
                "stopped early"
            })
            .unwrap();
        started_rx.recv_timeout(WAIT).expect("the job should start");
        token.cancel();
        assert_eq!(handle.join().unwrap(), "stopped early");
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.cancelled), (1, 0));
    });
}

#[test]
fn a_token_cancelled_around_the_start_either_runs_the_job_or_reports_it_cancelled() {
    bounded(60, || {
        const ROUNDS: usize = 2_000;
        let pool = pool(2, "crace");
        let ran = Arc::new(AtomicUsize::new(0));
        let mut cancelled = 0;
        let mut completed = 0;
        for _ in 0..ROUNDS {
            let token = CancelToken::new();
            let this_ran = Arc::new(AtomicBool::new(false));
            let (flag, total) = (this_ran.clone(), ran.clone());
            let handle = pool
                .spawn_with(&token, move |_| {
                    flag.store(true, Ordering::SeqCst);
                    total.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            token.cancel();
            match handle.join() {
                Ok(()) => {
                    assert!(this_ran.load(Ordering::SeqCst), "reported run but never ran");
                    completed += 1;
                }
                Err(e) => {
                    assert!(e.is_cancelled());
                    assert!(!this_ran.load(Ordering::SeqCst), "reported cancelled but ran");
                    cancelled += 1;
                }
            }
        }
        assert_eq!(completed + cancelled, ROUNDS);
        assert_eq!(ran.load(Ordering::SeqCst), completed);
        let stats = pool.stats();
        assert_eq!(stats.completed, completed as u64);
        assert_eq!(stats.cancelled, cancelled as u64);
    });
}

#[test]
fn wait_timeout_is_false_while_a_job_is_blocked_and_true_after_release() {
    bounded(30, || {
        let pool = pool(1, "cwait");
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let running = pool
            .spawn(move || {
                started_tx.send(()).unwrap();
                release_rx.recv_timeout(Duration::from_secs(30)).is_ok()
            })
            .unwrap();
        started_rx.recv_timeout(WAIT).expect("the job should start");
        // Queued behind the blocked one: not started yet.
        let queued = pool.spawn(|| 11).unwrap();

        let before = Instant::now();
        assert!(!running.wait_timeout(Duration::from_millis(50)));
        assert!(before.elapsed() >= Duration::from_millis(50));
        assert!(!running.wait_timeout(Duration::ZERO));
        assert!(!queued.wait_timeout(Duration::from_millis(10)));
        assert!(!running.is_finished() && !queued.is_finished());

        release_tx.send(()).unwrap();
        assert!(running.wait_timeout(WAIT));
        assert!(running.wait_timeout(Duration::ZERO), "still finished on a second look");
        assert!(running.wait_timeout(Duration::MAX));
        assert!(queued.wait_timeout(WAIT));
        assert!(running.join().unwrap(), "the job was released, not timed out");
        assert_eq!(queued.join().unwrap(), 11);
    });
}

#[test]
fn four_threads_cancelling_and_checking_one_token_tree_agree() {
    bounded(60, || {
        const THREADS: usize = 4;
        const ROUNDS: usize = 300;
        let root = CancelToken::new();
        let kids: Vec<CancelToken> = (0..THREADS).map(|_| root.child()).collect();
        let grandkids: Vec<Vec<CancelToken>> =
            kids.iter().map(|k| (0..THREADS).map(|_| k.child()).collect()).collect();
        let barrier = Barrier::new(THREADS);

        // Phase one: the even threads cancel their own kid halfway through, while every thread
        // keeps making great-grandchildren under every kid and checking what must stay live.
        let made: Vec<(usize, CancelToken)> = thread::scope(|s| {
            let workers: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (root, kids, grandkids, barrier) = (&root, &kids, &grandkids, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        let mut made = Vec::new();
                        for round in 0..ROUNDS {
                            let k = (i + round) % THREADS;
                            made.push((k, grandkids[k][round % THREADS].child()));
                            if round == ROUNDS / 2 && i % 2 == 0 {
                                kids[i].cancel();
                                assert!(grandkids[i].iter().all(CancelToken::is_cancelled));
                                assert!(grandkids[i][0].child().is_cancelled());
                            }
                            assert!(!root.is_cancelled());
                            assert!(kids.iter().skip(1).step_by(2).all(|k| !k.is_cancelled()));
                        }
                        made
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(made.len(), THREADS * ROUNDS);
        assert!(!root.is_cancelled());
        for (k, kid) in kids.iter().enumerate() {
            let even = k % 2 == 0;
            assert_eq!(kid.is_cancelled(), even, "kid {k}");
            assert!(grandkids[k].iter().all(|g| g.is_cancelled() == even), "grandkids of {k}");
        }
        for (k, token) in &made {
            assert_eq!(token.is_cancelled(), k % 2 == 0, "a great-grandchild under kid {k}");
        }

        // Phase two: one thread cancels the root while the others keep making children of
        // live tokens. Once it returned, every token of the tree is cancelled.
        let made_during: Vec<CancelToken> = thread::scope(|s| {
            let workers: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (root, made, barrier) = (&root, &made, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        let mut out = Vec::new();
                        for round in 0..ROUNDS {
                            if i == 0 && round == ROUNDS / 3 {
                                root.cancel();
                            }
                            let parent = &made[(i * ROUNDS + round) % made.len()].1;
                            out.push(parent.child());
                            out.push(root.child());
                        }
                        out
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        assert!(root.is_cancelled());
        assert!(kids.iter().chain(grandkids.iter().flatten()).all(CancelToken::is_cancelled));
        assert!(made.iter().all(|(_, t)| t.is_cancelled()));
        assert_eq!(made_during.len(), THREADS * ROUNDS * 2);
        assert!(made_during.iter().all(CancelToken::is_cancelled));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}

#[test]
fn cancelling_an_ancestor_reaches_a_grandchild_whose_parent_token_was_dropped() {
    let root = CancelToken::new();
    let grandchild = root.child().child(); // the middle token is dropped here
    let deep = {
        let mut token = root.child();
        for _ in 0..100 {
            token = token.child(); // each parent dropped as its child is made
        }
        token
    };
    root.cancel();
    assert!(grandchild.is_cancelled());
    assert!(deep.is_cancelled());
}

#[test]
fn a_grandchild_made_under_a_cancelled_token_whose_middle_is_dropped_is_cancelled() {
    let root = CancelToken::new();
    let middle = root.child();
    let grandchild = middle.child();
    root.cancel();
    drop(middle);
    assert!(grandchild.is_cancelled());
    let late = root.child().child();
    assert!(late.is_cancelled());
}
