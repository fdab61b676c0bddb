//! `BreakerRegistry`: one breaker per key, bounded, evicting only idle closed
//! breakers nobody holds.

use std::sync::Arc;
use std::time::Duration;

use mend::breaker::{BreakerRegistry, CircuitBreaker, RegistryFull, State};
use mend::clock::ManualClock;

const IDLE: Duration = Duration::from_secs(60);

fn registry(clock: &ManualClock, max_keys: usize) -> BreakerRegistry<String, ManualClock> {
    BreakerRegistry::builder(
        CircuitBreaker::builder("hosts")
            .consecutive_failures(2)
            .wait_in_open(Duration::from_secs(3600))
            .without_logging()
            .clock(clock.clone()),
    )
    .max_keys(max_keys)
    .idle_after(IDLE)
    .sweep_interval(Duration::from_secs(1))
    .build()
    .unwrap()
}

fn key(i: usize) -> String {
    format!("host-{i}")
}

#[test]
fn one_breaker_per_key_made_on_first_use() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 10);
    let a = reg.get(&key(1)).unwrap();
    let again = reg.get(&key(1)).unwrap();
    let b = reg.get(&key(2)).unwrap();
    assert!(Arc::ptr_eq(&a, &again));
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(a.name(), "hosts/host-1");
    assert_eq!(reg.len(), 2);
    // Breakers are independent: tripping one leaves the other closed.
    let _ = a.call(|| Err::<(), _>("down"));
    let _ = a.call(|| Err::<(), _>("down"));
    assert_eq!(a.state(), State::Open);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_full_registry_of_busy_breakers_refuses_new_keys() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 3);
    let held: Vec<_> = (0..3).map(|i| reg.get(&key(i)).unwrap()).collect();
    clock.advance(IDLE * 2);
    let err = reg.get(&key(9)).unwrap_err();
    assert_eq!(err, RegistryFull { max_keys: 3 });
    assert!(err.to_string().contains("3 keys"), "{err}");
    assert_eq!(reg.len(), 3);
    // Existing keys still resolve while full.
    assert!(Arc::ptr_eq(&reg.get(&key(0)).unwrap(), &held[0]));
}

#[test]
fn idle_closed_breakers_make_room() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 3);
    for i in 0..3 {
        let _ = reg.get(&key(i)).unwrap().call(|| Ok::<_, ()>(()));
    }
    // The first sweep sees the calls made since the breakers were built and
    // restarts their idle clocks; a sweep IDLE later finds them quiet.
    clock.advance(IDLE);
    assert_eq!(reg.sweep(), 0);
    clock.advance(IDLE);
    let fresh = reg.get(&key(7)).expect("idle breakers are evicted");
    assert_eq!(fresh.state(), State::Closed);
    assert_eq!(reg.len(), 1);
}

#[test]
fn breakers_in_use_are_not_idle() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 2);
    for i in 0..2 {
        let _ = reg.get(&key(i)).unwrap();
    }
    // A first sweep sees key 0 busy since the breakers were made.
    clock.advance(IDLE / 2);
    let _ = reg.get(&key(0)).unwrap().call(|| Ok::<_, ()>(()));
    assert_eq!(reg.sweep(), 0);
    clock.advance(IDLE / 2);
    // Key 1 has been quiet for IDLE; key 0 only for IDLE / 2.
    assert_eq!(reg.sweep(), 1);
    assert_eq!(reg.len(), 1);
    assert!(reg.get(&key(1)).is_ok(), "room for key 1 again");
}

#[test]
fn open_breakers_are_never_evicted() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 2);
    for i in 0..2 {
        let breaker = reg.get(&key(i)).unwrap();
        let _ = breaker.call(|| Err::<(), _>("down"));
        let _ = breaker.call(|| Err::<(), _>("down"));
        assert_eq!(breaker.state(), State::Open);
    }
    clock.advance(IDLE * 10);
    assert_eq!(reg.sweep(), 0);
    assert!(reg.get(&key(5)).is_err());
    assert_eq!(reg.get(&key(0)).unwrap().state(), State::Open, "still open");
}

#[test]
fn a_breaker_someone_holds_is_not_evicted() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 1);
    let held = reg.get(&key(0)).unwrap();
    clock.advance(IDLE * 2);
    assert_eq!(reg.sweep(), 0);
    drop(held);
    assert_eq!(reg.sweep(), 1);
}

#[test]
fn sweeps_of_a_full_registry_are_rate_limited() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 1);
    let _ = reg.get(&key(0)).unwrap();
    assert!(reg.get(&key(1)).is_err()); // sweeps: nothing idle yet
    clock.advance(IDLE);
    // Within the sweep interval of... no: the last sweep was IDLE ago.
    assert!(reg.get(&key(1)).is_ok());
    let _ = reg.get(&key(1)).unwrap();
    clock.advance(IDLE);
    assert!(reg.get(&key(2)).is_ok(), "sweep allowed: key 1 idle");
    // Immediately again: key 2 is fresh, and no sweep may run this second.
    assert!(reg.get(&key(3)).is_err());
}

#[test]
fn many_threads_never_exceed_the_bound() {
    let clock = ManualClock::new();
    let reg = registry(&clock, 100);
    let admitted: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let reg = &reg;
                s.spawn(move || {
                    (0..100)
                        .filter(|i| reg.get(&key(t * 1000 + i)).is_ok())
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(admitted, 100);
    assert_eq!(reg.len(), 100);
}

#[test]
fn bad_limits_name_the_field() {
    let err = BreakerRegistry::builder(CircuitBreaker::builder("x"))
        .max_keys(0)
        .build::<String>()
        .unwrap_err();
    assert_eq!(err.field, "max_keys");
    let err = BreakerRegistry::builder(CircuitBreaker::builder("x"))
        .idle_after(Duration::ZERO)
        .build::<String>()
        .unwrap_err();
    assert_eq!(err.field, "idle_after");
}

#[test]
fn a_manual_change_counts_as_activity() {
    // reset() touches no counter a call would: only the locked path sees it.
    let clock = ManualClock::new();
    let reg = registry(&clock, 1);
    let _ = reg.get(&key(0)).unwrap();
    clock.advance(IDLE / 2);
    reg.get(&key(0)).unwrap().reset();
    clock.advance(IDLE / 2);
    assert_eq!(reg.sweep(), 0, "reset IDLE/2 ago: not idle");
    clock.advance(IDLE);
    assert_eq!(reg.sweep(), 1, "quiet for IDLE since the last look");
}

#[test]
fn reading_a_breaker_is_not_activity() {
    // A metrics scrape must not change what it measures: reads of an idle
    // breaker leave it idle.
    let clock = ManualClock::new();
    let reg = registry(&clock, 2);
    for i in 0..2 {
        let _ = reg.get(&key(i)).unwrap();
    }
    for _ in 0..10 {
        clock.advance(IDLE / 10);
        let breaker = reg.get(&key(0)).unwrap();
        let _ = (breaker.state(), breaker.metrics());
    }
    assert_eq!(reg.sweep(), 2, "both quiet for IDLE, reads or not");
}

#[test]
fn a_sweep_calls_no_subscriber_while_it_holds_a_shard() {
    use std::sync::OnceLock;
    use std::sync::mpsc;

    // A subscriber that reads the registry: under a shard's lock it would
    // deadlock.
    let cell: Arc<OnceLock<Arc<BreakerRegistry<String, ManualClock>>>> = Arc::default();
    let seen = cell.clone();
    let clock = ManualClock::new();
    let reg = Arc::new(
        BreakerRegistry::builder(
            CircuitBreaker::builder("hosts")
                .consecutive_failures(1)
                .wait_in_open(Duration::from_secs(1))
                .without_logging()
                .on_event(move |_event: &mend::observe::Event| {
                    if let Some(reg) = seen.get() {
                        let _ = reg.len();
                    }
                })
                .clock(clock.clone()),
        )
        .max_keys(4)
        .build()
        .unwrap(),
    );
    let _ = cell.set(reg.clone());
    let _ = reg.get(&key(0)).unwrap().call(|| Err::<(), _>("down"));
    assert_eq!(reg.sweep(), 0, "a first sweep takes note of the activity");
    // The open wait is over: a read must not move it (and announce it).
    clock.advance(Duration::from_secs(2));
    let (done, finished) = mpsc::channel();
    let sweeper = reg.clone();
    std::thread::spawn(move || {
        let _ = done.send(sweeper.sweep());
    });
    let swept = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the sweep finished (a subscriber called under its lock deadlocks)");
    assert_eq!(swept, 0, "a half-open breaker is not evicted");
    assert_eq!(reg.get(&key(0)).unwrap().state(), State::HalfOpen);
}

#[test]
fn max_keys_is_checked_at_zero_one_its_maximum_and_one_past() {
    use mend::breaker::BreakerRegistryBuilder;
    let max = BreakerRegistryBuilder::<mend::clock::SystemClock, mend::classify::DefaultClassify>::MAX_KEYS;
    let build = |n: usize| {
        BreakerRegistry::builder(CircuitBreaker::builder("x").without_logging())
            .max_keys(n)
            .build::<String>()
    };
    for bad in [0, max + 1] {
        let err = build(bad).unwrap_err();
        assert_eq!((err.field, err.value), ("max_keys", bad.to_string()));
    }
    for good in [1, max] {
        assert!(build(good).is_ok(), "{good}");
    }
}
