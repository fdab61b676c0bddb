//! Panics caught where a failure must not end the one who watches it: a
//! health check or recovery (the probe goes on), a supervised child (its
//! supervisor restarts it).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

/// Runs `future`, turning a panic into its message. Callers build the
/// watched future inside `future`, so a panic while building it is caught
/// too. (A future that panicked is dropped and never polled again, so
/// whatever it left half-done is not observed: unwind safety holds.)
pub(crate) async fn caught<T>(future: impl Future<Output = T>) -> Result<T, String> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|panic| message(&*panic))
}

/// The message a panic carries, if it is text.
pub(crate) fn message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "(a panic without a message)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_reads_as_its_message_whether_literal_or_formatted() {
        let literal = std::panic::catch_unwind(|| panic!("literal")).unwrap_err();
        assert_eq!(message(&*literal), "literal");
        let n = 3;
        let formatted = std::panic::catch_unwind(|| panic!("formatted {n}")).unwrap_err();
        assert_eq!(message(&*formatted), "formatted 3");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(message(&*other), "(a panic without a message)");
    }
}
