//! The sweep's error type.

use std::fmt;

/// Why a sweep could not run.
///
/// ```
/// let err = boundpool_capacity::Sweep::new(|| ()).rate(-1.0).run().unwrap_err();
/// assert!(matches!(err, boundpool_capacity::SweepError::Invalid(_)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SweepError {
    /// A setting is out of range; the message says which and what is allowed.
    Invalid(String),
    /// A pool could not be built (its threads could not start).
    Build(boundpool::BuildError),
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Invalid(what) => f.write_str(what),
            SweepError::Build(e) => write!(f, "cannot build a pool: {e}"),
        }
    }
}

impl std::error::Error for SweepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SweepError::Build(e) => Some(e),
            SweepError::Invalid(_) => None,
        }
    }
}

impl From<boundpool::BuildError> for SweepError {
    fn from(e: boundpool::BuildError) -> Self {
        SweepError::Build(e)
    }
}
