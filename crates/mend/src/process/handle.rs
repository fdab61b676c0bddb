//! [`ProcessHandle`]: reads and steers a running process supervisor:
//! services' status, start, stop, restart, signal, add, remove, shutdown.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::cgroup::Cgroup;
use super::group::ProcessGroup;
use super::ledger::ServiceRecord;
use super::output::{Output, Rotations};
use super::service::{Command, ServiceTask, Shared, initial_status};
use super::spec::ServiceSpec;
use super::status::{Backend, ServiceStatus};
use super::supervisor::Keeping;
use super::usage::ResourceUsage;
use crate::clock::Clock;
use crate::observe::Subscribers;

/// Why a request to a process supervisor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// No service has this name.
    #[error("no service named `{0}`")]
    UnknownService(String),
    /// A service with this name exists already.
    #[error("a service named `{0}` already exists")]
    DuplicateService(String),
    /// The service's task has ended (the supervisor shut down).
    #[error("service `{0}` is no longer supervised")]
    Ended(String),
    /// A service added at run time starts after one that does not exist
    /// (services it starts after must be added first).
    #[error("service `{service}` starts after `{after}`, which does not exist")]
    UnknownDependency {
        /// The service added.
        service: String,
        /// The name it gave in `after`.
        after: String,
    },
}

/// Why a service's reload command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// No such service.
    #[error(transparent)]
    Service(#[from] ProcessError),
    /// Its spec has no reload command.
    #[error("it has no reload command")]
    NoCommand,
    /// It is not running (nothing to reload).
    #[error("it is not running")]
    NotRunning,
    /// The command ended with another status than 0, or could not start.
    #[error("its reload command failed: {0}")]
    Failed(String),
    /// The command outlived its timeout and was killed, with what it
    /// started.
    #[error("its reload command was killed after its timeout of {0:?}")]
    TimedOut(Duration),
}

/// Reads and steers a running [`ProcessSupervisor`](super::ProcessSupervisor);
/// cheap to clone.
#[derive(Clone)]
pub struct ProcessHandle {
    inner: Arc<Inner>,
}

struct Entry {
    name: Arc<str>,
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    /// Taken by whoever ends the service.
    task: Mutex<Option<JoinHandle<()>>>,
    cgroup: Option<Cgroup>,
}

type SpawnService = dyn Fn(
        ServiceSpec,
        Option<ServiceRecord>,
        Option<Arc<ProcessGroup>>,
        Vec<(Arc<str>, Arc<Shared>)>,
        Option<Cgroup>,
        Arc<Shared>,
        mpsc::UnboundedReceiver<Command>,
    ) -> JoinHandle<()>
    + Send
    + Sync;

pub(crate) struct Inner {
    name: Arc<str>,
    backend: Backend,
    cgroup: Option<Cgroup>,
    services: Mutex<Vec<Arc<Entry>>>,
    rotations: Arc<Rotations>,
    rotator: Mutex<Option<JoinHandle<()>>>,
    spawn: Box<SpawnService>,
    halted: Arc<AtomicBool>,
    groups: Vec<Arc<ProcessGroup>>,
    keeping: Option<Keeping>,
}

impl Inner {
    pub(crate) fn new<C: Clock + Clone + Send + Sync + 'static>(
        name: Arc<str>,
        runtime_dir: Arc<std::path::Path>,
        groups: Vec<Arc<ProcessGroup>>,
        cgroup: Option<Cgroup>,
        clock: C,
        subscribers: Subscribers,
        keeping: Option<Keeping>,
    ) -> Inner {
        let rotations = Arc::new(Rotations::default());
        let supervisor = name.clone();
        let ledger = keeping.as_ref().map(|k| k.ledger.clone());
        let spawn = move |spec: ServiceSpec,
                          record: Option<ServiceRecord>,
                          group: Option<Arc<ProcessGroup>>,
                          deps: Vec<(Arc<str>, Arc<Shared>)>,
                          cgroup: Option<Cgroup>,
                          shared: Arc<Shared>,
                          commands: mpsc::UnboundedReceiver<Command>| {
            let task = ServiceTask {
                supervisor: supervisor.clone(),
                deps,
                spec,
                cgroup,
                clock: clock.clone(),
                subscribers: subscribers.clone(),
                shared,
                commands,
                recent: VecDeque::new(),
                group,
                runtime_dir: runtime_dir.clone(),
                ledger: ledger.clone(),
                remembered: Default::default(),
                record,
            };
            tokio::spawn(task.run())
        };
        Inner {
            name,
            backend: backend_of(cgroup.as_ref()),
            cgroup,
            services: Mutex::new(Vec::new()),
            rotations,
            rotator: Mutex::new(None),
            spawn: Box::new(spawn),
            halted: Arc::new(AtomicBool::new(false)),
            groups,
            keeping,
        }
    }

    /// Adds a service and starts its task.
    pub(crate) fn add(&self, spec: ServiceSpec) -> Result<(), ProcessError> {
        let mut services = self.services.lock();
        if services.iter().any(|e| e.name == spec.name) {
            return Err(ProcessError::DuplicateService(spec.name.to_string()));
        }
        let mut deps = Vec::with_capacity(spec.after.len());
        for name in &spec.after {
            let entry = services.iter().find(|e| e.name == *name).ok_or_else(|| {
                ProcessError::UnknownDependency {
                    service: spec.name.to_string(),
                    after: name.to_string(),
                }
            })?;
            deps.push((name.clone(), entry.shared.clone()));
        }
        let cgroup = match &self.cgroup {
            Some(parent) => match parent.child(&spec.name) {
                Ok(cgroup) => Some(cgroup),
                Err(_e) => {
                    #[cfg(feature = "tracing")]
                    tracing::error!(target: "mend::process", service = %spec.name, "cannot make its cgroup, it runs in a process group: {_e}");
                    None
                }
            },
            None => None,
        };
        let rotation = match &spec.output {
            Output::Files(files) => {
                let stats = self.rotations.watch(&spec.name, files);
                self.start_rotator();
                Some(stats)
            }
            _ => None,
        };
        let shared = Arc::new(Shared {
            status: Mutex::new(initial_status(&spec, backend_of(cgroup.as_ref()))),
            rotation,
            halted: self.halted.clone(),
            probes: Mutex::new(None),
            oneshot: spec.oneshot,
            notify: spec.notify.is_some(),
            gated: spec
                .probes
                .iter()
                .any(|p| p.kind() != crate::health::Kind::Liveness),
            notify_ready: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let name = spec.name.clone();
        let group = self.groups.iter().find(|g| g.has(&spec.name)).cloned();
        if let Some(group) = &group {
            group.register(&spec.name, tx.downgrade(), shared.clone());
        }
        let record = self
            .keeping
            .as_ref()
            .and_then(|k| k.records.lock().remove(&*spec.name));
        let task = (self.spawn)(
            spec,
            record,
            group,
            deps,
            cgroup.clone(),
            shared.clone(),
            rx,
        );
        services.push(Arc::new(Entry {
            name,
            commands: tx,
            shared,
            task: Mutex::new(Some(task)),
            cgroup,
        }));
        Ok(())
    }

    fn start_rotator(&self) {
        let mut rotator = self.rotator.lock();
        if rotator.is_some() {
            return;
        }
        let rotations = self.rotations.clone();
        *rotator = Some(tokio::spawn(async move {
            loop {
                let every = rotations.every().unwrap_or(Duration::from_secs(1));
                tokio::time::sleep(every).await;
                let rotations = rotations.clone();
                // Copying a big file blocks: off the runtime's threads.
                let _ = tokio::task::spawn_blocking(move || rotations.check()).await;
            }
        }));
    }
}

fn backend_of(cgroup: Option<&Cgroup>) -> Backend {
    cgroup.map_or(Backend::ProcessGroup, |c| {
        Backend::Cgroup(c.path().to_owned())
    })
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(rotator) = self.rotator.lock().take() {
            rotator.abort();
        }
    }
}

impl ProcessHandle {
    pub(crate) fn new(inner: Inner) -> Self {
        ProcessHandle {
            inner: Arc::new(inner),
        }
    }

    /// The supervisor's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The isolation in use: the supervisor's cgroup, or process groups.
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// Every service's status, in start order.
    pub fn services(&self) -> Vec<ServiceStatus> {
        self.inner
            .services
            .lock()
            .iter()
            .map(|e| e.shared.snapshot())
            .collect()
    }

    /// One service's status.
    pub fn status(&self, name: &str) -> Option<ServiceStatus> {
        self.inner
            .services
            .lock()
            .iter()
            .find(|e| &*e.name == name)
            .map(|e| e.shared.snapshot())
    }

    /// What a service's processes use now: CPU time and memory from its
    /// cgroup, or from `/proc` for the processes of its group (see
    /// [`ResourceUsage`] for what each counts). `None` for an unknown
    /// service, or one with neither a cgroup nor a running process.
    pub fn usage(&self, name: &str) -> Option<ResourceUsage> {
        let entry = self
            .inner
            .services
            .lock()
            .iter()
            .find(|e| &*e.name == name)
            .cloned()?;
        if let Some(cgroup) = &entry.cgroup {
            return ResourceUsage::of_cgroup(cgroup);
        }
        let pid = entry.shared.status.lock().pid?;
        Some(ResourceUsage::of_group(pid))
    }

    /// Adds a service and starts it (unless it is not `autostart`).
    ///
    /// # Errors
    ///
    /// [`ProcessError::DuplicateService`] if the name is taken.
    pub fn add(&self, spec: ServiceSpec) -> Result<(), ProcessError> {
        self.inner.add(spec)
    }

    /// Starts a service that is down (stopped, exited, given up: a start by
    /// hand starts its intensity count over). Returns once asked; see
    /// [`status`](Self::status) for the state.
    ///
    /// # Errors
    ///
    /// [`ProcessError`] for an unknown service or a supervisor shut down.
    pub async fn start(&self, name: &str) -> Result<(), ProcessError> {
        self.request(name, Command::Start).await
    }

    /// Stops a service (its stop signal, its grace, then SIGKILL to
    /// whatever is left) and keeps it down. Returns once everything of it
    /// has ended.
    ///
    /// # Errors
    ///
    /// [`ProcessError`] for an unknown service or a supervisor shut down.
    pub async fn stop(&self, name: &str) -> Result<(), ProcessError> {
        self.request(name, Command::Stop).await
    }

    /// Stops a service if it runs, then starts it again (not counted as a
    /// failure or against its intensity).
    ///
    /// # Errors
    ///
    /// [`ProcessError`] for an unknown service or a supervisor shut down.
    pub async fn restart(&self, name: &str) -> Result<(), ProcessError> {
        self.request(name, Command::Restart).await
    }

    /// Sends `signal` to every process of a service; whether it was
    /// running.
    ///
    /// # Errors
    ///
    /// [`ProcessError`] for an unknown service or a supervisor shut down.
    pub async fn signal(&self, name: &str, signal: Signal) -> Result<bool, ProcessError> {
        self.request(name, |ack| Command::Signal(signal, ack)).await
    }

    /// Runs a service's reload command (systemd's `ExecReload=`, set by
    /// [`ServiceSpecBuilder::reload`](super::ServiceSpecBuilder::reload))
    /// while the service keeps running and being watched; returns once the
    /// command has ended.
    ///
    /// # Errors
    ///
    /// [`ReloadError`]: an unknown service, one without a reload command
    /// or not running, or a command that failed or timed out.
    pub async fn reload(&self, name: &str) -> Result<(), ReloadError> {
        self.request(name, Command::Reload).await?
    }

    /// Stops a service and forgets it.
    ///
    /// # Errors
    ///
    /// [`ProcessError::UnknownService`] if there is no such service.
    pub async fn remove(&self, name: &str) -> Result<(), ProcessError> {
        let entry = {
            let mut services = self.inner.services.lock();
            let at = services
                .iter()
                .position(|e| &*e.name == name)
                .ok_or_else(|| ProcessError::UnknownService(name.to_owned()))?;
            services.remove(at)
        };
        self.inner.rotations.forget(name);
        end(&entry).await;
        Ok(())
    }

    /// Stops every service, in reverse start order, each with its grace,
    /// and waits until all have ended; then forgets them and removes the
    /// supervisor's cgroups.
    pub async fn shutdown(&self) {
        let entries: Vec<Arc<Entry>> = self.inner.services.lock().clone();
        for entry in entries.iter().rev() {
            end(entry).await;
        }
        self.inner.services.lock().clear();
        if let Some(keeping) = &self.inner.keeping {
            keeping.ledger.clear();
        }
        if let Some(cgroup) = &self.inner.cgroup {
            let _ = cgroup.remove();
        }
    }

    /// SIGKILL to every process of every service at once (`cgroup.kill`,
    /// or the process group), without waiting for graces, and nothing
    /// starts again under this supervisor, not even by hand: the emergency
    /// stop a second Ctrl-C asks for. A [`shutdown`](Self::shutdown) under
    /// way then finishes at once.
    pub fn kill_all(&self) {
        self.inner.halted.store(true, Ordering::SeqCst);
        for entry in self.inner.services.lock().iter() {
            if let Some(cgroup) = &entry.cgroup
                && cgroup.kill().is_ok()
            {
                continue;
            }
            if let Some(pid) = entry.shared.status.lock().pid.and_then(Pid::from_raw) {
                let _ = kill_process_group(pid, Signal::KILL);
            }
        }
    }

    async fn request<T>(
        &self,
        name: &str,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ProcessError> {
        let commands = self
            .inner
            .services
            .lock()
            .iter()
            .find(|e| &*e.name == name)
            .map(|e| e.commands.clone())
            .ok_or_else(|| ProcessError::UnknownService(name.to_owned()))?;
        let (ack, answer) = oneshot::channel();
        commands
            .send(make(ack))
            .map_err(|_| ProcessError::Ended(name.to_owned()))?;
        answer
            .await
            .map_err(|_| ProcessError::Ended(name.to_owned()))
    }
}

/// Stops a service's task and waits for it, then removes its cgroup.
async fn end(entry: &Entry) {
    let (ack, answer) = oneshot::channel();
    if entry.commands.send(Command::Shutdown(ack)).is_ok() {
        let _ = answer.await;
    }
    let task = entry.task.lock().take();
    if let Some(task) = task {
        let _ = task.await;
    }
    if let Some(cgroup) = &entry.cgroup {
        let _ = cgroup.remove();
    }
}

impl fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessHandle")
            .field("name", &self.inner.name)
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}
