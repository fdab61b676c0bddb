//! [`ConfigError`]: the one error every builder returns, and the checks
//! the builders share.
//!
//! Every policy is made by a builder named after it
//! ([`CircuitBreakerBuilder`](crate::breaker::CircuitBreakerBuilder),
//! [`RetryBuilder`](crate::retry::RetryBuilder), ...) whose `build()` checks
//! every setting and says, in one error, which setting is wrong, what was
//! given and what would work. Size-like settings have documented maxima, so
//! a typo cannot allocate gigabytes; `f64` settings refuse NaN and infinity.

use std::fmt;
use std::time::Duration;

/// A setting given to a builder that cannot work.
///
/// # Examples
///
/// ```
/// use mend::breaker::CircuitBreaker;
///
/// let err = CircuitBreaker::builder("payments").count_window(0).build().unwrap_err();
/// assert_eq!(err.field, "count_window");
/// assert_eq!(
///     err.to_string(),
///     "circuit breaker `payments`: invalid `count_window` = 0: expected between 1 and 100000 calls"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{component}: invalid `{field}` = {value}: expected {expected}")]
pub struct ConfigError {
    /// What was being built: "circuit breaker `payments`", "retry budget".
    pub component: String,
    /// The builder method (and setting) at fault.
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
}

/// The checks of one builder, naming its component in every error.
#[derive(Debug)]
pub(crate) struct Checks {
    component: String,
}

impl Checks {
    /// Checks for the `kind` called `name` ("circuit breaker", "payments").
    pub(crate) fn named(kind: &str, name: &str) -> Self {
        Checks {
            component: format!("{kind} `{name}`"),
        }
    }

    /// Checks for a component without a name ("retry budget").
    pub(crate) fn unnamed(kind: &str) -> Self {
        Checks {
            component: kind.to_owned(),
        }
    }

    /// The error for `field`.
    pub(crate) fn fail(
        &self,
        field: &'static str,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            component: self.component.clone(),
            field,
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// A count in `min..=max` of `unit`s.
    pub(crate) fn count<T>(
        &self,
        field: &'static str,
        value: T,
        min: T,
        max: T,
        unit: &str,
    ) -> Result<T, ConfigError>
    where
        T: PartialOrd + Copy + fmt::Display,
    {
        if value < min || value > max {
            return Err(self.fail(field, value, format!("between {min} and {max} {unit}")));
        }
        Ok(value)
    }

    /// A percentage in (0, 100].
    pub(crate) fn percent(&self, field: &'static str, value: f64) -> Result<f64, ConfigError> {
        if value.is_finite() && value > 0.0 && value <= 100.0 {
            Ok(value)
        } else {
            Err(self.fail(field, value, "a percentage in (0, 100]"))
        }
    }

    /// A finite number in `min..=max`.
    pub(crate) fn number(
        &self,
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    ) -> Result<f64, ConfigError> {
        if value.is_finite() && value >= min && value <= max {
            Ok(value)
        } else {
            Err(self.fail(field, value, format!("a finite number in [{min}, {max}]")))
        }
    }

    /// A duration in `min..=max`.
    pub(crate) fn duration(
        &self,
        field: &'static str,
        value: Duration,
        min: Duration,
        max: Duration,
    ) -> Result<Duration, ConfigError> {
        if value < min || value > max {
            return Err(self.fail(
                field,
                format!("{value:?}"),
                format!("a duration from {min:?} to {max:?}"),
            ));
        }
        Ok(value)
    }

    /// A positive duration.
    pub(crate) fn positive(
        &self,
        field: &'static str,
        value: Duration,
    ) -> Result<Duration, ConfigError> {
        if value.is_zero() {
            return Err(self.fail(field, "0ns", "a positive duration"));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_component_field_value_and_expectation() {
        let checks = Checks::named("bulkhead", "db");
        let err = checks
            .count("max_concurrent", 0usize, 1, 10, "calls")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "bulkhead `db`: invalid `max_concurrent` = 0: expected between 1 and 10 calls"
        );
        assert_eq!(checks.count("x", 10usize, 1, 10, "calls"), Ok(10));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, 100.5] {
            assert!(checks.percent("threshold", bad).is_err(), "{bad}");
            assert!(checks.number("ratio", bad, 0.5, 1.0).is_err(), "{bad}");
        }
        assert_eq!(checks.percent("threshold", 100.0), Ok(100.0));
        assert!(checks.positive("wait", Duration::ZERO).is_err());
        let unnamed = Checks::unnamed("retry budget").fail("ttl", "0ns", "more");
        assert_eq!(unnamed.component, "retry budget");
    }
}
