//! [`Supervisor`]: children, a restart plan, a clock and subscribers; built
//! by [`SupervisorBuilder`], started as a task ([`Supervisor::start`]),
//! run in place ([`Supervisor::run`]) or nested under another supervisor
//! ([`Supervisor::into_child`]).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::handle::SupervisorHandle;
use super::machine::GiveUp;
use super::plan::{RestartPlan, RestartPlanBuilder};
use super::run::Runner;
use super::spec::{ChildError, ChildSpec, Stop};
use crate::clock::{Clock, SystemClock};
use crate::config::{Checks, ConfigError};
use crate::observe::{Subscriber, Subscribers};

/// Builds a [`Supervisor`]; made by [`Supervisor::builder`].
#[must_use = "a builder does nothing until `build()`"]
pub struct SupervisorBuilder<C = SystemClock> {
    name: Arc<str>,
    plan: RestartPlanBuilder,
    children: Vec<ChildSpec>,
    clock: C,
    subscribers: Subscribers,
}

/// Runs children and restarts them by a [`RestartPlan`], Erlang/OTP style
/// (see the [module docs](super)).
#[derive(Clone)]
#[must_use = "a supervisor does nothing until started or run"]
pub struct Supervisor<C = SystemClock> {
    pub(crate) name: Arc<str>,
    pub(crate) plan: RestartPlan,
    pub(crate) children: Vec<ChildSpec>,
    pub(crate) clock: C,
    pub(crate) subscribers: Subscribers,
}

impl Supervisor {
    /// The most children one supervisor may hold.
    pub const MAX_CHILDREN: usize = 100_000;

    /// Starts building a supervisor called `name`, with OTP's defaults
    /// (one-for-one, at most 1 restart in 5 s) on the system clock.
    pub fn builder(name: &str) -> SupervisorBuilder {
        SupervisorBuilder {
            name: name.into(),
            plan: RestartPlan::builder(),
            children: Vec::new(),
            clock: SystemClock,
            subscribers: Subscribers::new(),
        }
    }
}

impl<C: Clock> SupervisorBuilder<C> {
    /// How it restarts: strategy, intensity, backoff.
    pub fn restarts(mut self, plan: RestartPlanBuilder) -> Self {
        self.plan = plan;
        self
    }

    /// Adds a child; children start in the order they are added.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    /// Reads time from `clock` (`TokioClock` in paused-time tests).
    pub fn clock<C2: Clock>(self, clock: C2) -> SupervisorBuilder<C2> {
        SupervisorBuilder {
            name: self.name,
            plan: self.plan,
            children: self.children,
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

    /// Checks every setting and builds the supervisor.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a restart plan out of range, two children with
    /// one name, or more than [`MAX_CHILDREN`](Supervisor::MAX_CHILDREN).
    pub fn build(self) -> Result<Supervisor<C>, ConfigError> {
        let component = format!("supervisor `{}`", self.name);
        let check = Checks::named("supervisor", &self.name);
        check.count(
            "child",
            self.children.len(),
            0,
            Supervisor::MAX_CHILDREN,
            "children",
        )?;
        let mut names = HashSet::new();
        for child in &self.children {
            if !names.insert(&*child.name) {
                return Err(check.fail("child", &child.name, "one child per name"));
            }
        }
        Ok(Supervisor {
            plan: self.plan.checked(&component)?,
            name: self.name,
            children: self.children,
            clock: self.clock,
            subscribers: self.subscribers,
        })
    }
}

impl<C: Clock + Send + Sync + 'static> Supervisor<C> {
    /// Starts its children on the current tokio runtime, in a task of its
    /// own. The supervisor stops (its children in reverse order) at
    /// [`shutdown`](SupervisorHandle::shutdown), or when the last handle
    /// is dropped.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(self) -> SupervisorHandle {
        self.start_with(CancellationToken::new(), |run| {
            tokio::spawn(run);
        })
    }

    /// Starts it under `token`, its task handed to `spawn`.
    pub(crate) fn start_with(
        self,
        token: CancellationToken,
        spawn: impl FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>),
    ) -> SupervisorHandle {
        let (runner, handle) = Runner::new(self, token);
        spawn(Box::pin(runner.run_to_end()));
        handle
    }

    /// Runs its children in the current task until `token` is cancelled
    /// (then it stops them, in reverse order, and returns `Ok`) or it gives
    /// up (it stops them and returns the [`GiveUp`]).
    ///
    /// # Errors
    ///
    /// [`GiveUp`] when a child needed more restarts than the intensity
    /// allows.
    pub async fn run(self, token: CancellationToken) -> Result<(), GiveUp> {
        let (runner, _handle) = Runner::new(self, token);
        runner.run().await
    }

    /// This supervisor as a child of another: each start runs a fresh copy
    /// of it; its giving up is its failure, which its parent handles
    /// (restarts it, or gives up in turn: escalation). Permanent, stopped
    /// with [`Stop::Infinity`] (it stops its own children first), as in
    /// OTP.
    pub fn into_child(self) -> ChildSpec {
        let name = self.name.clone();
        ChildSpec::new(&name, move |ctx| {
            let supervisor = self.clone();
            async move {
                supervisor
                    .run(ctx.token.clone())
                    .await
                    .map_err(ChildError::from)
            }
        })
        .stop(Stop::Infinity)
    }
}

impl<C> fmt::Debug for SupervisorBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupervisorBuilder")
            .field("name", &self.name)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for Supervisor<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("name", &self.name)
            .field("plan", &self.plan)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}
