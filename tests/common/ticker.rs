//! A timer task that measures how responsive an async runtime stays: it asks to wake every
//! period and records how late each wake-up came. A runtime whose threads are blocked (by a
//! blocking call inside a task) wakes it late; one that only ever awaits does not. Tests print
//! the figures; they never assert them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

/// What the ticker saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lateness {
    /// The latest wake-up, past its due time.
    pub max: Duration,
    /// Wake-ups seen.
    pub ticks: u64,
}

/// A running ticker; [`stop`](Ticker::stop) ends it and returns what it saw.
pub struct Ticker {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Lateness>,
}

impl Ticker {
    /// Starts a ticker task on the current tokio runtime, waking every `period`.
    pub fn start(period: Duration) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut seen = Lateness::default();
            let mut due = Instant::now() + period;
            while !flag.load(Ordering::SeqCst) {
                tokio::time::sleep_until(due).await;
                let now = Instant::now();
                seen.max = seen.max.max(now.saturating_duration_since(due));
                seen.ticks += 1;
                // A late tick does not cause a burst of catch-up ticks.
                due = now + period;
            }
            seen
        });
        Ticker { stop, task }
    }

    /// Stops the ticker (after its next wake-up) and returns what it saw.
    pub async fn stop(self) -> Lateness {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("the ticker task does not panic")
    }
}
