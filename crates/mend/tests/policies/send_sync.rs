//! Every policy crosses threads: shared in an `Arc`, called from many.

use std::sync::Arc;

use mend::breaker::CircuitBreaker;
use mend::clock::{ManualClock, TokioClock};
use mend::compose::Stack;
use mend::limit::{Bulkhead, KeyedRateLimiter, RateLimiter, Timeout};
use mend::retry::{ManualSleep, Retry, RetryBudget, RetryError};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn policies_are_send_and_sync() {
    assert_send_sync::<Retry>();
    assert_send_sync::<
        Retry<ManualClock, mend::classify::DefaultClassify, mend::retry::DefaultHint, ManualSleep>,
    >();
    assert_send_sync::<Arc<RetryBudget>>();
    assert_send_sync::<RetryBudget<TokioClock>>();
    assert_send_sync::<RetryError<std::io::Error>>();
    assert_send_sync::<Bulkhead>();
    assert_send_sync::<RateLimiter>();
    assert_send_sync::<KeyedRateLimiter<String>>();
    assert_send_sync::<Timeout>();
    assert_send_sync::<Stack<(&CircuitBreaker, &Bulkhead)>>();
    assert_send_sync::<Stack<(Arc<CircuitBreaker>, Arc<Bulkhead>, Timeout)>>();
}
