//! The capacity tool's command line: bad values are errors that name the flag, the defaults
//! parse to the documented sweep, and `--quick` makes the sweep coarser. Parsing only: no test
//! here runs a sweep.

mod common;

#[allow(dead_code)]
#[path = "../examples/capacity/args.rs"]
mod args;

use std::time::Duration;

use args::{Args, Arrival, TimeDist};
use clap::Parser;

fn parse(flags: &[&str]) -> Result<Args, clap::Error> {
    Args::try_parse_from(std::iter::once("capacity").chain(flags.iter().copied()))
}

/// Asserts that `flags` fail to parse with a usage error (exit code 2) that names `flag`.
fn assert_rejected(flags: &[&str], flag: &str) {
    let err = parse(flags).expect_err("the value must be refused");
    let message = err.to_string();
    assert!(message.contains(flag), "the error for {flags:?} should name {flag}: {message}");
    assert_eq!(err.exit_code(), 2, "{message}");
}

#[test]
fn negative_rate_is_refused_naming_the_flag() {
    assert_rejected(&["--rate", "-5"], "--rate");
    assert_rejected(&["--rate=-5"], "--rate");
    assert_rejected(&["--rate", "0"], "--rate");
    assert_rejected(&["--rate", "fast"], "--rate");
    assert_rejected(&["--rate", "inf"], "--rate");
}

#[test]
fn zero_or_malformed_worker_counts_are_refused() {
    assert_rejected(&["--workers", "0"], "--workers");
    assert_rejected(&["--workers", "1,0,4"], "--workers");
    assert_rejected(&["--workers", "two"], "--workers");
    assert_rejected(&["--workers", ""], "--workers");
    assert_rejected(&["--workers", "5000"], "--workers");
    assert_rejected(&["--queue", "0"], "--queue");
    assert_rejected(&["--queue", "-4"], "--queue");
}

#[test]
fn malformed_job_times_are_refused() {
    assert_rejected(&["--cpu", "nonsense"], "--cpu");
    assert_rejected(&["--cpu", "200"], "--cpu");
    assert_rejected(&["--cpu", "exp:"], "--cpu");
    assert_rejected(&["--io", "weibull:1ms"], "--io");
    assert_rejected(&["--io", "-1ms"], "--io");
}

#[test]
fn malformed_durations_are_refused() {
    assert_rejected(&["--target-p99", "abc"], "--target-p99");
    assert_rejected(&["--target-p99", "0"], "--target-p99");
    assert_rejected(&["--duration", "0s"], "--duration");
    assert_rejected(&["--duration", "5 fortnights"], "--duration");
    assert_rejected(&["--duration", "2h"], "--duration");
}

#[test]
fn closed_loop_and_a_rate_conflict() {
    assert_rejected(&["--closed", "--rate", "100"], "--rate");
    assert_rejected(&["--arrival", "bursty"], "--arrival");
    assert_rejected(&["--no-such-flag"], "--no-such-flag");
}

#[test]
fn no_arguments_give_the_default_profile_and_sweep() {
    let plan = parse(&[]).expect("no arguments parse").plan(2);
    assert_eq!(plan.cpu, TimeDist::Exp(Duration::from_micros(200)));
    assert_eq!(plan.io, TimeDist::Exp(Duration::from_millis(1)));
    assert_eq!(plan.arrival, Arrival::Open { rate: args::DEFAULT_RATE, poisson: true });
    assert_eq!(plan.workers, vec![1, 2, 4, 8, 16]);
    assert_eq!(plan.queues, vec![4, 16, 64, 256]);
    assert_eq!(plan.duration, Duration::from_secs(3));
    assert_eq!(plan.target_p99, Duration::from_millis(20));
    assert_eq!(plan.out, std::path::PathBuf::from("target/capacity"));
}

#[test]
fn default_workers_follow_the_cpu_count() {
    assert_eq!(args::default_workers(1), vec![1, 2, 4, 8]);
    assert_eq!(args::default_workers(4), vec![1, 2, 4, 8, 16, 32]);
    assert_eq!(args::default_workers(64), vec![1, 2, 4, 8, 16, 32, 64]);
}

#[test]
fn quick_makes_the_sweep_coarser_and_shorter() {
    let full = parse(&[]).unwrap().plan(2);
    let quick = parse(&["--quick"]).unwrap().plan(2);
    let points = |p: &args::Plan| p.workers.len() * p.queues.len();
    assert!(points(&quick) < points(&full), "{quick:?}");
    assert!(quick.duration < full.duration);
    let full_time = full.duration * points(&full) as u32;
    let quick_time = quick.duration * points(&quick) as u32;
    assert!(quick_time <= Duration::from_secs(30), "quick sweep submits for {quick_time:?}");
    assert!(full_time <= Duration::from_secs(180), "default sweep submits for {full_time:?}");
    // Explicit flags win over --quick's defaults.
    let pinned = parse(&["--quick", "--duration", "250ms", "--queue", "8"]).unwrap().plan(2);
    assert_eq!((pinned.duration, pinned.queues), (Duration::from_millis(250), vec![8]));
}

#[test]
fn valid_values_parse_as_written() {
    let plan = parse(&[
        "--cpu",
        "fixed:1.5ms",
        "--io",
        "0",
        "--rate",
        "250.5",
        "--arrival",
        "uniform",
        "--workers",
        "8, 2,2",
        "--queue",
        "1,1000",
        "--target-p99",
        "500us",
        "--duration",
        "2s",
        "--out",
        "/tmp/x",
        "--seed",
        "7",
    ])
    .unwrap()
    .plan(2);
    assert_eq!(plan.cpu, TimeDist::Fixed(Duration::from_micros(1500)));
    assert_eq!(plan.io, TimeDist::Fixed(Duration::ZERO));
    assert_eq!(plan.arrival, Arrival::Open { rate: 250.5, poisson: false });
    assert_eq!(plan.workers, vec![2, 8]);
    assert_eq!(plan.queues, vec![1, 1000]);
    assert_eq!(plan.target_p99, Duration::from_micros(500));
    assert_eq!(plan.duration, Duration::from_secs(2));
    assert_eq!(plan.seed, 7);
    assert_eq!(parse(&["--closed"]).unwrap().plan(2).arrival, Arrival::Closed);
    assert_eq!(args::parse_time_dist("exp:2µs"), Ok(TimeDist::Exp(Duration::from_micros(2))));
}

#[test]
fn zzz_no_pool_thread_outlives_the_tests() {
    common::assert_no_pool_thread_outlives_the_tests();
}
