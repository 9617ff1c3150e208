//! Shared parts of boundpool's real-connection suite and its benchmark against r2d2: the
//! server's address and controls (from the environment, set by `.ci/run`), the two pools built
//! the same way, and a load of short queries from many threads with per-checkout timings.
//!
//! Without a server this crate's tests fail: `BOUNDPOOL_PG` (a libpq-style connection string)
//! and `BOUNDPOOL_PG_CTL` plus `BOUNDPOOL_PG_DIR` (the cluster script and its directory, to
//! restart, stop and start the server) must be set.

use boundpool::{ObjectPool, Pooled};
use postgres::{Client, NoTls};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// How long one query keeps trying (through errors and an outage) before it counts as failed.
pub const OP_DEADLINE: Duration = Duration::from_secs(20);

/// An environment variable the suite cannot run without.
fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the real-connection suite needs a PostgreSQL server (run it through .ci/run)"
        )
    })
}

/// The server's connection string, with `app` as the application name (so the server's
/// `pg_stat_activity` tells one pool's connections from another's).
pub fn conn_string(app: &str) -> String {
    format!("{} application_name={app}", required("BOUNDPOOL_PG"))
}

/// A direct connection, outside any pool.
pub fn connect(app: &str) -> Client {
    Client::connect(&conn_string(app), NoTls).expect("connect to the test server")
}

/// Restarts, stops and starts the test server through the cluster script.
#[derive(Debug, Clone)]
pub struct Server {
    script: String,
    dir: String,
}

impl Server {
    /// The server named by the environment.
    pub fn from_env() -> Server {
        Server { script: required("BOUNDPOOL_PG_CTL"), dir: required("BOUNDPOOL_PG_DIR") }
    }

    fn run(&self, what: &str) {
        let status = Command::new("bash").arg(&self.script).arg(what).arg(&self.dir).status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!("cluster.sh {what} failed: {other:?}"),
        }
    }

    /// `pg_ctl restart -m fast`, returning once the server accepts connections again.
    pub fn restart(&self) {
        self.run("restart");
    }

    /// `pg_ctl stop -m fast`: every connection is closed.
    pub fn stop(&self) {
        self.run("stop");
    }

    /// `pg_ctl start`, returning once the server accepts connections.
    pub fn start(&self) {
        self.run("start");
    }
}

/// Connect attempts and successes of one pool.
#[derive(Debug, Default)]
pub struct Connects {
    pub attempts: AtomicU64,
    pub successes: AtomicU64,
}

impl Connects {
    fn record(&self, ok: bool) {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if ok {
            self.successes.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// (attempts, successes) now.
    pub fn read(&self) -> (u64, u64) {
        (self.attempts.load(Ordering::SeqCst), self.successes.load(Ordering::SeqCst))
    }
}

/// A `create` for an ObjectPool of `postgres::Client`, counting its attempts.
pub fn pg_create(
    app: &str,
    connects: &Arc<Connects>,
) -> impl Fn() -> Result<Client, postgres::Error> + Send + Sync {
    let (conn, connects) = (conn_string(app), Arc::clone(connects));
    move || {
        let made = Client::connect(&conn, NoTls);
        connects.record(made.is_ok());
        made
    }
}

/// The boundpool pool the benchmark uses: `max_live` clients, closed ones dropped on return.
pub fn boundpool_pool(
    app: &str,
    max_live: usize,
    connects: &Arc<Connects>,
) -> ObjectPool<Client, postgres::Error> {
    ObjectPool::builder(pg_create(app, connects))
        .name(app)
        .max_live(max_live)
        .is_broken(|c| c.is_closed())
        .build()
        .expect("valid pool settings")
}

/// r2d2's manager for the same server, counting connect attempts.
#[derive(Debug)]
pub struct CountingManager {
    inner: r2d2_postgres::PostgresConnectionManager<NoTls>,
    connects: Arc<Connects>,
}

impl r2d2::ManageConnection for CountingManager {
    type Connection = Client;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Client, postgres::Error> {
        let made = self.inner.connect();
        self.connects.record(made.is_ok());
        made
    }

    fn is_valid(&self, conn: &mut Client) -> Result<(), postgres::Error> {
        self.inner.is_valid(conn)
    }

    fn has_broken(&self, conn: &mut Client) -> bool {
        self.inner.has_broken(conn)
    }
}

/// The r2d2 pool the benchmark compares with: same size, checkout test off, defaults otherwise.
pub fn r2d2_pool(app: &str, max_size: u32, connects: &Arc<Connects>) -> r2d2::Pool<CountingManager> {
    let config = conn_string(app).parse().expect("a valid connection string");
    let manager = CountingManager {
        inner: r2d2_postgres::PostgresConnectionManager::new(config, NoTls),
        connects: Arc::clone(connects),
    };
    r2d2::Pool::builder().max_size(max_size).test_on_check_out(false).build(manager).expect("r2d2 pool")
}

/// Something to check a client out of.
pub trait Checkout: Sync {
    /// The client handle, returned to the pool on drop.
    type Guard: std::ops::DerefMut<Target = Client>;
    /// Checks a client out, waiting as the pool's `get` does.
    fn checkout(&self) -> Result<Self::Guard, String>;
    /// Gives back a client whose query failed.
    fn failed(&self, guard: Self::Guard);
}

impl Checkout for ObjectPool<Client, postgres::Error> {
    type Guard = Pooled<Client, postgres::Error>;

    fn checkout(&self) -> Result<Self::Guard, String> {
        self.get().map_err(|e| e.to_string())
    }

    fn failed(&self, guard: Self::Guard) {
        guard.discard();
    }
}

impl Checkout for r2d2::Pool<CountingManager> {
    type Guard = r2d2::PooledConnection<CountingManager>;

    fn checkout(&self) -> Result<Self::Guard, String> {
        self.get().map_err(|e| e.to_string())
    }

    fn failed(&self, guard: Self::Guard) {
        // r2d2 drops it on return if `has_broken` (the client is closed) says so.
        drop(guard);
    }
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Queries that succeeded.
    pub queries: u64,
    /// Errors the pool's `get` returned to callers.
    pub get_errors: u64,
    /// Queries that failed on a checked-out client (a connection the server closed).
    pub query_errors: u64,
    /// Queries that never succeeded within [`OP_DEADLINE`].
    pub failed_ops: u64,
    /// Every successful checkout's wait, in microseconds.
    pub waits_us: Vec<u32>,
    /// How long the load ran.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Queries per second.
    pub fn rate(&self) -> f64 {
        self.queries as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile (0 to 100) of checkout waits, in microseconds.
    pub fn wait_percentile(&mut self, p: f64) -> u32 {
        if self.waits_us.is_empty() {
            return 0;
        }
        self.waits_us.sort_unstable();
        let at = ((self.waits_us.len() - 1) as f64 * p / 100.0).round() as usize;
        self.waits_us[at]
    }
}

/// Runs `SELECT 1` from `threads` threads through `pool` until `during` returns (it runs on the
/// calling thread once every load thread is going). A query that fails is retried, with a
/// fresh checkout, until it succeeds or [`OP_DEADLINE`] passes.
pub fn run_load<P: Checkout>(pool: &P, threads: usize, during: impl FnOnce()) -> LoadReport {
    let stop = AtomicBool::new(false);
    let start = Barrier::new(threads + 1);
    thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut report = LoadReport::default();
                    start.wait();
                    while !stop.load(Ordering::Relaxed) {
                        one_query(pool, &mut report);
                    }
                    report
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        during();
        stop.store(true, Ordering::Relaxed);
        let mut total = LoadReport::default();
        for w in workers {
            let r = w.join().expect("load thread");
            total.queries += r.queries;
            total.get_errors += r.get_errors;
            total.query_errors += r.query_errors;
            total.failed_ops += r.failed_ops;
            total.waits_us.extend(r.waits_us);
        }
        total.elapsed = began.elapsed();
        total
    })
}

fn one_query<P: Checkout>(pool: &P, report: &mut LoadReport) {
    let deadline = Instant::now() + OP_DEADLINE;
    while Instant::now() < deadline {
        let asked = Instant::now();
        let mut client = match pool.checkout() {
            Ok(c) => c,
            Err(_) => {
                report.get_errors += 1;
                continue;
            }
        };
        report.waits_us.push(u32::try_from(asked.elapsed().as_micros()).unwrap_or(u32::MAX));
        match client.simple_query("SELECT 1") {
            Ok(_) => {
                report.queries += 1;
                return;
            }
            Err(_) => {
                report.query_errors += 1;
                pool.failed(client);
            }
        }
    }
    report.failed_ops += 1;
}

/// Waits until `cond` holds, polling every millisecond; the time it took, or `None` after
/// `limit`.
pub fn time_until(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let began = Instant::now();
    while began.elapsed() < limit {
        if cond() {
            return Some(began.elapsed());
        }
        thread::sleep(Duration::from_millis(1));
    }
    None
}
