//! `mend run` and `mend check` as a user runs them: the real binary, a
//! config file written by the test, hostile services, signals; processes
//! counted in `/proc` by a marker in their environment, never by asking
//! mend. Waits are on conditions with generous deadlines.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests read /proc, write configs and wait for real processes"
)]

mod control;
mod readopt;
mod reload;
mod running;
mod support;
mod systemd;
