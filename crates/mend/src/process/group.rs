//! Groups of services restarted together with OTP's strategies:
//! `one_for_all` (a member fails, the whole group restarts in start order)
//! and `rest_for_one` (it and the members started after it). No process
//! supervisor has these; tasks in Erlang have had them for decades.
//!
//! A group is one [`RestartMachine`] (the task supervisor's) with the
//! members as its children, shared by the members' tasks: the member whose
//! process ended asks it what to do, then tells the siblings the decision
//! names to stop (they stop as on purpose: reverse start order is theirs
//! to keep, each with its stop grace) and to start again at the same time.
//! So the group's plan rules its members: the backoff of a group restart is
//! that of the member that caused it (its restarts in a row), and the
//! intensity counts the group's restarts, as a supervisor's does; the
//! members' own plans do not apply while they are in a group. A group that
//! gives up stops every member; starting one by hand starts the group's
//! count over.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::mpsc::WeakUnboundedSender;

use super::service::{Command, Shared};
use super::status::ServiceState;
use crate::clock::Tick;
use crate::supervise::{Decision, Exit, Restart, RestartMachine, RestartMemory, RestartPlan};

/// The members of a group restart, in start order, with how many times
/// each had started when it was decided.
pub(crate) type Turns = Arc<[(Arc<str>, u64)]>;

/// A group, as its members' tasks share it.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pub(crate) name: Arc<str>,
    plan: RestartPlan,
    members: Vec<(Arc<str>, Restart)>,
    machine: Mutex<RestartMachine>,
    /// Weak: a group must not keep its members' tasks alive.
    senders: Mutex<HashMap<Arc<str>, WeakUnboundedSender<Command>>>,
    /// The members' states, for starting in turn.
    shared: Mutex<HashMap<Arc<str>, Arc<Shared>>>,
}

impl ProcessGroup {
    /// A group of `members` (in start order) restarted by `plan`.
    pub(crate) fn new(
        name: Arc<str>,
        plan: RestartPlan,
        members: Vec<(Arc<str>, Restart)>,
    ) -> Self {
        let machine = Mutex::new(fresh(&plan, &members));
        ProcessGroup {
            name,
            plan,
            members,
            machine,
            senders: Mutex::new(HashMap::new()),
            shared: Mutex::new(HashMap::new()),
        }
    }

    /// The members, in start order.
    pub(crate) fn member_names(&self) -> Vec<Arc<str>> {
        self.members.iter().map(|(m, _)| m.clone()).collect()
    }

    /// Whether `service` is a member.
    pub(crate) fn has(&self, service: &str) -> bool {
        self.members.iter().any(|(m, _)| &**m == service)
    }

    /// Where the group reaches `service`'s task.
    pub(crate) fn register(
        &self,
        service: &Arc<str>,
        sender: WeakUnboundedSender<Command>,
        shared: Arc<Shared>,
    ) {
        self.senders.lock().insert(service.clone(), sender);
        self.shared.lock().insert(service.clone(), shared);
    }

    /// A group restart of `start` (members in start order), with how many
    /// times each had started when it was decided.
    pub(crate) fn restart_of(&self, start: &[Arc<str>]) -> Turns {
        let shared = self.shared.lock();
        start
            .iter()
            .map(|m| {
                let starts = shared.get(m).map_or(0, |s| s.status.lock().starts);
                (m.clone(), starts)
            })
            .collect()
    }

    /// Whether `service` may start now in the group restart `turns`: the
    /// members after it have stopped (a group stops in reverse order
    /// before it starts again) and those before it have started again (or
    /// will not start).
    pub(crate) fn is_turn_of(&self, service: &str, turns: &[(Arc<str>, u64)]) -> bool {
        let Some(at) = turns.iter().position(|(s, _)| &**s == service) else {
            return true;
        };
        let shared = self.shared.lock();
        let now = |name: &Arc<str>| {
            shared.get(name).map(|s| {
                let status = s.status.lock();
                (status.state, status.starts)
            })
        };
        let before_up = turns[..at].iter().all(|(m, starts)| match now(m) {
            Some((state, now_starts)) => {
                now_starts > *starts
                    || matches!(
                        state,
                        ServiceState::Stopped | ServiceState::GaveUp | ServiceState::Exited
                    )
            }
            None => true,
        });
        let after_down = turns[at + 1..].iter().all(|(m, _)| {
            !matches!(
                now(m),
                Some((ServiceState::Running | ServiceState::Stopping, _))
            )
        });
        before_up && after_down
    }

    pub(crate) fn started(&self, service: &str, now: Tick) {
        self.machine.lock().started(service, now);
    }

    pub(crate) fn exited(&self, service: &str, exit: Exit, now: Tick) -> Decision {
        self.machine.lock().exited(service, exit, now)
    }

    /// Starts the count over (a member started by hand after the group
    /// gave up).
    pub(crate) fn reset(&self) {
        *self.machine.lock() = fresh(&self.plan, &self.members);
    }

    /// Sends `command` to member `service`'s task, if it still runs.
    pub(crate) fn tell(&self, service: &str, command: Command) {
        let sender = self
            .senders
            .lock()
            .get(service)
            .and_then(WeakUnboundedSender::upgrade);
        if let Some(sender) = sender {
            let _ = sender.send(command);
        }
    }
}

fn fresh(plan: &RestartPlan, members: &[(Arc<str>, Restart)]) -> RestartMachine {
    let mut machine = RestartMachine::new(plan.clone());
    for (name, restart) in members {
        // Member names were checked unique by the builder.
        let _ = machine.add(name.clone(), *restart);
    }
    machine
}

/// Where a service's restart decisions come from: a machine of its own,
/// or its group's.
#[derive(Debug)]
pub(crate) enum Restarts {
    Own(RestartMachine),
    Group(Arc<ProcessGroup>),
}

impl Restarts {
    pub(crate) fn started(&mut self, service: &str, now: Tick) {
        match self {
            Restarts::Own(machine) => machine.started(service, now),
            Restarts::Group(group) => group.started(service, now),
        }
    }

    pub(crate) fn exited(&mut self, service: &str, exit: Exit, now: Tick) -> Decision {
        match self {
            Restarts::Own(machine) => machine.exited(service, exit, now),
            Restarts::Group(group) => group.exited(service, exit, now),
        }
    }

    /// Its restart accounting, for the ledger: its own machine's, or its
    /// group's as it concerns it (its backoff, and the group's window,
    /// which every member's record carries).
    pub(crate) fn memory(&self, service: &str) -> RestartMemory {
        match self {
            Restarts::Own(machine) => machine.memory(service),
            Restarts::Group(group) => group.machine.lock().memory(service),
        }
        .unwrap_or_default()
    }

    /// Goes on from the ledger's accounting. For a group, each member
    /// brings its backoff, and the group keeps the most recent window any
    /// member's record carries.
    pub(crate) fn remember(&mut self, service: &str, memory: &RestartMemory) {
        match self {
            Restarts::Own(machine) => machine.remember(service, memory),
            Restarts::Group(group) => {
                let mut machine = group.machine.lock();
                let mut memory = memory.clone();
                if let Some(known) = machine.memory(service)
                    && known.restarts_nanos.last() > memory.restarts_nanos.last()
                {
                    memory.restarts_nanos = known.restarts_nanos;
                }
                machine.remember(service, &memory);
            }
        }
    }
}
