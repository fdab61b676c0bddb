//! `mend::cleanup`: guards on resources with no rollback of their own, the
//! shutdown sequence under paused time, real signals to a child process,
//! and SQLite transactions on a real database file.

mod guard;
#[cfg(all(feature = "supervise", feature = "health"))]
mod shutdown;
#[cfg(all(feature = "supervise", feature = "health"))]
mod signals;
#[cfg(feature = "sqlite")]
mod sqlite;
