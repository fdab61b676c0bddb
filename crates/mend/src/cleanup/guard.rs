//! [`Guard`]: commit or roll back. A change made in steps is wrapped with
//! the way to undo it; unless the guard is committed, dropping it (an early
//! return, a `?`, a panic unwinding through it) runs the undo.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// Holds a value being changed and the way to undo the change: committed,
/// it hands the value back; dropped uncommitted, it rolls back.
///
/// A rollback that fails while dropping is logged (with feature `tracing`,
/// at error level, target `mend::cleanup`), never a panic: a drop during a
/// panic's unwind must not panic again. Call [`rollback`](Self::rollback)
/// to see its error instead.
///
/// # Examples
///
/// ```
/// use mend::cleanup::Guard;
///
/// struct Ledger { alice: i64, bob: i64 }
///
/// fn transfer(ledger: &mut Ledger, cents: i64, fail_midway: bool) -> Result<(), String> {
///     let before = (ledger.alice, ledger.bob);
///     let mut step = Guard::new("transfer", ledger, move |l: &mut &mut Ledger| {
///         (l.alice, l.bob) = before;
///         Ok::<(), String>(())
///     });
///     step.alice -= cents;
///     if fail_midway {
///         return Err("the bank went away".into()); // the guard rolls back
///     }
///     step.bob += cents;
///     step.commit(|_| Ok::<(), String>(()))?;
///     Ok(())
/// }
///
/// let mut ledger = Ledger { alice: 100, bob: 0 };
/// assert!(transfer(&mut ledger, 30, true).is_err());
/// assert_eq!((ledger.alice, ledger.bob), (100, 0)); // nothing half done
/// transfer(&mut ledger, 30, false)?;
/// assert_eq!((ledger.alice, ledger.bob), (70, 30));
/// # Ok::<(), String>(())
/// ```
#[must_use = "a guard dropped at once rolls back at once"]
pub struct Guard<T, F, E>
where
    F: FnOnce(&mut T) -> Result<(), E>,
    E: fmt::Display,
{
    name: &'static str,
    value: Option<T>,
    rollback: Option<F>,
}

impl<T, F, E> Guard<T, F, E>
where
    F: FnOnce(&mut T) -> Result<(), E>,
    E: fmt::Display,
{
    /// Guards `value`; `rollback` undoes what is done to it. `name` names
    /// it in the log of a failed rollback.
    pub fn new(name: &'static str, value: T, rollback: F) -> Self {
        Guard {
            name,
            value: Some(value),
            rollback: Some(rollback),
        }
    }

    /// Runs `commit`, the step that makes the change final. `Ok`: the
    /// rollback is dropped unrun and the value handed back. `Err`: the
    /// rollback runs (as on drop) and the commit's error is returned.
    ///
    /// # Errors
    ///
    /// The commit's error.
    pub fn commit<E2>(mut self, commit: impl FnOnce(&mut T) -> Result<(), E2>) -> Result<T, E2> {
        let value = self
            .value
            .as_mut()
            .expect("a guard holds its value until it ends");
        commit(value)?;
        self.rollback = None;
        Ok(self
            .value
            .take()
            .expect("a guard holds its value until it ends"))
    }

    /// Rolls back now, and says how that went.
    ///
    /// # Errors
    ///
    /// The rollback's error.
    pub fn rollback(mut self) -> Result<T, E> {
        let mut value = self
            .value
            .take()
            .expect("a guard holds its value until it ends");
        if let Some(rollback) = self.rollback.take() {
            rollback(&mut value)?;
        }
        Ok(value)
    }
}

impl<T, F, E> Deref for Guard<T, F, E>
where
    F: FnOnce(&mut T) -> Result<(), E>,
    E: fmt::Display,
{
    type Target = T;

    fn deref(&self) -> &T {
        self.value
            .as_ref()
            .expect("a guard holds its value until it ends")
    }
}

impl<T, F, E> DerefMut for Guard<T, F, E>
where
    F: FnOnce(&mut T) -> Result<(), E>,
    E: fmt::Display,
{
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_mut()
            .expect("a guard holds its value until it ends")
    }
}

impl<T, F, E> Drop for Guard<T, F, E>
where
    F: FnOnce(&mut T) -> Result<(), E>,
    E: fmt::Display,
{
    fn drop(&mut self) {
        let (Some(rollback), Some(value)) = (self.rollback.take(), self.value.as_mut()) else {
            return;
        };
        if let Err(error) = rollback(value) {
            #[cfg(feature = "tracing")]
            tracing::error!(target: "mend::cleanup", guard = self.name, %error, "rollback failed");
            #[cfg(not(feature = "tracing"))]
            let _ = (self.name, error);
        }
    }
}

impl<T: fmt::Debug, F, E> fmt::Debug for Guard<T, F, E>
where
    F: FnOnce(&mut T) -> Result<(), E>,
    E: fmt::Display,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("name", &self.name)
            .field("value", &self.value)
            .field("armed", &self.rollback.is_some())
            .finish()
    }
}
