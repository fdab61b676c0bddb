//! [`SupervisorHandle`]: asks a running supervisor to add, remove or
//! restart a child, reads its children, and waits for it or shuts it down.
//! Requests go to the supervisor's task over a channel (it alone changes
//! anything); reads come from the state that task publishes.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::machine::{GiveUp, Phase};
use super::plan::{Exit, Restart};
use super::spec::ChildSpec;

/// What a supervisor's child looks like from outside.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChildInfo {
    /// Its name.
    pub name: Arc<str>,
    /// When it is restarted.
    pub restart: Restart,
    /// Running, stopped, or restarting at a time.
    pub phase: Phase,
    /// Times it was started.
    pub starts: u64,
    /// How it last ended, and why.
    pub last_exit: Option<(Exit, String)>,
    /// Ends by reason: returned `Ok`, returned an error, panicked, stopped.
    pub exits: ExitCounts,
    /// Restarts it caused.
    pub restarts: u64,
}

/// A child's ends, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExitCounts {
    /// Returned `Ok`.
    pub normal: u64,
    /// Returned an error.
    pub error: u64,
    /// Panicked.
    pub panic: u64,
    /// Stopped by its supervisor (restarts on request included).
    pub stopped: u64,
}

/// A request a supervisor refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuperviseError {
    /// No child has that name.
    #[error("supervisor `{supervisor}` has no child `{child}`")]
    UnknownChild {
        /// The supervisor.
        supervisor: Arc<str>,
        /// The name asked for.
        child: Arc<str>,
    },
    /// A child already has that name.
    #[error("supervisor `{supervisor}` already has a child `{child}`")]
    DuplicateChild {
        /// The supervisor.
        supervisor: Arc<str>,
        /// The name taken.
        child: Arc<str>,
    },
    /// The supervisor has ended (shut down or gave up).
    #[error("supervisor `{0}` has ended")]
    Ended(Arc<str>),
}

/// What the supervisor's task is asked to do.
pub(crate) enum Command {
    Add(ChildSpec, oneshot::Sender<Result<(), SuperviseError>>),
    Remove(Arc<str>, oneshot::Sender<Result<(), SuperviseError>>),
    Restart(Arc<str>, oneshot::Sender<Result<(), SuperviseError>>),
}

/// What the supervisor's task publishes.
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) children: Mutex<Vec<ChildInfo>>,
    pub(crate) give_ups: std::sync::atomic::AtomicU64,
    /// `Some` once it has ended.
    pub(crate) ended: watch::Sender<Option<Result<(), GiveUp>>>,
}

impl Shared {
    pub(crate) fn new(name: Arc<str>) -> Self {
        Shared {
            name,
            children: Mutex::new(Vec::new()),
            give_ups: std::sync::atomic::AtomicU64::new(0),
            ended: watch::Sender::new(None),
        }
    }

    pub(crate) fn children(&self) -> MutexGuard<'_, Vec<ChildInfo>> {
        self.children
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the child's published state, if it is published.
    pub(crate) fn update(&self, name: &str, change: impl FnOnce(&mut ChildInfo)) {
        if let Some(info) = self.children().iter_mut().find(|c| &*c.name == name) {
            change(info);
        }
    }
}

/// Cancels the supervisor when the last handle goes.
struct StopOnDrop(CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// A running supervisor. Cheap to clone; when the last clone is dropped
/// the supervisor stops its children and ends.
#[derive(Clone)]
pub struct SupervisorHandle {
    commands: mpsc::UnboundedSender<Command>,
    pub(crate) shared: Arc<Shared>,
    token: Arc<StopOnDrop>,
}

impl SupervisorHandle {
    pub(crate) fn new(
        commands: mpsc::UnboundedSender<Command>,
        shared: Arc<Shared>,
        token: CancellationToken,
    ) -> Self {
        SupervisorHandle {
            commands,
            shared,
            token: Arc::new(StopOnDrop(token)),
        }
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Adds a child after the others and starts it.
    ///
    /// # Errors
    ///
    /// [`SuperviseError::DuplicateChild`] if the name is taken,
    /// [`SuperviseError::Ended`] if the supervisor has ended.
    pub async fn add_child(&self, child: ChildSpec) -> Result<(), SuperviseError> {
        self.ask(|reply| Command::Add(child, reply)).await
    }

    /// Stops a child (with its grace) and forgets it.
    ///
    /// # Errors
    ///
    /// [`SuperviseError::UnknownChild`], [`SuperviseError::Ended`].
    pub async fn remove_child(&self, name: &str) -> Result<(), SuperviseError> {
        self.ask(|reply| Command::Remove(name.into(), reply)).await
    }

    /// Stops a running child (with its grace) and handles it as failed: it
    /// is restarted by the plan, its strategy, backoff and intensity
    /// included (so a temporary child is not). What a health check's
    /// recovery calls. Resolves once the child is stopped and its restart
    /// decided.
    ///
    /// # Errors
    ///
    /// [`SuperviseError::UnknownChild`] (or not running),
    /// [`SuperviseError::Ended`].
    pub async fn restart_child(&self, name: &str) -> Result<(), SuperviseError> {
        self.ask(|reply| Command::Restart(name.into(), reply)).await
    }

    /// One child, as of now.
    pub fn child(&self, name: &str) -> Option<ChildInfo> {
        self.shared
            .children()
            .iter()
            .find(|c| &*c.name == name)
            .cloned()
    }

    /// Every child in start order, as of now.
    pub fn children(&self) -> Vec<ChildInfo> {
        self.shared.children().clone()
    }

    /// Stops every child in reverse start order and ends the supervisor;
    /// how it ended (a supervisor that had already given up says so).
    ///
    /// # Errors
    ///
    /// The [`GiveUp`] if it had given up before.
    pub async fn shutdown(&self) -> Result<(), GiveUp> {
        self.token.0.cancel();
        self.wait().await
    }

    /// Waits until the supervisor ends: `Ok` after a shutdown, the
    /// [`GiveUp`] if it gave up.
    ///
    /// # Errors
    ///
    /// The [`GiveUp`] if it gave up.
    pub async fn wait(&self) -> Result<(), GiveUp> {
        let mut ended = self.shared.ended.subscribe();
        match ended.wait_for(Option::is_some).await {
            Ok(ended) => ended.clone().unwrap_or(Ok(())),
            Err(_) => Ok(()), // the task is gone: it ended
        }
    }

    async fn ask(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<(), SuperviseError>>) -> Command,
    ) -> Result<(), SuperviseError> {
        let (reply, answer) = oneshot::channel();
        let ended = || SuperviseError::Ended(self.shared.name.clone());
        self.commands.send(command(reply)).map_err(|_| ended())?;
        answer.await.unwrap_or_else(|_| Err(ended()))
    }
}

impl std::fmt::Debug for SupervisorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}
