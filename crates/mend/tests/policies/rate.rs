//! Rate limits on governor, driven by mend's clocks.

use std::io;
use std::num::NonZeroU32;
use std::time::Duration;

use mend::Rejected;
use mend::clock::{ManualClock, TokioClock};
use mend::limit::{KeyedRateLimiter, Quota, RateLimiter};

use crate::support::MS;

fn per_second(n: u32) -> Quota {
    Quota::per_second(NonZeroU32::new(n).unwrap())
}

#[test]
fn limited_says_when_the_next_call_may_go() {
    let clock = ManualClock::new();
    let limiter = RateLimiter::builder("r", per_second(10))
        .clock(clock.clone())
        .build()
        .unwrap();
    for _ in 0..10 {
        assert!(limiter.check().is_ok());
    }
    assert_eq!(
        limiter.check(),
        Err(Rejected::Limited {
            retry_after: MS * 100
        })
    );
    clock.advance(MS * 40);
    assert_eq!(
        limiter.check(),
        Err(Rejected::Limited {
            retry_after: MS * 60
        })
    );
    clock.advance(MS * 60);
    assert_eq!(limiter.call(|| Ok::<_, io::Error>(1)).ok(), Some(1));
    assert!(
        limiter
            .call(|| Ok::<_, io::Error>(1))
            .unwrap_err()
            .is_rejected()
    );
}

#[tokio::test(start_paused = true)]
async fn runs_on_tokio_paused_time() {
    let limiter = RateLimiter::builder("r", per_second(1))
        .clock(TokioClock::new())
        .build()
        .unwrap();
    assert!(
        limiter
            .call_async(|| async { Ok::<_, io::Error>(()) })
            .await
            .is_ok()
    );
    assert!(limiter.check().is_err());
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(limiter.check().is_ok());
}

#[test]
fn keys_have_their_own_quota_and_forgotten_keys_are_swept() {
    let clock = ManualClock::new();
    let limiter = KeyedRateLimiter::builder("k", per_second(1))
        .clock(clock.clone())
        .sweep_every(100)
        .build()
        .unwrap();
    for host in 0..99u32 {
        assert!(limiter.check(&host).is_ok());
    }
    assert!(limiter.check(&0).is_err(), "key 0 used its quota");
    assert_eq!(limiter.len(), 99);
    // Once every quota has replenished, the next sweep drops the keys.
    clock.advance(Duration::from_secs(2));
    for _ in 0..100 {
        let _ = limiter.check(&1000);
    }
    assert!(limiter.len() <= 1, "{} keys left", limiter.len());
}
