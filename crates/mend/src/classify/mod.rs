//! One answer, shared by every policy, to "what did this result mean?".
//!
//! A result is a success, a failure or ignored ([`Outcome`]): a breaker counts
//! failures against its threshold and leaves ignored results out of its rates
//! entirely (a caller's bad request says nothing about the dependency's
//! health). An error is also transient or permanent ([`Classify::is_transient`]):
//! retry tries transient errors again and gives up at once on permanent ones.
//!
//! [`DefaultClassify`] is what every policy uses unless told otherwise. It
//! judges an error by its [`Cause`]: what is underneath mend's own wrappers
//! ([`Error<E>`](crate::Error), [`RetryError<E>`](crate::retry::RetryError),
//! nested up to [`MAX_DEPTH`] deep), so `retry.call(|| breaker.call(op))`
//! retries exactly what `retry.call(op)` would:
//!
//! | result (under any wrappers) | outcome | transient? |
//! |---|---|---|
//! | `Ok(_)` | success | - |
//! | `io::Error` of kind `ConnectionRefused`, `ConnectionReset`, `TimedOut`, `Interrupted`, `WouldBlock` | failure | yes |
//! | any other `io::Error` | failure | no |
//! | a boxed `dyn Error` | failure | as the first I/O error, refusal or timeout in its source chain; yes if there is none |
//! | [`Rejected`] (a policy refused: the call never ran) | failure | yes, after the wait it carries; no for a breaker forced open by hand (no wait helps) |
//! | [`Elapsed`] (the call ran out of time) | failure | yes (see below) |
//! | an error of any other type | failure | yes |
//!
//! **A call that ran out of time is tried again by default.** Its effects
//! are unknown: it may have done its work. That is also true of a
//! connection reset mid-call, which every retry library treats as
//! transient, and a retry is only for operations that are safe to repeat.
//! For one that is not (a payment, an append), wrap the classifier in
//! [`non_idempotent`]: timeouts then end the retry, wherever they are
//! found, inner policies of a [`compose`](crate::compose) stack included.
//!
//! Override the rest per policy with a closure ([`outcome_fn`],
//! [`transient_fn`]) or your own `impl Classify`.
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
//!
//! A charge must never run twice, so a timeout is not retried:
//!
//! ```
//! use std::{io, time::Duration};
//! use mend::classify::{non_idempotent, Classify, DefaultClassify};
//! use mend::{Elapsed, Error};
//!
//! let classify = non_idempotent(DefaultClassify);
//! let timed_out: Error<io::Error> = Elapsed::new(Duration::from_secs(2)).into();
//! let refused: Error<io::Error> = Error::Inner(io::ErrorKind::ConnectionRefused.into());
//! assert!(!Classify::<(), _>::is_transient(&classify, &timed_out));
//! assert!(Classify::<(), _>::is_transient(&classify, &refused));
//! // The retry builder takes it like any classifier:
//! let retry = mend::retry::Retry::builder("payments").classify(classify).build()?;
//! # let _ = retry;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod cause;

use std::error::Error as StdError;
use std::fmt;
use std::io;

pub use cause::{Cause, MAX_DEPTH, cause_of};

#[cfg(doc)]
use crate::error::{Elapsed, Rejected};

/// What a finished call means for the policy that saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The dependency did its job.
    Success,
    /// The dependency failed; counts against breakers.
    Failure,
    /// Says nothing about the dependency's health; recorded nowhere.
    Ignored,
    /// A failure that also says how long to stop calling: a dependency
    /// that answered "banned for 60 s". A closed or half-open breaker opens
    /// at once for this long (a breaker that only records counts a
    /// failure).
    OpenFor(std::time::Duration),
}

impl Outcome {
    /// True for [`Failure`](Outcome::Failure) and
    /// [`OpenFor`](Outcome::OpenFor).
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failure | Outcome::OpenFor(_))
    }
}

/// Classifies results of calls returning `Result<T, E>`.
pub trait Classify<T, E> {
    /// Success, failure or ignored.
    fn outcome(&self, result: &Result<T, E>) -> Outcome;

    /// Whether `error` is worth another attempt.
    fn is_transient(&self, error: &E) -> bool;

    /// Whether a call that ran out of time ([`Elapsed`]) is worth another
    /// attempt. Asked where a timeout is not of type `E` (an inner policy's
    /// timeout in a [`compose`](crate::compose) stack); the default
    /// classification also asks it for timeouts it finds inside `E`. True
    /// unless overridden (see [`non_idempotent`]).
    fn elapsed_is_transient(&self) -> bool {
        true
    }
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
    cause_is_transient(cause_of(error), true)
}

/// Transience of a cause; `elapsed` says what a timeout is.
fn cause_is_transient(cause: Cause<'_>, elapsed: bool) -> bool {
    match cause {
        Cause::Io(io) => io_is_transient(io),
        Cause::Rejected(r) => r.is_temporary(),
        Cause::Elapsed(_) => elapsed,
        Cause::Chain(link) => chain_is_transient(link, elapsed),
        Cause::Other => true,
    }
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

fn chain_is_transient(mut link: &(dyn StdError + 'static), elapsed: bool) -> bool {
    loop {
        match cause::cause_of_link(link) {
            Cause::Other | Cause::Chain(_) => {}
            found => return cause_is_transient(found, elapsed),
        }
        match link.source() {
            Some(next) => link = next,
            None => return true,
        }
    }
}

/// Whether the first cause found in `error` (under mend's wrappers, along
/// a boxed error's source chain) is a timeout.
fn ran_out_of_time<E: 'static>(error: &E) -> bool {
    let mut link = match cause_of(error) {
        Cause::Elapsed(_) => return true,
        Cause::Chain(link) => link,
        _ => return false,
    };
    loop {
        match cause::cause_of_link(link) {
            Cause::Elapsed(_) => return true,
            Cause::Other | Cause::Chain(_) => {}
            _ => return false,
        }
        match link.source() {
            Some(next) => link = next,
            None => return false,
        }
    }
}

/// A classifier for operations that must not run twice: as `K`, except
/// that a call that ran out of time is never tried again. Made by
/// [`non_idempotent`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NonIdempotent<K>(K);

/// Classify as `inner` does, except that a timeout ([`Elapsed`], found
/// under mend's wrappers or reported by an inner policy of a stack) ends a
/// retry: the call may have taken effect.
pub fn non_idempotent<K>(inner: K) -> NonIdempotent<K> {
    NonIdempotent(inner)
}

impl<T, E: 'static, K: Classify<T, E>> Classify<T, E> for NonIdempotent<K> {
    #[inline]
    fn outcome(&self, result: &Result<T, E>) -> Outcome {
        self.0.outcome(result)
    }

    fn is_transient(&self, error: &E) -> bool {
        !ran_out_of_time(error) && self.0.is_transient(error)
    }

    fn elapsed_is_transient(&self) -> bool {
        false
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
        use crate::error::Rejected;
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
    fn non_idempotent_never_retries_a_timeout_however_it_arrives() {
        use crate::error::{Elapsed, Error, Rejected};
        let c = non_idempotent(DefaultClassify);
        let elapsed = Elapsed::new(std::time::Duration::from_secs(1));
        let nested: Error<Error<io::Error>> = Error::Inner(elapsed.into());
        assert!(!Classify::<(), _>::is_transient(&c, &nested));
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(elapsed);
        assert!(!Classify::<(), _>::is_transient(&c, &boxed));
        assert!(!Classify::<(), Error<io::Error>>::elapsed_is_transient(&c));
        // Everything else as the inner classifier says.
        let reset: Error<io::Error> = Error::Inner(io::ErrorKind::ConnectionReset.into());
        assert!(Classify::<(), _>::is_transient(&c, &reset));
        let missing: Error<io::Error> = Error::Inner(io::ErrorKind::NotFound.into());
        assert!(!Classify::<(), _>::is_transient(&c, &missing));
        assert!(Classify::<(), _>::is_transient(
            &c,
            &Error::<io::Error>::Rejected(Rejected::Full)
        ));
        // And by default a timeout is transient.
        assert!(default_is_transient(&nested));
    }

    #[test]
    fn the_default_sees_through_mend_wrappers() {
        use crate::error::Error;
        let missing: Error<io::Error> = Error::Inner(io::ErrorKind::NotFound.into());
        assert!(
            !default_is_transient(&missing),
            "a permanent error stays permanent when wrapped"
        );
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(missing);
        assert!(
            !default_is_transient(&boxed),
            "and when the wrapper is boxed"
        );
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
