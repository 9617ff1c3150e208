//! Replaying production service times: a CSV of per-job CPU and blocking times.
//!
//! The format, one job a line:
//!
//! ```text
//! # exported from the request log: CPU and blocking (I/O, locks, downstream calls) per request
//! cpu_us,io_us
//! 180,950
//! 240,1310.5
//! ```
//!
//! - two columns, CPU time then blocking time, in microseconds (decimals allowed, not negative);
//! - an optional header line `cpu_us,io_us` (the first line that is not a comment);
//! - blank lines and lines starting with `#` are skipped;
//! - at least one job, at most 10 000 000.
//!
//! Each job of a sweep takes the trace's next line, in order, and starts again from the top at
//! the end, so every configuration replays the same sequence.

use std::fmt;
use std::path::Path;
use std::time::Duration;

/// At most this many jobs in a trace.
const MAX_JOBS: usize = 10_000_000;
/// A job's CPU or blocking time is at most this long, in microseconds (one minute).
const MAX_US: f64 = 60e6;

/// Per-job CPU and blocking times read from a CSV (see the [module docs](self) for the format).
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::Trace;
///
/// let trace = Trace::parse("cpu_us,io_us\n200,1000\n# a comment\n100,0\n")?;
/// assert_eq!(trace.len(), 2);
/// assert_eq!(trace.mean_cpu(), Duration::from_micros(150));
/// # Ok::<(), boundpool_capacity::TraceError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    jobs: Vec<(Duration, Duration)>,
    source: String,
}

/// Why a trace could not be read: the line (counted from 1) and what is wrong with it.
///
/// ```
/// let err = boundpool_capacity::Trace::parse("cpu_us,io_us\n200,1000\n200;1000\n").unwrap_err();
/// assert_eq!(err.line(), Some(3));
/// assert!(err.to_string().starts_with("line 3:"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceError {
    /// The file could not be read.
    Io(std::io::Error),
    /// A line is malformed.
    Line {
        /// The line number, counted from 1.
        line: usize,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// No job in the trace.
    Empty,
    /// More than 10 000 000 jobs.
    TooLong,
}

impl TraceError {
    /// The line number of a malformed line.
    ///
    /// ```
    /// let err = boundpool_capacity::Trace::parse("1,x").unwrap_err();
    /// assert_eq!(err.line(), Some(1));
    /// ```
    pub fn line(&self) -> Option<usize> {
        match self {
            TraceError::Line { line, .. } => Some(*line),
            _ => None,
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io(e) => write!(f, "cannot read the trace: {e}"),
            TraceError::Line { line, message } => write!(f, "line {line}: {message}"),
            TraceError::Empty => f.write_str("the trace has no job: write one `cpu_us,io_us` line per job"),
            TraceError::TooLong => write!(f, "the trace has more than {MAX_JOBS} jobs"),
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn micros(field: &str, name: &str, line: usize) -> Result<Duration, TraceError> {
    let bad = |message: String| TraceError::Line { line, message };
    let value: f64 = field
        .trim()
        .parse()
        .map_err(|_| bad(format!("{name} `{}` is not a number of microseconds", field.trim())))?;
    if !value.is_finite() || value < 0.0 {
        return Err(bad(format!("{name} `{}` must be zero or more microseconds", field.trim())));
    }
    if value > MAX_US {
        return Err(bad(format!("{name} `{}` is over one minute", field.trim())));
    }
    Ok(Duration::from_secs_f64(value / 1e6))
}

impl Trace {
    /// Parses the CSV text of a trace.
    ///
    /// # Errors
    ///
    /// [`TraceError::Line`] for the first malformed line (naming it), [`TraceError::Empty`]
    /// without any job, [`TraceError::TooLong`] past 10 000 000 jobs.
    ///
    /// ```
    /// let err = boundpool_capacity::Trace::parse("cpu_us,io_us\n200,-3\n").unwrap_err();
    /// assert_eq!(err.to_string(), "line 2: io_us `-3` must be zero or more microseconds");
    /// ```
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut jobs = Vec::new();
        let mut seen_data = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let first = !seen_data;
            seen_data = true;
            if first && content.replace(' ', "").eq_ignore_ascii_case("cpu_us,io_us") {
                continue;
            }
            let fields: Vec<&str> = content.split(',').collect();
            if fields.len() != 2 {
                return Err(TraceError::Line {
                    line,
                    message: format!(
                        "expected two comma-separated fields `cpu_us,io_us`, found {}",
                        fields.len()
                    ),
                });
            }
            jobs.push((micros(fields[0], "cpu_us", line)?, micros(fields[1], "io_us", line)?));
            if jobs.len() > MAX_JOBS {
                return Err(TraceError::TooLong);
            }
        }
        if jobs.is_empty() {
            return Err(TraceError::Empty);
        }
        Ok(Trace { jobs, source: "trace".to_owned() })
    }

    /// Reads and parses a trace file.
    ///
    /// # Errors
    ///
    /// [`TraceError::Io`] if the file cannot be read, else as [`Trace::parse`].
    ///
    /// ```no_run
    /// let trace = boundpool_capacity::Trace::from_file("capacity/traces/sample.csv")?;
    /// # Ok::<(), boundpool_capacity::TraceError>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Trace, TraceError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(TraceError::Io)?;
        let mut trace = Trace::parse(&text)?;
        trace.source = path.display().to_string();
        Ok(trace)
    }

    /// The number of jobs.
    ///
    /// ```
    /// assert_eq!(boundpool_capacity::Trace::parse("1,2\n3,4").unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Always false: a trace has at least one job.
    ///
    /// ```
    /// assert!(!boundpool_capacity::Trace::parse("1,2").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The mean CPU time per job.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let t = boundpool_capacity::Trace::parse("100,0\n300,0").unwrap();
    /// assert_eq!(t.mean_cpu(), Duration::from_micros(200));
    /// ```
    pub fn mean_cpu(&self) -> Duration {
        self.jobs.iter().map(|j| j.0).sum::<Duration>() / self.jobs.len() as u32
    }

    /// The mean blocking time per job.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let t = boundpool_capacity::Trace::parse("0,1000\n0,3000").unwrap();
    /// assert_eq!(t.mean_io(), Duration::from_millis(2));
    /// ```
    pub fn mean_io(&self) -> Duration {
        self.jobs.iter().map(|j| j.1).sum::<Duration>() / self.jobs.len() as u32
    }

    /// The `index`-th job of a replay (the trace repeats).
    pub(crate) fn job(&self, index: u64) -> (Duration, Duration) {
        self.jobs[(index % self.jobs.len() as u64) as usize]
    }

    /// One line for the report's header.
    pub(crate) fn describe(&self) -> String {
        format!(
            "trace {} ({} jobs, mean cpu {:?} + io {:?})",
            self.source,
            self.jobs.len(),
            self.mean_cpu(),
            self.mean_io()
        )
    }
}
