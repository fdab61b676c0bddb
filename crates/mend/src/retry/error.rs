//! What a retry returns when it gives up.

use std::fmt;

use crate::error::Error;

/// Why a retry stopped trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiveUp {
    /// The error is not worth another attempt (not transient, or the
    /// predicate said no).
    Permanent,
    /// Every allowed attempt was made.
    Attempts,
    /// The deadline passed, or the next sleep would have run past it.
    Deadline,
    /// The shared retry budget had nothing left.
    Budget,
    /// The error asked for a wait longer than `max_retry_after`.
    RetryAfter,
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiveUp::Permanent => "the error is not transient",
            GiveUp::Attempts => "no attempts left",
            GiveUp::Deadline => "the deadline would pass",
            GiveUp::Budget => "the retry budget is spent",
            GiveUp::RetryAfter => "the server asked to wait longer than allowed",
        })
    }
}

/// A retry gave up: the last error, how many attempts were made and why it
/// stopped.
///
/// `error` is [`Error::Inner`] with the operation's last error, or
/// [`Error::Elapsed`] when an async deadline cut the last attempt short
/// (and, through [`compose`](crate::compose), [`Error::Rejected`] when an
/// inner policy refused the last attempt).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gave up after {attempts} attempt(s), {reason}")]
pub struct RetryError<E> {
    /// The last attempt's error.
    #[source]
    pub error: Error<E>,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Why no further attempt was made.
    pub reason: GiveUp,
}

impl<E> RetryError<E> {
    /// The operation's own last error, if that is what ended it.
    pub fn into_inner(self) -> Option<E> {
        self.error.into_inner()
    }

    /// The operation's own last error, by reference.
    pub fn inner(&self) -> Option<&E> {
        self.error.inner()
    }
}
