//! `poll_ready` is the inner service's readiness and nothing more: the
//! policies decide in `call`, so a service polled ready and then cloned or
//! dropped holds no permit, slot or quota.

use std::convert::Infallible;
use std::future::poll_fn;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use mend::Rejected;
use mend::breaker::{CircuitBreaker, State};
use mend::layer::{BreakerLayer, BulkheadLayer};
use mend::limit::Bulkhead;
use tower::{Layer, Service, ServiceExt, service_fn};

#[tokio::test]
async fn a_ready_bulkhead_service_holds_no_slot() {
    let bulkhead = Arc::new(
        Bulkhead::builder("ready")
            .max_concurrent(1)
            .build()
            .unwrap(),
    );
    let layer = BulkheadLayer::new(Arc::clone(&bulkhead));
    let mut services: Vec<_> = (0..5)
        .map(|_| layer.layer(service_fn(|n: u32| async move { Ok::<_, Infallible>(n) })))
        .collect();
    for service in &mut services {
        poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
        let clone = service.clone();
        drop(clone);
    }
    assert_eq!(bulkhead.in_flight(), 0, "poll_ready took a slot");
    // Every one of them can still be the one that gets the slot.
    let held = services[4].call(4);
    assert_eq!(bulkhead.in_flight(), 1);
    let refused = services[0].call(0).await.unwrap_err();
    assert_eq!(refused.downcast_ref::<Rejected>(), Some(&Rejected::Full));
    assert_eq!(held.await.unwrap(), 4);
    assert_eq!(bulkhead.in_flight(), 0, "the slot is given back");
}

#[tokio::test]
async fn an_open_breaker_is_ready_and_refuses_in_call() {
    let breaker = Arc::new(
        CircuitBreaker::builder("ready")
            .half_open_calls(1)
            .without_logging()
            .build()
            .unwrap(),
    );
    breaker.force_open();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let mut service = BreakerLayer::new(Arc::clone(&breaker)).layer(service_fn(move |()| {
        counted.fetch_add(1, Ordering::Relaxed);
        async { Ok::<_, Infallible>(()) }
    }));
    // Ready: the decision is taken in `call`.
    service.ready().await.unwrap();
    let error = service.call(()).await.unwrap_err();
    assert_eq!(
        error.downcast_ref::<Rejected>(),
        Some(&Rejected::ForcedOpen)
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        0,
        "the inner service was called"
    );

    // Half-open with one trial: readiness on live clones reserves none.
    breaker.reset();
    breaker.open().unwrap();
    breaker.half_open().unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);
    let mut clones: Vec<_> = (0..3).map(|_| service.clone()).collect();
    for clone in &mut clones {
        clone.ready().await.unwrap();
    }
    let trial = breaker.try_acquire();
    assert!(trial.is_ok(), "a ready service holds the only trial slot");
    drop(trial);
    clones[2].call(()).await.unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}
