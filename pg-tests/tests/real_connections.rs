//! boundpool's ObjectPool holding real `postgres::Client`s against a real PostgreSQL server:
//! a restart and a 2 s outage under load, a connection killed server-side, and expiry.
//! Needs the server `.ci/run` starts; fails (never skips) without it. The tests restart and stop
//! that server, so they run one at a time (`--test-threads=1`, enforced by a lock).

use boundpool::ObjectPool;
use boundpool_pg_tests::{boundpool_pool, connect, pg_create, run_load, time_until, Connects, Server};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 16;
const MAX_LIVE: usize = 8;

/// One test at a time: they share (and restart) one server.
fn serial() -> MutexGuard<'static, ()> {
    static SERVER: Mutex<()> = Mutex::new(());
    SERVER.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many connections with this application name the server has now.
fn server_side(app: &str) -> i64 {
    let mut admin = connect("boundpool-admin");
    admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&app])
        .expect("count connections")
        .get(0)
}

/// Connect attempts one pool slot makes in `window` with the pool's backoff (5 ms doubling to
/// 250 ms): one, then one per pause.
fn attempts_per_slot(window: Duration) -> u64 {
    let (mut pause, mut spent, mut attempts) = (Duration::from_millis(5), Duration::ZERO, 1);
    while spent < window {
        spent += pause;
        attempts += 1;
        pause = (pause * 2).min(Duration::from_millis(250));
    }
    attempts
}

#[test]
fn sixteen_threads_through_a_restart_and_a_two_second_outage() {
    let _one = serial();
    let server = Server::from_env();
    let connects = Arc::new(Connects::default());
    let pool = boundpool_pool("bp-outage", MAX_LIVE, &connects);
    let mut outage_attempts = 0;
    let mut outage_window = Duration::ZERO;
    let mut recovery = None;
    let report = run_load(&pool, THREADS, || {
        thread::sleep(Duration::from_millis(500));
        server.restart();
        thread::sleep(Duration::from_millis(700));

        let (before, made_before_stop) = connects.read();
        let stopped = Instant::now();
        server.stop();
        thread::sleep(Duration::from_secs(2));
        server.start();
        let (after, _) = connects.read();
        outage_window = stopped.elapsed();
        outage_attempts = after - before;
        // Back to full strength: every slot connected again after the server came back.
        recovery = time_until(Duration::from_secs(10), || {
            connects.read().1 >= made_before_stop + MAX_LIVE as u64 && pool.live() == MAX_LIVE
        });
        thread::sleep(Duration::from_millis(500));
    });
    let stats = pool.stats();
    println!(
        "queries {} get errors {} query errors {} failed {} | outage: {} connect attempts in {:?}, \
         back to full {:?} after start | {:?}",
        report.queries,
        report.get_errors,
        report.query_errors,
        report.failed_ops,
        outage_attempts,
        outage_window,
        recovery,
        stats
    );
    assert_eq!(report.failed_ops, 0, "every caller's query eventually succeeds");
    assert_eq!(
        report.get_errors, 0,
        "no get error reaches a caller: creation retries until the server is back"
    );
    assert!(report.queries > 1_000, "load ran: {} queries", report.queries);
    let bound = 2 * MAX_LIVE as u64 * attempts_per_slot(outage_window);
    assert!(
        outage_attempts <= bound,
        "{outage_attempts} connect attempts during the outage, more than twice one per free slot per backoff step ({bound})"
    );
    let recovery = recovery.expect("the pool got back to full strength");
    assert!(recovery <= Duration::from_secs(1), "back to full strength {recovery:?} after the server");
    assert!(stats.dropped_broken >= MAX_LIVE as u64, "the closed connections were dropped: {stats:?}");
}

#[test]
fn a_connection_terminated_server_side_is_never_handed_out_when_validate_pings() {
    let _one = serial();
    let connects = Arc::new(Connects::default());
    let pool = ObjectPool::builder(pg_create("bp-killed", &connects))
        .max_live(2)
        .validate(|c| c.simple_query("").is_ok())
        .build()
        .unwrap();
    let mut admin = connect("boundpool-admin");
    for round in 0..20 {
        let pid: i32 = {
            let mut c = pool.get().expect("a connection");
            c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0)
        };
        let killed: bool = admin.query_one("SELECT pg_terminate_backend($1)", &[&pid]).unwrap().get(0);
        assert!(killed, "round {round}: backend {pid} terminated");
        let gone = time_until(Duration::from_secs(5), || {
            let n: i64 = admin
                .query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", &[&pid])
                .unwrap()
                .get(0);
            n == 0
        });
        assert!(gone.is_some(), "round {round}: backend {pid} still there");
        let mut c = pool.get().expect("a connection");
        let now: i32 =
            c.query_one("SELECT pg_backend_pid()", &[]).expect("the handed-out connection works").get(0);
        assert_ne!(now, pid, "round {round}");
    }
    let stats = pool.stats();
    assert_eq!((stats.dropped_broken, stats.created), (20, 21), "{stats:?}");
}

#[test]
fn max_lifetime_and_idle_timeout_show_in_stats_and_on_the_server() {
    let _one = serial();
    let connects = Arc::new(Connects::default());
    let lifetime = ObjectPool::builder(pg_create("bp-lifetime", &connects))
        .max_live(4)
        .max_lifetime(Duration::from_millis(300))
        .build()
        .unwrap();
    let report = run_load(&lifetime, 4, || thread::sleep(Duration::from_millis(1_500)));
    assert_eq!(report.failed_ops, 0);
    let stats = lifetime.stats();
    assert!(stats.dropped_expired >= 4, "connections replaced for age: {stats:?}");
    assert!(stats.created >= stats.dropped_expired, "{stats:?}");
    assert!(stats.live <= 4);

    let idle = ObjectPool::builder(pg_create("bp-idle", &connects))
        .max_live(4)
        .idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let held: Vec<_> = (0..4).map(|_| idle.get().expect("a connection")).collect();
    drop(held);
    assert_eq!(server_side("bp-idle"), 4);
    let closed = time_until(Duration::from_secs(5), || idle.idle() == 0);
    assert!(closed.is_some(), "idle connections dropped by the maintenance thread");
    let stats = idle.stats();
    assert_eq!((stats.dropped_expired, stats.live), (4, 0), "{stats:?}");
    assert!(
        time_until(Duration::from_secs(5), || server_side("bp-idle") == 0).is_some(),
        "closed on the server too"
    );
}
