//! Run with: cargo run --example json_logs
//!
//! mend's events as structured JSON lines (tracing-subscriber's JSON
//! formatter): a breaker opening (WARN) and healing (INFO), a limit's
//! episode of refusing, and a retry's give-up, each one line with its
//! fields. A storm of rejections is one summary, not a line per call.

use std::io;
use std::num::NonZeroU32;
use std::time::Duration;

use mend::breaker::CircuitBreaker;
use mend::clock::ManualClock;
use mend::limit::{Quota, RateLimiter};
use mend::retry::{Backoff, Retry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_current_span(false)
        .init();

    // A manual clock: the example runs instantly and prints the same lines.
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("inventory")
        .consecutive_failures(3)
        .wait_in_open(Duration::from_secs(5))
        .half_open_calls(1)
        .clock(clock.clone())
        .build()?;
    let down = || Err::<(), _>(io::Error::from(io::ErrorKind::ConnectionRefused));
    for _ in 0..3 {
        let _ = breaker.call(down);
    }
    for _ in 0..1_000 {
        let _ = breaker.call(|| Ok::<_, io::Error>(())); // refused: no line each
    }
    clock.advance(Duration::from_secs(5));
    breaker.call(|| Ok::<_, io::Error>(()))?; // the trial heals it

    let limiter = RateLimiter::builder("search", Quota::per_second(NonZeroU32::new(2).unwrap()))
        .clock(clock.clone())
        .build()?;
    for _ in 0..10 {
        let _ = limiter.check();
    }
    clock.advance(Duration::from_secs(2));
    limiter.check()?;

    let retry = Retry::builder("payments")
        .max_attempts(2)
        .backoff(Backoff::constant(Duration::from_millis(100)))
        .manual_clock(&clock)
        .build()?;
    let _ = retry.call(|| Err::<(), _>(io::Error::from(io::ErrorKind::ConnectionReset)));
    Ok(())
}
