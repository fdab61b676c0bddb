//! `mend::supervise`: the restart state machine against a reference model,
//! and supervisors of real tasks under paused tokio time.

#![cfg(all(feature = "supervise", feature = "health"))]

mod machine;
mod tasks;
