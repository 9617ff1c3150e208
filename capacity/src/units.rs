//! Durations as people write them (`200us`, `1.5ms`) and as the report prints them.

use std::time::Duration;

/// Parses `250us`, `1.5ms`, `2s`, `100ns` or `0` (`µs` works too), at most one hour.
///
/// # Errors
///
/// A message saying what to write instead, for a missing or unknown unit, a malformed number or
/// a duration over one hour.
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::units::parse_duration;
///
/// assert_eq!(parse_duration("1.5ms"), Ok(Duration::from_micros(1500)));
/// assert!(parse_duration("200").is_err()); // a unit is required
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!("`{s}` is not a duration such as 200us or 1.5ms"));
    }
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "" => return Err(format!("`{s}` needs a unit: ns, us, ms or s (e.g. 200us)")),
        other => return Err(format!("unknown unit `{other}`: use ns, us, ms or s (e.g. 200us)")),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{s}` is not a duration such as 200us or 1.5ms"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs > 3600.0 {
        return Err(format!("`{s}` is too long: at most one hour"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `850µs`, `12.3ms`, `1.25s`: three significant figures, the unit chosen to fit.
///
/// ```
/// use std::time::Duration;
/// use boundpool_capacity::units::format_duration;
///
/// assert_eq!(format_duration(Duration::from_micros(12_345)), "12.3ms");
/// ```
pub fn format_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 10_000.0 {
        format!("{:.2}ms", us / 1e3)
    } else if us < 1_000_000.0 {
        format!("{:.1}ms", us / 1e3)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}
