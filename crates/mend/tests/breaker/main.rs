//! Tests of the circuit breaker: a reference model checked against the real
//! breaker with proptest, targeted tests of each transition, the builder's
//! errors and the breaker under real threads.

mod builder;
mod concurrency;
mod display;
mod manual;
mod model;
mod props;
mod support;
mod timing;
mod transitions;
