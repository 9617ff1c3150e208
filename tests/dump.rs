//! Names and the worker dump: the pool's name and its threads' names, a NUL byte refused, named
//! jobs through `job()`, a dump naming the running job and its age, idle workers, a finished
//! job leaving the dump, the queue depth, and the Display. Every wait is bounded.

mod common;

use std::thread;
use std::time::Duration;

use boundpool::{ThreadPool, TrySubmitError};
use common::{bounded, held, threads_named, wait_until};

#[test]
fn the_pool_name_names_the_threads_unless_thread_name_sets_a_prefix() {
    bounded(30, || {
        let pool = ThreadPool::builder().name("dmpnm").workers(2).build().unwrap();
        assert_eq!(pool.name(), "dmpnm");
        // A thread sets its kernel name as it starts: wait for both.
        wait_until(10, "both workers are named", || threads_named("dmpnm") == ["dmpnm-0", "dmpnm-1"]);

        let other = ThreadPool::builder().name("dmpa").thread_name("dmpb").workers(1).build().unwrap();
        assert_eq!(other.name(), "dmpa");
        wait_until(10, "the worker is named by its prefix", || threads_named("dmpb") == ["dmpb-0"]);
        assert!(threads_named("dmpa").is_empty());
        assert_eq!(other.dump().workers[0].thread_name, "dmpb-0");

        assert_eq!(ThreadPool::new(1).unwrap().name(), "boundpool");
    });
}

#[test]
fn a_nul_byte_in_a_name_is_a_build_error() {
    let err = ThreadPool::builder().name("a\0b").workers(1).build().unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    let err = ThreadPool::builder().thread_name("a\0b").workers(1).build().unwrap_err();
    assert!(err.to_string().contains("thread_name"), "{err}");
}

#[test]
fn the_dump_names_the_running_job_and_its_age_and_shows_idle_workers() {
    bounded(30, || {
        let pool = ThreadPool::builder().name("dmpage").workers(2).build().unwrap();
        pool.dump(); // from here on, starts are stamped
        let (job, held) = held(());
        pool.job().name("resize").execute(job).unwrap();
        held.wait_started();
        thread::sleep(Duration::from_millis(30));
        let dump = pool.dump();
        assert_eq!(dump.pool, "dmpage");
        assert_eq!(dump.queued, 0);
        let running: Vec<_> = dump.workers.iter().filter_map(|w| w.job.as_ref()).collect();
        assert_eq!(running.len(), 1, "{dump}");
        assert_eq!(running[0].name.as_deref(), Some("resize"));
        assert!(running[0].running_for >= Duration::from_millis(30), "{dump}");
        assert_eq!(dump.workers.iter().filter(|w| w.job.is_none()).count(), 1);

        let text = dump.to_string();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.starts_with("pool \"dmpage\": 2 workers, 0 queued"), "{text}");
        assert!(text.contains("running \"resize\" for "), "{text}");
        assert!(text.contains("idle"), "{text}");

        held.release();
        wait_until(10, "the finished job leaves the dump", || {
            pool.dump().workers.iter().all(|w| w.job.is_none())
        });
    });
}

#[test]
fn a_job_running_before_the_first_dump_ages_between_dumps() {
    bounded(30, || {
        let pool = ThreadPool::builder().name("dmpfirst").workers(1).build().unwrap();
        let (job, held) = held(());
        let _handle = pool.spawn(job).unwrap();
        held.wait_started();
        let first = pool.dump().workers[0].job.clone().expect("the job runs");
        assert_eq!(first.name, None);
        thread::sleep(Duration::from_millis(20));
        let second = pool.dump().workers[0].job.clone().expect("the job still runs");
        assert!(second.running_for >= first.running_for + Duration::from_millis(20), "{second:?}");
        assert!(pool.dump().to_string().contains("running unnamed for "));
        held.release();
    });
}

#[test]
fn the_dump_shows_the_queue_depth() {
    bounded(30, || {
        let pool = ThreadPool::builder().name("dmpq").workers(1).queue_capacity(4).build().unwrap();
        let (job, held) = held(());
        let _handle = pool.job().name("first").spawn(job).unwrap();
        held.wait_started();
        for _ in 0..3 {
            pool.job().name("later").execute(|| ()).unwrap();
        }
        let dump = pool.dump();
        assert_eq!(dump.queued, 3);
        assert_eq!(dump.workers[0].job.as_ref().and_then(|j| j.name.as_deref()), Some("first"));
        held.release();
        pool.shutdown();
        assert_eq!(pool.stats().completed, 4);
    });
}

#[test]
fn named_submissions_behave_like_the_plain_ones() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(1).build().unwrap();
        let name = String::from("owned name");
        assert_eq!(pool.job().name(name).spawn(|| 6 * 7).unwrap().join().unwrap(), 42);
        let (job, held) = held(());
        pool.job().name("hold").execute(job).unwrap();
        held.wait_started();
        pool.job().name("fills").execute(|| ()).unwrap();
        match pool.job().name("refused").try_spawn(|| 5) {
            Err(TrySubmitError::Full(f)) => assert_eq!(f(), 5),
            other => panic!("expected Full, got {:?}", other.map(|_| ())),
        }
        held.release();
        pool.shutdown();
        assert!(pool.job().name("late").execute(|| ()).is_err());
        assert!(pool.job().spawn(|| ()).is_err());
        let stats = pool.stats();
        assert_eq!((stats.submitted, stats.completed, stats.rejected), (3, 3, 3));
    });
}
