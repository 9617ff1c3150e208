//! boundpool's ObjectPool against r2d2, side by side in one run, on a real PostgreSQL server:
//! 16 threads of `SELECT 1` through 8 pooled `postgres::Client`s.
//!
//! Rounds alternate between the two pools (boundpool, r2d2, boundpool, ...) so that a change in
//! the machine's load hits both. Reported: queries per second (median round), checkout wait
//! p50 and p99 (over every round), and for a 2 s outage (`pg_ctl stop -m fast`, 2 s, start)
//! the errors callers saw, connect attempts during the outage, and how long after the server
//! came back the pool had all its connections again.
//!
//! Needs `BOUNDPOOL_PG`, `BOUNDPOOL_PG_CTL` and `BOUNDPOOL_PG_DIR` (see `.ci/run`).
//! `--quick`: two short rounds and one outage each, for CI.

use boundpool_pg_tests::{
    boundpool_pool, r2d2_pool, run_load, time_until, Checkout, Connects, LoadReport, Server,
};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const THREADS: usize = 16;
const MAX_LIVE: usize = 8;

#[derive(Default)]
struct Totals {
    rates: Vec<f64>,
    waits_us: Vec<u32>,
    outages: Vec<Outage>,
}

#[derive(Debug, Clone, Copy)]
struct Outage {
    get_errors: u64,
    query_errors: u64,
    attempts: u64,
    recovery: Option<Duration>,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, round_len, outages) =
        if quick { (2, Duration::from_secs(1), 1) } else { (6, Duration::from_secs(4), 3) };
    let server = Server::from_env();
    let (bp_connects, r2_connects) = (Arc::new(Connects::default()), Arc::new(Connects::default()));
    let bp = boundpool_pool("bench-boundpool", MAX_LIVE, &bp_connects);
    let r2 = r2d2_pool("bench-r2d2", MAX_LIVE as u32, &r2_connects);
    let (mut bp_totals, mut r2_totals) = (Totals::default(), Totals::default());

    // Warm both: every connection made.
    run_load(&bp, THREADS, || thread::sleep(Duration::from_millis(300)));
    run_load(&r2, THREADS, || thread::sleep(Duration::from_millis(300)));

    for round in 0..rounds {
        // Alternate which pool goes first, too.
        if round % 2 == 0 {
            throughput(&bp, round_len, &mut bp_totals);
            throughput(&r2, round_len, &mut r2_totals);
        } else {
            throughput(&r2, round_len, &mut r2_totals);
            throughput(&bp, round_len, &mut bp_totals);
        }
    }
    for _ in 0..outages {
        bp_totals.outages.push(outage(&bp, &server, &bp_connects, || bp.live()));
        r2_totals.outages.push(outage(&r2, &server, &r2_connects, || r2.state().connections as usize));
    }

    let (bp_rate, r2_rate) = (median(&mut bp_totals.rates), median(&mut r2_totals.rates));
    let (bp_p50, bp_p99) = percentiles(&mut bp_totals.waits_us);
    let (r2_p50, r2_p99) = percentiles(&mut r2_totals.waits_us);
    println!("ObjectPool vs r2d2: {THREADS} threads, {MAX_LIVE} postgres::Client, {rounds} rounds of {round_len:?} each, interleaved");
    println!("{:<10} {:>12} {:>14} {:>14}", "pool", "queries/s", "wait p50 (us)", "wait p99 (us)");
    println!("{:<10} {:>12.0} {:>14} {:>14}", "boundpool", bp_rate, bp_p50, bp_p99);
    println!("{:<10} {:>12.0} {:>14} {:>14}", "r2d2", r2_rate, r2_p50, r2_p99);
    println!(
        "ratios: throughput {:.2}x r2d2's (target >= 0.95), p99 wait {:.2}x r2d2's (target <= 0.5)",
        bp_rate / r2_rate,
        bp_p99 as f64 / r2_p99.max(1) as f64
    );
    println!("2 s outage ({} each): caller get errors / query errors / connect attempts during the outage / back to full after start", outages);
    for (name, totals) in [("boundpool", &bp_totals), ("r2d2", &r2_totals)] {
        for o in &totals.outages {
            println!(
                "{:<10} {:>6} {:>6} {:>6} {:>10}",
                name,
                o.get_errors,
                o.query_errors,
                o.attempts,
                o.recovery.map_or("never".to_owned(), |d| format!("{} ms", d.as_millis()))
            );
        }
    }
}

fn throughput<P: Checkout>(pool: &P, len: Duration, totals: &mut Totals) {
    let report = run_load(pool, THREADS, || thread::sleep(len));
    assert_eq!(report.failed_ops, 0, "a query failed with the server up");
    totals.rates.push(report.rate());
    totals.waits_us.extend(report.waits_us);
}

fn outage<P: Checkout>(pool: &P, server: &Server, connects: &Connects, live: impl Fn() -> usize) -> Outage {
    let mut attempts = 0;
    let mut recovery = None;
    let report: LoadReport = run_load(pool, THREADS, || {
        thread::sleep(Duration::from_millis(300));
        let (before, made_before_stop) = connects.read();
        server.stop();
        thread::sleep(Duration::from_secs(2));
        server.start();
        let (after, _) = connects.read();
        attempts = after - before;
        let up = Instant::now();
        recovery = time_until(Duration::from_secs(10), || {
            connects.read().1 >= made_before_stop + MAX_LIVE as u64 && live() == MAX_LIVE
        })
        .map(|_| up.elapsed());
        thread::sleep(Duration::from_millis(300));
    });
    Outage { get_errors: report.get_errors, query_errors: report.query_errors, attempts, recovery }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn percentiles(waits: &mut [u32]) -> (u32, u32) {
    let mut report = LoadReport { waits_us: waits.to_vec(), ..Default::default() };
    (report.wait_percentile(50.0), report.wait_percentile(99.0))
}
