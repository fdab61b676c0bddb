//! [`ExitReason`]: how a service's process ended, exactly, as its parent
//! learns it from `waitid` (own children only: a process adopted from a
//! supervisor that died is not ours to reap, and its status is lost).

use std::fmt;

use rustix::process::{Signal, WaitIdStatus};

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal {
        /// The signal's number.
        signal: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
    /// It could not be started: the spawn's error.
    SpawnFailed(String),
    /// It was adopted from a supervisor that died (or ended while no
    /// supervisor ran): not this supervisor's child, so its status is
    /// reaped by its new parent and never known here. Counted as a
    /// failure.
    Unsupervised,
}

impl ExitReason {
    /// Reads a `waitid` status of a process that exited.
    pub(crate) fn from_status(status: &WaitIdStatus) -> ExitReason {
        match (status.exit_status(), status.terminating_signal()) {
            (Some(code), _) if status.exited() => ExitReason::Code(code),
            (_, Some(signal)) => ExitReason::Signal {
                signal,
                core_dumped: status.dumped(),
            },
            (Some(code), None) => ExitReason::Code(code),
            (None, None) => ExitReason::SpawnFailed("no exit status".to_owned()),
        }
    }

    /// Whether it exited with one of `codes`.
    pub fn is_code_in(&self, codes: &[i32]) -> bool {
        matches!(self, ExitReason::Code(code) if codes.contains(code))
    }

    /// A short label for metrics: `"code"`, `"signal"`, `"core"`,
    /// `"spawn_failed"` or `"unknown"`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExitReason::Code(_) => "code",
            ExitReason::Signal {
                core_dumped: false, ..
            } => "signal",
            ExitReason::Signal {
                core_dumped: true, ..
            } => "core",
            ExitReason::SpawnFailed(_) => "spawn_failed",
            ExitReason::Unsupervised => "unknown",
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Code(code) => write!(f, "exited with code {code}"),
            ExitReason::Signal {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by signal {signal}")?;
                if let Some(name) = signal_name(*signal) {
                    write!(f, " ({name})")?;
                }
                if *core_dumped {
                    f.write_str(", core dumped")?;
                }
                Ok(())
            }
            ExitReason::SpawnFailed(why) => write!(f, "could not start: {why}"),
            ExitReason::Unsupervised => {
                f.write_str("exited while unsupervised (adopted: status unknown)")
            }
        }
    }
}

/// `SIGTERM` for 15, and so on, for the signals a supervisor meets.
pub(crate) fn signal_name(signal: i32) -> Option<&'static str> {
    const NAMES: [(Signal, &str); 15] = [
        (Signal::HUP, "SIGHUP"),
        (Signal::INT, "SIGINT"),
        (Signal::QUIT, "SIGQUIT"),
        (Signal::ILL, "SIGILL"),
        (Signal::ABORT, "SIGABRT"),
        (Signal::BUS, "SIGBUS"),
        (Signal::FPE, "SIGFPE"),
        (Signal::KILL, "SIGKILL"),
        (Signal::USR1, "SIGUSR1"),
        (Signal::SEGV, "SIGSEGV"),
        (Signal::USR2, "SIGUSR2"),
        (Signal::PIPE, "SIGPIPE"),
        (Signal::ALARM, "SIGALRM"),
        (Signal::TERM, "SIGTERM"),
        (Signal::XFSZ, "SIGXFSZ"),
    ];
    NAMES
        .iter()
        .find(|(known, _)| known.as_raw() == signal)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_a_person_would_say_them() {
        assert_eq!(ExitReason::Code(3).to_string(), "exited with code 3");
        let segv = ExitReason::Signal {
            signal: 11,
            core_dumped: true,
        };
        assert_eq!(
            segv.to_string(),
            "killed by signal 11 (SIGSEGV), core dumped"
        );
        assert_eq!(segv.kind(), "core");
        assert!(ExitReason::Code(0).is_code_in(&[0, 2]));
        assert!(!ExitReason::Code(1).is_code_in(&[0, 2]));
        assert!(!segv.is_code_in(&[0]));
    }
}
