//! Async retries under paused tokio time, with `TokioClock`.

use std::future::pending;
use std::io;
use std::time::Duration;

use mend::Error;
use mend::clock::TokioClock;
use mend::retry::{Backoff, GiveUp, Jitter, Retry};
use tokio::time::Instant;

use crate::support::{MS, reset};

#[tokio::test(start_paused = true)]
async fn sleeps_on_tokio_time_between_attempts() {
    let retry = Retry::builder("t")
        .max_attempts(3)
        .backoff(Backoff::exponential(MS * 100, 2.0))
        .jitter(Jitter::None)
        .clock(TokioClock::new())
        .build()
        .unwrap();
    let start = Instant::now();
    let mut n = 0;
    let got = retry
        .call_async(|| {
            n += 1;
            let n = n;
            async move { if n < 3 { Err(reset()) } else { Ok(n) } }
        })
        .await;
    assert_eq!(got.unwrap(), 3);
    assert_eq!(start.elapsed(), MS * 300);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_cancels_an_attempt_in_flight() {
    let retry = Retry::builder("t")
        .deadline(Duration::from_secs(1))
        .clock(TokioClock::new())
        .build()
        .unwrap();
    let start = Instant::now();
    let err = retry
        .call_async(|| async { pending::<Result<(), io::Error>>().await })
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(err.reason, GiveUp::Deadline);
    assert_eq!(err.attempts, 1);
    assert!(matches!(err.error, Error::Elapsed(e) if e.timeout == Duration::from_secs(1)));
}

#[tokio::test(start_paused = true)]
async fn a_later_attempt_gets_only_what_is_left() {
    let retry = Retry::builder("t")
        .max_attempts(5)
        .backoff(Backoff::constant(MS * 300))
        .jitter(Jitter::None)
        .deadline(Duration::from_secs(1))
        .clock(TokioClock::new())
        .build()
        .unwrap();
    let start = Instant::now();
    let mut n = 0;
    let err = retry
        .call_async(|| {
            n += 1;
            let n = n;
            async move {
                if n == 1 {
                    tokio::time::sleep(MS * 200).await;
                    Err::<(), _>(reset())
                } else {
                    pending().await
                }
            }
        })
        .await
        .unwrap_err();
    // Failed at 200, slept to 500, the second attempt was cut at 1 s.
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!((err.attempts, err.reason), (2, GiveUp::Deadline));
}
