//! At most one log line a second from one source, with a count of the lines
//! it held back: how an event that can repeat per call (a retry giving up)
//! stays readable during an outage.

use std::sync::atomic::{AtomicU64, Ordering};

/// Lets one line through per second (by the caller's clock).
#[derive(Debug, Default)]
pub(crate) struct LineThrottle {
    /// The second of the last line let through, plus one (0: none yet).
    last: AtomicU64,
    /// Lines held back since the last one let through.
    held: AtomicU64,
}

impl LineThrottle {
    /// `Some(held back since the last line)` if a line may be written in
    /// `second`; `None` (and one more held back) if one already was.
    pub(crate) fn admit(&self, second: u64) -> Option<u64> {
        let tag = second.saturating_add(1);
        let last = self.last.load(Ordering::Relaxed);
        if last != tag
            && self
                .last
                .compare_exchange(last, tag, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::Relaxed));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_and_the_count_of_the_rest() {
        let throttle = LineThrottle::default();
        assert_eq!(throttle.admit(0), Some(0));
        assert_eq!(throttle.admit(0), None);
        assert_eq!(throttle.admit(0), None);
        assert_eq!(throttle.admit(1), Some(2));
        assert_eq!(throttle.admit(1), None);
        assert_eq!(throttle.admit(5), Some(1));
    }
}
