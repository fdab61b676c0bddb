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
//! Four clocks ship with mend:
//!
//! - [`SystemClock`], the default type parameter of every policy: the OS clocks.
//! - [`RecentClock`]: the OS clocks, with the coarse reading kept in memory by
//!   a background thread, for hot paths (a load instead of a vDSO call).
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
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A reading of a monotonic clock: nanoseconds since an arbitrary origin that
/// is fixed for the life of the process (the machine's boot, for
/// [`SystemClock`]).
///
/// Ticks from the same clock compare and subtract; ticks from different
/// processes or boots do not mean anything together. Serializable so later
/// layers can persist a reading alongside the boot it belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
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
    // Monotonic clocks never read negative, and u64 nanoseconds last 584
    // years of uptime: plain arithmetic, on the success path of every call.
    Tick(
        (ts.tv_sec as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec as u64),
    )
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

mod manual;
mod recent;
#[cfg(feature = "tokio")]
mod tokio_clock;

pub use manual::ManualClock;
pub use recent::RecentClock;
#[cfg(feature = "tokio")]
pub use tokio_clock::TokioClock;

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
