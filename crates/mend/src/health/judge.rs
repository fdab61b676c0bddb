//! A probe's health from its results, by Kubernetes' thresholds: plain,
//! no clock, no I/O, so every rule is tested on its own.

use std::fmt;

/// How a probe judges its component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// A startup probe that has not passed yet (nor used up its budget).
    Starting,
    /// Healthy: a liveness probe until `failure_threshold` failures in a
    /// row, a readiness probe once `success_threshold` passes in a row, a
    /// startup probe once it passed.
    Healthy,
    /// Unhealthy: failed `failure_threshold` times in a row (a readiness
    /// probe is also unhealthy until it first passes; a startup probe that
    /// used up its budget has failed to start).
    Unhealthy,
}

impl Health {
    /// `"starting"`, `"healthy"` or `"unhealthy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The health a probe of `kind` starts in, as Kubernetes has it: alive
/// until shown otherwise, not ready until shown ready, starting.
fn initial(kind: super::Kind) -> Health {
    match kind {
        super::Kind::Liveness => Health::Healthy,
        super::Kind::Readiness => Health::Unhealthy,
        super::Kind::Startup => Health::Starting,
    }
}

/// Judges one probe's results.
#[derive(Debug, Clone)]
pub(crate) struct Judge {
    kind: super::Kind,
    failure_threshold: u32,
    success_threshold: u32,
    health: Health,
    passes: u32,
    failures: u32,
}

impl Judge {
    pub(crate) fn new(kind: super::Kind, failure_threshold: u32, success_threshold: u32) -> Self {
        Judge {
            kind,
            failure_threshold,
            success_threshold,
            health: initial(kind),
            passes: 0,
            failures: 0,
        }
    }

    pub(crate) fn health(&self) -> Health {
        self.health
    }

    /// Failures in a row so far.
    #[cfg(test)]
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Takes one result; returns `(from, to)` if the health changed.
    pub(crate) fn judge(&mut self, passed: bool) -> Option<(Health, Health)> {
        if passed {
            self.passes = self.passes.saturating_add(1);
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.passes = 0;
        }
        let from = self.health;
        let to = match (self.kind, from) {
            (super::Kind::Startup, Health::Starting) if passed => Health::Healthy,
            (super::Kind::Startup, Health::Starting) if self.failures >= self.failure_threshold => {
                Health::Unhealthy
            }
            (super::Kind::Startup, _) => from,
            (_, Health::Healthy) if self.failures >= self.failure_threshold => Health::Unhealthy,
            (_, Health::Unhealthy) if self.passes >= self.success_threshold => Health::Healthy,
            _ => from,
        };
        self.health = to;
        (from != to).then_some((from, to))
    }

    /// Back to how a new probe starts (after a recovery).
    pub(crate) fn reset(&mut self) -> Option<(Health, Health)> {
        let from = self.health;
        *self = Judge::new(self.kind, self.failure_threshold, self.success_threshold);
        (from != self.health).then_some((from, self.health))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Kind;
    use super::*;

    #[test]
    fn health_reads_as_one_word() {
        let words: Vec<String> = [Health::Starting, Health::Healthy, Health::Unhealthy]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(words, ["starting", "healthy", "unhealthy"]);
    }

    fn run(judge: &mut Judge, results: &[bool]) -> Vec<(Health, Health)> {
        results.iter().filter_map(|&r| judge.judge(r)).collect()
    }

    #[test]
    fn liveness_is_alive_until_failure_threshold_failures_in_a_row() {
        let mut j = Judge::new(Kind::Liveness, 3, 1);
        assert_eq!(j.health(), Health::Healthy);
        assert!(run(&mut j, &[false, false, true, false, false]).is_empty());
        assert_eq!(
            run(&mut j, &[false]),
            [(Health::Healthy, Health::Unhealthy)]
        );
        assert_eq!(run(&mut j, &[true]), [(Health::Unhealthy, Health::Healthy)]);
    }

    #[test]
    fn readiness_is_not_ready_until_success_threshold_passes_in_a_row() {
        let mut j = Judge::new(Kind::Readiness, 2, 3);
        assert_eq!(j.health(), Health::Unhealthy);
        assert!(run(&mut j, &[true, true, false, true, true]).is_empty());
        assert_eq!(run(&mut j, &[true]), [(Health::Unhealthy, Health::Healthy)]);
        assert!(run(&mut j, &[false]).is_empty());
        assert_eq!(
            run(&mut j, &[false]),
            [(Health::Healthy, Health::Unhealthy)]
        );
    }

    #[test]
    fn startup_passes_once_or_fails_after_its_budget() {
        let mut j = Judge::new(Kind::Startup, 3, 1);
        assert_eq!(j.health(), Health::Starting);
        assert_eq!(
            run(&mut j, &[false, false, true]),
            [(Health::Starting, Health::Healthy)]
        );
        assert!(
            run(&mut j, &[false, false, false]).is_empty(),
            "done judging"
        );
        let mut failed = Judge::new(Kind::Startup, 3, 1);
        assert_eq!(
            run(&mut failed, &[false, false, false, true]),
            [(Health::Starting, Health::Unhealthy)],
            "a late pass does not undo a failed start"
        );
        assert_eq!(failed.reset(), Some((Health::Unhealthy, Health::Starting)));
        assert_eq!(failed.failures(), 0);
    }
}
