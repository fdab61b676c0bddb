//! The built-in `tracing` log: one line per transition at a level an
//! operator can filter on, and rejections summarised, never one per call.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mend::breaker::CircuitBreaker;
use mend::clock::ManualClock;
use tracing_subscriber::fmt::MakeWriter;

/// Collects everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn transitions_are_logged_once_each_with_rejections_summarised() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let clock = ManualClock::new();
    tracing::subscriber::with_default(subscriber, || {
        let breaker = CircuitBreaker::builder("inventory")
            .consecutive_failures(1)
            .half_open_calls(1)
            .wait_in_open(Duration::from_secs(5))
            .clock(clock.clone())
            .build()
            .unwrap();
        let _ = breaker.call(|| Err::<(), _>("down"));
        for _ in 0..1_000 {
            assert!(breaker.call(|| Ok::<_, &str>(())).is_err());
        }
        clock.advance(Duration::from_secs(5));
        breaker.call(|| Ok::<_, &str>(())).unwrap();
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "one line per transition, none per rejection:\n{log}"
    );
    assert!(
        lines[0].contains("WARN") && lines[0].contains("closed -> open"),
        "{log}"
    );
    assert!(
        lines[1].contains("INFO")
            && lines[1].contains("open -> half_open")
            && lines[1].contains("rejected=1000"),
        "{log}"
    );
    assert!(
        lines[2].contains("INFO") && lines[2].contains("half_open -> closed"),
        "{log}"
    );
}

#[test]
fn without_logging_is_silent() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let breaker = CircuitBreaker::builder("quiet")
            .consecutive_failures(1)
            .without_logging()
            .build()
            .unwrap();
        let _ = breaker.call(|| Err::<(), _>("down"));
        breaker.reset();
    });
    assert!(captured.0.lock().unwrap().is_empty());
}

#[test]
fn a_retry_logs_at_most_one_give_up_a_second_and_counts_the_rest() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let clock = ManualClock::new();
    tracing::subscriber::with_default(subscriber, || {
        let retry = mend::retry::Retry::builder("flaky")
            .max_attempts(2)
            .backoff(mend::retry::Backoff::constant(Duration::from_millis(1)))
            .jitter(mend::retry::Jitter::None)
            .manual_clock(&clock)
            .build()
            .unwrap();
        let reset = || Err::<(), _>(io::Error::from(io::ErrorKind::ConnectionReset));
        for _ in 0..100 {
            let _ = retry.call(reset); // each sleeps 1 ms: all within one second
        }
        clock.advance(Duration::from_secs(1));
        let _ = retry.call(reset);
        assert_eq!(
            retry.counters().gave_up.attempts,
            101,
            "every give-up counted"
        );
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "one give-up line a second:\n{log}");
    assert!(lines[0].contains("WARN") && lines[0].contains("gave up after 2 attempts"));
    assert!(
        lines[1].contains("99 more give-ups since the last line")
            && lines[1].contains("unlogged_before=99"),
        "{log}"
    );
}
