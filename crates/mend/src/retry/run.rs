//! One call's way through its attempts: what to do after each failure.
//!
//! The sync and async loops in [`Retry`](super::Retry) share this state
//! machine, so they cannot disagree on a delay, a deadline or a budget.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{GiveUp, Retry, RetryEvent, RetryEventKind, SplitMix64};
use crate::clock::{Clock, Tick};

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Sleep this long, then try again.
    Sleep(Duration),
    /// Give up.
    Stop(GiveUp),
}

/// The state of one call.
#[derive(Debug)]
pub(crate) struct Run<'r, C, K, H, S> {
    retry: &'r Retry<C, K, H, S>,
    attempts: u32,
    deadline: Option<Tick>,
    prev: Duration,
    rng: Option<SplitMix64>,
}

impl<'r, C: Clock, K, H, S> Run<'r, C, K, H, S> {
    /// The start of a call without the state only retries need: counts
    /// the call, reads the deadline and deposits; returns the deadline.
    /// Inline down to the counting: a retry with neither deadline nor
    /// budget costs its caller one counter add.
    #[inline(always)]
    pub(crate) fn begin(retry: &Retry<C, K, H, S>) -> Option<Tick> {
        retry.counts.call();
        if retry.config.deadline.is_none() && retry.config.budget.is_none() {
            return None;
        }
        Self::deadline_and_deposit(retry)
    }

    /// The part of [`begin`](Self::begin) a deadline or a budget needs.
    #[inline]
    fn deadline_and_deposit(retry: &Retry<C, K, H, S>) -> Option<Tick> {
        let deadline = retry.config.deadline.map(|d| retry.clock.precise() + d);
        if let Some(budget) = &retry.config.budget {
            budget.deposit();
        }
        deadline
    }

    /// The state of a call begun with [`begin`](Self::begin), once its
    /// first attempt has failed.
    pub(crate) fn resume(retry: &'r Retry<C, K, H, S>, deadline: Option<Tick>) -> Self {
        Run {
            retry,
            attempts: 1,
            deadline,
            prev: retry.config.backoff.base(),
            rng: None,
        }
    }

    /// Attempts made so far, the current one included.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The whole operation's deadline, if it has one.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn deadline(&self) -> Option<Duration> {
        self.retry.config.deadline
    }

    /// The deadline tick, if any.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn deadline_tick(&self) -> Option<Tick> {
        self.deadline
    }

    /// Decides what follows a failed attempt whose error is `transient` and
    /// carries the server hint `hint()`; emits the event that says so.
    pub(crate) fn after_failure(
        &mut self,
        transient: bool,
        hint: impl FnOnce() -> Option<Duration>,
    ) -> Next {
        match self.decide(transient, hint) {
            Ok(delay) => {
                self.retry.counts.retry();
                self.emit(RetryEventKind::Scheduled { delay });
                self.attempts += 1;
                Next::Sleep(delay)
            }
            Err(reason) => {
                self.give_up(reason);
                Next::Stop(reason)
            }
        }
    }

    /// Counts the give-up, and emits its event if any retry was made.
    pub(crate) fn give_up(&self, reason: GiveUp) {
        self.retry.counts.gave_up(reason);
        if self.attempts > 1 {
            self.emit(RetryEventKind::GaveUp { reason });
        }
    }

    fn decide(
        &mut self,
        transient: bool,
        hint: impl FnOnce() -> Option<Duration>,
    ) -> Result<Duration, GiveUp> {
        let config = &self.retry.config;
        if !transient {
            return Err(GiveUp::Permanent);
        }
        if self.attempts >= config.max_attempts {
            return Err(GiveUp::Attempts);
        }
        let backoff = &config.backoff;
        let temp = backoff.delay(self.attempts - 1);
        let streams = &self.retry.streams;
        let rng = self.rng.get_or_insert_with(|| {
            let stream = streams.fetch_add(1, Ordering::Relaxed);
            SplitMix64::new(
                config
                    .seed
                    .wrapping_add(stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            )
        });
        let mut delay = config
            .jitter
            .apply(temp, backoff.base(), backoff.cap(), self.prev, rng);
        self.prev = delay;
        if let Some(wait) = hint() {
            if wait > config.max_retry_after {
                return Err(GiveUp::RetryAfter);
            }
            delay = delay.max(wait);
        }
        if let Some(deadline) = self.deadline
            && self.retry.clock.precise() + delay >= deadline
        {
            return Err(GiveUp::Deadline);
        }
        if let Some(budget) = &config.budget
            && !budget.try_withdraw()
        {
            return Err(GiveUp::Budget);
        }
        Ok(delay)
    }

    fn emit(&self, kind: RetryEventKind) {
        let retry = self.retry;
        retry.subscribers.emit(|| {
            let (log_line, unlogged_before) = match kind {
                RetryEventKind::Scheduled { .. } => (true, 0),
                RetryEventKind::GaveUp { .. } => {
                    let second = retry.clock.coarse().as_nanos() / 1_000_000_000;
                    match retry.counts.give_up_log.admit(second) {
                        Some(held) => (true, held),
                        None => (false, 0),
                    }
                }
            };
            RetryEvent {
                name: retry.config.name.clone(),
                at: retry.clock.wall(),
                attempt: self.attempts,
                kind,
                unlogged_before,
                log_line,
            }
        });
    }
}
