//! Latency histograms: per-thread recorders written without read-modify-writes, merged into a
//! [`LatencyHistogram`] snapshot when `stats()` is read.
//!
//! Values are nanoseconds in log-linear buckets: exact below 16 ns, then 16 buckets per power
//! of two, so any recorded value is reported within 1/16 (6.25 %) of what it was.

use std::fmt;
use std::time::Duration;

use crate::sync::{AtomicU64, Ordering};

/// Sub-buckets per power of two (as a power of two).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Enough buckets for any `u64` nanosecond value.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

fn bucket_of(nanos: u64) -> usize {
    if nanos < SUB as u64 {
        return nanos as usize;
    }
    let exp = 63 - nanos.leading_zeros();
    let shift = exp - SUB_BITS;
    let group = (exp - SUB_BITS + 1) as usize;
    group * SUB + ((nanos >> shift) as usize & (SUB - 1))
}

/// The smallest and largest value that land in `bucket`.
fn bounds_of(bucket: usize) -> (u64, u64) {
    let (group, sub) = (bucket / SUB, (bucket % SUB) as u64);
    if group == 0 {
        return (sub, sub);
    }
    let shift = group as u32 - 1;
    let low = (SUB as u64 + sub) << shift;
    (low, low + ((1u64 << shift) - 1))
}

/// One thread's recorder. `single_writer` recorders (a worker's own) are bumped with a plain
/// load and store.
#[derive(Debug)]
pub(crate) struct Recorder {
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
    max: AtomicU64,
    min: AtomicU64,
    single_writer: bool,
}

impl Recorder {
    pub(crate) fn new(single_writer: bool) -> Self {
        Recorder {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            single_writer,
        }
    }

    pub(crate) fn record(&self, value: Duration) {
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        let count = &self.counts[bucket_of(nanos)];
        if self.single_writer {
            // ORDERING: only the owning worker writes; a reader wants no more than a snapshot.
            count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            // ORDERING: as above.
            self.sum.store(self.sum.load(Ordering::Relaxed).saturating_add(nanos), Ordering::Relaxed);
            // ORDERING: as above.
            if nanos > self.max.load(Ordering::Relaxed) {
                // ORDERING: as above.
                self.max.store(nanos, Ordering::Relaxed);
            }
            // ORDERING: as above.
            if nanos < self.min.load(Ordering::Relaxed) {
                // ORDERING: as above.
                self.min.store(nanos, Ordering::Relaxed);
            }
        } else {
            // ORDERING: a statistic; several threads write this recorder.
            count.fetch_add(1, Ordering::Relaxed);
            // ORDERING: as above.
            self.sum.fetch_add(nanos, Ordering::Relaxed);
            // ORDERING: as above.
            self.max.fetch_max(nanos, Ordering::Relaxed);
            // ORDERING: as above.
            self.min.fetch_min(nanos, Ordering::Relaxed);
        }
    }

    /// Adds this recorder's values into `into`.
    pub(crate) fn merge_into(&self, into: &mut LatencyHistogram) {
        if into.counts.is_empty() {
            into.counts = vec![0; BUCKETS];
        }
        for (total, count) in into.counts.iter_mut().zip(self.counts.iter()) {
            // ORDERING: a snapshot for statistics.
            let n = count.load(Ordering::Relaxed);
            *total += n;
            into.count += n;
        }
        // ORDERING: as above.
        into.sum = into.sum.saturating_add(u128::from(self.sum.load(Ordering::Relaxed)));
        // ORDERING: as above.
        into.max = into.max.max(self.max.load(Ordering::Relaxed));
        // ORDERING: as above.
        into.min = into.min.min(self.min.load(Ordering::Relaxed));
    }
}

/// A distribution of durations, from [`Stats::queue_wait`](crate::Stats::queue_wait) and
/// [`Stats::run_time`](crate::Stats::run_time) when the pool was built with
/// [`record_latency(true)`](crate::Builder::record_latency).
///
/// Values are kept in log-linear buckets, so percentiles are within 6.25 % of the true value;
/// `min`, `max` and `mean` are exact.
///
/// ```
/// use boundpool::ThreadPool;
///
/// let pool = ThreadPool::builder().workers(1).record_latency(true).build()?;
/// for _ in 0..10 {
///     pool.spawn(|| std::thread::sleep(std::time::Duration::from_millis(1))).unwrap().join().unwrap();
/// }
/// let run = pool.stats().run_time;
/// assert_eq!(run.count(), 10);
/// assert!(run.percentile(50.0) >= std::time::Duration::from_micros(900));
/// # Ok::<(), boundpool::BuildError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: Vec::new(), count: 0, sum: 0, min: u64::MAX, max: 0 }
    }
}

impl LatencyHistogram {
    /// An empty histogram, to fill with [`record`](Self::record).
    ///
    /// ```
    /// let h = boundpool::LatencyHistogram::new();
    /// assert_eq!(h.count(), 0);
    /// ```
    pub fn new() -> Self {
        LatencyHistogram::default()
    }

    /// Adds one value.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut h = boundpool::LatencyHistogram::new();
    /// h.record(Duration::from_micros(250));
    /// assert_eq!(h.max(), Duration::from_micros(250));
    /// ```
    pub fn record(&mut self, value: Duration) {
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        self.counts[bucket_of(nanos)] += 1;
        self.count += 1;
        self.sum += u128::from(nanos);
        self.min = self.min.min(nanos);
        self.max = self.max.max(nanos);
    }

    /// How many values were recorded.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut h = boundpool::LatencyHistogram::new();
    /// assert_eq!((h.count(), h.mean(), h.min(), h.max()), (0, Duration::ZERO, Duration::ZERO, Duration::ZERO));
    /// for ms in [2, 4, 9] {
    ///     h.record(Duration::from_millis(ms));
    /// }
    /// assert_eq!(h.count(), 3);
    /// assert_eq!(h.mean(), Duration::from_millis(5));
    /// assert_eq!((h.min(), h.max()), (Duration::from_millis(2), Duration::from_millis(9)));
    /// ```
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value below which `p` percent of the values fall (`p` in `0.0..=100.0`, clamped;
    /// NaN counts as 100), within 6.25 %; `0.0` gives [`min`](Self::min) and `100.0`
    /// [`max`](Self::max) exactly. `Duration::ZERO` when empty.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut h = boundpool::LatencyHistogram::new();
    /// for ms in 1..=100 {
    ///     h.record(Duration::from_millis(ms));
    /// }
    /// let p99 = h.percentile(99.0).as_secs_f64();
    /// assert!((0.99 * 0.9375..=0.99 * 1.0625).contains(&(p99 * 10.0)));
    /// ```
    pub fn percentile(&self, p: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let p = if p.is_nan() { 100.0 } else { p.clamp(0.0, 100.0) };
        if p == 0.0 {
            return self.min();
        }
        if p == 100.0 {
            return self.max();
        }
        // The rank of the value wanted, 1-based: at least the first value.
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, high) = bounds_of(bucket);
                let mid = low + (high - low) / 2;
                return Duration::from_nanos(mid.clamp(self.min, self.max));
            }
        }
        self.max()
    }

    /// The mean of the values (exact); `Duration::ZERO` when empty.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut h = boundpool::LatencyHistogram::new();
    /// assert_eq!((h.count(), h.mean(), h.min(), h.max()), (0, Duration::ZERO, Duration::ZERO, Duration::ZERO));
    /// for ms in [2, 4, 9] {
    ///     h.record(Duration::from_millis(ms));
    /// }
    /// assert_eq!(h.count(), 3);
    /// assert_eq!(h.mean(), Duration::from_millis(5));
    /// assert_eq!((h.min(), h.max()), (Duration::from_millis(2), Duration::from_millis(9)));
    /// ```
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(u64::try_from(self.sum / u128::from(self.count)).unwrap_or(u64::MAX))
    }

    /// The largest value (exact); `Duration::ZERO` when empty.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut h = boundpool::LatencyHistogram::new();
    /// assert_eq!((h.count(), h.mean(), h.min(), h.max()), (0, Duration::ZERO, Duration::ZERO, Duration::ZERO));
    /// for ms in [2, 4, 9] {
    ///     h.record(Duration::from_millis(ms));
    /// }
    /// assert_eq!(h.count(), 3);
    /// assert_eq!(h.mean(), Duration::from_millis(5));
    /// assert_eq!((h.min(), h.max()), (Duration::from_millis(2), Duration::from_millis(9)));
    /// ```
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The smallest value (exact); `Duration::ZERO` when empty.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut h = boundpool::LatencyHistogram::new();
    /// assert_eq!((h.count(), h.mean(), h.min(), h.max()), (0, Duration::ZERO, Duration::ZERO, Duration::ZERO));
    /// for ms in [2, 4, 9] {
    ///     h.record(Duration::from_millis(ms));
    /// }
    /// assert_eq!(h.count(), 3);
    /// assert_eq!(h.mean(), Duration::from_millis(5));
    /// assert_eq!((h.min(), h.max()), (Duration::from_millis(2), Duration::from_millis(9)));
    /// ```
    pub fn min(&self) -> Duration {
        if self.count == 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(self.min)
        }
    }
}

/// The upper bounds of [`LatencyHistogram::buckets`], in nanoseconds: 1, 2 and 5 of each
/// decade from 1 µs to 100 s. A value in none of them falls in the last, unbounded bucket.
const EXPORT_BOUNDS: [u64; 25] = {
    let mut bounds = [0u64; 25];
    let mut decade = 1_000u64;
    let mut i = 0;
    while i < 24 {
        bounds[i] = decade;
        bounds[i + 1] = 2 * decade;
        bounds[i + 2] = 5 * decade;
        decade *= 10;
        i += 3;
    }
    bounds[24] = decade;
    bounds
};

impl LatencyHistogram {
    /// The distribution as Prometheus-style cumulative buckets: `(upper bound, how many values
    /// were at most that)`, ascending. The bounds are 1, 2 and 5 of each decade from 1 µs to
    /// 100 s, then `Duration::MAX` (Prometheus' `+Inf`), whose count is [`count`](Self::count).
    /// A value is counted under the first bound at or above the top of its internal bucket, so
    /// a value up to 6.25 % below a bound may be counted under the next one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut h = boundpool::LatencyHistogram::new();
    /// h.record(Duration::from_micros(3));
    /// h.record(Duration::from_millis(40));
    /// let buckets = h.buckets();
    /// assert_eq!(buckets.last(), Some(&(Duration::MAX, 2)));
    /// let at = |bound: Duration| buckets.iter().find(|(b, _)| *b == bound).unwrap().1;
    /// assert_eq!(at(Duration::from_micros(2)), 0);
    /// assert_eq!(at(Duration::from_micros(5)), 1);
    /// assert_eq!(at(Duration::from_millis(50)), 2);
    /// ```
    pub fn buckets(&self) -> Vec<(Duration, u64)> {
        let mut out: Vec<(Duration, u64)> =
            EXPORT_BOUNDS.iter().map(|&b| (Duration::from_nanos(b), 0)).collect();
        let mut over = 0;
        for (bucket, &n) in self.counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let (_, high) = bounds_of(bucket);
            match EXPORT_BOUNDS.iter().position(|&bound| high <= bound) {
                Some(i) => out[i].1 += n,
                None => over += n,
            }
        }
        let mut running = 0;
        for entry in &mut out {
            running += entry.1;
            entry.1 = running;
        }
        debug_assert_eq!(running + over, self.count);
        out.push((Duration::MAX, self.count));
        out
    }

    /// The sum of every value recorded (exact, saturating at `Duration::MAX`), as Prometheus'
    /// `_sum`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut h = boundpool::LatencyHistogram::new();
    /// h.record(Duration::from_millis(2));
    /// h.record(Duration::from_millis(3));
    /// assert_eq!(h.sum(), Duration::from_millis(5));
    /// ```
    pub fn sum(&self) -> Duration {
        const NANOS: u128 = 1_000_000_000;
        match u64::try_from(self.sum / NANOS) {
            Ok(secs) => Duration::new(secs, (self.sum % NANOS) as u32),
            Err(_) => Duration::MAX,
        }
    }
}

#[cfg(feature = "metrics")]
impl LatencyHistogram {
    /// Calls `f(value in seconds, count)` for each bucket's values recorded here but not in
    /// `earlier` (an earlier snapshot of the same recorders), at the bucket's midpoint.
    pub(crate) fn since(&self, earlier: &LatencyHistogram, mut f: impl FnMut(f64, u64)) {
        for (bucket, &n) in self.counts.iter().enumerate() {
            let new = n.saturating_sub(earlier.counts.get(bucket).copied().unwrap_or(0));
            if new > 0 {
                let (low, high) = bounds_of(bucket);
                f((low + (high - low) / 2) as f64 / 1e9, new);
            }
        }
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count)
            .field("min", &self.min())
            .field("p50", &self.percentile(50.0))
            .field("p99", &self.percentile(99.0))
            .field("max", &self.max())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for v in (0..100_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last && b < BUCKETS, "value {v} bucket {b}");
            let (low, high) = bounds_of(b);
            assert!(low <= v && v <= high, "value {v} outside {low}..={high}");
            last = b;
        }
    }

    #[test]
    fn export_buckets_ascend_and_end_at_the_count() {
        let mut h = LatencyHistogram::new();
        let mut x = 1u64;
        for _ in 0..5_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            h.record(Duration::from_nanos(x >> 28)); // below 69 s
        }
        h.record(Duration::from_secs(1_000));
        let buckets = h.buckets();
        assert_eq!(buckets.len(), EXPORT_BOUNDS.len() + 1);
        for pair in buckets.windows(2) {
            assert!(pair[0].0 < pair[1].0 && pair[0].1 <= pair[1].1, "{pair:?}");
        }
        assert_eq!(buckets[buckets.len() - 2].1, 5_000, "the 1000 s value is over every finite bound");
        assert_eq!(buckets.last(), Some(&(Duration::MAX, 5_001)));
        assert_eq!(EXPORT_BOUNDS[0], 1_000);
        assert_eq!(EXPORT_BOUNDS[24], 100_000_000_000);
        // Every value of at most 1 ms is under the 1 ms bound.
        let small = h
            .counts
            .iter()
            .enumerate()
            .filter(|(b, _)| bounds_of(*b).1 <= 1_000_000)
            .map(|(_, n)| n)
            .sum::<u64>();
        assert_eq!(buckets.iter().find(|(b, _)| *b == Duration::from_millis(1)).unwrap().1, small);
        let empty = LatencyHistogram::new().buckets();
        assert!(empty.iter().all(|(_, n)| *n == 0));
    }
}
