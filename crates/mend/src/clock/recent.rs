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
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;

use super::{Clock, SystemClock, Tick, Timestamp};

/// [`SystemClock`], except that [`coarse`](Clock::coarse) is a load from
/// memory: a background thread (`mend-clock`) stores a fresh coarse reading
/// every `interval` (1 ms unless told otherwise). However many clocks are
/// made, a process has one such thread: every `RecentClock` alive shares
/// it, and it refreshes at the shortest interval any of them asked for.
///
/// For time-window breakers on hot paths: it takes a success from about
/// 9 ns to about 5 ns on our machines (`cargo bench --bench breaker`).
/// Whatever reads the precise clock (slow-call timing, retry deadlines, rate
/// limiters) costs the same as on [`SystemClock`]. The price is one thread
/// per process that wakes every interval, and coarse readings that lag by up to the
/// kernel tick plus the interval ([`coarse_resolution`](Clock::coarse_resolution)
/// says so). If the thread is starved of CPU, readings lag further: time
/// then moves late, never backwards, and every policy on the clock sees the
/// same time. [`precise`](Clock::precise) and [`wall`](Clock::wall) read the
/// system as [`SystemClock`] does, on the same time line.
///
/// The thread ends as soon as the last clock is dropped: the drop wakes it.
/// The next clock made starts a new one.
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
    /// The refresh interval in nanoseconds: the shortest any clock asked for.
    interval: AtomicU64,
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
    /// [`MIN_INTERVAL`](Self::MIN_INTERVAL)), or more often if another
    /// clock alive in the process asked for less.
    ///
    /// # Errors
    ///
    /// The operating system's error if the thread cannot be started.
    pub fn with_interval(interval: Duration) -> io::Result<Self> {
        PROCESS.clock(interval).map(|(clock, _ticker)| clock)
    }

    /// The interval the process's ticker refreshes at now.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.shared.interval.load(Ordering::Relaxed))
    }
}

/// The clock state of a process (or, in tests, of one test): the one
/// `Shared` every live clock holds, known weakly so it ends with them.
struct Tickers {
    current: Mutex<Weak<Shared>>,
}

/// The process's tickers: one thread for every `RecentClock`.
static PROCESS: Tickers = Tickers {
    current: Mutex::new(Weak::new()),
};

impl Tickers {
    /// A clock on the live ticker (lowered to `interval` if that is
    /// shorter), or on a new one, whose thread handle is returned.
    fn clock(&self, interval: Duration) -> io::Result<(RecentClock, Option<JoinHandle<()>>)> {
        let interval = interval.max(RecentClock::MIN_INTERVAL);
        let nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(shared) = current.upgrade() {
            let was = shared.interval.fetch_min(nanos, Ordering::Relaxed);
            if nanos < was
                && let Some(ticker) = shared.ticker.get()
            {
                // It may be parked for the longer interval: start the new one now.
                ticker.unpark();
            }
            return Ok((RecentClock { shared }, None));
        }
        let shared = Arc::new(Shared {
            coarse: AtomicU64::new(SystemClock.coarse().as_nanos()),
            interval: AtomicU64::new(nanos),
            ticker: OnceLock::new(),
        });
        let weak = Arc::downgrade(&shared);
        let handle = thread::Builder::new()
            .name("mend-clock".into())
            .spawn(move || keep_fresh(&weak))?;
        let _ = shared.ticker.set(handle.thread().clone());
        *current = Arc::downgrade(&shared);
        Ok((RecentClock { shared }, Some(handle)))
    }
}

/// The ticker's loop: holds the clock only weakly, so dropping the last
/// clone ends it.
fn keep_fresh(shared: &Weak<Shared>) {
    let mut interval = match shared.upgrade() {
        Some(shared) => Duration::from_nanos(shared.interval.load(Ordering::Relaxed)),
        None => return,
    };
    loop {
        // Woken early by the clock's drop (or spuriously: harmless).
        thread::park_timeout(interval);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        interval = Duration::from_nanos(shared.interval.load(Ordering::Relaxed));
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

    /// The kernel tick plus the ticker's interval now (a clock made later
    /// with a shorter interval only makes readings fresher).
    fn coarse_resolution(&self) -> Duration {
        SystemClock.coarse_resolution() + self.interval()
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

    /// A ticker state of the test's own, so parallel tests cannot share it.
    fn isolated() -> Tickers {
        Tickers {
            current: Mutex::new(Weak::new()),
        }
    }

    #[test]
    fn the_ticker_ends_once_the_last_clone_is_dropped() {
        let (clock, ticker) = isolated().clock(Duration::from_secs(3600)).unwrap();
        let ticker = ticker.expect("a first clock starts a thread");
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
    fn resolution_covers_the_kernel_tick_and_the_shortest_interval() {
        let tickers = isolated();
        let (clock, _) = tickers.clock(Duration::from_millis(7)).unwrap();
        assert_eq!(
            clock.coarse_resolution(),
            SystemClock.coarse_resolution() + Duration::from_millis(7)
        );
        let (slower, started) = tickers.clock(Duration::from_millis(20)).unwrap();
        assert!(started.is_none(), "the same ticker");
        assert_eq!(
            slower.interval(),
            Duration::from_millis(7),
            "the shortest wins"
        );
        let (fastest, _) = tickers.clock(Duration::ZERO).unwrap();
        assert_eq!(fastest.interval(), RecentClock::MIN_INTERVAL);
        assert_eq!(
            clock.coarse_resolution(),
            SystemClock.coarse_resolution() + RecentClock::MIN_INTERVAL
        );
    }

    #[test]
    fn a_parked_ticker_picks_up_a_shorter_interval_at_once() {
        let tickers = isolated();
        let (hourly, _) = tickers.clock(Duration::from_secs(3600)).unwrap();
        let start = hourly.coarse();
        let (_fast, _) = tickers.clock(Duration::from_millis(1)).unwrap();
        // Not an hour: the new clock woke the ticker.
        eventually("a fresh reading", || hourly.coarse() > start);
    }

    /// Threads of this process named `mend-clock`, from /proc.
    fn ticker_threads() -> usize {
        let tasks = std::path::Path::new("/proc/self/task");
        #[allow(clippy::disallowed_methods)] // /proc, not a checkpoint file
        let entries = std::fs::read_dir(tasks).unwrap();
        entries
            .filter_map(|task| {
                #[allow(clippy::disallowed_methods)]
                std::fs::read_to_string(task.ok()?.path().join("comm")).ok()
            })
            .filter(|name| name.trim() == "mend-clock")
            .count()
    }

    #[test]
    fn one_thread_serves_every_clock_of_the_process() {
        let clocks: Vec<RecentClock> = (0..50)
            .map(|i| RecentClock::with_interval(Duration::from_millis(1 + i)).unwrap())
            .collect();
        // A ticker whose clocks another test just dropped may still be
        // on its way out: wait for it, then there is exactly one.
        eventually("one mend-clock thread", || ticker_threads() == 1);
        assert!(
            clocks
                .iter()
                .all(|c| Arc::ptr_eq(&c.shared, &clocks[0].shared))
        );
    }
}
