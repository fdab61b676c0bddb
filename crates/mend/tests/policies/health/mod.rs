//! `mend::health`: probe semantics under paused tokio time, the ready-made
//! checks against real sockets and processes, and the health+json report.

#![cfg(feature = "health")]

mod checks;
mod probes;
mod report;
