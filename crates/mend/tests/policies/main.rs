//! Integration tests of mend's policies (retry, limit, composition), in one
//! binary. Time goes through `ManualClock` or, for async code, `TokioClock`
//! under paused tokio time: nothing here sleeps for real.

mod budget;
mod bulkhead;
mod cleanup;
mod compose;
mod config;
mod counters;
mod health;
mod hints;
mod limit_events;
mod metrics;
mod nesting;
mod owned;
mod rate;
mod retry;
mod retry_async;
mod retry_props;
mod send_sync;
mod supervise;
mod support;
mod timeout;
