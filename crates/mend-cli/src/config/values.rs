//! The value types of the config file that need more than serde's
//! defaults: durations written the human way (`"10s"`, `"1m 30s"`),
//! signals by name, and the enumerations in systemd's words.

use std::fmt;
use std::time::Duration;

use mend::process::{Isolation, Signal};
use mend::supervise::Restart;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A duration written as `"10s"`, `"250ms"`, `"1m 30s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HumanDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"10s\", \"250ms\" or \"1m 30s\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<HumanDuration, E> {
                humantime::parse_duration(text).map(HumanDuration).map_err(|e| {
                    E::custom(format!(
                        "invalid duration {text:?} ({e}): expected a duration such as \"10s\", \"250ms\" or \"1m 30s\""
                    ))
                })
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A signal by name (`"SIGTERM"`, `"TERM"`) or number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignalName(pub(crate) Signal);

const SIGNALS: [(&str, Signal); 12] = [
    ("HUP", Signal::HUP),
    ("INT", Signal::INT),
    ("QUIT", Signal::QUIT),
    ("KILL", Signal::KILL),
    ("USR1", Signal::USR1),
    ("USR2", Signal::USR2),
    ("TERM", Signal::TERM),
    ("ALRM", Signal::ALARM),
    ("CONT", Signal::CONT),
    ("STOP", Signal::STOP),
    ("WINCH", Signal::WINCH),
    ("PWR", Signal::POWER),
];

impl<'de> Deserialize<'de> for SignalName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bare = text.trim_start_matches("SIG");
        SIGNALS
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(_, signal)| SignalName(*signal))
            .or_else(|| {
                text.parse::<i32>()
                    .ok()
                    .and_then(Signal::from_named_raw)
                    .map(SignalName)
            })
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown signal {text:?}: expected a name such as \"SIGTERM\", \"SIGINT\", \"SIGHUP\", \"SIGUSR1\", or a number"
                ))
            })
    }
}

/// `restart =`: systemd's words for the supervision kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RestartWhen {
    /// Permanent.
    Always,
    /// Transient.
    OnFailure,
    /// Temporary.
    Never,
}

impl From<RestartWhen> for Restart {
    fn from(when: RestartWhen) -> Restart {
        match when {
            RestartWhen::Always => Restart::Permanent,
            RestartWhen::OnFailure => Restart::Transient,
            RestartWhen::Never => Restart::Temporary,
        }
    }
}

/// `type =`: a long-running service, or one that runs to completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ServiceType {
    /// Runs until stopped (restarted by `restart`, default `always`).
    #[default]
    Simple,
    /// Runs to completion; success is an exit code in
    /// `success_exit_codes` (restart default `never`).
    Oneshot,
    /// Runs until stopped, and reports readiness itself with `READY=1`
    /// on `NOTIFY_SOCKET` (systemd's `Type=notify`).
    Notify,
}

/// `isolation =` in `[mend]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum IsolationChoice {
    /// A cgroup per service where possible, else a process group.
    #[default]
    Auto,
    /// A process group per service.
    ProcessGroup,
}

impl From<IsolationChoice> for Isolation {
    fn from(choice: IsolationChoice) -> Isolation {
        match choice {
            IsolationChoice::Auto => Isolation::Auto,
            IsolationChoice::ProcessGroup => Isolation::ProcessGroup,
        }
    }
}

/// `strategy =` of a group: OTP's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GroupStrategy {
    /// One member fails: the whole group restarts.
    OneForAll,
    /// One member fails: it and the members after it restart.
    RestForOne,
}

impl From<GroupStrategy> for mend::supervise::Strategy {
    fn from(strategy: GroupStrategy) -> Self {
        match strategy {
            GroupStrategy::OneForAll => mend::supervise::Strategy::OneForAll,
            GroupStrategy::RestForOne => mend::supervise::Strategy::RestForOne,
        }
    }
}
