//! Model tests of boundpool live in `tests/`; run them with `RUSTFLAGS="--cfg loom" cargo test --release`.
//! This library holds what several of them share.

/// Runs a loom model and prints how many interleavings it explored and how long that took.
#[cfg(loom)]
pub fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let start = std::time::Instant::now();
    loom::model(move || {
        // ORDERING: a count read after the model has ended.
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("{name}: {runs} iterations in {:.2?}", start.elapsed());
}
