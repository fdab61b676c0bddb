//! `mend reload-config` and SIGHUP: the config file read again and applied
//! to the running supervisor. A service whose table did not change keeps
//! running untouched (same process); a changed one is stopped and started
//! with its new settings, and so are the services that start after it
//! (they wait on the one they knew); a new one starts; a removed one
//! stops. A config that does not check is refused whole, and the running
//! one stays. Changes outside the services (`[mend]`, `[api]`, `[groups]`)
//! and changes to a group's members need mend restarted: refused, saying
//! so. A change inside an `environment_file` is not seen (the table names
//! the file, and did not change).

use std::path::PathBuf;

use mend::process::ProcessHandle;
use tokio::sync::Mutex;

use crate::config::Config;

/// Reads the config again and applies it; one reload at a time.
pub(crate) struct Reloader {
    file: PathBuf,
    state_dir: Option<PathBuf>,
    current: Mutex<Config>,
    handle: ProcessHandle,
}

/// What a reload did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub(crate) unchanged: Vec<String>,
    pub(crate) restarted: Vec<String>,
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        write!(
            f,
            "unchanged: {}; restarted: {}; added: {}; removed: {}",
            list(&self.unchanged),
            list(&self.restarted),
            list(&self.added),
            list(&self.removed)
        )
    }
}

impl Reloader {
    pub(crate) fn new(
        file: PathBuf,
        state_dir: Option<PathBuf>,
        current: Config,
        handle: ProcessHandle,
    ) -> Self {
        Reloader {
            file,
            state_dir,
            current: Mutex::new(current),
            handle,
        }
    }

    /// Reads the file again and applies what changed.
    ///
    /// # Errors
    ///
    /// The config's own error, or what a reload cannot change; then
    /// nothing was changed.
    pub(crate) async fn reload(&self) -> Result<Applied, String> {
        let mut current = self.current.lock().await;
        let new = Config::load(&self.file, self.state_dir.as_deref()).map_err(|e| e.to_string())?;
        if new.settings != current.settings {
            return Err(format!(
                "{}: `[mend]`, `[api]` or `[groups]` changed: that needs mend restarted \
                 (nothing was changed)",
                self.file.display()
            ));
        }
        let changed = |name: &str| current.tables.get(name) != new.tables.get(name);
        for group in &new.groups {
            if let Some(member) = group.services.iter().find(|m| changed(m)) {
                return Err(format!(
                    "{}: `{member}` is in group `{}`: changing a group's members needs mend \
                     restarted (nothing was changed)",
                    self.file.display(),
                    group.name
                ));
            }
        }
        let mut applied = Applied::default();
        // Restarted: changed, or starting after one restarted or added
        // (its wait is on the service it knew). Specs are in start order.
        let mut restart: Vec<&str> = Vec::new();
        for spec in &new.services {
            let name = spec.name();
            let known = current.tables.contains_key(name);
            let follows = spec
                .after()
                .iter()
                .any(|a| restart.contains(&&**a) || !current.tables.contains_key(&**a));
            if known && (changed(name) || follows) {
                restart.push(name);
            }
        }
        for spec in current.services.iter().rev() {
            let name = spec.name();
            if !new.tables.contains_key(name) {
                let _ = self.handle.remove(name).await;
                applied.removed.push(name.to_owned());
            } else if restart.contains(&name) {
                let _ = self.handle.remove(name).await;
            }
        }
        applied.removed.reverse();
        let mut pending = Vec::new();
        for spec in &new.services {
            let name = spec.name();
            if !current.tables.contains_key(name) {
                applied.added.push(name.to_owned());
                pending.push(spec.clone());
            } else if restart.contains(&name) {
                applied.restarted.push(name.to_owned());
                pending.push(spec.clone());
            } else {
                applied.unchanged.push(name.to_owned());
            }
        }
        // Each once the services it starts after are there (the file's
        // order need not be the start order; the config has no cycles).
        while !pending.is_empty() {
            let ready = pending
                .iter()
                .position(|spec| spec.after().iter().all(|a| self.handle.status(a).is_some()))
                .ok_or_else(|| format!("{}: services wait on each other", self.file.display()))?;
            let spec = pending.remove(ready);
            self.handle
                .add(spec)
                .map_err(|e| format!("{}: {e}", self.file.display()))?;
        }
        *current = new;
        Ok(applied)
    }
}
