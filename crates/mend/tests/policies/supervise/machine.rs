//! The restart state machine against a reference model: random plans,
//! random children, random sequences of ends, starts of what is due, time
//! moving, children added and removed; every decision and every phase must
//! agree. The model is written plainly: the whole history of restarts,
//! scanned every time; the backoff by its formula (no jitter).

use std::sync::Arc;
use std::time::Duration;

use mend::clock::Tick;
use mend::retry::{Backoff, Jitter};
use mend::supervise::{
    Decision, Exit, Phase, Restart, RestartMachine, RestartPlan, Strategy as Kind,
};
use proptest::prelude::*;

const MS: u64 = 1_000_000;

#[derive(Debug, Clone)]
struct Plan {
    strategy: Kind,
    intensity: Option<(u32, u64)>,
    per_child: bool,
    base_ms: u64,
    cap_ms: u64,
    reset_ms: u64,
}

impl Plan {
    fn backoff(&self) -> Backoff {
        Backoff::exponential(Duration::from_millis(self.base_ms), 2.0)
            .with_cap(Duration::from_millis(self.cap_ms))
    }

    fn build(&self) -> RestartPlan {
        let mut b = RestartPlan::builder().strategy(self.strategy).backoff(
            self.backoff(),
            Jitter::None,
            Duration::from_millis(self.reset_ms),
        );
        b = match self.intensity {
            Some((max, period_ms)) => b.intensity(max, Duration::from_millis(period_ms)),
            None => b.unlimited_restarts(),
        };
        if self.per_child {
            b = b.intensity_per_child();
        }
        b.build().unwrap()
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Child `index` (modulo the children) ends with `exit`.
    Exit {
        index: usize,
        exit: Exit,
    },
    /// Starts every child due now, in start order (what a runtime does).
    StartDue,
    Advance {
        ms: u64,
    },
    Add {
        restart: Restart,
    },
    Remove {
        index: usize,
    },
}

/// The model's child.
#[derive(Debug, Clone)]
struct Child {
    name: Arc<str>,
    restart: Restart,
    phase: Phase,
    in_a_row: u32,
    last_needed: Option<u64>,
}

/// The model: the same rules, said plainly.
struct Model {
    plan: Plan,
    children: Vec<Child>,
    /// Every restart ever: (when it happens, whose).
    history: Vec<(u64, Arc<str>)>,
    gave_up: bool,
}

impl Model {
    fn index(&self, name: &str) -> Option<usize> {
        self.children.iter().position(|c| &*c.name == name)
    }

    fn started(&mut self, name: &str, now: u64) {
        if let Some(i) = self.index(name) {
            let c = &mut self.children[i];
            c.phase = Phase::Running;
            if c.last_needed.is_some() {
                c.last_needed = Some(now);
            }
        }
    }

    fn due(&self, now: u64) -> Vec<Arc<str>> {
        self.children
            .iter()
            .filter(|c| matches!(c.phase, Phase::Restarting(at) if at.as_nanos() <= now))
            .map(|c| c.name.clone())
            .collect()
    }

    fn exited(&mut self, name: &str, exit: Exit, now: u64) -> Seen {
        let Some(i) = self.index(name) else {
            return Seen::Leave;
        };
        if self.gave_up || self.children[i].phase != Phase::Running {
            return Seen::Leave;
        }
        self.children[i].phase = Phase::Stopped;
        let kind = self.children[i].restart;
        let wanted = match (kind, exit) {
            (Restart::Temporary, _) => false,
            (_, Exit::Stopped) => false,
            (Restart::Permanent, _) => true,
            (Restart::Transient, Exit::Failed) => true,
            (Restart::Transient, Exit::Normal) => false,
        };
        if !wanted {
            if kind == Restart::Temporary {
                self.children.remove(i);
            }
            return Seen::Leave;
        }
        // The backoff, by its formula.
        let c = &mut self.children[i];
        if c.last_needed
            .is_some_and(|last| now - last >= self.plan.reset_ms * MS)
        {
            c.in_a_row = 0;
        }
        c.last_needed = Some(now);
        let n = c.in_a_row;
        c.in_a_row += 1;
        let delay = if n == 0 {
            Duration::ZERO
        } else {
            self.plan.backoff().delay(n - 1)
        };
        let at = now + delay.as_nanos() as u64;
        let cause = c.name.clone();
        let attempt = c.in_a_row;
        if let Some((max, period_ms)) = self.plan.intensity {
            let period = period_ms * MS;
            let counted = self
                .history
                .iter()
                .filter(|(_, who)| !self.plan.per_child || *who == cause)
                .filter(|(t, _)| *t <= at && *t + period > at)
                .count() as u32
                + 1;
            if counted > max {
                self.gave_up = true;
                for c in &mut self.children {
                    c.phase = Phase::Stopped;
                }
                return Seen::GiveUp {
                    child: cause,
                    restarts: counted,
                    max,
                    period: Duration::from_millis(period_ms),
                };
            }
        }
        self.history.push((at, cause.clone()));
        let group: Vec<usize> = match self.plan.strategy {
            Kind::OneForOne => vec![i],
            Kind::OneForAll => (0..self.children.len()).collect(),
            Kind::RestForOne => (i..self.children.len()).collect(),
        };
        let mut stop = Vec::new();
        for &g in group.iter().rev() {
            if self.children[g].phase == Phase::Running {
                stop.push(self.children[g].name.clone());
            }
        }
        let mut start = Vec::new();
        for &g in &group {
            let c = &mut self.children[g];
            if c.restart == Restart::Temporary {
                c.phase = Phase::Stopped;
            } else {
                c.phase = Phase::Restarting(Tick::from_nanos(at));
                start.push(c.name.clone());
            }
        }
        self.children
            .retain(|c| !(c.restart == Restart::Temporary && c.phase == Phase::Stopped));
        Seen::Restart {
            cause,
            stop,
            start,
            at,
            delay,
            attempt,
        }
    }
}

/// A decision, field by field (the machine's types are non-exhaustive).
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Leave,
    Restart {
        cause: Arc<str>,
        stop: Vec<Arc<str>>,
        start: Vec<Arc<str>>,
        at: u64,
        delay: Duration,
        attempt: u32,
    },
    GiveUp {
        child: Arc<str>,
        restarts: u32,
        max: u32,
        period: Duration,
    },
}

fn seen(decision: Decision) -> Seen {
    match decision {
        Decision::Leave => Seen::Leave,
        Decision::Restart(o) => Seen::Restart {
            cause: o.cause,
            stop: o.stop,
            start: o.start,
            at: o.at.as_nanos(),
            delay: o.delay,
            attempt: o.attempt,
        },
        Decision::GiveUp(g) => Seen::GiveUp {
            child: g.child,
            restarts: g.restarts,
            max: g.max,
            period: g.period,
        },
        _ => unreachable!("no other decision"),
    }
}

fn restart_kind() -> impl Strategy<Value = Restart> {
    prop_oneof![
        3 => Just(Restart::Permanent),
        2 => Just(Restart::Transient),
        1 => Just(Restart::Temporary),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        prop_oneof![
            Just(Kind::OneForOne),
            Just(Kind::OneForAll),
            Just(Kind::RestForOne)
        ],
        prop::option::weighted(0.8, (0..5u32, 1..20_000u64)),
        any::<bool>(),
        1..3_000u64,
        3_000..20_000u64,
        1..30_000u64,
    )
        .prop_map(
            |(strategy, intensity, per_child, base_ms, cap_ms, reset_ms)| Plan {
                strategy,
                intensity,
                per_child,
                base_ms,
                cap_ms,
                reset_ms,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<usize>(), prop_oneof![Just(Exit::Failed), Just(Exit::Normal), Just(Exit::Stopped)])
            .prop_map(|(index, exit)| Op::Exit { index, exit }),
        4 => Just(Op::StartDue),
        5 => (0..15_000u64).prop_map(|ms| Op::Advance { ms }),
        1 => restart_kind().prop_map(|restart| Op::Add { restart }),
        1 => any::<usize>().prop_map(|index| Op::Remove { index }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_machine_decides_as_the_model_does(
        plan in plan(),
        kinds in prop::collection::vec(restart_kind(), 1..5),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let mut machine = RestartMachine::new(plan.build());
        let mut model = Model { plan: plan.clone(), children: Vec::new(), history: Vec::new(), gave_up: false };
        let mut now = 0u64;
        let mut names = 0;
        let mut add = |machine: &mut RestartMachine, model: &mut Model, restart: Restart, now: u64| {
            names += 1;
            let name: Arc<str> = format!("c{names}").into();
            machine.add(name.clone(), restart).unwrap();
            machine.started(&name, Tick::from_nanos(now));
            model.children.push(Child { name, restart, phase: Phase::Running, in_a_row: 0, last_needed: None });
        };
        for restart in kinds {
            add(&mut machine, &mut model, restart, now);
        }
        for op in ops {
            match op {
                Op::Exit { index, exit } => {
                    if model.children.is_empty() { continue; }
                    let name = model.children[index % model.children.len()].name.clone();
                    let got = seen(machine.exited(&name, exit, Tick::from_nanos(now)));
                    let want = model.exited(&name, exit, now);
                    prop_assert_eq!(got, want, "{} ended {:?} at {} ms", name, exit, now / MS);
                }
                Op::StartDue => {
                    let due = machine.due(Tick::from_nanos(now));
                    prop_assert_eq!(&due, &model.due(now));
                    for name in due {
                        machine.started(&name, Tick::from_nanos(now));
                        model.started(&name, now);
                    }
                }
                Op::Advance { ms } => now += ms * MS,
                Op::Add { restart } => {
                    if !model.gave_up {
                        add(&mut machine, &mut model, restart, now);
                    }
                }
                Op::Remove { index } => {
                    if model.children.is_empty() { continue; }
                    let name = model.children.remove(index % model.children.len()).name;
                    prop_assert!(machine.remove(&name));
                }
            }
            let phases: Vec<(Arc<str>, Phase)> = machine.children().map(|(n, _, p)| (n.clone(), p)).collect();
            let want: Vec<(Arc<str>, Phase)> = model.children.iter().map(|c| (c.name.clone(), c.phase)).collect();
            prop_assert_eq!(phases, want);
            prop_assert_eq!(machine.has_given_up(), model.gave_up);
            let next = model.children.iter().filter_map(|c| match c.phase {
                Phase::Restarting(at) => Some(at),
                _ => None,
            }).min();
            prop_assert_eq!(machine.next_due(), next);
        }
    }
}

#[test]
fn a_duplicate_name_is_refused_and_an_unknown_end_is_ignored() {
    let mut machine = RestartMachine::new(RestartPlan::builder().build().unwrap());
    machine.add("a", Restart::Permanent).unwrap();
    assert!(machine.add("a", Restart::Transient).is_err());
    assert_eq!(
        machine.exited("nobody", Exit::Failed, Tick::ZERO),
        Decision::Leave
    );
    assert_eq!(
        machine.exited("a", Exit::Failed, Tick::ZERO),
        Decision::Leave,
        "not running yet: nothing to decide"
    );
}

#[test]
fn plans_are_checked_at_their_limits() {
    let secs = Duration::from_secs;
    let ok = |b: mend::supervise::RestartPlanBuilder| b.build().is_ok();
    assert!(ok(RestartPlan::builder().intensity(0, secs(1))));
    assert!(ok(RestartPlan::builder().intensity(1, secs(1))));
    assert!(ok(
        RestartPlan::builder().intensity(RestartPlan::MAX_RESTARTS, RestartPlan::MAX_PERIOD)
    ));
    let err = RestartPlan::builder()
        .intensity(RestartPlan::MAX_RESTARTS + 1, secs(1))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "intensity");
    let err = RestartPlan::builder()
        .intensity(1, Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(err.field, "intensity");
    let err = RestartPlan::builder()
        .intensity(1, RestartPlan::MAX_PERIOD + Duration::from_nanos(1))
        .build()
        .unwrap_err();
    assert_eq!(err.field, "intensity");
    for bad in [f64::NAN, f64::INFINITY, 0.5] {
        let err = RestartPlan::builder()
            .backoff(Backoff::exponential(secs(1), bad), Jitter::None, secs(60))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "backoff.multiplier", "{bad}");
    }
    let err = RestartPlan::builder()
        .backoff(
            Backoff::constant(secs(1)),
            Jitter::Factor(f64::NAN),
            secs(60),
        )
        .build()
        .unwrap_err();
    assert_eq!(err.field, "backoff.jitter");
    let err = RestartPlan::builder()
        .backoff(Backoff::constant(secs(1)), Jitter::None, Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(err.field, "backoff.reset_after");
    let err = mend::supervise::Supervisor::builder("app")
        .restarts(RestartPlan::builder().intensity(1, Duration::ZERO))
        .build()
        .unwrap_err();
    assert_eq!(err.component, "supervisor `app`", "the supervisor is named");
}

#[test]
fn a_restart_exactly_one_period_ago_no_longer_counts() {
    let plan = RestartPlan::builder()
        .intensity(1, Duration::from_secs(10))
        .build()
        .unwrap();
    let mut machine = RestartMachine::new(plan);
    let at = |s: u64| Tick::from_nanos(s * 1_000_000_000);
    machine.add("a", Restart::Permanent).unwrap();
    machine.started("a", at(0));
    assert!(matches!(
        machine.exited("a", Exit::Failed, at(0)),
        Decision::Restart(_)
    ));
    machine.started("a", at(0));
    // The window is (now - 10 s, now]: the restart at 0 s is out at 10 s.
    assert!(matches!(
        machine.exited("a", Exit::Failed, at(10)),
        Decision::Restart(_)
    ));
    machine.started("a", at(10));
    assert!(
        matches!(
            machine.exited("a", Exit::Failed, at(19)),
            Decision::GiveUp(_)
        ),
        "the restart at 10 s is in (9 s, 19 s]"
    );
}

#[test]
fn kinds_strategies_phases_and_plans_read_back() {
    let words: Vec<String> = [Restart::Permanent, Restart::Transient, Restart::Temporary]
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(words, ["permanent", "transient", "temporary"]);
    let strategies: Vec<&str> = [Kind::OneForOne, Kind::OneForAll, Kind::RestForOne]
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(strategies, ["one_for_one", "one_for_all", "rest_for_one"]);
    assert_eq!(Phase::Running.to_string(), "running");
    assert_eq!(Phase::Stopped.to_string(), "stopped");
    assert!(
        Phase::Restarting(Tick::ZERO)
            .to_string()
            .starts_with("restarting at ")
    );
    let plan = RestartPlan::builder()
        .strategy(Kind::RestForOne)
        .intensity(7, Duration::from_secs(3))
        .intensity_per_child()
        .build()
        .unwrap();
    assert_eq!(plan.strategy(), Kind::RestForOne);
    assert_eq!(plan.intensity(), Some((7, Duration::from_secs(3))));
    assert_eq!(plan.scope(), mend::supervise::IntensityScope::Child);
    let otp = RestartPlan::builder().build().unwrap();
    assert_eq!(
        otp.intensity(),
        Some((1, Duration::from_secs(5))),
        "OTP's default"
    );
    assert_eq!(otp.scope(), mend::supervise::IntensityScope::Supervisor);
    assert_eq!(
        RestartPlan::builder()
            .crash_loop_backoff()
            .build()
            .unwrap()
            .intensity(),
        None
    );
    assert_eq!(
        RestartPlan::MAX_PERIOD,
        Duration::from_secs(7 * 24 * 3600),
        "a week"
    );
}

#[test]
fn a_restart_counts_when_it_happens_after_its_backoff() {
    // A failure at 5 s with a 5 s backoff restarts at 10 s: exactly one
    // period after the restart at 0 s, which is then out of (0 s, 10 s].
    let plan = RestartPlan::builder()
        .intensity(1, Duration::from_secs(10))
        .backoff(
            Backoff::constant(Duration::from_secs(5)),
            Jitter::None,
            Duration::from_secs(600),
        )
        .build()
        .unwrap();
    let mut machine = RestartMachine::new(plan);
    let at = |s: u64| Tick::from_nanos(s * 1_000_000_000);
    machine.add("a", Restart::Permanent).unwrap();
    machine.started("a", at(0));
    assert!(matches!(
        machine.exited("a", Exit::Failed, at(0)),
        Decision::Restart(_)
    ));
    machine.started("a", at(0));
    let Decision::Restart(order) = machine.exited("a", Exit::Failed, at(5)) else {
        panic!("the restart at 0 s is out of (0 s, 10 s]");
    };
    assert_eq!(order.at, at(10));
}

#[test]
fn a_machine_given_another_ones_memory_goes_on_where_that_one_was() {
    let secs = |s: u64| Tick::from_nanos(s * 1_000 * MS);
    let plan = || {
        RestartPlan::builder()
            .intensity(3, Duration::from_secs(60))
            .backoff(
                Backoff::exponential(Duration::from_secs(1), 2.0),
                Jitter::None,
                Duration::from_secs(600),
            )
            .build()
            .unwrap()
    };
    let machine = || {
        let mut m = RestartMachine::new(plan());
        m.add("svc", Restart::Permanent).unwrap();
        m
    };
    let delay_of = |decision: Decision| match decision {
        Decision::Restart(order) => Some(order.delay),
        _ => None,
    };
    let mut first = machine();
    first.started("svc", secs(0));
    assert_eq!(
        delay_of(first.exited("svc", Exit::Failed, secs(1))),
        Some(Duration::ZERO)
    );
    first.started("svc", secs(1));
    assert_eq!(
        delay_of(first.exited("svc", Exit::Failed, secs(2))),
        Some(Duration::from_secs(1))
    );
    first.started("svc", secs(3));
    let memory = first.memory("svc").unwrap();

    // A second machine (a supervisor started again) with that memory: the
    // backoff doubles on, and the third restart within the minute is the
    // last the intensity allows.
    let mut second = machine();
    second.remember("svc", &memory);
    assert_eq!(second.memory("svc"), Some(memory));
    second.started("svc", secs(3));
    assert_eq!(
        delay_of(second.exited("svc", Exit::Failed, secs(4))),
        Some(Duration::from_secs(2))
    );
    second.started("svc", secs(6));
    assert!(matches!(
        second.exited("svc", Exit::Failed, secs(7)),
        Decision::GiveUp(_)
    ));

    // Without it, the same ends start from scratch.
    let mut fresh = machine();
    fresh.started("svc", secs(3));
    assert_eq!(
        delay_of(fresh.exited("svc", Exit::Failed, secs(4))),
        Some(Duration::ZERO)
    );
    assert_eq!(first.memory("nobody"), None);
}
