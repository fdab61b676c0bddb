//! One service's task: starts its process, hears how it ends, asks a
//! [`RestartMachine`] (the task supervisor's, with this one service as
//! its only child) what to do, and does it; serves the handle's requests
//! (stop, start, restart, signal) meanwhile.

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
use super::output::RotationStats;
use super::spec::ServiceSpec;
use super::status::{Backend, ServiceState, ServiceStatus};
use crate::clock::{Clock, Tick};
use crate::observe::Subscribers;
use crate::supervise::{Decision, Exit, RestartMachine};

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
    /// Stop it and end the task.
    Shutdown(oneshot::Sender<()>),
}

/// What ended a watch over a running process.
enum Ended {
    Exited(ExitReason, Duration),
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
}

impl Shared {
    pub(crate) fn snapshot(&self) -> ServiceStatus {
        let mut status = self.status.lock().clone();
        if let Some(stats) = &self.rotation {
            status.rotations = stats.rotations();
            status.rotated_bytes = stats.rotated_bytes();
            status.rotation_lost_bytes = stats.lost_bytes();
        }
        status
    }
}

pub(crate) struct ServiceTask<C> {
    pub(crate) supervisor: Arc<str>,
    pub(crate) spec: ServiceSpec,
    /// The service's cgroup, or `None` for a process group.
    pub(crate) cgroup: Option<Cgroup>,
    pub(crate) clock: C,
    pub(crate) subscribers: Subscribers,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
}

impl<C: Clock> ServiceTask<C> {
    pub(crate) async fn run(mut self) {
        let mut machine = self.fresh_machine();
        let mut wanted = self.spec.autostart;
        let mut by_hand = false;
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
                            machine = self.fresh_machine();
                        }
                        wanted = true;
                        by_hand = true;
                        let _ = ack.send(());
                    }
                    Some(Command::Stop(ack)) => {
                        let _ = ack.send(());
                    }
                    Some(Command::Signal(_, ack)) => {
                        let _ = ack.send(false);
                    }
                }
                continue;
            }
            if self.shared.halted.load(Ordering::SeqCst) {
                self.set_state(ServiceState::Stopped);
                wanted = false;
                continue;
            }
            let (pid, ended) = match self.spawn() {
                Ok(child) => {
                    machine.started(&self.spec.name, self.clock.coarse());
                    let pid = child.pid;
                    self.on_started(pid, by_hand);
                    (Some(pid), self.watch(child).await)
                }
                Err(e) => {
                    machine.started(&self.spec.name, self.clock.coarse());
                    (
                        None,
                        Ended::Exited(ExitReason::SpawnFailed(e.to_string()), Duration::ZERO),
                    )
                }
            };
            by_hand = false;
            let (reason, ran_for) = match ended {
                Ended::Exited(reason, ran_for) => (reason, ran_for),
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
            };
            let failed_start = ran_for < self.spec.start_grace;
            let exit = if reason.is_code_in(&self.spec.success_codes) && !failed_start {
                Exit::Normal
            } else {
                Exit::Failed
            };
            self.on_exited(pid, reason, exit, failed_start, ran_for);
            match machine.exited(&self.spec.name, exit, self.clock.coarse()) {
                Decision::Restart(order) => {
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
                        Waited::Shutdown => return,
                    }
                }
                Decision::GiveUp(give_up) => {
                    self.shared.status.lock().give_ups += 1;
                    self.set_state(ServiceState::GaveUp);
                    self.emit(ProcessChange::GaveUp {
                        restarts: give_up.restarts,
                        max: give_up.max,
                        period: give_up.period,
                        cooldown: self.spec.cooldown,
                    });
                    wanted = false;
                    if let Some(cooldown) = self.spec.cooldown {
                        let at = self.clock.coarse().saturating_add(cooldown);
                        match self.wait_until(at).await {
                            Waited::Due | Waited::Now => {
                                machine = self.fresh_machine();
                                wanted = true;
                            }
                            Waited::Stop => self.set_state(ServiceState::Stopped),
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

    fn fresh_machine(&self) -> RestartMachine {
        let mut machine = RestartMachine::new(self.spec.plan.clone());
        // One child per machine: the name cannot be taken.
        let _ = machine.add(self.spec.name.clone(), self.spec.restart);
        machine
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let (out, err) = self.spec.output.open(&self.spec.name)?;
        let group = match &self.cgroup {
            Some(cgroup) => Group::Cgroup(cgroup.clone()),
            None => Group::ProcessGroup,
        };
        Child::spawn(&self.spec, group, out, err)
    }

    /// Watches a running process until it ends or a request ends it.
    async fn watch(&mut self, child: Child) -> Ended {
        let started = self.clock.precise();
        loop {
            let command = tokio::select! {
                _ = child.exited() => None,
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
                Some(Command::Start(ack)) => {
                    let _ = ack.send(());
                }
                Some(Command::Stop(ack)) => {
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
    async fn stop(&self, child: Child, started: Tick) {
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

    /// Waits out a backoff, serving requests meanwhile.
    async fn wait_until(&mut self, at: Tick) -> Waited {
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
                Some(Command::Shutdown(ack)) => {
                    self.set_state(ServiceState::Stopped);
                    let _ = ack.send(());
                    return Waited::Shutdown;
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
            status.pid = Some(pid);
            status.since = Some(self.clock.wall());
            status.restarts
        };
        self.emit(ProcessChange::Started { pid, restarts });
    }

    fn on_exited(
        &self,
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
        }
        self.emit(ProcessChange::Exited {
            pid,
            reason,
            exit,
            failed_start,
            ran_for,
        });
    }

    fn set_state(&self, state: ServiceState) {
        self.shared.status.lock().state = state;
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

/// How a backoff wait ended.
enum Waited {
    Due,
    Stop,
    Now,
    Shutdown,
}

/// The status of a service not started yet.
pub(crate) fn initial_status(spec: &ServiceSpec, backend: Backend) -> ServiceStatus {
    ServiceStatus {
        name: spec.name.clone(),
        state: ServiceState::Stopped,
        pid: None,
        since: None,
        starts: 0,
        restarts: 0,
        last_exit: None,
        exits: Default::default(),
        kills: 0,
        give_ups: 0,
        backend,
        rotations: 0,
        rotated_bytes: 0,
        rotation_lost_bytes: 0,
    }
}
