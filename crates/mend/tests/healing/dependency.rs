//! Faults of the external dependency: down, slow, hanging, flapping.

use std::time::Instant;

use crate::support::{App, check_with_promtool, eventually, state_dir};

const QUOTES: &[(&str, &str)] = &[("breaker", "quotes")];

fn breaker_is(app: &App, state: &str) -> bool {
    app.scrape().value(
        "mend_breaker_state",
        &[("breaker", "quotes"), ("state", state)],
    ) == 1.0
}

/// Calls `/quote` until the breaker reads `state` (20 s at most).
fn call_until_breaker(app: &App, state: &str) {
    eventually(&format!("the breaker is {state}"), 30, || {
        let _ = app.get("/quote");
        breaker_is(app, state)
    });
}

#[test]
fn dependency_down_opens_the_breaker_calls_fail_fast_and_it_heals() {
    let (_dir, state) = state_dir();
    let app = App::start(&state);
    assert_eq!(app.get("/quote").0, 200);

    app.fault("dependency/down");
    call_until_breaker(&app, "open");

    // Open: ten calls, each answered 503 at once, reach the dependency
    // only as the breaker's trial calls (2 per half-open spell).
    let before = app.scrape();
    for _ in 0..10 {
        let (status, body) = app.get("/quote");
        assert!(status == 503 || status == 502, "{status} {body}");
    }
    let after = app.scrape();
    let reached = after.value("app_dependency_requests_total", &[])
        - before.value("app_dependency_requests_total", &[]);
    let trials = after.value(
        "mend_breaker_transitions_total",
        &[("breaker", "quotes"), ("to", "half_open")],
    ) - before.value(
        "mend_breaker_transitions_total",
        &[("breaker", "quotes"), ("to", "half_open")],
    );
    assert!(
        reached <= 2.0 * trials,
        "{reached} requests reached the dependency through an open breaker ({trials} half-open spells)"
    );
    let rejected = after.value("mend_breaker_rejected_total", QUOTES)
        - before.value("mend_breaker_rejected_total", QUOTES);
    assert!(rejected >= 10.0 - 2.0 * trials, "{rejected} rejections");
    check_with_promtool(&after.0);

    // Health: the readiness check fails while it is open (a call each
    // round keeps it open: a failed trial opens it again).
    eventually("/health and /readyz show the breaker open", 20, || {
        let _ = app.get("/quote");
        app.check_status("quotes:breaker") == "fail"
            && app.get("/readyz").0 == 503
            && app.health().0 == 503
    });

    // The dependency heals: the breaker closes through its trials.
    app.fault("dependency/healthy");
    eventually("a quote is answered again", 30, || {
        app.get("/quote").0 == 200
    });
    call_until_breaker(&app, "closed");
    eventually("/health passes again", 10, || {
        app.check_status("quotes:breaker") == "pass" && app.get("/readyz").0 == 200
    });
    let healed = app.scrape();
    assert!(
        healed.value(
            "mend_breaker_transitions_total",
            &[("breaker", "quotes"), ("to", "closed")]
        ) >= 1.0
    );
}

#[test]
fn slow_dependency_opens_the_breaker_by_slow_calls() {
    let (_dir, state) = state_dir();
    let app = App::start(&state);
    app.fault("dependency/slow");
    call_until_breaker(&app, "open");
    let metrics = app.scrape();
    // Opened by slowness alone: every call answered, within the timeout.
    assert!(metrics.value("mend_breaker_slow_calls_total", QUOTES) >= 3.0);
    assert_eq!(
        metrics.value(
            "mend_breaker_calls_total",
            &[("breaker", "quotes"), ("outcome", "failure")]
        ),
        0.0
    );
    assert_eq!(
        metrics.value("mend_timeout_elapsed_total", &[("timeout", "quotes")]),
        0.0
    );
    assert!(
        metrics.value(
            "mend_breaker_calls_total",
            &[("breaker", "quotes"), ("outcome", "success")]
        ) >= 5.0
    );
}

#[test]
fn hanging_dependency_opens_the_breaker_by_timeouts() {
    let (_dir, state) = state_dir();
    let app = App::start(&state);
    app.fault("dependency/hang");
    let mut statuses = Vec::new();
    eventually("the breaker is open", 60, || {
        statuses.push(app.get("/quote").0);
        breaker_is(&app, "open")
    });
    let metrics = app.scrape();
    let elapsed = metrics.value("mend_timeout_elapsed_total", &[("timeout", "quotes")]);
    assert!(elapsed >= 3.0, "{elapsed} timeouts");
    assert!(
        metrics.value(
            "mend_breaker_calls_total",
            &[("breaker", "quotes"), ("outcome", "failure")]
        ) >= 3.0
    );
    assert!(
        statuses.contains(&504),
        "a timed-out call is a 504: {statuses:?}"
    );
}

#[test]
fn flapping_dependency_is_retried_within_the_budget() {
    let (_dir, state) = state_dir();
    let app = App::start(&state);
    app.fault("dependency/flapping");
    let began = Instant::now();
    let mut answered = 0;
    for _ in 0..150 {
        answered += usize::from(app.get("/quote").0 == 200);
    }
    let took = began.elapsed().as_secs_f64();
    let m = app.scrape();
    let retry = &[("retry", "quotes")];
    let calls = m.value("mend_retry_calls_total", retry);
    let retries = m.value("mend_retry_retries_total", retry);
    let attempts = m.value("mend_retry_attempts_total", retry);
    let refused = m.value(
        "mend_retry_gave_up_total",
        &[("retry", "quotes"), ("reason", "budget")],
    );
    let reached = m.value("app_dependency_requests_total", &[]);
    assert_eq!(calls, 150.0);
    assert_eq!(attempts, calls + retries);
    assert_eq!(
        reached, attempts,
        "every attempt, and nothing else, reached the dependency"
    );
    assert!(retries > 0.0, "flapping calls are retried");
    assert!(
        refused > 0.0,
        "the budget refused some retries ({retries} retries)"
    );
    // The budget: retries in any 10 s window <= 20 % of that window's
    // first attempts + 1/s * 10 s. A window lives at least 9 s, so over
    // `took` seconds at most ceil(took / 9) windows' floors add up.
    let windows = (took / 9.0).ceil().max(1.0);
    let bound = 0.2 * calls + 10.0 * windows;
    assert!(
        retries <= bound,
        "{retries} retries > {bound} over {took:.1} s"
    );
    assert!(answered > 100, "{answered} of 150 answered");
    assert!(
        breaker_is(&app, "closed"),
        "a third failing never opens a 50 % breaker"
    );
}
