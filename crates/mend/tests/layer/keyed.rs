//! One breaker per key, and what a dropped call leaves behind.

use std::convert::Infallible;
use std::sync::Arc;

use mend::Rejected;
use mend::breaker::{BreakerRegistry, CircuitBreaker, State};
use mend::layer::{BreakerLayer, KeyedBreakerLayer};
use tower::{Layer, Service, ServiceExt, service_fn};

/// Fails every request to host "down", answers the rest.
fn hosts()
-> impl Service<http::Request<()>, Response = &'static str, Error = std::io::Error> + Clone {
    service_fn(|request: http::Request<()>| async move {
        match request.uri().host() {
            Some("down") => Err(std::io::Error::other("down")),
            _ => Ok("up"),
        }
    })
}

fn to(host: &str) -> http::Request<()> {
    http::Request::get(format!("http://{host}/"))
        .body(())
        .unwrap()
}

#[tokio::test]
async fn a_failing_host_opens_only_its_own_breaker() {
    let registry = Arc::new(
        BreakerRegistry::builder(
            CircuitBreaker::builder("hosts")
                .consecutive_failures(2)
                .without_logging(),
        )
        .build::<String>()
        .unwrap(),
    );
    let host = |request: &http::Request<()>| request.uri().host().unwrap_or_default().to_owned();
    let layer = KeyedBreakerLayer::new(Arc::clone(&registry), host);
    let mut a = layer.layer(hosts());
    let mut b = layer.layer(hosts()); // another service of the same layer
    for _ in 0..2 {
        assert!(a.ready().await.unwrap().call(to("down")).await.is_err());
    }
    let refused = b.ready().await.unwrap().call(to("down")).await.unwrap_err();
    assert!(
        matches!(refused.downcast_ref(), Some(Rejected::Open { .. })),
        "{refused}"
    );
    assert_eq!(
        registry.get(&"down".to_owned()).unwrap().state(),
        State::Open
    );
    assert_eq!(b.ready().await.unwrap().call(to("up")).await.unwrap(), "up");
    assert_eq!(
        registry.get(&"up".to_owned()).unwrap().state(),
        State::Closed
    );
}

#[tokio::test]
async fn a_dropped_call_gives_its_trial_slot_back() {
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(
        CircuitBreaker::builder("dropped")
            .half_open_calls(1)
            .without_logging()
            .build()
            .unwrap(),
    ));
    breaker.open().unwrap();
    breaker.half_open().unwrap();
    let mut service = BreakerLayer::from_static(breaker).layer(service_fn(|()| {
        std::future::pending::<Result<(), Infallible>>()
    }));
    let call = service.ready().await.unwrap().call(());
    assert!(
        breaker.try_acquire().is_err(),
        "the call holds the only trial"
    );
    drop(call);
    assert!(
        breaker.try_acquire().is_ok(),
        "the trial slot was not given back"
    );
    assert_eq!(breaker.state(), State::HalfOpen);
}
