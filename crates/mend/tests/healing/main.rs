//! The self-healing example application (`examples/healing_app`) under
//! real faults: each test starts it as a child process (`--serve`, its own
//! state directory), injects one fault over its HTTP API, and asserts the
//! recovery from what an operator would read: a real `/metrics` scrape,
//! the `/health` document, and after a `kill -9` the checkpoint store's
//! `load()` and the SQLite database. Never from the example's prints.
//!
//! The example binary is built by `cargo test` (examples are built with
//! the tests); a test run that builds only this target must build it
//! first: `cargo build -p mend --example healing_app --features
//! tower,health,supervise,sqlite,prometheus`.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests start real processes and wait for them in real time"
)]

mod crash;
mod database;
mod dependency;
mod support;
mod worker;
