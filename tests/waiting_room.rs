//! The waiting room: blocked threads and waiting tasks share one line for a full queue and get
//! slots in arrival order; a waiting future that is dropped gives up its place and any slot it
//! was granted.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;

use boundpool::ThreadPool;
use common::stepper::Stepper;
use common::{block_one_worker, bounded, thread_is_asleep, wait_until};

fn recorder(order: &Arc<Mutex<Vec<&'static str>>>, label: &'static str) -> impl FnOnce() + Send + 'static {
    let order = Arc::clone(order);
    move || order.lock().unwrap().push(label)
}

#[test]
fn threads_and_tasks_are_admitted_in_arrival_order() {
    bounded(30, || {
        let pool =
            Arc::new(ThreadPool::builder().workers(1).queue_capacity(1).name("room-order").build().unwrap());
        let order = Arc::new(Mutex::new(Vec::new()));
        let gate = block_one_worker(&pool);
        pool.execute(recorder(&order, "queued")).unwrap();

        // First in line: a task.
        let mut first = Stepper::new(pool.execute_async(recorder(&order, "first task")));
        assert!(first.poll().is_pending(), "the queue is full: the task waits in line");
        // Second: a blocked thread.
        let blocked = {
            let (pool, order) = (Arc::clone(&pool), Arc::clone(&order));
            thread::Builder::new()
                .name("room-thread".into())
                .spawn(move || pool.execute(recorder(&order, "thread")).is_ok())
                .unwrap()
        };
        wait_until(10, "the submitting thread to block in line", || thread_is_asleep("room-thread"));
        // Third: another task.
        let mut last = Stepper::new(pool.execute_async(recorder(&order, "last task")));
        assert!(last.poll().is_pending());

        gate.open();
        assert!(first.finish(10).is_ok());
        assert!(blocked.join().unwrap());
        assert!(last.finish(10).is_ok());
        let report = pool.shutdown();
        assert_eq!(*order.lock().unwrap(), ["queued", "first task", "thread", "last task"]);
        assert_eq!((report.submitted, report.completed), (5, 5));
    });
}

#[test]
fn a_dropped_waiting_future_gives_its_place_to_the_next() {
    bounded(30, || {
        let pool =
            Arc::new(ThreadPool::builder().workers(1).queue_capacity(1).name("room-drop").build().unwrap());
        let order = Arc::new(Mutex::new(Vec::new()));
        let gate = block_one_worker(&pool);
        pool.execute(recorder(&order, "queued")).unwrap();
        let dropped_ran = Arc::new(Mutex::new(false));
        {
            let ran = Arc::clone(&dropped_ran);
            let mut fut = Stepper::new(pool.spawn_async(move || *ran.lock().unwrap() = true));
            assert!(fut.poll().is_pending());
        }
        let blocked = {
            let (pool, order) = (Arc::clone(&pool), Arc::clone(&order));
            thread::Builder::new()
                .name("room-next".into())
                .spawn(move || pool.execute(recorder(&order, "next")).is_ok())
                .unwrap()
        };
        wait_until(10, "the submitting thread to block in line", || thread_is_asleep("room-next"));
        gate.open();
        assert!(blocked.join().unwrap());
        let report = pool.shutdown();
        assert_eq!(*order.lock().unwrap(), ["queued", "next"]);
        assert!(!*dropped_ran.lock().unwrap(), "a dropped future's job never runs");
        assert_eq!((report.submitted, report.completed), (3, 3), "the dropped submission is not counted");
    });
}

#[test]
fn a_permit_dropped_unused_gives_the_slot_back() {
    bounded(30, || {
        let pool = ThreadPool::builder().workers(1).queue_capacity(2).name("room-permit").build().unwrap();
        let gate = block_one_worker(&pool);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let permit = rt.block_on(pool.reserve()).unwrap();
        assert_eq!(pool.stats().queued, 1, "a held permit counts as queued");
        pool.execute(|| ()).unwrap();
        assert!(pool.try_execute(|| ()).is_err(), "permit plus one job fill a queue of two");
        drop(permit);
        assert_eq!(pool.stats().queued, 1);
        pool.try_execute(|| ()).unwrap();
        gate.open();
        let report = pool.shutdown();
        assert_eq!((report.submitted, report.completed), (3, 3));
    });
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
