//! The breaker on the real clocks: an open breaker's "retry after" is a
//! promise kept by the precise clock, although the breaker itself measures
//! its wait on the coarse one.

use std::time::Duration;

use mend::Rejected;
use mend::breaker::CircuitBreaker;
use mend::clock::{Clock, SystemClock};

#[test]
fn waiting_out_retry_after_by_the_precise_clock_is_let_through() {
    for round in 0..20 {
        let breaker = CircuitBreaker::builder("real")
            .consecutive_failures(1)
            .half_open_calls(1)
            .wait_in_open(Duration::from_millis(3 + round % 5))
            .without_logging()
            .build()
            .unwrap();
        let _ = breaker.call(|| Err::<(), _>("down"));
        let Err(Rejected::Open { retry_after }) = breaker.try_acquire() else {
            panic!("the breaker must be open");
        };
        let clock = SystemClock;
        let deadline = clock.precise() + retry_after;
        while clock.precise() < deadline {
            std::hint::spin_loop();
        }
        assert!(
            breaker.try_acquire().is_ok(),
            "round {round}: rejected again after waiting the {retry_after:?} it asked for"
        );
    }
}
