//! Erlang/OTP supervision of async tasks (feature `supervise`).
//!
//! A [`Supervisor`] runs children ([`ChildSpec`]: a name, a factory that
//! makes the child's future afresh for each start, a [`Restart`] kind and a
//! [`Stop`]) in tokio tasks, in the order they were added, and when one
//! ends decides by its [`RestartPlan`]:
//!
//! - **which children restart**: [`Strategy::OneForOne`] (the one that
//!   ended), [`Strategy::OneForAll`] (all: the others are stopped in
//!   reverse order, then all start again in order),
//!   [`Strategy::RestForOne`] (it and every child started after it);
//! - **whether**: a [`Restart::Permanent`] child always, a
//!   [`Restart::Transient`] one after a failure only, a
//!   [`Restart::Temporary`] one never (systemd's `always`, `on-failure`,
//!   `no`);
//! - **when**: each child's restarts in a row back off
//!   ([`crate::retry::Delays`]: the retry's backoff and jitter), starting
//!   over once it has run stably for a while;
//!   [`crash_loop_backoff`](RestartPlanBuilder::crash_loop_backoff) is
//!   Kubernetes' preset;
//! - **until when**: more than N restarts within T (per supervisor, as in
//!   OTP, or per child) and it gives up: it stops every child and ends with
//!   a [`GiveUp`] naming the child and how often. A supervisor nested in
//!   another ([`Supervisor::into_child`]) that gives up fails, and its
//!   parent restarts it or gives up in turn.
//!
//! Those decisions are a plain state machine, [`RestartMachine`] (no
//! tokio, no I/O: "started", "ended so, at this time" in; what to stop,
//! what to start and when out), which the OS-process supervisor drives
//! too. A child that panics has failed, like one that returns an error;
//! the supervisor goes on. A [`SupervisorHandle`] adds and removes
//! children at run time, reads their state, and restarts one by name
//! (what a [`health`](crate::health) recovery calls), then waits for the
//! supervisor or shuts it down: children stop in reverse order, each
//! asked through its [`ChildContext`]'s cancellation token and aborted
//! after its grace. Every start, end, restart and give-up is a
//! [`SuperviseEvent`].
//!
//! # Limits
//!
//! - With `panic = "abort"` a panic ends the process: nothing is caught.
//! - Aborting a task takes effect at its next `.await`: a child that blocks
//!   a thread (a busy loop, a blocking call) is not stopped by it. Use
//!   `spawn_blocking` for blocking work, and a process for work that must
//!   be killable.
//! - A nested supervisor is addressed through its parent only: the
//!   handle of a supervisor started with [`Supervisor::start`] reaches its
//!   own children, not its grandchildren.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use mend::supervise::{ChildSpec, RestartPlan, Supervisor};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runs = Arc::new(AtomicU32::new(0));
//! let counted = runs.clone();
//! let supervisor = Supervisor::builder("app")
//!     .restarts(RestartPlan::builder().intensity(3, Duration::from_secs(10)))
//!     .child(ChildSpec::new("flaky", move |ctx| {
//!         let run = counted.fetch_add(1, Ordering::SeqCst);
//!         async move {
//!             if run < 2 {
//!                 return Err("lost the connection".into()); // fails twice
//!             }
//!             ctx.cancelled().await; // then runs until stopped
//!             Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//!         }
//!     }))
//!     .build()?
//!     .start();
//! tokio::time::sleep(Duration::from_secs(1)).await;
//! assert_eq!(runs.load(Ordering::SeqCst), 3);
//! assert_eq!(supervisor.child("flaky").unwrap().restarts, 2);
//! supervisor.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod event;
mod handle;
mod machine;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod plan;
mod run;
mod spec;
mod supervisor;

pub use event::{SuperviseChange, SuperviseEvent};
pub use handle::{ChildInfo, ExitCounts, SuperviseError, SupervisorHandle};
pub use machine::{
    Decision, DuplicateChild, GiveUp, Phase, RestartMachine, RestartMemory, RestartOrder,
};
pub use plan::{Exit, IntensityScope, Restart, RestartPlan, RestartPlanBuilder, Strategy};
pub use spec::{ChildContext, ChildError, ChildFuture, ChildSpec, Stop};
pub use supervisor::{Supervisor, SupervisorBuilder};
