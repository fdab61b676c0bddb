//! Time, injected: every policy in mend reads the clock through [`Clock`].
//!
//! A clock gives three readings, because they cost and mean different things:
//!
//! - [`Clock::coarse`]: monotonic, cheap (`CLOCK_MONOTONIC_COARSE`, a few ns),
//!   but only as fine as the kernel tick (4 ms on our machines). Good for
//!   picking a one-second window bucket or knowing when an open breaker may
//!   let calls through again.
//! - [`Clock::precise`]: monotonic and fine-grained (`CLOCK_MONOTONIC`, about
//!   20 ns). For timing a call (slow-call detection) and for deadlines.
//! - [`Clock::wall`]: calendar time, for timestamps in events and reports.
//!   Never used to measure an interval.
//!
//! Both monotonic readings are a [`Tick`] on the same time line, so a coarse
//! reading and a precise one can be compared (the coarse one lags by at most
//! one kernel tick).
//!
//! Three clocks ship with mend:
//!
//! - [`SystemClock`], the default type parameter of every policy: the OS clocks.
//! - [`ManualClock`]: time moves only when a test says so; clones share it.
//! - [`TokioClock`] (feature `tokio`): reads tokio's clock, so a test under
//!   `#[tokio::test(start_paused = true)]` moves policies with `time::advance`.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use mend::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let start = clock.precise();
//! clock.advance(Duration::from_millis(250));
//! assert_eq!(clock.precise().saturating_since(start), Duration::from_millis(250));
//! ```

use std::fmt;
use std::ops::{Add, Sub};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A reading of a monotonic clock: nanoseconds since an arbitrary origin that
/// is fixed for the life of the process (the machine's boot, for
/// [`SystemClock`]).
///
/// Ticks from the same clock compare and subtract; ticks from different
/// processes or boots do not mean anything together. Serializable so later
/// layers can persist a reading alongside the boot it belongs to.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Tick(u64);

impl Tick {
    /// The origin of the time line.
    pub const ZERO: Tick = Tick(0);
    /// The end of the time line: "never".
    pub const MAX: Tick = Tick(u64::MAX);

    /// A tick `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Tick(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Tick) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + duration`, saturating at the end of the time line.
    pub fn saturating_add(self, duration: Duration) -> Tick {
        Tick(self.0.saturating_add(duration_nanos(duration)))
    }
}

impl Add<Duration> for Tick {
    type Output = Tick;

    /// Saturating: a deadline "never" stays at the end of the time line.
    fn add(self, duration: Duration) -> Tick {
        self.saturating_add(duration)
    }
}

impl Sub for Tick {
    type Output = Duration;

    /// Saturating: returns zero when `earlier` is after `self`.
    fn sub(self, earlier: Tick) -> Duration {
        self.saturating_since(earlier)
    }
}

/// Whole nanoseconds in `duration`, saturating at `u64::MAX` (584 years).
pub(crate) fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A wall-clock reading: nanoseconds since the Unix epoch, UTC.
///
/// For timestamps in events and health reports only; intervals are measured
/// with [`Tick`]s, which never jump.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// A timestamp `nanos` nanoseconds after the Unix epoch.
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_unix_nanos(self) -> u64 {
        self.0
    }

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0)
    }

    /// The instant `system_time` names; times before the epoch become the epoch.
    pub fn from_system_time(system_time: SystemTime) -> Self {
        let since = system_time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp(duration_nanos(since))
    }

    /// `self + duration`, saturating.
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_nanos(duration)))
    }
}

impl fmt::Display for Timestamp {
    /// Seconds since the Unix epoch with nanosecond precision, e.g.
    /// `1764441600.250000000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// A source of time for mend's policies.
///
/// Policies are generic over their clock (`CircuitBreaker<C: Clock =
/// SystemClock>`), so the default pays no dynamic dispatch. Clones of a clock
/// must read the same time.
pub trait Clock: Clone + fmt::Debug + Send + Sync + 'static {
    /// Cheap monotonic reading, as fine as the kernel tick (4 ms here).
    fn coarse(&self) -> Tick;
    /// Fine-grained monotonic reading on the same time line as [`coarse`](Clock::coarse).
    fn precise(&self) -> Tick;
    /// Calendar time, for timestamps.
    fn wall(&self) -> Timestamp;

    /// How far a [`coarse`](Clock::coarse) reading can lag the
    /// [`precise`](Clock::precise) one (one kernel tick for
    /// [`SystemClock`]; zero for clocks whose readings are the same). A
    /// policy that promises "try again in X" by the coarse clock adds this,
    /// so a caller who waits X by a precise clock is not turned away again.
    fn coarse_resolution(&self) -> Duration {
        Duration::ZERO
    }
}

/// The operating system's clocks: `CLOCK_MONOTONIC_COARSE`,
/// `CLOCK_MONOTONIC` and `CLOCK_REALTIME`, read through `rustix` (a vDSO call,
/// no system call).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

fn timespec_tick(ts: rustix::time::Timespec) -> Tick {
    // Monotonic clocks never read negative; clamp defensively all the same.
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    Tick(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

impl Clock for SystemClock {
    #[inline]
    fn coarse(&self) -> Tick {
        timespec_tick(rustix::time::clock_gettime(
            rustix::time::ClockId::MonotonicCoarse,
        ))
    }

    #[inline]
    fn precise(&self) -> Tick {
        timespec_tick(rustix::time::clock_gettime(
            rustix::time::ClockId::Monotonic,
        ))
    }

    fn wall(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }

    fn coarse_resolution(&self) -> Duration {
        static RESOLUTION: OnceLock<Duration> = OnceLock::new();
        *RESOLUTION.get_or_init(|| {
            let ts = rustix::time::clock_getres(rustix::time::ClockId::MonotonicCoarse);
            timespec_tick(ts) - Tick::ZERO
        })
    }
}

/// A clock that moves only when told to: for deterministic sync tests.
///
/// Clones share one time, so a test keeps a clone and advances it while the
/// policy under test reads the other. Coarse and precise readings are equal.
/// Wall time starts at 2026-01-01T00:00:00Z and moves with the monotonic time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use mend::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let policy_view = clock.clone();
/// let before = policy_view.coarse();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(policy_view.coarse() - before, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

/// Where a new [`ManualClock`]'s monotonic time starts: one hour in, so that
/// code subtracting a window from "now" never underflows in tests.
const MANUAL_START: Tick = Tick(3_600 * 1_000_000_000);
/// 2026-01-01T00:00:00Z, the wall time of a new [`ManualClock`].
const MANUAL_WALL_START: Timestamp = Timestamp(1_767_225_600 * 1_000_000_000);

impl ManualClock {
    /// A clock stopped at its starting time.
    pub fn new() -> Self {
        ManualClock {
            nanos: Arc::new(AtomicU64::new(MANUAL_START.0)),
        }
    }

    /// Moves time forward by `by`, for this clock and all its clones.
    pub fn advance(&self, by: Duration) {
        let by = duration_nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Time elapsed since the clock was created.
    pub fn elapsed(&self) -> Duration {
        self.precise() - MANUAL_START
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn coarse(&self) -> Tick {
        Tick(self.nanos.load(Ordering::Acquire))
    }

    fn precise(&self) -> Tick {
        Tick(self.nanos.load(Ordering::Acquire))
    }

    fn wall(&self) -> Timestamp {
        MANUAL_WALL_START.saturating_add(self.elapsed())
    }
}

#[cfg(feature = "tokio")]
pub use tokio_clock::TokioClock;

#[cfg(feature = "tokio")]
mod tokio_clock {
    use super::*;

    /// A clock that reads tokio's time, so that paused-time tests
    /// (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`) move
    /// every policy that uses it.
    ///
    /// Readings are the system's monotonic time at creation plus what tokio
    /// says has elapsed since; wall time moves the same way. Outside paused
    /// time it behaves like [`SystemClock`](super::SystemClock) at the cost
    /// of a precise reading for every call.
    ///
    /// # Panics
    ///
    /// Reading it outside a tokio runtime with paused time is fine; creating
    /// it under paused time requires the runtime's context, as
    /// `tokio::time::Instant::now` does.
    #[derive(Clone, Copy, Debug)]
    pub struct TokioClock {
        origin: tokio::time::Instant,
        origin_tick: Tick,
        origin_wall: Timestamp,
    }

    impl TokioClock {
        /// A clock anchored at tokio's "now".
        pub fn new() -> Self {
            TokioClock {
                origin: tokio::time::Instant::now(),
                origin_tick: super::SystemClock.precise(),
                origin_wall: super::SystemClock.wall(),
            }
        }

        fn elapsed(&self) -> Duration {
            tokio::time::Instant::now().saturating_duration_since(self.origin)
        }
    }

    impl Default for TokioClock {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Clock for TokioClock {
        fn coarse(&self) -> Tick {
            self.origin_tick + self.elapsed()
        }

        fn precise(&self) -> Tick {
            self.origin_tick + self.elapsed()
        }

        fn wall(&self) -> Timestamp {
            self.origin_wall.saturating_add(self.elapsed())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_coarse_and_precise_share_a_time_line() {
        let clock = SystemClock;
        let coarse = clock.coarse();
        let precise = clock.precise();
        // The coarse clock lags the precise one by at most a kernel tick;
        // allow a generous 100 ms for a loaded machine.
        assert!(precise >= coarse || coarse - precise < Duration::from_millis(100));
        assert!(precise - coarse < Duration::from_millis(100));
        assert!(clock.wall().as_unix_nanos() > 1_700_000_000 * 1_000_000_000);
        let resolution = clock.coarse_resolution();
        assert!(resolution > Duration::ZERO && resolution <= Duration::from_millis(100));
    }

    #[test]
    fn manual_clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        let wall = b.wall();
        a.advance(Duration::from_millis(1500));
        assert_eq!(b.elapsed(), Duration::from_millis(1500));
        assert_eq!(b.coarse(), b.precise());
        assert_eq!(
            b.wall().as_unix_nanos() - wall.as_unix_nanos(),
            1_500_000_000
        );
    }

    #[test]
    fn tick_arithmetic_saturates() {
        let t = Tick::from_nanos(10);
        assert_eq!(Tick::from_nanos(5) - t, Duration::ZERO);
        assert_eq!((t + Duration::MAX).as_nanos(), u64::MAX);
        assert_eq!(t - Tick::from_nanos(4), Duration::from_nanos(6));
    }

    #[test]
    fn timestamp_displays_seconds_and_nanos() {
        let t = Timestamp::from_unix_nanos(1_764_441_600_250_000_000);
        assert_eq!(t.to_string(), "1764441600.250000000");
        assert_eq!(Timestamp::from_system_time(t.to_system_time()), t);
    }

    #[cfg(feature = "tokio")]
    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::new();
        let start = clock.coarse();
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(clock.coarse() - start, Duration::from_secs(30));
    }
}
