//! The trace parser: the shipped sample parses; a bad line is an error naming its line number.

use std::time::Duration;

use boundpool_capacity::{Trace, TraceError};

fn line_of(text: &str) -> (usize, String) {
    match Trace::parse(text) {
        Err(e @ TraceError::Line { .. }) => (e.line().expect("a line error names its line"), e.to_string()),
        other => panic!("expected a line error for {text:?}, got {other:?}"),
    }
}

#[test]
fn the_sample_trace_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/traces/sample.csv");
    let trace = Trace::from_file(path).expect("the shipped sample is valid");
    assert_eq!(trace.len(), 500);
    assert!(trace.mean_cpu() > Duration::from_micros(100) && trace.mean_cpu() < Duration::from_millis(1));
    assert!(trace.mean_io() > Duration::from_micros(500) && trace.mean_io() < Duration::from_millis(5));
}

#[test]
fn header_comments_and_blank_lines_are_optional() {
    let with = Trace::parse("# from the log\n\ncpu_us,io_us\n200,1000\n  \n100.5, 0\n").unwrap();
    let without = Trace::parse("200,1000\n100.5,0").unwrap();
    assert_eq!(with.len(), 2);
    assert_eq!(with.mean_cpu(), without.mean_cpu());
    assert_eq!(with.mean_io(), Duration::from_micros(500));
}

#[test]
fn a_bad_line_is_named() {
    let (line, msg) = line_of("cpu_us,io_us\n200,1000\n200;1000\n");
    assert_eq!(line, 3, "{msg}");
    assert!(msg.starts_with("line 3: expected two comma-separated fields"), "{msg}");

    let (line, msg) = line_of("# comment\ncpu_us,io_us\n1,2\n\n3,abc\n");
    assert_eq!(line, 5, "{msg}");
    assert!(msg.contains("io_us `abc` is not a number"), "{msg}");

    let (line, msg) = line_of("1,2\n-5,2\n");
    assert_eq!(line, 2, "{msg}");
    assert!(msg.contains("cpu_us `-5` must be zero or more"), "{msg}");

    let (line, msg) = line_of("1,2,3\n");
    assert_eq!(line, 1, "{msg}");
    assert!(msg.contains("found 3"), "{msg}");

    let (line, msg) = line_of("1,2\n1,NaN\n");
    assert_eq!(line, 2, "{msg}");

    let (line, msg) = line_of("1,2\n1,99999999999\n");
    assert_eq!(line, 2, "{msg}");
    assert!(msg.contains("over one minute"), "{msg}");

    // A header anywhere but first is a bad line.
    let (line, _) = line_of("1,2\ncpu_us,io_us\n");
    assert_eq!(line, 2);
}

#[test]
fn an_empty_or_missing_trace_is_an_error() {
    assert!(matches!(Trace::parse("# nothing\ncpu_us,io_us\n\n"), Err(TraceError::Empty)));
    let err = Trace::from_file("/no/such/trace.csv").unwrap_err();
    assert!(matches!(err, TraceError::Io(_)), "{err:?}");
    assert_eq!(err.line(), None);
    assert!(std::error::Error::source(&err).is_some());
}
