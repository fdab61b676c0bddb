//! An adapter that lets governor's rate limiters read mend's [`Clock`], so
//! a `ManualClock` or `TokioClock` drives them in tests like every policy.

use std::ops::Add;

use governor::clock::{Clock as GClock, Reference};
use governor::nanos::Nanos;

use crate::clock::{Clock, Tick};

/// A mend [`Clock`] seen as a governor clock (precise readings).
#[derive(Debug, Clone)]
pub(crate) struct GovernorClock<C>(C);

impl<C> GovernorClock<C> {
    pub(crate) fn new(clock: C) -> Self {
        GovernorClock(clock)
    }

    /// The mend clock inside.
    pub(crate) fn inner(&self) -> &C {
        &self.0
    }
}

/// A governor reference point: a mend [`Tick`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct GovernorInstant(Tick);

impl Add<Nanos> for GovernorInstant {
    type Output = GovernorInstant;

    fn add(self, other: Nanos) -> GovernorInstant {
        GovernorInstant(Tick::from_nanos(
            self.0.as_nanos().saturating_add(other.as_u64()),
        ))
    }
}

impl Reference for GovernorInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        Nanos::new(self.0.as_nanos().saturating_sub(earlier.0.as_nanos()))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        // Governor's contract: on underflow, the reference itself.
        match self.0.as_nanos().checked_sub(duration.as_u64()) {
            Some(nanos) => GovernorInstant(Tick::from_nanos(nanos)),
            None => *self,
        }
    }
}

impl<C: Clock> GClock for GovernorClock<C> {
    type Instant = GovernorInstant;

    #[inline]
    fn now(&self) -> GovernorInstant {
        GovernorInstant(self.0.precise())
    }
}
