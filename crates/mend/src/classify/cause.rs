//! Seeing through mend's own wrappers to what went wrong.
//!
//! `retry.call(|| breaker.call(op))` hands the retry an
//! [`Error<io::Error>`](crate::Error), and a retry around a retry sees a
//! [`RetryError`]. The default classification and the default hint both
//! judge an error by its [`Cause`]: the operation's own error (an I/O
//! error, a boxed error's source chain, something else) or mend's refusal
//! or timeout, found under up to [`MAX_DEPTH`] of mend's wrappers.
//!
//! Why a fixed depth: the defaults take any `E: 'static`, so they can only
//! look inside a value by downcasting it to a type they name, and stable
//! Rust cannot name "`Error<X>` for any `X`". The shapes below name every
//! nesting of [`Error`] and [`RetryError`] up to three deep around each
//! error type the defaults know; mend's own compositions produce at most
//! two (a retry around a retry around a breaker). A boxed error is searched
//! through its source chain, and each link is looked inside the same way.
//! Errors of other types say nothing the defaults could use, however deep
//! they are, so for them the depth does not matter.

use std::any::Any;
use std::error::Error as StdError;
use std::io;

use crate::error::{Elapsed, Error, Rejected};
use crate::retry::RetryError;

/// How many of mend's wrappers the defaults look through.
pub const MAX_DEPTH: usize = 3;

/// What an error is, under mend's wrappers.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Cause<'a> {
    /// The operation failed with an I/O error.
    Io(&'a io::Error),
    /// A policy refused to run the call.
    Rejected(&'a Rejected),
    /// The call ran out of time.
    Elapsed(&'a Elapsed),
    /// A boxed error (the first link of its source chain).
    Chain(&'a (dyn StdError + 'static)),
    /// An error of a type the defaults know nothing about.
    Other,
}

/// Finds the cause of `error`, looking through up to [`MAX_DEPTH`] of
/// mend's wrappers ([`Error`], [`RetryError`]).
///
/// # Examples
///
/// ```
/// use std::io;
/// use mend::Error;
/// use mend::classify::{cause_of, Cause};
///
/// let nested: Error<io::Error> = Error::Inner(io::Error::from(io::ErrorKind::NotFound));
/// assert!(matches!(cause_of(&nested), Cause::Io(e) if e.kind() == io::ErrorKind::NotFound));
/// assert!(matches!(cause_of(&"a string"), Cause::Other));
/// ```
pub fn cause_of<E: 'static>(error: &E) -> Cause<'_> {
    let any: &dyn Any = error;
    macro_rules! try_shapes {
        ($($leaf:ty),+) => {$(
            if let Some(cause) = shapes::<$leaf>(any) {
                return cause;
            }
        )+};
    }
    try_shapes!(
        io::Error,
        Rejected,
        Elapsed,
        Box<dyn StdError + Send + Sync>,
        Box<dyn StdError + Send>,
        Box<dyn StdError>
    );
    Cause::Other
}

/// The cause of one link of a source chain: the link itself when it is a
/// leaf the defaults know, or what a mend wrapper holds.
pub(crate) fn cause_of_link<'a>(link: &'a (dyn StdError + 'static)) -> Cause<'a> {
    if let Some(io) = link.downcast_ref::<io::Error>() {
        return Cause::Io(io);
    }
    if let Some(r) = link.downcast_ref::<Rejected>() {
        return Cause::Rejected(r);
    }
    if let Some(e) = link.downcast_ref::<Elapsed>() {
        return Cause::Elapsed(e);
    }
    macro_rules! try_wrapped {
        ($($shape:ty),+) => {$(
            if let Some(w) = link.downcast_ref::<$shape>() {
                return w.peel();
            }
        )+};
    }
    // Wrappers around the leaves a link can be (boxed links are reached
    // through their own chain, so only concrete leaves appear here).
    try_wrapped!(
        Error<io::Error>,
        RetryError<io::Error>,
        Error<Error<io::Error>>,
        RetryError<Error<io::Error>>
    );
    Cause::Other
}

/// Every nesting of mend's wrappers up to [`MAX_DEPTH`] around `L`.
fn shapes<L: Peel>(any: &dyn Any) -> Option<Cause<'_>> {
    fn one<S: Peel>(any: &dyn Any) -> Option<Cause<'_>> {
        any.downcast_ref::<S>().map(Peel::peel)
    }
    one::<L>(any)
        // depth 1
        .or_else(|| one::<Error<L>>(any))
        .or_else(|| one::<RetryError<L>>(any))
        // depth 2
        .or_else(|| one::<Error<Error<L>>>(any))
        .or_else(|| one::<Error<RetryError<L>>>(any))
        .or_else(|| one::<RetryError<Error<L>>>(any))
        .or_else(|| one::<RetryError<RetryError<L>>>(any))
        // depth 3
        .or_else(|| one::<Error<Error<Error<L>>>>(any))
        .or_else(|| one::<Error<Error<RetryError<L>>>>(any))
        .or_else(|| one::<Error<RetryError<Error<L>>>>(any))
        .or_else(|| one::<Error<RetryError<RetryError<L>>>>(any))
        .or_else(|| one::<RetryError<Error<Error<L>>>>(any))
        .or_else(|| one::<RetryError<Error<RetryError<L>>>>(any))
        .or_else(|| one::<RetryError<RetryError<Error<L>>>>(any))
        .or_else(|| one::<RetryError<RetryError<RetryError<L>>>>(any))
}

/// A type whose cause is known once its concrete type is.
trait Peel: 'static {
    fn peel(&self) -> Cause<'_>;
}

impl Peel for io::Error {
    fn peel(&self) -> Cause<'_> {
        Cause::Io(self)
    }
}

impl Peel for Rejected {
    fn peel(&self) -> Cause<'_> {
        Cause::Rejected(self)
    }
}

impl Peel for Elapsed {
    fn peel(&self) -> Cause<'_> {
        Cause::Elapsed(self)
    }
}

impl Peel for Box<dyn StdError + Send + Sync> {
    fn peel(&self) -> Cause<'_> {
        Cause::Chain(self.as_ref())
    }
}

impl Peel for Box<dyn StdError + Send> {
    fn peel(&self) -> Cause<'_> {
        Cause::Chain(self.as_ref())
    }
}

impl Peel for Box<dyn StdError> {
    fn peel(&self) -> Cause<'_> {
        Cause::Chain(self.as_ref())
    }
}

impl<X: Peel> Peel for Error<X> {
    fn peel(&self) -> Cause<'_> {
        match self {
            Error::Inner(inner) => inner.peel(),
            Error::Rejected(r) => Cause::Rejected(r),
            Error::Elapsed(e) => Cause::Elapsed(e),
        }
    }
}

impl<X: Peel> Peel for RetryError<X> {
    fn peel(&self) -> Cause<'_> {
        self.error.peel()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::GiveUp;

    fn not_found() -> io::Error {
        io::Error::from(io::ErrorKind::NotFound)
    }

    fn gave_up<E>(error: Error<E>) -> RetryError<E> {
        RetryError {
            error,
            attempts: 1,
            reason: GiveUp::Permanent,
        }
    }

    fn is_not_found(cause: Cause<'_>) -> bool {
        matches!(cause, Cause::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }

    #[test]
    fn every_shape_up_to_the_depth_is_seen_through() {
        assert!(is_not_found(cause_of(&not_found())));
        assert!(is_not_found(cause_of(&Error::Inner(not_found()))));
        assert!(is_not_found(cause_of(&gave_up(Error::Inner(not_found())))));
        let two: Error<RetryError<io::Error>> = Error::Inner(gave_up(Error::Inner(not_found())));
        assert!(is_not_found(cause_of(&two)));
        let three: RetryError<RetryError<Error<io::Error>>> = gave_up(Error::Inner(gave_up(
            Error::Inner(Error::Inner(not_found())),
        )));
        assert!(is_not_found(cause_of(&three)));
        // One deeper than the defaults look: unknown.
        let four = Error::Inner(three);
        assert!(matches!(cause_of(&four), Cause::Other));
    }

    #[test]
    fn refusals_and_timeouts_are_found_at_any_level() {
        let rejected: Error<Error<io::Error>> = Error::Inner(Error::Rejected(Rejected::Full));
        assert!(matches!(
            cause_of(&rejected),
            Cause::Rejected(Rejected::Full)
        ));
        let elapsed: RetryError<io::Error> =
            gave_up(Error::Elapsed(Elapsed::new(std::time::Duration::ZERO)));
        assert!(matches!(cause_of(&elapsed), Cause::Elapsed(_)));
    }

    #[test]
    fn boxed_errors_and_their_links_are_seen_through() {
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(Error::Inner(not_found()));
        let Cause::Chain(link) = cause_of(&boxed) else {
            panic!("a boxed error is a chain");
        };
        assert!(is_not_found(cause_of_link(link)));
        let wrapped: Error<Box<dyn StdError + Send + Sync>> = Error::Inner(boxed);
        assert!(matches!(cause_of(&wrapped), Cause::Chain(_)));
    }
}
