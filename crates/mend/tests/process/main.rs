//! Integration tests of `mend::process`: real processes under both
//! isolation backends, counted in `/proc` (by a marker in their
//! environment, which every descendant inherits), never by asking mend.
//! Waits are on conditions with generous deadlines, never fixed sleeps.
//! What is process-wide (being a subreaper, the fd table, zombies among
//! our descendants) runs in a re-executed copy of this binary.

mod crashes;
mod notify;
mod output;
mod probes;
mod reaping;
mod setup;
mod stopping;
mod support;
