//! Cleanup on failure and at the end: commit-or-rollback guards, and a
//! program's orderly shutdown.
//!
//! - [`Guard`] (always built): a change made in steps carries the way to
//!   undo it; unless committed, dropping the guard (an early return, a `?`,
//!   a panic unwinding) rolls it back. A rollback that fails while dropping
//!   is logged, never a panic.
//! - [`Shutdown`] (feature `supervise`): SIGINT, SIGTERM
//!   ([`listen_for_signals`](Shutdown::listen_for_signals)) or a call
//!   ([`trigger`](Shutdown::trigger)) cancel one `CancellationToken`
//!   every task sees; the tasks spawned on its `TaskTracker` get a drain
//!   timeout to finish; then the cleanup hooks run in reverse order of
//!   registration, each under its own timeout; [`wait`](Shutdown::wait)
//!   returns a [`ShutdownReport`] of what finished, failed or timed out. A
//!   second trigger during the shutdown returns [`Forced`] at once: the
//!   library never calls `process::exit`, the binary decides. Supervisors
//!   started with [`Shutdown::supervise`] stop their children in reverse
//!   start order, with their graces, as part of the drain.
//! - [`sqlite`] (feature `sqlite`): a transaction that commits when the
//!   closure succeeds and rolls back on an error or a panic, on rusqlite's
//!   own `Transaction` (whose drop already rolls back), with the rollback's
//!   failure reported instead of dropped.

mod guard;
#[cfg(feature = "supervise")]
mod report;
#[cfg(feature = "supervise")]
mod shutdown;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use guard::Guard;
#[cfg(feature = "supervise")]
pub use report::{Forced, HookOutcome, HookReport, ShutdownReason, ShutdownReport, TasksOutcome};
#[cfg(feature = "supervise")]
pub use shutdown::{HookResult, Shutdown, ShutdownBuilder};
