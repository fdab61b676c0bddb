//! OS processes under supervision (feature `process`, Linux): the core of
//! the `mend` daemon, as a library, so a Rust program can embed a process
//! supervisor.
//!
//! A [`ProcessSupervisor`] runs services ([`ServiceSpec`]: argv exec'd
//! directly, never through a shell unless asked; directory; environment
//! inherited or clean; stdin on `/dev/null`; stdout and stderr to
//! [`LogFiles`] rotated by size), each in a tokio task of its own, and
//! when one ends decides with the task supervisor's
//! [`RestartMachine`](crate::supervise::RestartMachine), one per service:
//! restart kinds (systemd's `always`, `on-failure`, `no`), the exit codes
//! that count as success, a start grace (a process that ends sooner failed
//! to start), backoff with jitter that starts over after stable running,
//! and an intensity past which it gives up and stays down until started by
//! hand. A [`ProcessHandle`] reads every service's [`ServiceStatus`] and
//! starts, stops, restarts and signals them; every start, end (exact:
//! code, signal, core dump), kill, restart and give-up is a
//! [`ProcessEvent`], and a handle is a metrics source (`mend_process_*`,
//! feature `metrics`).
//!
//! # Nothing left behind
//!
//! Everything a service starts is tracked and stopped:
//!
//! - **cgroup v2** ([`Backend::Cgroup`]), where a writable hierarchy
//!   exists (found in `/proc/self/mountinfo`): each service gets a cgroup
//!   of its own under the supervisor's, which the child joins *before*
//!   exec (the one `unsafe` hook, in the `mend-sys` crate), so not even a
//!   process that forks at once or calls `setsid` escapes. A stop signals
//!   every process in it; after the grace `cgroup.kill` ends the rest;
//!   `cgroup.events` says when it is empty.
//! - **process group** ([`Backend::ProcessGroup`]), elsewhere or when
//!   chosen ([`Isolation::ProcessGroup`]): each service leads a process
//!   group of its own, and stop signals go to the group. A descendant that
//!   leaves the group (`setsid`, `setpgid`) escapes them, and is left
//!   running.
//!
//! Services can be grouped ([`ProcessSupervisorBuilder::group`]) to
//! restart together by OTP's `one_for_all` and `rest_for_one`: the
//! group's plan then rules its members' backoff and intensity, as a
//! supervisor's rules its children's.
//!
//! When a service's process ends by itself, what it left behind is stopped
//! the same way (stop signal, grace, kill) before it is started again.
//!
//! # Reaping
//!
//! Each service process is reaped through its own pidfd (`waitid` on that
//! pidfd only), so the supervisor never takes the exit status of a child
//! that other code in the program started (`tokio::process`, `std`).
//! Orphans (a service's grandchildren whose parent died) go to the nearest
//! subreaper, normally pid 1; a program that owns all its children, such
//! as the daemon, can take them instead with [`OrphanReaper`], a separate
//! opt-in whose docs say what it reaps and what it never touches.
//!
//! # Examples
//!
//! ```no_run
//! use std::time::Duration;
//! use mend::process::{LogFiles, Output, ProcessSupervisor, ServiceSpec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let supervisor = ProcessSupervisor::builder("app")
//!     .service(
//!         ServiceSpec::builder("web", ["python3", "-m", "http.server", "8080"])
//!             .output(Output::Files(LogFiles::new("/var/log/app")))
//!             .stop_grace(Duration::from_secs(5))
//!             .build()?,
//!     )
//!     .build()?
//!     .start()?;
//! println!("{:?}", supervisor.status("web"));
//! supervisor.shutdown().await; // SIGTERM, 5 s, then SIGKILL to what is left
//! # Ok(())
//! # }
//! ```

mod cgroup;
mod child;
mod event;
mod exec_check;
mod exit;
mod group;
mod handle;
mod hook;
mod ledger;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod notify;
mod output;
mod proc_stat;
mod reaper;
mod service;
mod spec;
mod status;
mod supervisor;
mod sys;
mod tracked;
mod usage;
mod user;

pub use event::{ProcessChange, ProcessEvent};
pub use exec_check::ExecCheck;
pub use exit::ExitReason;
pub use handle::{ProcessError, ProcessHandle, ReloadError};
pub use ledger::ServiceRecord;
pub use output::{LogFiles, Output, RotationStats};
pub use proc_stat::ProcessIdentity;
pub use reaper::OrphanReaper;
pub use rustix::process::{Resource, Signal};
pub use spec::{ServiceSpec, ServiceSpecBuilder};
pub use status::{Backend, ExitTally, ProbeHealth, ServiceState, ServiceStatus};
pub use supervisor::{Isolation, ProcessSupervisor, ProcessSupervisorBuilder};
pub use usage::ResourceUsage;
pub use user::{Credentials, credentials_for};
