//! What a policy says when it did not return the operation's own result.
//!
//! Two different things can stop a call, and mend keeps them apart:
//!
//! - [`Rejected`]: the policy refused to run the call at all (a breaker is
//!   open, a bulkhead is full, a rate limit is reached). Nothing happened
//!   downstream; it is always safe to try again later, and the rejection says
//!   when.
//! - [`Elapsed`]: the call ran, but its deadline passed first. Its effects are
//!   unknown: it may have done its work.
//!
//! [`Error<E>`] wraps both beside the operation's own error `E`, so a caller
//! matches on each (the shape of failsafe's `Error<E>`).
//!
//! # Examples
//!
//! ```
//! use mend::{Error, Rejected};
//!
//! fn describe(result: Result<u32, Error<std::io::Error>>) -> String {
//!     match result {
//!         Ok(n) => format!("got {n}"),
//!         Err(Error::Inner(e)) => format!("the call failed: {e}"),
//!         Err(Error::Rejected(Rejected::Open { retry_after, .. })) => {
//!             format!("not called; try again in {retry_after:?}")
//!         }
//!         Err(other) => other.to_string(),
//!     }
//! }
//! # assert_eq!(describe(Ok(1)), "got 1");
//! ```

use std::time::Duration;

/// A policy refused to run the call. Nothing was sent downstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// A circuit breaker is open (or half-open with every trial slot taken).
    #[error("circuit breaker is open; calls are let through again in {retry_after:?}")]
    Open {
        /// How long until the breaker lets (trial) calls through again. Zero
        /// when the breaker is half-open and only waiting for its trials.
        retry_after: Duration,
    },
    /// A circuit breaker was forced open by hand: no wait lets a call
    /// through, only a reset (so a retry gives up at once, and an HTTP
    /// layer answers 503 without a `Retry-After`).
    #[error("circuit breaker is forced open; calls are let through once it is reset")]
    ForcedOpen,
    /// A bulkhead has no free slot and no room in its queue (or the queue
    /// wait ran out).
    #[error("bulkhead is full")]
    Full,
    /// A rate limit is reached.
    #[error("rate limited; the next call may go in {retry_after:?}")]
    Limited {
        /// How long until the limiter admits the next call.
        retry_after: Duration,
    },
}

impl Rejected {
    /// When the policy expects to admit a call again, if it knows.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Rejected::Open { retry_after } | Rejected::Limited { retry_after } => {
                Some(*retry_after)
            }
            Rejected::Full | Rejected::ForcedOpen => None,
        }
    }

    /// Whether waiting can get a call through: false only for a breaker
    /// forced open by hand.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, Rejected::ForcedOpen)
    }
}

/// A deadline passed while the call was running. The call may or may not have
/// taken effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline of {timeout:?} elapsed while the call was running")]
pub struct Elapsed {
    /// The time the call was given.
    pub timeout: Duration,
}

impl Elapsed {
    /// The deadline that passed was `timeout` after the call started.
    pub fn new(timeout: Duration) -> Self {
        Elapsed { timeout }
    }
}

/// The result of a call through a policy: the operation's own error `E`, kept
/// apart from the policy's refusal and from a deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    /// The operation ran and returned this error.
    #[error(transparent)]
    Inner(E),
    /// A policy refused to run the operation.
    #[error(transparent)]
    Rejected(Rejected),
    /// The operation ran past its deadline.
    #[error(transparent)]
    Elapsed(Elapsed),
}

impl<E> Error<E> {
    /// The operation's own error, if that is what this is.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// The operation's own error, by reference.
    pub fn inner(&self) -> Option<&E> {
        match self {
            Error::Inner(e) => Some(e),
            _ => None,
        }
    }

    /// True when a policy refused the call (it never ran).
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected(_))
    }

    /// True when the call ran out of time.
    pub fn is_elapsed(&self) -> bool {
        matches!(self, Error::Elapsed(_))
    }

    /// Maps the operation's error, keeping refusals and deadlines as they are.
    pub fn map_inner<F, G: FnOnce(E) -> F>(self, f: G) -> Error<F> {
        match self {
            Error::Inner(e) => Error::Inner(f(e)),
            Error::Rejected(r) => Error::Rejected(r),
            Error::Elapsed(e) => Error::Elapsed(e),
        }
    }
}

impl<E> From<Rejected> for Error<E> {
    fn from(r: Rejected) -> Self {
        Error::Rejected(r)
    }
}

impl<E> From<Elapsed> for Error<E> {
    fn from(e: Elapsed) -> Self {
        Error::Elapsed(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_say_what_to_do() {
        let open = Rejected::Open {
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(
            open.to_string(),
            "circuit breaker is open; calls are let through again in 3s"
        );
        assert_eq!(open.retry_after(), Some(Duration::from_secs(3)));
        let forced = Rejected::ForcedOpen;
        assert!(!forced.is_temporary() && forced.retry_after().is_none());
        assert_eq!(
            forced.to_string(),
            "circuit breaker is forced open; calls are let through once it is reset"
        );
        assert_eq!(Rejected::Full.retry_after(), None);
        let e: Error<std::io::Error> = Elapsed::new(Duration::from_millis(5)).into();
        assert!(e.is_elapsed());
        assert_eq!(
            e.to_string(),
            "deadline of 5ms elapsed while the call was running"
        );
    }

    #[test]
    fn map_inner_keeps_policy_errors() {
        let e: Error<u8> = Error::Rejected(Rejected::Full);
        assert_eq!(e.map_inner(u16::from), Error::Rejected(Rejected::Full));
        let e: Error<u8> = Error::Inner(7);
        assert_eq!(e.map_inner(u16::from).into_inner(), Some(7u16));
    }
}
