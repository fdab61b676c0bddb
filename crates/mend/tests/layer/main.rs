//! Integration tests of the tower layers (`mend::layer`), in one binary:
//! real servers on `127.0.0.1:0`, real time, and waits on conditions with
//! generous deadlines (never fixed sleeps, never paused time).

mod client;
mod keyed;
mod poll_ready;
mod retry;
mod server;
mod shared;
mod support;
