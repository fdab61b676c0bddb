//! Tests of the circuit breaker: a reference model checked against the real
//! breaker with proptest, targeted tests of each transition, the builder's
//! errors, the breaker under real threads, and the keyed registry.

mod builder;
mod concurrency;
mod counters;
mod display;
mod logging;
mod manual;
mod model;
mod props;
mod registry;
mod resilience4j;
mod support;
mod system_clock;
mod timing;
mod transitions;
