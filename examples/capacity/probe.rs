//! What the tool reads besides its own clocks: the pool's latency recording and the process's
//! CPU time. The pool's latency API is named only here.

use std::time::Duration;

use boundpool::{BuildError, LatencyHistogram, Stats, ThreadPool};

/// Three percentiles and the mean of one latency distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quantiles {
    pub p50: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub mean: Duration,
}

/// A fresh pool for one sweep point, recording each job's queue wait and run time.
pub fn build_pool(workers: usize, queue: usize) -> Result<ThreadPool, BuildError> {
    ThreadPool::builder()
        .workers(workers)
        .queue_capacity(queue)
        .thread_name("capacity")
        .record_latency(true)
        .build()
}

/// The queue-wait distribution the pool recorded, if it records one.
pub fn queue_wait(stats: &Stats) -> Option<Quantiles> {
    Some(quantiles(&stats.queue_wait)).filter(|_| stats.queue_wait.count() > 0)
}

fn quantiles(h: &LatencyHistogram) -> Quantiles {
    Quantiles { p50: h.percentile(50.0), p99: h.percentile(99.0), p999: h.percentile(99.9), mean: h.mean() }
}

/// Percentiles of a client-side histogram kept in microseconds.
pub fn hdr_quantiles(h: &hdrhistogram::Histogram<u64>) -> Quantiles {
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
pub fn process_cpu_time() -> Option<Duration> {
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
