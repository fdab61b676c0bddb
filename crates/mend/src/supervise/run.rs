//! The supervisor's task: starts children, hears how they end, asks the
//! [`RestartMachine`] what to do and does it (stop, wait, start), serves the
//! handle's requests, and stops everything at shutdown or give-up.
//!
//! Each child runs in a tokio task of its own, wrapped so that however its
//! future ends (a value, an error, a panic) the supervisor hears of it on
//! one channel, tagged with the start it belongs to; a message from a start
//! the supervisor has since stopped is ignored. Waits are tokio's timer;
//! decisions read the supervisor's clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Supervisor;
use super::event::{SuperviseChange, SuperviseEvent};
use super::handle::{ChildInfo, Command, ExitCounts, Shared, SuperviseError, SupervisorHandle};
use super::machine::{Decision, GiveUp, Phase, RestartMachine};
use super::plan::Exit;
use super::spec::{ChildContext, ChildError, ChildSpec, Stop};
use crate::clock::Clock;
use crate::observe::Subscribers;
use crate::panics;

/// How a child's future ended.
enum Outcome {
    Returned(Result<(), ChildError>),
    Panicked(String),
}

/// A child's end, as the wrapper reports it: name, start, outcome.
type Ended = (Arc<str>, u64, Outcome);

/// One start of a child that is running.
struct Running {
    start: u64,
    token: CancellationToken,
    task: JoinHandle<()>,
}

pub(crate) struct Runner<C> {
    name: Arc<str>,
    clock: C,
    subscribers: Subscribers,
    shared: Arc<Shared>,
    machine: RestartMachine,
    specs: HashMap<Arc<str>, ChildSpec>,
    running: HashMap<Arc<str>, Running>,
    starts: u64,
    token: CancellationToken,
    commands: mpsc::UnboundedReceiver<Command>,
    ended_tx: mpsc::UnboundedSender<Ended>,
    ended_rx: mpsc::UnboundedReceiver<Ended>,
    /// In start order, for starting the initial children.
    order: Vec<Arc<str>>,
}

impl<C: Clock + Send + Sync + 'static> Runner<C> {
    pub(crate) fn new(
        supervisor: Supervisor<C>,
        token: CancellationToken,
    ) -> (Self, SupervisorHandle) {
        let shared = Arc::new(Shared::new(supervisor.name.clone()));
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (ended_tx, ended_rx) = mpsc::unbounded_channel();
        let mut machine = RestartMachine::new(supervisor.plan);
        let mut specs = HashMap::new();
        let mut order = Vec::new();
        for child in supervisor.children {
            // Names were checked unique by the builder.
            let _ = machine.add(child.name.clone(), child.restart);
            shared.children().push(info(&child));
            order.push(child.name.clone());
            specs.insert(child.name.clone(), child);
        }
        let handle = SupervisorHandle::new(commands_tx, shared.clone(), token.clone());
        let runner = Runner {
            name: supervisor.name,
            clock: supervisor.clock,
            subscribers: supervisor.subscribers,
            shared,
            machine,
            specs,
            running: HashMap::new(),
            starts: 0,
            token,
            commands,
            ended_tx,
            ended_rx,
            order,
        };
        (runner, handle)
    }

    /// Runs until shut down or given up (the handle learns which).
    pub(crate) async fn run_to_end(self) {
        let _ = self.run().await;
    }

    /// Runs until shut down or given up, publishes which, and says it.
    pub(crate) async fn run(mut self) -> Result<(), GiveUp> {
        let result = self.supervise().await;
        self.shared.ended.send_replace(Some(result.clone()));
        result
    }

    async fn supervise(&mut self) -> Result<(), GiveUp> {
        for name in std::mem::take(&mut self.order) {
            self.start(&name);
        }
        loop {
            let next_due = self.machine.next_due();
            let until_due = next_due.map(|at| at.saturating_since(self.clock.coarse()));
            tokio::select! {
                biased;
                () = self.token.cancelled() => {
                    self.stop_all("the supervisor is shutting down").await;
                    return Ok(());
                }
                Some(command) = self.commands.recv() => self.command(command).await?,
                Some((name, start, outcome)) = self.ended_rx.recv() => {
                    self.ended(name, start, outcome).await?;
                }
                () = sleep_for(until_due), if until_due.is_some() => {
                    for name in self.machine.due(self.clock.coarse()) {
                        self.start(&name);
                    }
                }
            }
        }
    }

    /// Starts one start of `name`.
    fn start(&mut self, name: &Arc<str>) {
        let Some(spec) = self.specs.get(name) else {
            return;
        };
        self.starts += 1;
        let start = self.starts;
        // A token of its own, not a child of the supervisor's: at shutdown
        // the supervisor cancels its children one by one, in reverse start
        // order, each after the one before has stopped.
        let token = CancellationToken::new();
        let context = ChildContext {
            name: name.clone(),
            token: token.clone(),
        };
        let factory = spec.factory.clone();
        let (tx, child) = (self.ended_tx.clone(), name.clone());
        let task = tokio::spawn(async move {
            // The factory runs inside the catch too: a panic making the
            // future is a failure of this start like any other.
            let outcome = match panics::caught(async move { factory(context).await }).await {
                Ok(result) => Outcome::Returned(result),
                Err(panic) => Outcome::Panicked(panic),
            };
            let _ = tx.send((child, start, outcome));
        });
        self.running
            .insert(name.clone(), Running { start, token, task });
        self.machine.started(name, self.clock.coarse());
        let mut restarts = 0;
        self.shared.update(name, |info| {
            restarts = info.starts;
            info.starts += 1;
            info.phase = Phase::Running;
        });
        self.announce(name, SuperviseChange::Started { restarts });
    }

    /// A child's future ended on its own.
    async fn ended(&mut self, name: Arc<str>, start: u64, outcome: Outcome) -> Result<(), GiveUp> {
        if self.running.get(&name).is_none_or(|r| r.start != start) {
            return Ok(()); // a start this supervisor stopped since
        }
        self.running.remove(&name);
        let (exit, reason, count): (_, _, fn(&mut ExitCounts)) = match outcome {
            Outcome::Returned(Ok(())) => {
                (Exit::Normal, "returned Ok".to_owned(), |c| c.normal += 1)
            }
            Outcome::Returned(Err(error)) => (Exit::Failed, error_chain(&*error), |c| c.error += 1),
            Outcome::Panicked(message) => (Exit::Failed, format!("panicked: {message}"), |c| {
                c.panic += 1
            }),
        };
        self.shared.update(&name, |info| {
            count(&mut info.exits);
            info.last_exit = Some((exit, reason.clone()));
        });
        self.announce(&name, SuperviseChange::Exited { exit, reason });
        self.decide(&name, exit).await
    }

    /// Asks the machine what `name`'s end means, and does it.
    async fn decide(&mut self, name: &Arc<str>, exit: Exit) -> Result<(), GiveUp> {
        let decision = self.machine.exited(name, exit, self.clock.coarse());
        match decision {
            Decision::Leave => {}
            Decision::Restart(order) => {
                let why = format!("restarting with {}", order.cause);
                for sibling in &order.stop {
                    self.stop(sibling, &why).await;
                }
                self.shared.update(&order.cause, |info| info.restarts += 1);
                self.announce(
                    &order.cause,
                    SuperviseChange::Restarting {
                        children: order.start,
                        delay: order.delay,
                        attempt: order.attempt,
                    },
                );
            }
            Decision::GiveUp(give_up) => {
                self.stop_all("the supervisor is giving up").await;
                self.shared.give_ups.fetch_add(1, Relaxed);
                self.announce(
                    &give_up.child,
                    SuperviseChange::GaveUp {
                        restarts: give_up.restarts,
                        max: give_up.max,
                        period: give_up.period,
                    },
                );
                self.publish_phases();
                return Err(give_up);
            }
        }
        self.publish_phases();
        Ok(())
    }

    /// Stops one running child as its spec says, and says so.
    async fn stop(&mut self, name: &Arc<str>, why: &str) {
        let Some(running) = self.running.remove(name) else {
            return;
        };
        let stop = self.specs.get(name).map_or(Stop::Immediate, |s| s.stop);
        stop_task(running, stop).await;
        self.shared.update(name, |info| {
            info.exits.stopped += 1;
            info.last_exit = Some((Exit::Stopped, why.to_owned()));
        });
        self.announce(
            name,
            SuperviseChange::Exited {
                exit: Exit::Stopped,
                reason: why.to_owned(),
            },
        );
    }

    /// Stops every running child, in reverse start order.
    async fn stop_all(&mut self, why: &str) {
        let names: Vec<Arc<str>> = self.machine.children().map(|(n, _, _)| n.clone()).collect();
        for name in names.iter().rev() {
            self.stop(name, why).await;
        }
        self.publish_phases();
    }

    async fn command(&mut self, command: Command) -> Result<(), GiveUp> {
        match command {
            Command::Add(spec, reply) => {
                let name = spec.name.clone();
                if self.machine.add(name.clone(), spec.restart).is_err() {
                    let _ = reply.send(Err(SuperviseError::DuplicateChild {
                        supervisor: self.name.clone(),
                        child: name,
                    }));
                    return Ok(());
                }
                self.shared.children().push(info(&spec));
                self.specs.insert(name.clone(), spec);
                self.start(&name);
                let _ = reply.send(Ok(()));
            }
            Command::Remove(name, reply) => {
                if !self.machine.remove(&name) {
                    let _ = reply.send(Err(self.unknown(name)));
                    return Ok(());
                }
                self.stop(&name, "removed").await;
                self.specs.remove(&name);
                self.shared.children().retain(|c| c.name != name);
                let _ = reply.send(Ok(()));
            }
            Command::Restart(name, reply) => {
                if !self.running.contains_key(&name) {
                    let _ = reply.send(Err(self.unknown(name)));
                    return Ok(());
                }
                self.stop(&name, "restart requested").await;
                // Stopped by request, decided as a failure: the plan applies.
                let decided = self.machine_restart(&name).await;
                let _ = reply.send(Ok(()));
                decided?;
            }
        }
        Ok(())
    }

    /// The machine's decision for a child stopped by request: the child is
    /// still running in the machine's eyes until told it failed.
    async fn machine_restart(&mut self, name: &Arc<str>) -> Result<(), GiveUp> {
        self.decide(name, Exit::Failed).await
    }

    fn unknown(&self, child: Arc<str>) -> SuperviseError {
        SuperviseError::UnknownChild {
            supervisor: self.name.clone(),
            child,
        }
    }

    /// Publishes every child's phase as the machine has it; forgets the
    /// published state of children the machine forgot (temporary ones).
    fn publish_phases(&self) {
        let mut children = self.shared.children();
        children.retain(|c| self.machine.phase(&c.name).is_some());
        for info in children.iter_mut() {
            if let Some(phase) = self.machine.phase(&info.name) {
                info.phase = phase;
            }
        }
    }

    fn announce(&self, child: &Arc<str>, change: SuperviseChange) {
        self.subscribers.emit(|| SuperviseEvent {
            supervisor: self.name.clone(),
            child: child.clone(),
            at: self.clock.wall(),
            change,
        });
    }
}

/// The published state of a child not started yet.
fn info(spec: &ChildSpec) -> ChildInfo {
    ChildInfo {
        name: spec.name.clone(),
        restart: spec.restart,
        phase: Phase::Stopped,
        starts: 0,
        last_exit: None,
        exits: ExitCounts::default(),
        restarts: 0,
    }
}

/// Stops a child's task: cancel its token and wait for it (for its grace
/// at most), or abort it at once.
async fn stop_task(mut running: Running, stop: Stop) {
    match stop {
        Stop::Immediate => running.task.abort(),
        Stop::Grace(grace) => {
            running.token.cancel();
            if tokio::time::timeout(grace, &mut running.task).await.is_ok() {
                return;
            }
            running.task.abort();
        }
        Stop::Infinity => running.token.cancel(),
    }
    // Ends at once after an abort (at the child's next `.await`), or when
    // the child returns.
    let _ = running.task.await;
}

/// An error and its sources, `: `-separated.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sleeps `d`, or forever without one (the branch is disabled then).
async fn sleep_for(d: Option<std::time::Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
