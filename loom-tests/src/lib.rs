//! Model tests of boundpool live in `tests/`; run them with `RUSTFLAGS="--cfg loom" cargo test --release`.
