//! [`RecentClock`]: the system's clocks, with the coarse reading kept in
//! memory by a background thread, for code that reads it on every call.
//!
//! A `CLOCK_MONOTONIC_COARSE` read through glibc's vDSO costs about 4.4 ns
//! on our machines: half of a time-window breaker's success path, and a floor
//! no arithmetic around it can lower. A load from memory costs well under a
//! nanosecond. governor offers the same trade (`QuantaUpkeepClock`); mend
//! keeps its own because the reading must stay on [`SystemClock`]'s time
//! line (quanta counts CPU cycles, which `CLOCK_MONOTONIC` readings cannot be
//! compared with), and the whole of it is one thread storing one number.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use super::{Clock, SystemClock, Tick, Timestamp};

/// [`SystemClock`], except that [`coarse`](Clock::coarse) is a load from
/// memory: a background thread (`mend-clock`) stores a fresh coarse reading
/// every `interval` (1 ms unless told otherwise).
///
/// For time-window breakers on hot paths: it takes a success from about
/// 9 ns to about 5 ns on our machines (`cargo bench --bench breaker`).
/// Whatever reads the precise clock (slow-call timing, retry deadlines, rate
/// limiters) costs the same as on [`SystemClock`]. The price is one thread per clock (clones share it)
/// that wakes every interval, and coarse readings that lag by up to the
/// kernel tick plus the interval ([`coarse_resolution`](Clock::coarse_resolution)
/// says so). If the thread is starved of CPU, readings lag further: time
/// then moves late, never backwards, and every policy on the clock sees the
/// same time. [`precise`](Clock::precise) and [`wall`](Clock::wall) read the
/// system as [`SystemClock`] does, on the same time line.
///
/// The thread ends as soon as the last clone is dropped: the drop wakes it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::breaker::CircuitBreaker;
/// use mend::clock::RecentClock;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = CircuitBreaker::builder("payments")
///     .time_window(Duration::from_secs(60))
///     .clock(RecentClock::new()?)
///     .build()?;
/// assert_eq!(breaker.call(|| Ok::<_, std::io::Error>(7))?, 7);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RecentClock {
    shared: Arc<Shared>,
}

/// On lines of its own (128 bytes, against the adjacent-line prefetcher):
/// every call reads `coarse`, so a neighbour written by the breaker's locked
/// path would make each of those reads a cache miss.
#[derive(Debug)]
#[repr(align(128))]
struct Shared {
    /// The latest coarse reading, in nanoseconds.
    coarse: AtomicU64,
    interval: Duration,
    /// The thread that keeps `coarse` fresh, woken when the clock is dropped.
    ticker: OnceLock<Thread>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.get() {
            ticker.unpark();
        }
    }
}

impl RecentClock {
    /// How often a clock made by [`new`](RecentClock::new) refreshes.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);
    /// The shortest interval [`with_interval`](RecentClock::with_interval)
    /// accepts; shorter ones are raised to it (a thread refreshing faster
    /// would cost more than the reads it saves).
    pub const MIN_INTERVAL: Duration = Duration::from_micros(100);

    /// A clock refreshed every [`DEFAULT_INTERVAL`](Self::DEFAULT_INTERVAL).
    ///
    /// # Errors
    ///
    /// The operating system's error if the thread cannot be started.
    pub fn new() -> io::Result<Self> {
        Self::with_interval(Self::DEFAULT_INTERVAL)
    }

    /// A clock refreshed every `interval` (at least
    /// [`MIN_INTERVAL`](Self::MIN_INTERVAL)).
    ///
    /// # Errors
    ///
    /// The operating system's error if the thread cannot be started.
    pub fn with_interval(interval: Duration) -> io::Result<Self> {
        Self::start(interval).map(|(clock, _ticker)| clock)
    }

    fn start(interval: Duration) -> io::Result<(Self, JoinHandle<()>)> {
        let interval = interval.max(Self::MIN_INTERVAL);
        let shared = Arc::new(Shared {
            coarse: AtomicU64::new(SystemClock.coarse().as_nanos()),
            interval,
            ticker: OnceLock::new(),
        });
        let weak = Arc::downgrade(&shared);
        let handle = thread::Builder::new()
            .name("mend-clock".into())
            .spawn(move || keep_fresh(&weak, interval))?;
        let _ = shared.ticker.set(handle.thread().clone());
        Ok((RecentClock { shared }, handle))
    }
}

/// The ticker's loop: holds the clock only weakly, so dropping the last
/// clone ends it.
fn keep_fresh(shared: &Weak<Shared>, interval: Duration) {
    loop {
        // Woken early by the clock's drop (or spuriously: harmless).
        thread::park_timeout(interval);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        // One writer storing readings of a monotonic clock: the stored
        // value never goes back.
        shared
            .coarse
            .store(SystemClock.coarse().as_nanos(), Ordering::Relaxed);
    }
}

impl Clock for RecentClock {
    #[inline]
    fn coarse(&self) -> Tick {
        Tick::from_nanos(self.shared.coarse.load(Ordering::Relaxed))
    }

    fn precise(&self) -> Tick {
        SystemClock.precise()
    }

    fn wall(&self) -> Timestamp {
        SystemClock.wall()
    }

    fn coarse_resolution(&self) -> Duration {
        SystemClock.coarse_resolution() + self.shared.interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `done` until it holds, failing after 10 s.
    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let clock = SystemClock;
        let deadline = clock.precise() + Duration::from_secs(10);
        while !done() {
            assert!(clock.precise() < deadline, "timed out waiting: {what}");
            thread::yield_now();
        }
    }

    #[test]
    fn coarse_readings_move_forward_behind_the_precise_clock() {
        let clock = RecentClock::new().unwrap();
        let first = clock.coarse();
        let mut last = first;
        eventually("the ticker to store a newer reading", || {
            let now = clock.coarse();
            assert!(now >= last, "time went back: {now:?} after {last:?}");
            // Behind the precise clock; as in `SystemClock`'s own test, with
            // a margin for kernels whose coarse clock runs a hair ahead.
            assert!(
                now <= clock.precise() + Duration::from_millis(100),
                "a coarse reading ahead of precise"
            );
            last = now;
            now > first
        });
    }

    #[test]
    fn the_ticker_ends_once_the_last_clone_is_dropped() {
        let (clock, ticker) = RecentClock::start(Duration::from_secs(3600)).unwrap();
        let clone = clock.clone();
        drop(clock);
        assert!(!ticker.is_finished(), "a clone still holds the clock");
        drop(clone);
        // Far sooner than the hour-long interval: the drop wakes it.
        eventually("the ticker thread to end", || ticker.is_finished());
        ticker.join().unwrap();
    }

    #[test]
    fn precise_and_wall_read_the_system() {
        let clock = RecentClock::new().unwrap();
        let (before, precise, after) = (
            SystemClock.precise(),
            clock.precise(),
            SystemClock.precise(),
        );
        assert!(before <= precise && precise <= after);
        // Calendar time may be stepped between two readings: a wide margin.
        let gap = clock
            .wall()
            .as_unix_nanos()
            .abs_diff(SystemClock.wall().as_unix_nanos());
        assert!(gap < 60_000_000_000, "wall readings {gap} ns apart");
    }

    #[test]
    fn resolution_covers_the_kernel_tick_and_the_interval() {
        let clock = RecentClock::with_interval(Duration::from_millis(7)).unwrap();
        assert_eq!(
            clock.coarse_resolution(),
            SystemClock.coarse_resolution() + Duration::from_millis(7)
        );
        let fastest = RecentClock::with_interval(Duration::ZERO).unwrap();
        assert_eq!(
            fastest.coarse_resolution(),
            SystemClock.coarse_resolution() + RecentClock::MIN_INTERVAL
        );
    }
}
