//! One service's task: starts its process, hears how it ends, asks a
//! [`RestartMachine`] (the task supervisor's, with this one service as
//! its only child) what to do, and does it; serves the handle's requests
//! (stop, start, restart, signal) meanwhile.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rustix::process::Signal;
use tokio::sync::{mpsc, oneshot};

use super::cgroup::Cgroup;
use super::child::{Child, Group};
use super::event::{ProcessChange, ProcessEvent};
use super::exit::ExitReason;
use super::group::{ProcessGroup, Restarts, Turns};
use super::handle::ReloadError;
use super::hook::HookOutcome;
use super::ledger::{Ledger, ServiceRecord};
use super::notify::NotifySocket;
use super::output::RotationStats;
use super::proc_stat::ProcStat;
use super::spec::ServiceSpec;
use super::status::{Backend, ProbeHealth, ServiceState, ServiceStatus};
use super::sys;
use crate::clock::{Clock, Tick, Timestamp};
use crate::health::{Kind, Monitor, MonitorHandle};
use crate::observe::Subscribers;
use crate::supervise::{Decision, Exit, RestartMachine, RestartMemory};

/// A request from a handle to one service.
#[derive(Debug)]
pub(crate) enum Command {
    /// Start it if it is not running (a start by hand: a service that
    /// gave up starts over with a fresh intensity count).
    Start(oneshot::Sender<()>),
    /// Stop it and keep it down; answered once it is down.
    Stop(oneshot::Sender<()>),
    /// Stop it (if running) and start it again.
    Restart(oneshot::Sender<()>),
    /// Send a signal to every process of it.
    Signal(Signal, oneshot::Sender<bool>),
    /// Run its reload command while it runs; answered with how that ended.
    Reload(oneshot::Sender<Result<(), ReloadError>>),
    /// Stop it and end the task.
    Shutdown(oneshot::Sender<()>),
    /// Its group restarts: stop it if it runs (as on purpose), start it at
    /// this time, in its turn among these members (start order).
    GroupRestart(Tick, Turns),
    /// Its group gave up: stop it and keep it down.
    GroupGaveUp,
}

/// Why a run is stopped as a failure while its process still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A liveness probe turned unhealthy, or a startup probe ran out.
    Probe(Kind),
    /// It did not send `WATCHDOG=1` within its watchdog period.
    Watchdog,
}

/// What ended a watch over a running process.
enum Ended {
    Exited(ExitReason, Duration),
    /// Stopped because a service it starts after gave up (or, a one-shot,
    /// failed): it waits for it again.
    DependencyDown,
    /// A liveness probe failed, or a startup probe ran out of budget: the
    /// run was stopped, and counts as a failure.
    ProbeFailed(Kind, ExitReason, Duration),
    /// Stopped for its group's restart, to start again at this time, in
    /// its turn.
    GroupRestart(Tick, Turns),
    /// Stopped because its group gave up.
    GroupGaveUp,
    StoppedByHand,
    RestartByHand,
    Shutdown(Option<oneshot::Sender<()>>),
}

/// What the task shares with the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) status: Mutex<ServiceStatus>,
    pub(crate) rotation: Option<Arc<RotationStats>>,
    /// Set by `kill_all`, for every service of a supervisor: start nothing
    /// more, ever.
    pub(crate) halted: Arc<AtomicBool>,
    /// The current run's probes, while it has any.
    pub(crate) probes: Mutex<Option<Arc<dyn ProbeView>>>,
    /// Whether it is a one-shot (ready once it ended with success).
    pub(crate) oneshot: bool,
    /// Whether it reports readiness on `NOTIFY_SOCKET`.
    pub(crate) notify: bool,
    /// Whether a readiness or startup probe gates its readiness: then it
    /// is not ready before that probe has passed (not even in the moment
    /// between its start and its monitor's).
    pub(crate) gated: bool,
    /// It sent `READY=1` in this run.
    pub(crate) notify_ready: AtomicBool,
}

impl std::fmt::Debug for dyn ProbeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.probes()).finish()
    }
}

/// What a running monitor tells about a service's probes.
pub(crate) trait ProbeView: Send + Sync {
    /// Readiness and startup probes all healthy, liveness not failing.
    fn ready(&self) -> bool;
    /// Each probe's health.
    fn probes(&self) -> Vec<ProbeHealth>;
}

struct Probes<C> {
    monitor: MonitorHandle<C>,
    kinds: Vec<(String, Kind)>,
}

impl<C: Clock + Send + Sync + 'static> ProbeView for Probes<C> {
    fn ready(&self) -> bool {
        self.monitor.readyz()
    }

    fn probes(&self) -> Vec<ProbeHealth> {
        self.kinds
            .iter()
            .filter_map(|(key, kind)| {
                Some(ProbeHealth {
                    key: key.clone(),
                    kind: *kind,
                    health: self.monitor.health(key)?,
                })
            })
            .collect()
    }
}

impl Shared {
    pub(crate) fn snapshot(&self) -> ServiceStatus {
        let mut status = self.status.lock().clone();
        if let Some(stats) = &self.rotation {
            status.rotations = stats.rotations();
            status.rotated_bytes = stats.rotated_bytes();
            status.rotation_lost_bytes = stats.lost_bytes();
        }
        let probes = self.probes.lock().clone();
        status.ready = if self.oneshot {
            status.state == ServiceState::Exited && status.last_exit_normal
        } else {
            status.state == ServiceState::Running
                && probes.as_ref().map_or(!self.gated, |p| p.ready())
                && (!self.notify || self.notify_ready.load(Ordering::SeqCst))
        };
        status.probes = probes.map(|p| p.probes()).unwrap_or_default();
        status
    }

    /// Why it is not ready, for a service waiting on it.
    fn not_ready_because(&self, name: &str) -> Option<String> {
        let status = self.snapshot();
        if status.ready {
            return None;
        }
        let why = match status.state {
            ServiceState::GaveUp => "gave up",
            ServiceState::Exited if self.oneshot => "failed",
            ServiceState::Exited => "exited",
            ServiceState::Stopped | ServiceState::Stopping => "stopped",
            ServiceState::Waiting => "waiting itself",
            ServiceState::Running => "not ready yet",
            _ => "restarting",
        };
        Some(format!("{name} ({why})"))
    }
}

pub(crate) struct ServiceTask<C> {
    pub(crate) supervisor: Arc<str>,
    /// The services it starts after.
    pub(crate) deps: Vec<(Arc<str>, Arc<Shared>)>,
    pub(crate) spec: ServiceSpec,
    /// The service's cgroup, or `None` for a process group.
    pub(crate) cgroup: Option<Cgroup>,
    pub(crate) clock: C,
    pub(crate) subscribers: Subscribers,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    /// Its last few exits, for a give-up command.
    pub(crate) recent: VecDeque<String>,
    /// The group whose machine decides its restarts, if any.
    pub(crate) group: Option<Arc<ProcessGroup>>,
    /// Where its notify socket goes.
    pub(crate) runtime_dir: Arc<std::path::Path>,
    /// The supervisor's ledger, if it keeps one.
    pub(crate) ledger: Option<Arc<Ledger>>,
    /// Its restart accounting as last written to the ledger.
    pub(crate) remembered: RestartMemory,
    /// What the ledger knew of it when this supervisor started.
    pub(crate) record: Option<ServiceRecord>,
}

/// Resolves, with its name, once a service in `deps` is down for good
/// (gave up; a one-shot that failed), if `enabled`; otherwise never.
async fn dependency_down(deps: &[(Arc<str>, Arc<Shared>)], enabled: bool) -> Arc<str> {
    if !enabled || deps.is_empty() {
        return std::future::pending().await;
    }
    loop {
        let down = deps.iter().find(|(_, dep)| {
            let status = dep.snapshot();
            status.state == ServiceState::GaveUp
                || (dep.oneshot && status.state == ServiceState::Exited && !status.last_exit_normal)
        });
        if let Some((name, _)) = down {
            return name.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads a run's notify socket: readiness and status into `shared`, and a
/// missed watchdog as a failure.
async fn notify_watch(
    socket: NotifySocket,
    watchdog: Option<Duration>,
    shared: Arc<Shared>,
    failed: mpsc::UnboundedSender<Failure>,
) {
    let mut deadline = watchdog.map(|period| tokio::time::Instant::now() + period);
    loop {
        let said = tokio::select! {
            said = socket.recv() => said,
            () = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                let _ = failed.send(Failure::Watchdog);
                return;
            }
        };
        let Ok(said) = said else {
            std::future::pending::<()>().await;
            return;
        };
        if said.ready {
            shared.notify_ready.store(true, Ordering::SeqCst);
        }
        if let Some(text) = said.status {
            shared.status.lock().notify_status = Some(text);
        }
        if let (true, Some(period)) = (said.watchdog, watchdog) {
            deadline = Some(tokio::time::Instant::now() + period);
        }
    }
}

/// How many recent exits a give-up command is told.
const RECENT_EXITS: usize = 5;

impl<C: Clock + Clone + Send + Sync + 'static> ServiceTask<C> {
    pub(crate) async fn run(mut self) {
        let mut machine = match &self.group {
            Some(group) => Restarts::Group(group.clone()),
            None => self.fresh_machine(),
        };
        let mut wanted = self.spec.autostart;
        // What a supervisor that died left of this service.
        let mut adopted = None;
        let mut lost = false;
        if let Some(record) = self.record.take() {
            match self.resume(record, &mut machine).await {
                Resumed::Fresh => {}
                Resumed::Adopt(child) => {
                    wanted = true;
                    adopted = Some(child);
                }
                Resumed::Lost => {
                    wanted = true;
                    lost = true;
                }
                Resumed::StayDown(state) => {
                    self.set_state(state);
                    wanted = false;
                }
            }
        }
        let mut by_hand = false;
        // A group restart's time, for a member that was not running.
        let mut start_at: Option<Tick> = None;
        // The members of a group restart under way, to start in turn.
        let mut turn: Option<Turns> = None;
        // After a wait before a start: go on, or stay down (stopped, or its
        // group gave up), or end the task.
        macro_rules! go_on_after {
            ($waited:expr) => {
                match $waited {
                    Waited::Due | Waited::Now => {}
                    Waited::Stop => {
                        self.set_state(ServiceState::Stopped);
                        wanted = false;
                        continue;
                    }
                    Waited::GaveUp => {
                        wanted = false;
                        continue;
                    }
                    Waited::Shutdown => return,
                }
            };
        }
        loop {
            if !wanted {
                match self.commands.recv().await {
                    None => return,
                    Some(Command::Shutdown(ack)) => {
                        let _ = ack.send(());
                        return;
                    }
                    Some(Command::Start(ack) | Command::Restart(ack)) => {
                        if self.shared.status.lock().state == ServiceState::GaveUp {
                            match &self.group {
                                Some(group) => group.reset(),
                                None => machine = self.fresh_machine(),
                            }
                        }
                        wanted = true;
                        by_hand = true;
                        let _ = ack.send(());
                    }
                    Some(Command::GroupRestart(at, members)) => {
                        wanted = true;
                        start_at = Some(at);
                        turn = Some(members);
                    }
                    Some(Command::GroupGaveUp) => self.set_state(ServiceState::GaveUp),
                    Some(Command::Stop(ack)) => {
                        let _ = ack.send(());
                    }
                    Some(Command::Signal(_, ack)) => {
                        let _ = ack.send(false);
                    }
                    Some(Command::Reload(ack)) => {
                        let _ = ack.send(Err(ReloadError::NotRunning));
                    }
                }
                continue;
            }
            if self.shared.halted.load(Ordering::SeqCst) {
                self.set_state(ServiceState::Stopped);
                wanted = false;
                continue;
            }
            if let Some(at) = start_at.take() {
                self.set_state(ServiceState::Restarting { at });
                go_on_after!(self.wait_until(at).await);
            }
            if let Some(members) = turn.take() {
                go_on_after!(self.wait_for_turn(&members).await);
            }
            let resuming = adopted.is_some() || lost;
            if !resuming {
                go_on_after!(self.wait_for_deps().await);
            }
            let spawned = if let Some(child) = adopted.take() {
                Ok((child, None))
            } else if std::mem::take(&mut lost) {
                Err(None)
            } else {
                self.spawn().map_err(Some)
            };
            machine.started(&self.spec.name, self.clock.coarse());
            let (pid, ended) = match spawned {
                Ok((child, socket)) => {
                    let pid = child.pid;
                    if resuming {
                        self.on_adopted(pid);
                    } else {
                        self.on_started(pid, by_hand);
                        self.keep(&machine, pid);
                    }
                    let socket = match (resuming, self.spec.notify) {
                        (true, Some(_)) => self.rebind_notify(),
                        _ => socket,
                    };
                    (Some(pid), self.watch(child, socket).await)
                }
                // It ended while no supervisor watched: its status is lost.
                Err(None) => (None, Ended::Exited(ExitReason::Unsupervised, Duration::MAX)),
                Err(Some(e)) => (
                    None,
                    Ended::Exited(ExitReason::SpawnFailed(e.to_string()), Duration::ZERO),
                ),
            };
            by_hand = false;
            let (reason, ran_for, probe) = match ended {
                Ended::Exited(reason, ran_for) => (reason, ran_for, None),
                Ended::ProbeFailed(kind, reason, ran_for) => (reason, ran_for, Some(kind)),
                Ended::StoppedByHand => {
                    let _ = machine.exited(&self.spec.name, Exit::Stopped, self.clock.coarse());
                    wanted = false;
                    continue;
                }
                Ended::RestartByHand => {
                    let _ = machine.exited(&self.spec.name, Exit::Stopped, self.clock.coarse());
                    by_hand = true;
                    continue;
                }
                Ended::Shutdown(ack) => {
                    if let Some(ack) = ack {
                        let _ = ack.send(());
                    }
                    return;
                }
                Ended::GroupRestart(at, members) => {
                    start_at = Some(at);
                    turn = Some(members);
                    continue;
                }
                Ended::GroupGaveUp => {
                    self.set_state(ServiceState::GaveUp);
                    wanted = false;
                    continue;
                }
                Ended::DependencyDown => {
                    let _ = machine.exited(&self.spec.name, Exit::Stopped, self.clock.coarse());
                    continue;
                }
            };
            let failed_start = ran_for < self.spec.start_grace || probe == Some(Kind::Startup);
            let exit = if reason.is_code_in(&self.spec.success_codes)
                && !failed_start
                && probe.is_none()
            {
                Exit::Normal
            } else {
                Exit::Failed
            };
            self.on_exited(pid, reason, exit, failed_start, ran_for);
            let decision = machine.exited(&self.spec.name, exit, self.clock.coarse());
            self.keep_down(&machine, false, matches!(decision, Decision::GiveUp(_)));
            match decision {
                Decision::Restart(order) => {
                    if let Some(group) = &self.group {
                        // Siblings stop (those running) and start with it,
                        // each in its turn.
                        let members = group.restart_of(&order.start);
                        for sibling in order.start.iter().filter(|s| **s != self.spec.name) {
                            group.tell(sibling, Command::GroupRestart(order.at, members.clone()));
                        }
                        turn = Some(members);
                    }
                    self.set_state(ServiceState::Restarting { at: order.at });
                    self.emit(ProcessChange::Restarting {
                        delay: order.delay,
                        attempt: order.attempt,
                    });
                    match self.wait_until(order.at).await {
                        Waited::Due => {}
                        Waited::Stop => {
                            let _ =
                                machine.exited(&self.spec.name, Exit::Stopped, self.clock.coarse());
                            self.set_state(ServiceState::Stopped);
                            wanted = false;
                        }
                        Waited::Now => by_hand = true,
                        Waited::GaveUp => wanted = false,
                        Waited::Shutdown => return,
                    }
                }
                Decision::GiveUp(give_up) => {
                    if let Some(group) = &self.group {
                        for sibling in group.member_names() {
                            if sibling != self.spec.name {
                                group.tell(&sibling, Command::GroupGaveUp);
                            }
                        }
                    }
                    self.shared.status.lock().give_ups += 1;
                    self.set_state(ServiceState::GaveUp);
                    self.emit(ProcessChange::GaveUp {
                        restarts: give_up.restarts,
                        max: give_up.max,
                        period: give_up.period,
                        cooldown: self.spec.cooldown,
                    });
                    wanted = false;
                    if let Some(hook) = &self.spec.on_give_up {
                        let because = format!(
                            "{} restarts within {:?}, more than the {} allowed",
                            give_up.restarts, give_up.period, give_up.max
                        );
                        let recent: Vec<String> = self.recent.iter().cloned().collect();
                        let env = [("MEND_REASON", because), ("MEND_EXITS", recent.join("\n"))];
                        let outcome = match hook.run(&self.spec, "on-give-up", &env).await {
                            HookOutcome::TimedOut => {
                                format!("killed after its timeout of {:?}", hook.timeout)
                            }
                            other => other.to_string(),
                        };
                        self.emit(ProcessChange::GiveUpCommand { outcome });
                    }
                    if let Some(cooldown) = self.spec.cooldown {
                        let at = self.clock.coarse().saturating_add(cooldown);
                        match self.wait_until(at).await {
                            Waited::Due | Waited::Now => {
                                match &self.group {
                                    Some(group) => group.reset(),
                                    None => machine = self.fresh_machine(),
                                }
                                wanted = true;
                            }
                            Waited::Stop => self.set_state(ServiceState::Stopped),
                            Waited::GaveUp => {}
                            Waited::Shutdown => return,
                        }
                    }
                }
                _ => {
                    self.set_state(ServiceState::Exited);
                    wanted = false;
                }
            }
        }
    }

    fn fresh_machine(&self) -> Restarts {
        let mut machine = RestartMachine::new(self.spec.plan.clone());
        // One child per machine: the name cannot be taken.
        let _ = machine.add(self.spec.name.clone(), self.spec.restart);
        Restarts::Own(machine)
    }

    fn spawn(&self) -> std::io::Result<(Child, Option<NotifySocket>)> {
        let (out, err) = self.spec.output.open(&self.spec.name)?;
        // Which supervisor and service it is: how a supervisor started
        // after this one died finds what no record names.
        let mut env = vec![
            ("MEND_SUPERVISOR", self.supervisor.to_string()),
            ("MEND_SERVICE", self.spec.name.to_string()),
        ];
        let socket = match self.spec.notify {
            Some(notify) => {
                let socket = NotifySocket::bind(
                    &self.runtime_dir,
                    &self.spec.name,
                    self.spec.credentials.as_ref(),
                )?;
                env.push((
                    "NOTIFY_SOCKET",
                    socket.path().to_string_lossy().into_owned(),
                ));
                if let Some(period) = notify.watchdog {
                    env.push(("WATCHDOG_USEC", period.as_micros().to_string()));
                }
                self.shared.notify_ready.store(false, Ordering::SeqCst);
                self.shared.status.lock().notify_status = None;
                Some(socket)
            }
            None => None,
        };
        let group = match &self.cgroup {
            Some(cgroup) => {
                // Made again if something removed it since (an empty cgroup
                // is easy to remove from outside).
                cgroup.ensure()?;
                Group::Cgroup(cgroup.clone())
            }
            None => Group::ProcessGroup,
        };
        Ok((Child::spawn(&self.spec, group, out, err, &env)?, socket))
    }

    /// Watches a running process until it ends or a request ends it.
    async fn watch(&mut self, child: Child, socket: Option<NotifySocket>) -> Ended {
        let started = self.clock.precise();
        let (failed_tx, mut failed) = mpsc::unbounded_channel();
        let _monitor = self.start_probes(failed_tx.clone());
        let _notify = socket.map(|socket| {
            AbortOnDrop(tokio::spawn(notify_watch(
                socket,
                self.spec.notify.and_then(|n| n.watchdog),
                self.shared.clone(),
                failed_tx,
            )))
        });
        let ended = self.watch_run(child, started, &mut failed).await;
        *self.shared.probes.lock() = None;
        ended
    }

    /// Starts a monitor of this run's probes, if the service has any; a
    /// failed liveness or startup probe is sent on `failed`. The monitor
    /// stops when the returned handle is dropped.
    fn start_probes(&self, failed: mpsc::UnboundedSender<Failure>) -> Option<MonitorHandle<C>> {
        if self.spec.probes.is_empty() {
            return None;
        }
        let mut builder = Monitor::builder().clock(self.clock.clone());
        let mut kinds = Vec::new();
        for template in &self.spec.probes {
            let mut probe = template.copy_for(&self.spec.name);
            let kind = probe.kind();
            kinds.push((probe.key(), kind));
            if kind != Kind::Readiness {
                let failed = failed.clone();
                probe = probe.recovery(move || {
                    let _ = failed.send(Failure::Probe(kind));
                    std::future::ready(())
                });
            }
            builder = builder.probe(probe);
        }
        // Each probe was checked when the spec was built.
        let monitor = builder.build().ok()?.start();
        *self.shared.probes.lock() = Some(Arc::new(Probes {
            monitor: monitor.clone(),
            kinds,
        }));
        Some(monitor)
    }

    async fn watch_run(
        &mut self,
        child: Child,
        started: Tick,
        failed: &mut mpsc::UnboundedReceiver<Failure>,
    ) -> Ended {
        loop {
            let command = tokio::select! {
                _ = child.exited() => None,
                Some(failure) = failed.recv() => {
                    let kind = match failure {
                        Failure::Probe(kind) => {
                            self.emit(ProcessChange::ProbeFailed { kind });
                            kind
                        }
                        Failure::Watchdog => {
                            self.emit(ProcessChange::WatchdogMissed {
                                period: self.spec.notify.and_then(|n| n.watchdog).unwrap_or_default(),
                            });
                            Kind::Liveness
                        }
                    };
                    self.set_state(ServiceState::Stopping);
                    self.finish(&child).await;
                    let ran_for = self.clock.precise().saturating_since(started);
                    let reason = child
                        .reap()
                        .unwrap_or_else(|e| ExitReason::SpawnFailed(format!("reaping: {e}")));
                    return Ended::ProbeFailed(kind, reason, ran_for);
                }
                dependency = dependency_down(&self.deps, self.spec.stop_with_dependencies) => {
                    self.emit(ProcessChange::DependencyDown { dependency });
                    self.stop(child, started).await;
                    return Ended::DependencyDown;
                }
                command = self.commands.recv() => Some(command),
            };
            let Some(command) = command else {
                // The leader is gone (or its pidfd failed: then too there
                // is nothing left to wait on); whatever it left behind goes
                // too, before the next start.
                self.finish(&child).await;
                let ran_for = self.clock.precise().saturating_since(started);
                let reason = child
                    .reap()
                    .unwrap_or_else(|e| ExitReason::SpawnFailed(format!("reaping: {e}")));
                return Ended::Exited(reason, ran_for);
            };
            match command {
                Some(Command::Signal(signal, ack)) => {
                    child.signal_all(signal);
                    let _ = ack.send(true);
                }
                Some(Command::Reload(ack)) => self.reload(child.pid, ack),
                Some(Command::Start(ack)) => {
                    let _ = ack.send(());
                }
                Some(Command::Stop(ack)) => {
                    // Recorded first: a supervisor that dies during the
                    // stop must not start it again.
                    self.keep_stopped();
                    self.stop(child, started).await;
                    self.set_state(ServiceState::Stopped);
                    let _ = ack.send(());
                    return Ended::StoppedByHand;
                }
                Some(Command::Restart(ack)) => {
                    self.stop(child, started).await;
                    let _ = ack.send(());
                    return Ended::RestartByHand;
                }
                Some(Command::Shutdown(ack)) => {
                    self.stop(child, started).await;
                    self.set_state(ServiceState::Stopped);
                    return Ended::Shutdown(Some(ack));
                }
                Some(Command::GroupRestart(at, members)) => {
                    if let Some(group) = &self.group {
                        self.emit(ProcessChange::GroupRestart {
                            group: group.name.clone(),
                        });
                    }
                    self.stop(child, started).await;
                    self.set_state(ServiceState::Restarting { at });
                    return Ended::GroupRestart(at, members);
                }
                Some(Command::GroupGaveUp) => {
                    self.stop(child, started).await;
                    return Ended::GroupGaveUp;
                }
                None => {
                    self.stop(child, started).await;
                    self.set_state(ServiceState::Stopped);
                    return Ended::Shutdown(None);
                }
            }
        }
    }

    /// Stops a running process on purpose: its stop signal, its grace,
    /// then SIGKILL to whatever is left.
    async fn stop(&mut self, child: Child, started: Tick) {
        self.set_state(ServiceState::Stopping);
        let pid = child.pid;
        self.finish(&child).await;
        let ran_for = self.clock.precise().saturating_since(started);
        let reason = child
            .reap()
            .unwrap_or_else(|e| ExitReason::SpawnFailed(format!("reaping: {e}")));
        self.on_exited(Some(pid), reason, Exit::Stopped, false, ran_for);
    }

    /// Stops everything of the service that still runs, reporting a kill.
    async fn finish(&self, child: &Child) {
        if child
            .stop_all(self.spec.stop_signal, self.spec.stop_grace)
            .await
        {
            self.shared.status.lock().kills += 1;
            self.emit(ProcessChange::Killed {
                grace: self.spec.stop_grace,
            });
        }
    }

    /// Waits until every service it starts after is ready, serving
    /// requests meanwhile; the status says what it waits for.
    async fn wait_for_deps(&mut self) -> Waited {
        loop {
            let unmet: Vec<String> = self
                .deps
                .iter()
                .filter_map(|(name, shared)| shared.not_ready_because(name))
                .collect();
            if unmet.is_empty() {
                self.shared.status.lock().waiting_for = None;
                return Waited::Due;
            }
            {
                let mut status = self.shared.status.lock();
                status.state = ServiceState::Waiting;
                status.restart_due = None;
                status.waiting_for = Some(unmet.join(", "));
            }
            let at = self
                .clock
                .coarse()
                .saturating_add(Duration::from_millis(50));
            match self.wait_until(at).await {
                Waited::Due => {}
                Waited::Now => {}
                other => {
                    self.shared.status.lock().waiting_for = None;
                    return other;
                }
            }
        }
    }

    /// Waits for its turn in a group restart of `members`, serving
    /// requests meanwhile.
    async fn wait_for_turn(&mut self, members: &[(Arc<str>, u64)]) -> Waited {
        let Some(group) = self.group.clone() else {
            return Waited::Due;
        };
        while !group.is_turn_of(&self.spec.name, members) {
            let at = self.clock.coarse().saturating_add(Duration::from_millis(2));
            match self.wait_until(at).await {
                Waited::Due | Waited::Now => {}
                other => return other,
            }
        }
        Waited::Due
    }

    /// Waits out a backoff, serving requests meanwhile.
    async fn wait_until(&mut self, mut at: Tick) -> Waited {
        loop {
            let wait = at.saturating_since(self.clock.coarse());
            if wait.is_zero() {
                return Waited::Due;
            }
            let command = tokio::select! {
                () = tokio::time::sleep(wait) => continue,
                command = self.commands.recv() => command,
            };
            match command {
                Some(Command::Stop(ack)) => {
                    self.keep_stopped();
                    let _ = ack.send(());
                    return Waited::Stop;
                }
                Some(Command::Start(ack) | Command::Restart(ack)) => {
                    let _ = ack.send(());
                    return Waited::Now;
                }
                Some(Command::Signal(_, ack)) => {
                    let _ = ack.send(false);
                }
                Some(Command::Reload(ack)) => {
                    let _ = ack.send(Err(ReloadError::NotRunning));
                }
                Some(Command::Shutdown(ack)) => {
                    self.set_state(ServiceState::Stopped);
                    let _ = ack.send(());
                    return Waited::Shutdown;
                }
                // Its group restarts meanwhile: it starts with the group
                // (in its turn, checked by the caller once the time is due).
                Some(Command::GroupRestart(group_at, _)) => at = group_at,
                Some(Command::GroupGaveUp) => {
                    self.set_state(ServiceState::GaveUp);
                    return Waited::GaveUp;
                }
                None => return Waited::Shutdown,
            }
        }
    }

    fn on_started(&self, pid: i32, by_hand: bool) {
        let restarts = {
            let mut status = self.shared.status.lock();
            if status.starts > 0 && !by_hand {
                status.restarts += 1;
            }
            status.starts += 1;
            status.state = ServiceState::Running;
            status.restart_due = None;
            status.pid = Some(pid);
            status.since = Some(self.clock.wall());
            status.restarts
        };
        self.emit(ProcessChange::Started { pid, restarts });
    }

    fn on_exited(
        &mut self,
        pid: Option<i32>,
        reason: ExitReason,
        exit: Exit,
        failed_start: bool,
        ran_for: Duration,
    ) {
        {
            let mut status = self.shared.status.lock();
            match exit {
                Exit::Normal => status.exits.normal += 1,
                Exit::Failed => status.exits.failed += 1,
                Exit::Stopped => status.exits.stopped += 1,
            }
            status.pid = None;
            status.since = None;
            status.last_exit = Some(reason.clone());
            status.last_exit_normal = exit == Exit::Normal;
        }
        if self.recent.len() == RECENT_EXITS {
            self.recent.pop_front();
        }
        self.recent
            .push_back(format!("{reason} after {ran_for:.1?}"));
        self.emit(ProcessChange::Exited {
            pid,
            reason,
            exit,
            failed_start,
            ran_for,
        });
    }

    /// Runs the reload command beside the running process (the service
    /// keeps being watched meanwhile) and answers `ack` once it ends.
    fn reload(&self, pid: i32, ack: oneshot::Sender<Result<(), ReloadError>>) {
        let Some(hook) = self.spec.reload.clone() else {
            let _ = ack.send(Err(ReloadError::NoCommand));
            return;
        };
        let spec = self.spec.clone();
        tokio::spawn(async move {
            let env = [("MAINPID", pid.to_string())];
            let outcome = match hook.run(&spec, "reload", &env).await {
                HookOutcome::Ended(ExitReason::Code(0)) => Ok(()),
                HookOutcome::TimedOut => Err(ReloadError::TimedOut(hook.timeout)),
                other => Err(ReloadError::Failed(other.to_string())),
            };
            let _ = ack.send(outcome);
        });
    }

    /// Writes its record: running as `pid`.
    fn keep(&mut self, machine: &Restarts, pid: i32) {
        let Some(ledger) = &self.ledger else { return };
        self.remembered = machine.memory(&self.spec.name);
        let status = self.shared.status.lock().clone();
        let start_time = ProcStat::read(pid).map_or(0, |stat| stat.start_time);
        ledger.write(
            &self.spec.name,
            self.record_of(&status, Some(pid), start_time, false, false),
        );
    }

    /// Writes its record: nothing runs, after a decision (`gave_up`) or
    /// a stop on purpose (`stopped`).
    fn keep_down(&mut self, machine: &Restarts, stopped: bool, gave_up: bool) {
        let Some(ledger) = &self.ledger else { return };
        self.remembered = machine.memory(&self.spec.name);
        let status = self.shared.status.lock().clone();
        ledger.write(
            &self.spec.name,
            self.record_of(&status, None, 0, stopped, gave_up),
        );
    }

    /// Writes its record: stopped on purpose, before the stop is done.
    fn keep_stopped(&self) {
        let Some(ledger) = &self.ledger else { return };
        let status = self.shared.status.lock().clone();
        ledger.write(
            &self.spec.name,
            self.record_of(&status, None, 0, true, false),
        );
    }

    fn record_of(
        &self,
        status: &ServiceStatus,
        pid: Option<i32>,
        start_time: u64,
        stopped: bool,
        gave_up: bool,
    ) -> ServiceRecord {
        ServiceRecord {
            pid,
            start_time,
            starts: status.starts,
            restarts: status.restarts,
            stopped,
            gave_up,
            memory: self.remembered.clone(),
            ..ServiceRecord::default()
        }
    }

    /// Takes over from the ledger's `record`, written by a supervisor
    /// that died: its counters and restart accounting, and its process if
    /// that still runs (same pid and start time; the ledger only loaded
    /// records of this boot). What runs of it that no record names (a
    /// spawn the dead supervisor could not record) is killed first, so it
    /// never runs twice.
    async fn resume(&mut self, record: ServiceRecord, machine: &mut Restarts) -> Resumed {
        {
            let mut status = self.shared.status.lock();
            status.starts = record.starts;
            status.restarts = record.restarts;
        }
        machine.remember(&self.spec.name, &record.memory);
        self.remembered = record.memory.clone();
        let group = match &self.cgroup {
            Some(cgroup) => Group::Cgroup(cgroup.clone()),
            None => Group::ProcessGroup,
        };
        let adopted = record
            .pid
            .filter(|_| !record.stopped && !record.gave_up)
            .and_then(|pid| Child::adopt(pid, record.start_time, group).ok());
        if let Some(child) = adopted {
            self.emit(ProcessChange::Adopted { pid: child.pid });
            return Resumed::Adopt(child);
        }
        self.kill_leftovers().await;
        if record.gave_up {
            Resumed::StayDown(ServiceState::GaveUp)
        } else if record.stopped {
            Resumed::StayDown(ServiceState::Stopped)
        } else if record.pid.is_some() {
            Resumed::Lost
        } else {
            Resumed::Fresh
        }
    }

    /// Kills whatever of this service runs that no record names: its
    /// cgroup's processes, or (under process groups) the processes whose
    /// environment names this supervisor and service.
    async fn kill_leftovers(&self) {
        if let Some(cgroup) = &self.cgroup {
            for _ in 0..100 {
                if !cgroup.populated().unwrap_or(false) {
                    return;
                }
                let _ = cgroup.kill();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            return;
        }
        let marks = [
            format!("MEND_SUPERVISOR={}\0", self.supervisor),
            format!("MEND_SERVICE={}\0", self.spec.name),
        ];
        let Ok(names) = sys::list("/proc") else {
            return;
        };
        for pid in names.iter().filter_map(|n| n.parse::<i32>().ok()) {
            let Ok(env) = sys::read_bytes(format!("/proc/{pid}/environ")) else {
                continue;
            };
            let has = |mark: &String| env.windows(mark.len()).any(|w| w == mark.as_bytes());
            if marks.iter().all(has)
                && let Some(pid) = rustix::process::Pid::from_raw(pid)
            {
                let _ = rustix::process::kill_process(pid, Signal::KILL);
            }
        }
    }

    /// The notify socket again, for a notify service adopted: it keeps
    /// sending to the same path. It said `READY=1` to the supervisor that
    /// died; it is taken as ready.
    fn rebind_notify(&self) -> Option<NotifySocket> {
        let socket = NotifySocket::bind(
            &self.runtime_dir,
            &self.spec.name,
            self.spec.credentials.as_ref(),
        )
        .ok()?;
        self.shared.notify_ready.store(true, Ordering::SeqCst);
        Some(socket)
    }

    /// An adopted process runs: the status says so (not a start), with
    /// the time it really started.
    fn on_adopted(&self, pid: i32) {
        let now = self.clock.wall();
        let since = ProcStat::read(pid)
            .ok()
            .and_then(|stat| super::proc_stat::age(stat.start_time))
            .map_or(now, |age| {
                Timestamp::from_unix_nanos(
                    now.as_unix_nanos()
                        .saturating_sub(crate::clock::duration_nanos(age)),
                )
            });
        let mut status = self.shared.status.lock();
        status.state = ServiceState::Running;
        status.restart_due = None;
        status.pid = Some(pid);
        status.since = Some(since);
    }

    fn set_state(&self, state: ServiceState) {
        // The wall-clock time a restart is due, for people and other
        // processes (a `Tick` means nothing outside this clock).
        let restart_due = match state {
            ServiceState::Restarting { at } => Some(
                self.clock
                    .wall()
                    .saturating_add(at.saturating_since(self.clock.precise())),
            ),
            _ => None,
        };
        let mut status = self.shared.status.lock();
        status.state = state;
        status.restart_due = restart_due;
    }

    fn emit(&self, change: ProcessChange) {
        self.subscribers.emit(|| ProcessEvent {
            supervisor: self.supervisor.clone(),
            service: self.spec.name.clone(),
            at: self.clock.wall(),
            change,
        });
    }
}

/// What a supervisor that starts again makes of a service's record.
enum Resumed {
    /// Nothing of it ran: start it as usual.
    Fresh,
    /// Its process still runs: watch it.
    Adopt(Child),
    /// Its process ended while no supervisor watched: an exit of unknown
    /// status, decided by its policy.
    Lost,
    /// It was stopped on purpose, or gave up: it stays down.
    StayDown(ServiceState),
}

/// How a backoff wait ended.
enum Waited {
    Due,
    Stop,
    Now,
    /// Its group gave up.
    GaveUp,
    Shutdown,
}

/// The status of a service not started yet.
pub(crate) fn initial_status(spec: &ServiceSpec, backend: Backend) -> ServiceStatus {
    ServiceStatus {
        name: spec.name.clone(),
        state: ServiceState::Stopped,
        restart_due: None,
        pid: None,
        since: None,
        starts: 0,
        restarts: 0,
        last_exit: None,
        exits: Default::default(),
        kills: 0,
        give_ups: 0,
        backend,
        ready: false,
        notify_status: None,
        probes: Vec::new(),
        waiting_for: None,
        last_exit_normal: false,
        rotations: 0,
        rotated_bytes: 0,
        rotation_lost_bytes: 0,
    }
}
