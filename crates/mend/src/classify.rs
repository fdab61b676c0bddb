//! One answer, shared by every policy, to "what did this result mean?".
//!
//! A result is a success, a failure or ignored ([`Outcome`]): a breaker counts
//! failures against its threshold and leaves ignored results out of its rates
//! entirely (a caller's bad request says nothing about the dependency's
//! health). An error is also transient or permanent ([`Classify::is_transient`]):
//! retry tries transient errors again and gives up at once on permanent ones.
//!
//! [`DefaultClassify`] is what every policy uses unless told otherwise:
//!
//! | result | outcome | transient? |
//! |---|---|---|
//! | `Ok(_)` | success | - |
//! | `Err(io::Error)` of kind `ConnectionRefused`, `ConnectionReset`, `TimedOut`, `Interrupted`, `WouldBlock` | failure | yes |
//! | any other `Err(io::Error)` | failure | no |
//! | `Err(Box<dyn Error>)` | failure | as the first `io::Error` in its source chain; yes if there is none |
//! | `Err(Rejected)`, `Err(Elapsed)` | failure | yes |
//! | `Err(_)` of any other type | failure | yes |
//!
//! Override it per policy with a closure ([`outcome_fn`], [`transient_fn`]) or
//! your own `impl Classify`.
//!
//! # Examples
//!
//! A 404 from the dependency means the dependency is healthy; do not count it:
//!
//! ```
//! use mend::classify::{outcome_fn, Classify, Outcome};
//!
//! #[derive(Debug)]
//! enum HttpError { NotFound, Unavailable }
//!
//! let classify = outcome_fn(|result: &Result<String, HttpError>| match result {
//!     Ok(_) => Outcome::Success,
//!     Err(HttpError::NotFound) => Outcome::Ignored,
//!     Err(HttpError::Unavailable) => Outcome::Failure,
//! });
//! assert_eq!(classify.outcome(&Err(HttpError::NotFound)), Outcome::Ignored);
//! assert!(classify.is_transient(&HttpError::Unavailable));
//! ```

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::error::{Elapsed, Rejected};

/// What a finished call means for the policy that saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The dependency did its job.
    Success,
    /// The dependency failed; counts against breakers.
    Failure,
    /// Says nothing about the dependency's health; recorded nowhere.
    Ignored,
}

/// Classifies results of calls returning `Result<T, E>`.
pub trait Classify<T, E> {
    /// Success, failure or ignored.
    fn outcome(&self, result: &Result<T, E>) -> Outcome;

    /// Whether `error` is worth another attempt.
    fn is_transient(&self, error: &E) -> bool;
}

/// The classification every policy uses unless told otherwise (see the table
/// in the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefaultClassify;

impl<T, E: 'static> Classify<T, E> for DefaultClassify {
    #[inline]
    fn outcome(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }

    fn is_transient(&self, error: &E) -> bool {
        default_is_transient(error)
    }
}

/// The default transience of an error of any type (see the [module docs](self)).
pub fn default_is_transient<E: 'static>(error: &E) -> bool {
    let any = error as &dyn Any;
    if let Some(io) = any.downcast_ref::<io::Error>() {
        return io_is_transient(io);
    }
    if any.is::<Rejected>() || any.is::<Elapsed>() {
        return true;
    }
    if let Some(boxed) = any.downcast_ref::<Box<dyn StdError + Send + Sync>>() {
        return chain_is_transient(boxed.as_ref());
    }
    if let Some(boxed) = any.downcast_ref::<Box<dyn StdError>>() {
        return chain_is_transient(boxed.as_ref());
    }
    true
}

/// Whether an I/O error is of a kind that often clears up on its own.
pub fn io_is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

fn chain_is_transient(mut error: &(dyn StdError + 'static)) -> bool {
    loop {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return io_is_transient(io);
        }
        if error.is::<Rejected>() || error.is::<Elapsed>() {
            return true;
        }
        match error.source() {
            Some(next) => error = next,
            None => return true,
        }
    }
}

/// Classifies outcomes with a closure; transience stays the default.
/// Made by [`outcome_fn`].
#[derive(Clone, Copy)]
pub struct OutcomeFn<F>(F);

/// Classify outcomes with `f`; errors keep their default transience.
pub fn outcome_fn<T, E, F>(f: F) -> OutcomeFn<F>
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    OutcomeFn(f)
}

impl<F> fmt::Debug for OutcomeFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutcomeFn(..)")
    }
}

impl<T, E: 'static, F> Classify<T, E> for OutcomeFn<F>
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    #[inline]
    fn outcome(&self, result: &Result<T, E>) -> Outcome {
        (self.0)(result)
    }

    fn is_transient(&self, error: &E) -> bool {
        default_is_transient(error)
    }
}

/// Decides transience with a closure; outcomes stay the default.
/// Made by [`transient_fn`].
#[derive(Clone, Copy)]
pub struct TransientFn<F>(F);

/// Decide which errors are transient with `f`; `Ok` is a success and `Err`
/// a failure as by default.
pub fn transient_fn<E, F>(f: F) -> TransientFn<F>
where
    F: Fn(&E) -> bool,
{
    TransientFn(f)
}

impl<F> fmt::Debug for TransientFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransientFn(..)")
    }
}

impl<T, E, F> Classify<T, E> for TransientFn<F>
where
    F: Fn(&E) -> bool,
{
    #[inline]
    fn outcome(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }

    fn is_transient(&self, error: &E) -> bool {
        (self.0)(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_follow_the_table() {
        let c = DefaultClassify;
        for kind in [
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::TimedOut,
            io::ErrorKind::Interrupted,
            io::ErrorKind::WouldBlock,
        ] {
            assert!(
                Classify::<(), _>::is_transient(&c, &io::Error::from(kind)),
                "{kind:?}"
            );
        }
        for kind in [io::ErrorKind::NotFound, io::ErrorKind::PermissionDenied] {
            assert!(
                !Classify::<(), _>::is_transient(&c, &io::Error::from(kind)),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn boxed_errors_are_searched_for_io_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("wrapped")]
        struct Wrapped(#[source] io::Error);

        let permanent: Box<dyn StdError + Send + Sync> =
            Box::new(Wrapped(io::Error::from(io::ErrorKind::NotFound)));
        let transient: Box<dyn StdError + Send + Sync> =
            Box::new(Wrapped(io::Error::from(io::ErrorKind::TimedOut)));
        assert!(!default_is_transient(&permanent));
        assert!(default_is_transient(&transient));
        assert!(default_is_transient(&Rejected::Full));
        assert!(default_is_transient(&"some string error"));
    }

    #[test]
    fn outcomes_default_to_ok_success_err_failure() {
        let c = DefaultClassify;
        assert_eq!(Classify::<u8, &str>::outcome(&c, &Ok(1)), Outcome::Success);
        assert_eq!(
            Classify::<u8, &str>::outcome(&c, &Err("x")),
            Outcome::Failure
        );
        let only_even = transient_fn(|e: &u8| e.is_multiple_of(2));
        assert!(Classify::<(), u8>::is_transient(&only_even, &2));
        assert!(!Classify::<(), u8>::is_transient(&only_even, &3));
    }
}
