//! [`ProcessSupervisor`]: services, an isolation choice, a clock and
//! subscribers; built by [`ProcessSupervisorBuilder`], started with
//! [`ProcessSupervisor::start`], which resolves the isolation (a cgroup
//! of its own, or process groups) and starts one task per service.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::cgroup::Cgroup;
use super::group::ProcessGroup;
use super::handle::{Inner, ProcessHandle};
use super::ledger::{Ledger, ServiceRecord};
use super::spec::ServiceSpec;
use crate::clock::{Clock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::observe::{Subscriber, Subscribers};
use crate::supervise::{RestartPlanBuilder, Strategy};

/// Which isolation holds the services' processes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Isolation {
    /// A cgroup per service where a writable cgroup v2 hierarchy exists
    /// (under the cgroup this program is in), else a process group per
    /// service.
    #[default]
    Auto,
    /// A cgroup per service under this cgroup v2 directory; starting fails
    /// if it is not writable.
    CgroupUnder(PathBuf),
    /// A process group per service, even where cgroups would work (what
    /// escapes it: see [`Backend::ProcessGroup`](super::Backend::ProcessGroup)).
    ProcessGroup,
}

/// A group as given to the builder.
#[derive(Debug)]
struct GroupSpec {
    name: Arc<str>,
    strategy: Strategy,
    plan: RestartPlanBuilder,
    members: Vec<Arc<str>>,
}

/// Builds a [`ProcessSupervisor`]; made by [`ProcessSupervisor::builder`].
#[must_use = "a builder does nothing until `build()`"]
pub struct ProcessSupervisorBuilder<C = SystemClock> {
    name: Arc<str>,
    runtime_dir: Option<PathBuf>,
    ledger: Option<LedgerSpec>,
    services: Vec<ServiceSpec>,
    groups: Vec<GroupSpec>,
    isolation: Isolation,
    clock: C,
    subscribers: Subscribers,
}

/// Where the ledger goes, and the boot id it compares.
#[derive(Debug, Clone)]
pub(crate) struct LedgerSpec {
    dir: PathBuf,
    boot_id: Option<String>,
}

/// The ledger of a running supervisor, and the records it loaded that a
/// service added later takes.
pub(crate) struct Keeping {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) records: parking_lot::Mutex<BTreeMap<String, ServiceRecord>>,
}

/// Supervises OS processes (see the [module docs](super)).
#[must_use = "a supervisor does nothing until started"]
pub struct ProcessSupervisor<C = SystemClock> {
    pub(crate) name: Arc<str>,
    pub(crate) runtime_dir: Option<PathBuf>,
    pub(crate) ledger: Option<LedgerSpec>,
    pub(crate) services: Vec<ServiceSpec>,
    pub(crate) groups: Vec<Arc<ProcessGroup>>,
    pub(crate) isolation: Isolation,
    pub(crate) clock: C,
    pub(crate) subscribers: Subscribers,
}

impl ProcessSupervisor {
    /// The most services one supervisor may hold.
    pub const MAX_SERVICES: usize = 10_000;

    /// Starts building a supervisor called `name` (it names its cgroup,
    /// `mend.NAME`, under the cgroup this program is in: two supervisors of
    /// one name there would share their services' cgroups, so give each
    /// its own), with automatic isolation on the system clock.
    pub fn builder(name: &str) -> ProcessSupervisorBuilder {
        ProcessSupervisorBuilder {
            name: name.into(),
            runtime_dir: None,
            ledger: None,
            services: Vec::new(),
            groups: Vec::new(),
            isolation: Isolation::Auto,
            clock: SystemClock,
            subscribers: Subscribers::new(),
        }
    }
}

impl<C: Clock> ProcessSupervisorBuilder<C> {
    /// Adds a service; services start in the order they are added and
    /// stop in reverse.
    pub fn service(mut self, spec: ServiceSpec) -> Self {
        self.services.push(spec);
        self
    }

    /// Makes `members` a group restarted together by `strategy`
    /// ([`Strategy::OneForAll`]: one fails, all restart in start order;
    /// [`Strategy::RestForOne`]: it and the members started after it),
    /// with `plan`'s backoff and intensity for the whole group (the
    /// members' own plans no longer apply). See the module docs.
    pub fn group<S: Into<Arc<str>>>(
        mut self,
        name: &str,
        strategy: Strategy,
        plan: RestartPlanBuilder,
        members: impl IntoIterator<Item = S>,
    ) -> Self {
        self.groups.push(GroupSpec {
            name: name.into(),
            strategy,
            plan,
            members: members.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Where services that report readiness get their notify sockets
    /// (default: `mend-PID-NAME` in the temporary directory).
    pub fn runtime_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.runtime_dir = Some(dir.into());
        self
    }

    /// Keeps a ledger in `dir` (a [`checkpoint`](crate::checkpoint) store):
    /// each service's process identity (pid, start time, boot id), its
    /// counters and restart accounting, and whether it was stopped on
    /// purpose, so that a supervisor started again after it was killed
    /// re-adopts the processes that still run (the same pid, start time
    /// and boot), probes them again, and never starts a second copy. An
    /// adopted process is not this supervisor's child: when it ends, its
    /// status is its new parent's, and the end is recorded as
    /// [`ExitReason::Unsupervised`](super::ExitReason::Unsupervised), a
    /// failure. A clean [`shutdown`](super::ProcessHandle::shutdown)
    /// empties the ledger; a new boot adopts nothing. Counters, backoff and
    /// intensity windows (a group's too) go on where they were.
    pub fn ledger(mut self, dir: impl Into<PathBuf>) -> Self {
        self.ledger = Some(LedgerSpec {
            dir: dir.into(),
            boot_id: None,
        });
        self
    }

    /// The boot id the ledger compares (default: the kernel's,
    /// `/proc/sys/kernel/random/boot_id`): a test can make a supervisor
    /// believe the machine rebooted. Without [`ledger`](Self::ledger) it
    /// does nothing.
    pub fn boot_id(mut self, id: impl Into<String>) -> Self {
        if let Some(ledger) = &mut self.ledger {
            ledger.boot_id = Some(id.into());
        }
        self
    }

    /// Chooses the isolation (default [`Isolation::Auto`]).
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// Reads time from `clock`.
    pub fn clock<C2: Clock>(self, clock: C2) -> ProcessSupervisorBuilder<C2> {
        ProcessSupervisorBuilder {
            name: self.name,
            runtime_dir: self.runtime_dir,
            ledger: self.ledger,
            services: self.services,
            groups: self.groups,
            isolation: self.isolation,
            clock,
            subscribers: self.subscribers,
        }
    }

    /// Adds a subscriber to its events.
    pub fn on_event(mut self, subscriber: impl Subscriber) -> Self {
        self.subscribers.push(subscriber);
        self
    }

    /// Turns off the built-in `tracing` log of its events.
    pub fn without_logging(mut self) -> Self {
        self.subscribers.set_logging(false);
        self
    }

    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a name that cannot name a cgroup, two
    /// services with one name, more than
    /// [`MAX_SERVICES`](ProcessSupervisor::MAX_SERVICES), a service that
    /// starts after one that does not exist, or a cycle of `after`s (the
    /// error names both ends). Services are reordered so each starts after
    /// those it names, otherwise keeping the order given.
    pub fn build(self) -> Result<ProcessSupervisor<C>, ConfigError> {
        let check = Checks::named("process supervisor", &self.name);
        if self.name.is_empty()
            || self.name.starts_with('.')
            || self.name.contains(['/', '\n', '\0'])
        {
            return Err(check.fail(
                "name",
                format!("{:?}", self.name),
                "a plain directory name (no slash, not starting with a dot)",
            ));
        }
        check.count(
            "service",
            self.services.len(),
            0,
            ProcessSupervisor::MAX_SERVICES,
            "services",
        )?;
        let mut names = HashSet::new();
        for spec in &self.services {
            if !names.insert(&*spec.name) {
                return Err(check.fail("service", &spec.name, "one service per name"));
            }
        }
        let services = start_order(self.services, &check)?;
        let mut grouped = HashSet::new();
        let mut groups = Vec::with_capacity(self.groups.len());
        for GroupSpec {
            name,
            strategy,
            plan,
            members,
        } in self.groups
        {
            let group_check = Checks::named("service group", &name);
            if members.is_empty() {
                return Err(group_check.fail("members", "[]", "at least one service"));
            }
            let mut in_order = Vec::with_capacity(members.len());
            // Members restart in the supervisor's start order.
            for spec in &services {
                if members.contains(&spec.name) {
                    if !grouped.insert(spec.name.clone()) {
                        return Err(group_check.fail(
                            "members",
                            &spec.name,
                            "a service in one group only",
                        ));
                    }
                    in_order.push((spec.name.clone(), spec.restart));
                }
            }
            if let Some(missing) = members
                .iter()
                .find(|m| !services.iter().any(|s| s.name == **m))
            {
                return Err(group_check.fail("members", missing, "services that exist"));
            }
            let plan = plan
                .strategy(strategy)
                .checked(&format!("service group `{name}`"))?;
            groups.push(Arc::new(ProcessGroup::new(name, plan, in_order)));
        }
        Ok(ProcessSupervisor {
            name: self.name,
            runtime_dir: self.runtime_dir,
            ledger: self.ledger,
            services,
            groups,
            isolation: self.isolation,
            clock: self.clock,
            subscribers: self.subscribers,
        })
    }
}

impl<C: Clock + Clone + Send + Sync + 'static> ProcessSupervisor<C> {
    /// Resolves the isolation and starts every service (those not
    /// `autostart` wait to be started), each in a tokio task of its own.
    /// The services stop, in reverse order, at
    /// [`shutdown`](ProcessHandle::shutdown); dropping every handle stops
    /// them too, without waiting.
    ///
    /// # Errors
    ///
    /// When [`Isolation::CgroupUnder`] names a cgroup that cannot be
    /// written, or the supervisor's cgroup cannot be made.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(self) -> io::Result<ProcessHandle> {
        let cgroup = match &self.isolation {
            Isolation::ProcessGroup => None,
            Isolation::CgroupUnder(dir) => {
                let parent = Cgroup::at(dir);
                if !parent.is_writable() {
                    return Err(io::Error::other(format!(
                        "cgroup {} is not writable",
                        dir.display()
                    )));
                }
                Some(parent.child(&format!("mend.{}", self.name))?)
            }
            Isolation::Auto => match Cgroup::own() {
                Ok(Some(own)) if own.is_writable() => {
                    Some(own.child(&format!("mend.{}", self.name))?)
                }
                _ => None,
            },
        };
        let runtime_dir: Arc<std::path::Path> = match self.runtime_dir {
            Some(dir) => dir.into(),
            None => std::env::temp_dir()
                .join(format!("mend-{}-{}", std::process::id(), self.name))
                .into(),
        };
        let keeping = match self.ledger {
            Some(spec) => {
                let boot_id = match spec.boot_id {
                    Some(id) => id,
                    None => super::proc_stat::boot_id()?,
                };
                let (ledger, records, _recovery) = Ledger::open(&spec.dir, boot_id)?;
                #[cfg(feature = "tracing")]
                tracing::info!(target: "mend::process", supervisor = %self.name, "ledger {}: {_recovery}; {} services to look for", spec.dir.display(), records.len());
                Some(Keeping {
                    ledger: Arc::new(ledger),
                    records: parking_lot::Mutex::new(records),
                })
            }
            None => None,
        };
        let inner = Inner::new(
            self.name,
            runtime_dir,
            self.groups,
            cgroup,
            self.clock,
            self.subscribers,
            keeping,
        );
        for spec in self.services {
            // Names were checked unique by the builder.
            let _ = inner.add(spec);
        }
        Ok(ProcessHandle::new(inner))
    }
}

/// The services in an order where each comes after those it starts after,
/// otherwise as given (services stop in the reverse).
fn start_order(
    mut pending: Vec<ServiceSpec>,
    check: &Checks,
) -> Result<Vec<ServiceSpec>, ConfigError> {
    for spec in &pending {
        for after in &spec.after {
            if !pending.iter().any(|s| s.name == *after) {
                return Err(check.fail(
                    "after",
                    format!("{} -> {after}", spec.name),
                    format!(
                        "`{}` to start after services that exist; there is no `{after}`",
                        spec.name
                    ),
                ));
            }
        }
    }
    let mut ordered: Vec<ServiceSpec> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending.iter().position(|spec| {
            spec.after
                .iter()
                .all(|a| ordered.iter().any(|s| s.name == *a))
        });
        match ready {
            Some(i) => ordered.push(pending.remove(i)),
            None => {
                // Every service left waits for another one left: a cycle.
                // Follow it from the first to name both ends.
                let first = &pending[0];
                let mut path = vec![first.name.clone()];
                let mut at = first;
                loop {
                    let next = at
                        .after
                        .iter()
                        .find_map(|a| pending.iter().find(|s| s.name == *a))
                        .expect("every service left waits for one left");
                    if let Some(start) = path.iter().position(|n| *n == next.name) {
                        let cycle: Vec<&str> = path[start..].iter().map(|n| &**n).collect();
                        return Err(check.fail(
                            "after",
                            format!("{} -> {}", cycle.join(" -> "), next.name),
                            "no cycle: each service starts after others that do not wait for it",
                        ));
                    }
                    path.push(next.name.clone());
                    at = next;
                }
            }
        }
    }
    Ok(ordered)
}

impl<C> fmt::Debug for ProcessSupervisorBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessSupervisorBuilder")
            .field("name", &self.name)
            .field("services", &self.services)
            .field("isolation", &self.isolation)
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for ProcessSupervisor<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessSupervisor")
            .field("name", &self.name)
            .field("services", &self.services)
            .field("isolation", &self.isolation)
            .finish_non_exhaustive()
    }
}
