//! Limits report episodes of refusing, never one event per refusal.

use std::io;
use std::num::NonZeroU32;
use std::time::Duration;

use mend::clock::{ManualClock, TokioClock};
use mend::limit::{Bulkhead, LimitChange, LimitEvent, LimitKind, Quota, RateLimiter, Timeout};

use crate::support::{Events, MS};

fn changes(events: &Events) -> Vec<(LimitKind, LimitChange)> {
    events
        .all()
        .iter()
        .filter_map(|e| e.downcast_ref::<LimitEvent>().map(|l| (l.limit, l.change)))
        .collect()
}

#[test]
fn a_rate_limiter_reports_one_episode_per_stretch_of_refusals() {
    let (clock, events) = (ManualClock::new(), Events::default());
    let limiter = RateLimiter::builder("api", Quota::per_second(NonZeroU32::new(10).unwrap()))
        .clock(clock.clone())
        .on_event(events.sink())
        .without_logging()
        .build()
        .unwrap();
    // Two seconds over quota: 10 admitted and 90 refused in each.
    for _ in 0..2 {
        for _ in 0..100 {
            let _ = limiter.check();
        }
        clock.advance(Duration::from_millis(999));
    }
    assert_eq!(
        changes(&events),
        [(LimitKind::RateLimiter, LimitChange::Refusing)],
        "one episode, however many refusals"
    );
    clock.advance(Duration::from_secs(1));
    assert!(limiter.check().is_ok());
    let refused = limiter.counters().rejected;
    assert!(refused >= 170, "{refused}");
    assert_eq!(
        changes(&events),
        [
            (LimitKind::RateLimiter, LimitChange::Refusing),
            (LimitKind::RateLimiter, LimitChange::Recovered { refused }),
        ]
    );
    let line = events.all()[1].to_string();
    assert_eq!(
        line,
        format!("rate limiter api: admitting calls again ({refused} refused meanwhile)")
    );
}

#[tokio::test(start_paused = true)]
async fn a_bulkhead_and_a_timeout_report_theirs() {
    let events = Events::default();
    let clock = TokioClock::new();
    let bulkhead = Bulkhead::builder("db")
        .max_concurrent(1)
        .clock(clock)
        .on_event(events.sink())
        .without_logging()
        .build()
        .unwrap();
    let held = bulkhead.try_acquire().unwrap();
    for _ in 0..5 {
        assert!(bulkhead.try_acquire().is_err());
    }
    drop(held);
    tokio::time::advance(Duration::from_secs(1)).await;
    drop(bulkhead.try_acquire().unwrap());
    assert_eq!(
        changes(&events),
        [
            (LimitKind::Bulkhead, LimitChange::Refusing),
            (LimitKind::Bulkhead, LimitChange::Recovered { refused: 5 }),
        ]
    );

    let events = Events::default();
    let timeout = Timeout::builder("search", MS * 10)
        .clock(clock)
        .on_event(events.sink())
        .without_logging()
        .build()
        .unwrap();
    let hang = || async {
        std::future::pending::<()>().await;
        Ok::<(), io::Error>(())
    };
    for _ in 0..3 {
        assert!(timeout.call_async(hang).await.unwrap_err().is_elapsed());
    }
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(
        timeout
            .call_async(|| async { Ok::<_, io::Error>(()) })
            .await
            .is_ok()
    );
    assert_eq!(
        changes(&events),
        [
            (LimitKind::Timeout, LimitChange::Refusing),
            (LimitKind::Timeout, LimitChange::Recovered { refused: 3 }),
        ]
    );
    assert_eq!(timeout.counters().elapsed, 3);
}
