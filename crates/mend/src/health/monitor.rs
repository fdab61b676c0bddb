//! [`Monitor`]: many probes, each on its own schedule, one tokio task per
//! probe (no thread per check), and the [`MonitorHandle`] that reads and
//! stops them.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::judge::{Health, Judge};
use super::probe::Probe;
use super::report::Report;
use super::{CheckResult, Kind};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::config::{Checks, ConfigError};
use crate::observe::{Subscriber, Subscribers};
use crate::retry::Delays;

/// Builds a [`Monitor`]; made by [`Monitor::builder`].
#[must_use = "a builder does nothing until `build()`"]
pub struct MonitorBuilder<C = SystemClock> {
    probes: Vec<Probe>,
    clock: C,
    subscribers: Subscribers,
}

/// Probes that are not running yet; [`start`](Monitor::start) them.
#[must_use = "a monitor does nothing until started"]
pub struct Monitor<C = SystemClock> {
    shared: Arc<Shared<C>>,
}

/// A running monitor: its report, its components' liveness and readiness,
/// and its probes' tasks, which stop when the last handle is dropped (or at
/// [`stop`](Self::stop)). Cheap to clone.
pub struct MonitorHandle<C = SystemClock> {
    pub(super) shared: Arc<Shared<C>>,
    tasks: Arc<Tasks>,
}

/// Everything the probes' tasks share.
pub(super) struct Shared<C> {
    pub(super) clock: C,
    pub(super) subscribers: Subscribers,
    pub(super) probes: Vec<ProbeState>,
    /// Per component with startup probes: whether they have all passed.
    pub(super) started: HashMap<Arc<str>, watch::Sender<bool>>,
}

/// One probe and what it knows.
pub(super) struct ProbeState {
    pub(super) probe: Probe,
    pub(super) state: Mutex<State>,
    /// Results by status (pass, warn, fail).
    pub(super) results: [AtomicU64; 3],
    /// Recoveries run, ever.
    pub(super) recoveries: AtomicU64,
    /// A recovery is running.
    pub(super) recovering: AtomicBool,
    #[cfg(feature = "metrics")]
    pub(super) durations: ::metrics::Histogram,
}

/// A probe's judged health and its last result.
pub(super) struct State {
    pub(super) judge: Judge,
    pub(super) last: Option<(CheckResult, Timestamp)>,
    /// How repeated recoveries back off: only for a probe with a recovery.
    pub(super) delays: Option<Box<Delays>>,
}

impl ProbeState {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Aborts the probes' tasks when the last handle goes.
struct Tasks(Mutex<Vec<AbortHandle>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in self.0.get_mut().map(std::mem::take).unwrap_or_default() {
            task.abort();
        }
    }
}

impl Monitor {
    /// Starts building a monitor on the system clock.
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder {
            probes: Vec::new(),
            clock: SystemClock,
            subscribers: Subscribers::new(),
        }
    }
}

impl<C: Clock> MonitorBuilder<C> {
    /// The most probes one monitor runs.
    pub const MAX_PROBES: usize = 1_000_000;

    /// Adds a probe.
    pub fn probe(mut self, probe: Probe) -> Self {
        self.probes.push(probe);
        self
    }

    /// Reads time from `clock` (`TokioClock` under paused tokio time).
    pub fn clock<C2: Clock>(self, clock: C2) -> MonitorBuilder<C2> {
        MonitorBuilder {
            probes: self.probes,
            clock,
            subscribers: self.subscribers,
        }
    }

    /// Adds a subscriber to the probes' events.
    pub fn on_event(mut self, subscriber: impl Subscriber) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Turns off the built-in `tracing` log of the probes' events.
    pub fn without_logging(mut self) -> Self {
        self.subscribers.set_logging(false);
        self
    }

    /// Checks every probe and builds the monitor.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a probe setting out of range, two probes with
    /// one key, or more than [`MAX_PROBES`](Self::MAX_PROBES).
    pub fn build(self) -> Result<Monitor<C>, ConfigError> {
        let check = Checks::unnamed("health monitor");
        check.count("probe", self.probes.len(), 0, Self::MAX_PROBES, "probes")?;
        let mut keys = HashSet::with_capacity(self.probes.len());
        for probe in &self.probes {
            probe.validate()?;
            if !keys.insert((&*probe.component, &*probe.measurement)) {
                return Err(check.fail("probe", probe.key(), "one probe per key"));
            }
        }
        // A gate only for components with a startup probe: the others
        // never wait (and 10,000 probes need no 10,000 channels).
        let started: HashMap<Arc<str>, watch::Sender<bool>> = self
            .probes
            .iter()
            .filter(|p| p.kind == Kind::Startup)
            .map(|p| (p.component.clone(), watch::Sender::new(false)))
            .collect();
        let seeds = RandomState::new();
        let probes = self
            .probes
            .into_iter()
            .map(|probe| ProbeState {
                state: Mutex::new(State {
                    judge: Judge::new(probe.kind, probe.failure_threshold, probe.success_threshold),
                    last: None,
                    delays: probe
                        .recovery
                        .as_ref()
                        .filter(|r| r.action.is_some())
                        .map(|r| {
                            Box::new(Delays::new(
                                r.backoff,
                                r.jitter,
                                r.reset_after,
                                seeds.hash_one(probe.key()),
                            ))
                        }),
                }),
                results: Default::default(),
                recoveries: AtomicU64::new(0),
                recovering: AtomicBool::new(false),
                #[cfg(feature = "metrics")]
                durations: super::metrics::duration_histogram(&probe),
                probe,
            })
            .collect();
        Ok(Monitor {
            shared: Arc::new(Shared {
                clock: self.clock,
                subscribers: self.subscribers,
                probes,
                started,
            }),
        })
    }
}

impl<C: Clock + Send + Sync + 'static> Monitor<C> {
    /// Starts every probe, one task each, on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(self) -> MonitorHandle<C> {
        let tasks = (0..self.shared.probes.len())
            .map(|i| tokio::spawn(super::run::probe(self.shared.clone(), i)).abort_handle())
            .collect();
        MonitorHandle {
            shared: self.shared,
            tasks: Arc::new(Tasks(Mutex::new(tasks))),
        }
    }
}

impl<C: Clock> MonitorHandle<C> {
    /// Every probe's latest, as health+json.
    pub fn report(&self) -> Report {
        Report::of(&self.shared)
    }

    /// Whether every component is alive: no liveness probe unhealthy, no
    /// startup probe out of budget.
    pub fn livez(&self) -> bool {
        self.shared.probes.iter().all(|p| {
            !(matches!(p.probe.kind, Kind::Liveness | Kind::Startup)
                && p.lock().judge.health() == Health::Unhealthy)
        })
    }

    /// Whether every component is ready: alive, every startup probe passed
    /// and every readiness probe healthy.
    pub fn readyz(&self) -> bool {
        self.livez()
            && self.shared.probes.iter().all(|p| match p.probe.kind {
                Kind::Liveness => true,
                Kind::Readiness | Kind::Startup => p.lock().judge.health() == Health::Healthy,
            })
    }

    /// The health of the probe with `key` (`"component:measurement"`).
    pub fn health(&self, key: &str) -> Option<Health> {
        let (component, measurement) = key.split_once(':')?;
        self.shared
            .probes
            .iter()
            .find(|p| &*p.probe.component == component && &*p.probe.measurement == measurement)
            .map(|p| p.lock().judge.health())
    }

    /// Stops every probe now (also done when the last handle is dropped).
    pub fn stop(&self) {
        let mut tasks = self.tasks.0.lock().unwrap_or_else(|p| p.into_inner());
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

impl<C> Clone for MonitorHandle<C> {
    fn clone(&self) -> Self {
        MonitorHandle {
            shared: self.shared.clone(),
            tasks: self.tasks.clone(),
        }
    }
}

impl<C> fmt::Debug for MonitorBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorBuilder")
            .field("probes", &self.probes)
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for Monitor<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("probes", &self.shared.probes.len())
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for MonitorHandle<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitorHandle")
            .field("probes", &self.shared.probes.len())
            .finish_non_exhaustive()
    }
}
