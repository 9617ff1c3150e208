//! What the planner reads besides its own clocks: the pool's latency recording, the process's
//! and the thread's CPU time, and what one job costs run alone. The pool's latency API is named
//! only here.

use std::time::{Duration, Instant};

use boundpool::{BuildError, LatencyHistogram, Stats, ThreadPool};

use crate::model::Service;
use crate::workload::{Calibration, Rng, Workload};

/// The probe runs at most this many jobs, for at most `PROBE_TIME`.
const PROBE_JOBS: usize = 400;
const PROBE_TIME: Duration = Duration::from_millis(600);

/// Three percentiles and the mean of one latency distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quantiles {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
    /// Mean.
    pub mean: Duration,
}

/// A fresh pool for one sweep point, recording each job's queue wait and run time.
pub(crate) fn build_pool(workers: usize, queue: usize) -> Result<ThreadPool, BuildError> {
    ThreadPool::builder()
        .workers(workers)
        .queue_capacity(queue)
        .thread_name("capacity")
        .record_latency(true)
        .build()
}

/// The queue-wait distribution the pool recorded, if it records one.
pub(crate) fn queue_wait(stats: &Stats) -> Option<Quantiles> {
    Some(quantiles(&stats.queue_wait)).filter(|_| stats.queue_wait.count() > 0)
}

fn quantiles(h: &LatencyHistogram) -> Quantiles {
    Quantiles { p50: h.percentile(50.0), p99: h.percentile(99.0), p999: h.percentile(99.9), mean: h.mean() }
}

/// Percentiles of a client-side histogram kept in microseconds.
pub(crate) fn hdr_quantiles(h: &hdrhistogram::Histogram<u64>) -> Quantiles {
    let us = Duration::from_micros;
    Quantiles {
        p50: us(h.value_at_quantile(0.50)),
        p99: us(h.value_at_quantile(0.99)),
        p999: us(h.value_at_quantile(0.999)),
        mean: Duration::from_secs_f64(h.mean() / 1e6),
    }
}

/// The CPU time (user + system) this process has used so far, or `None` where
/// `/proc/self/stat` cannot be read (every system but Linux).
pub(crate) fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; the fields after its closing ')' start at
    // field 3, so utime and stime (fields 14 and 15) are the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // Linux reports these in USER_HZ ticks, which is 100 per second on every architecture.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time the whole machine has spent busy, and in all.
pub(crate) type MachineTime = Option<(Duration, Duration)>;

/// CPU time the whole machine has spent busy and in all, over every CPU, from `/proc/stat`
/// (`None` off Linux).
pub(crate) fn machine_cpu_time() -> MachineTime {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line.split_whitespace().take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else { return None };
    let busy = user + nice + system + irq + softirq + steal;
    // USER_HZ ticks, as for the process's own time.
    Some((Duration::from_millis(busy * 10), Duration::from_millis((busy + idle + iowait) * 10)))
}

/// The share of the machine's CPU time other processes used between two readings of
/// [`machine_cpu_time`] and [`process_cpu_time`].
pub(crate) fn others_share(
    machine: (MachineTime, MachineTime),
    process: (Option<Duration>, Option<Duration>),
) -> Option<f64> {
    let ((busy0, all0), (busy1, all1)) = (machine.0?, machine.1?);
    let ours = process.1?.checked_sub(process.0?)?;
    let all = all1.checked_sub(all0)?.as_secs_f64();
    let others = busy1.checked_sub(busy0)?.as_secs_f64() - ours.as_secs_f64();
    (all > 0.0).then(|| (others / all).clamp(0.0, 1.0))
}

/// Waits, at most `limit`, for a 100 ms window in which other processes used at most `share`
/// of the machine's CPU time; returns how long it waited. Returns at once off Linux.
pub(crate) fn wait_for_quiet(share: f64, limit: Duration) -> Duration {
    const WINDOW: Duration = Duration::from_millis(100);
    let started = Instant::now();
    while started.elapsed() < limit {
        let before = (machine_cpu_time(), process_cpu_time());
        std::thread::sleep(WINDOW);
        let after = (machine_cpu_time(), process_cpu_time());
        match others_share((before.0, after.0), (before.1, after.1)) {
            Some(others) if others > share => continue,
            _ => break,
        }
    }
    started.elapsed()
}

/// The CPU time the calling thread has used, in nanoseconds from `/proc/thread-self/schedstat`,
/// or `None` where it cannot be read.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// What one job costs run alone: runs up to 400 jobs (for at most 0.6 s, at least one) one
/// after another on the calling thread and times each; the CPU time comes from the thread's
/// scheduler statistics (the process's, off Linux's `/proc/thread-self`).
pub(crate) fn service(workload: &Workload, calibration: Calibration, seed: u64) -> Service {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut times = Vec::with_capacity(PROBE_JOBS);
    let cpu_before = thread_cpu_time();
    let process_before = process_cpu_time();
    let started = Instant::now();
    while times.len() < PROBE_JOBS && (times.is_empty() || started.elapsed() < PROBE_TIME) {
        let job = workload.job(times.len() as u64, &mut rng, calibration);
        let t = Instant::now();
        job.run();
        times.push(t.elapsed().as_secs_f64());
    }
    let n = times.len() as f64;
    let cpu_total = match (cpu_before, thread_cpu_time()) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => match (process_before, process_cpu_time()) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => 0.0,
        },
    };
    let mean = times.iter().sum::<f64>() / n;
    let var = times.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / n;
    times.sort_by(f64::total_cmp);
    let p99 = times[((n * 0.99).ceil() as usize).clamp(1, times.len()) - 1];
    Service::new(
        Duration::from_secs_f64((cpu_total / n).min(mean)),
        Duration::from_secs_f64(mean),
        if mean > 0.0 { var.sqrt() / mean } else { 0.0 },
        Duration::from_secs_f64(p99),
    )
}
