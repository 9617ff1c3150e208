//! The recommendation rule: which configuration to run, given every repeat of every point.
//!
//! A point **qualifies** when *every* repeat of it met the target with a margin:
//!
//! - its end-to-end p99 is at most [`MARGIN`] × the target (20 % headroom);
//! - open loop: it refused at most [`REJECT_BUDGET`] of arrivals (one in a thousand: fewer than
//!   the 1 % a p99 target already lets be slow) and the submitter kept up (offered at least
//!   95 % of the rate, so the point vouches for that rate);
//! - closed loop: its throughput is at least 90 % of the best median throughput of the sweep;
//! - it was measured as many times as asked (a point dropped after a hopeless first run never
//!   qualifies).
//!
//! The recommendation is the qualifying point with the fewest workers, then the smallest queue.
//! If none qualifies it names the closest point (fewest refused arrivals in its worst repeat,
//! then the lowest worst p99) and says that nothing met the target.

use std::time::Duration;

use crate::measure::Run;
use crate::report::Point;
use crate::sweep::Arrival;

/// The share of the target a point's p99 may reach, in every repeat.
pub const MARGIN: f64 = 0.8;
/// The share of arrivals a point may refuse, in every repeat.
pub const REJECT_BUDGET: f64 = 0.001;
/// In open loop, the submitter must offer at least this share of the rate.
pub const KEPT_UP: f64 = 0.95;
/// In closed loop, a point must reach this share of the best throughput.
pub const NEAR_BEST: f64 = 0.9;

/// The rule's inputs besides the points.
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::{recommend::Rule, Arrival};
///
/// let rule = Rule { arrival: Arrival::Closed, target_p99: Duration::from_millis(20), repeats: 3 };
/// assert!(rule.choose(&[]).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// How jobs arrived.
    pub arrival: Arrival,
    /// The end-to-end p99 to meet.
    pub target_p99: Duration,
    /// How many repeats each qualifying point must have.
    pub repeats: u32,
}

/// The configuration the rule picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// Index of the point in the sweep.
    pub index: usize,
    /// Whether it qualified (else it is only the closest).
    pub qualified: bool,
}

impl Rule {
    /// Whether one run meets the target with the margin.
    pub(crate) fn run_meets(&self, run: &Run, best_throughput: f64) -> bool {
        if run.latency.p99.as_secs_f64() > MARGIN * self.target_p99.as_secs_f64() {
            return false;
        }
        match self.arrival {
            Arrival::Open { rate, .. } => {
                run.rejected_share() <= REJECT_BUDGET && run.offered >= KEPT_UP * rate
            }
            Arrival::Closed => run.throughput >= NEAR_BEST * best_throughput,
        }
    }

    /// Whether `point` qualifies among `points` (see the [module docs](self)).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use boundpool_capacity::{recommend::Rule, Arrival};
    /// # let rule = Rule { arrival: Arrival::Closed, target_p99: Duration::from_millis(20), repeats: 1 };
    /// # fn check(rule: Rule, points: &[boundpool_capacity::Point]) {
    /// let ok = points.iter().filter(|p| rule.qualifies(p, points)).count();
    /// # }
    /// ```
    pub fn qualifies(&self, point: &Point, points: &[Point]) -> bool {
        let best = best_throughput(points);
        point.runs.len() >= self.repeats as usize && point.runs.iter().all(|r| self.run_meets(r, best))
    }

    /// The recommended point, or the closest one if none qualifies; `None` for no points.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use boundpool_capacity::{recommend::Rule, Arrival};
    /// let rule = Rule { arrival: Arrival::Closed, target_p99: Duration::from_millis(20), repeats: 1 };
    /// assert_eq!(rule.choose(&[]), None);
    /// ```
    pub fn choose(&self, points: &[Point]) -> Option<Choice> {
        let best = points
            .iter()
            .enumerate()
            .filter(|(_, p)| self.qualifies(p, points))
            .min_by_key(|(_, p)| (p.workers, p.queue));
        if let Some((index, _)) = best {
            return Some(Choice { index, qualified: true });
        }
        points
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| (p.worst(|r| r.rejected), p.worst_p99()))
            .map(|(index, _)| Choice { index, qualified: false })
    }
}

fn best_throughput(points: &[Point]) -> f64 {
    points.iter().map(|p| p.median(|r| r.throughput)).fold(0.0, f64::max)
}
