//! Server hints: the rules live on [`RetryHint`].

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use crate::classify::cause::cause_of_link;
use crate::classify::{Cause, cause_of};
use crate::clock::Timestamp;
use crate::error::{Elapsed, Error, Rejected};

/// The wait a rejection asks for. A breaker's wait already covers the lag
/// of the coarse clock it measures by (see
/// [`Clock::coarse_resolution`](crate::clock::Clock::coarse_resolution)),
/// so a retry that sleeps exactly this long is let through.
pub(crate) fn rejection_wait(rejected: &Rejected) -> Option<Duration> {
    rejected.retry_after()
}

/// An error that can say how long to wait before trying again.
pub trait RetryAfter {
    /// The wait the error asks for, if any.
    fn retry_after(&self) -> Option<Duration>;
}

impl RetryAfter for Rejected {
    /// The rejection's own wait.
    fn retry_after(&self) -> Option<Duration> {
        rejection_wait(self)
    }
}

impl RetryAfter for Elapsed {
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl RetryAfter for io::Error {
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl<E: RetryAfter> RetryAfter for Error<E> {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Inner(e) => e.retry_after(),
            Error::Rejected(r) => rejection_wait(r),
            Error::Elapsed(_) => None,
        }
    }
}

/// Server hints: how long the other side asked us to wait (HTTP
/// `Retry-After`, an open breaker's remaining wait, a rate limit's next slot).
///
/// A retry never fires before the hint: the sleep is the larger of the
/// backoff's delay and the hint. A hint longer than the retry's
/// [`max_retry_after`](super::RetryBuilder::max_retry_after), or one that would
/// run past its deadline, makes the retry give up instead.
///
/// Where the hint comes from is a [`RetryHint`]:
///
/// - [`DefaultHint`] (the default): a [`Rejected`] error carries its own wait
///   ([`Rejected::retry_after`]), found under mend's own wrappers and along
///   a boxed error's source chain exactly where the default classification
///   looks ([`crate::classify::cause_of`]). Other errors give no
///   hint.
/// - [`FromError`]: the error type implements [`RetryAfter`].
/// - [`hint_fn`]: a closure.
///
/// [`parse_retry_after`] reads the HTTP header in both its forms.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::clock::{Clock, ManualClock};
/// use mend::retry::parse_retry_after;
///
/// let now = ManualClock::new().wall(); // 2026-01-01T00:00:00Z
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(
///     parse_retry_after("Thu, 01 Jan 2026 00:01:30 GMT", now),
///     Some(Duration::from_secs(90)),
/// );
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub trait RetryHint<E> {
    /// The wait `error` asks for, if any.
    fn retry_after(&self, error: &E) -> Option<Duration>;
}

/// Finds [`Rejected`] waits by type (see [`RetryHint`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultHint;

impl<E: 'static> RetryHint<E> for DefaultHint {
    #[inline]
    fn retry_after(&self, error: &E) -> Option<Duration> {
        match cause_of(error) {
            Cause::Rejected(r) => rejection_wait(r),
            Cause::Chain(link) => chain_hint(link),
            _ => None,
        }
    }
}

/// The wait of the first refusal along a source chain, looking inside
/// mend's wrappers at each link, as the default classification does.
fn chain_hint(mut link: &(dyn StdError + 'static)) -> Option<Duration> {
    loop {
        if let Cause::Rejected(r) = cause_of_link(link) {
            return rejection_wait(r);
        }
        link = link.source()?;
    }
}

/// Asks the error itself, through [`RetryAfter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FromError;

impl<E: RetryAfter> RetryHint<E> for FromError {
    #[inline]
    fn retry_after(&self, error: &E) -> Option<Duration> {
        error.retry_after()
    }
}

/// Finds the hint with a closure; made by [`hint_fn`].
#[derive(Clone, Copy)]
pub struct HintFn<F>(F);

/// Find the wait an error asks for with `f`.
pub fn hint_fn<E, F>(f: F) -> HintFn<F>
where
    F: Fn(&E) -> Option<Duration>,
{
    HintFn(f)
}

impl<F> fmt::Debug for HintFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HintFn(..)")
    }
}

impl<E, F> RetryHint<E> for HintFn<F>
where
    F: Fn(&E) -> Option<Duration>,
{
    #[inline]
    fn retry_after(&self, error: &E) -> Option<Duration> {
        (self.0)(error)
    }
}

/// Reads an HTTP `Retry-After` header value (RFC 9110, section 10.2.3):
/// either delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, and the obsolete forms `httpdate`
/// accepts), the latter measured from `now_wall` (with the `http-date`
/// feature, on by default; without it a date reads as `None`). A date in
/// the past is a zero wait. `None` when the value is neither.
pub fn parse_retry_after(value: &str, now_wall: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is "a very long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    http_date_wait(value, now_wall)
}

/// The wait until an HTTP-date, from `now_wall`.
#[cfg(feature = "http-date")]
fn http_date_wait(value: &str, now_wall: Timestamp) -> Option<Duration> {
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(now_wall.to_system_time())
            .unwrap_or(Duration::ZERO),
    )
}

/// Without the `http-date` feature only delta-seconds are read.
#[cfg(not(feature = "http-date"))]
fn http_date_wait(_value: &str, _now_wall: Timestamp) -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_hint_finds_rejections_by_type() {
        let open = Rejected::Open {
            retry_after: Duration::from_secs(4),
        };
        let four = Some(Duration::from_secs(4));
        assert_eq!(DefaultHint.retry_after(&open), four);
        assert_eq!(
            DefaultHint.retry_after(&Error::<io::Error>::Rejected(open.clone())),
            four
        );
        let boxed: Box<dyn StdError + Send + Sync> = Box::new(open);
        assert_eq!(DefaultHint.retry_after(&boxed), four);
        assert_eq!(DefaultHint.retry_after(&"plain"), None);
        assert_eq!(
            RetryHint::<Rejected>::retry_after(&FromError, &Rejected::Full),
            None
        );
    }

    #[test]
    fn header_forms() {
        let now = Timestamp::from_unix_nanos(1_445_412_480 * 1_000_000_000); // 07:28:00
        assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
