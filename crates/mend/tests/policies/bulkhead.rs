//! The bulkhead gives its slot back on drop, on panic and on cancellation.

use std::future::pending;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use mend::Rejected;
use mend::limit::Bulkhead;
use tokio::time::{Instant, timeout};

use crate::support::MS;

fn one_slot(queue: usize) -> Bulkhead {
    let b = Bulkhead::builder("b").max_concurrent(1);
    let b = if queue > 0 {
        b.queue(queue, MS * 100)
    } else {
        b
    };
    b.build().unwrap()
}

#[test]
fn full_without_a_queue_and_released_on_drop() {
    let b = one_slot(0);
    let permit = b.try_acquire().unwrap();
    assert!(b.call(|| Ok::<_, io::Error>(())).unwrap_err().is_rejected());
    drop(permit);
    assert_eq!(b.in_flight(), 0);
    assert_eq!(b.call(|| Ok::<_, io::Error>(5)).ok(), Some(5));
}

#[test]
fn a_panicking_call_gives_its_slot_back() {
    let b = one_slot(0);
    let result = catch_unwind(AssertUnwindSafe(|| {
        b.call(|| -> Result<(), io::Error> { panic!("boom") })
    }));
    assert!(result.is_err());
    assert_eq!(b.in_flight(), 0);
    assert!(b.try_acquire().is_ok());
}

#[test]
fn a_sync_waiter_gets_the_slot_when_it_is_freed() {
    let b = Bulkhead::builder("b")
        .max_concurrent(1)
        .queue(1, Duration::from_secs(60))
        .build()
        .unwrap();
    let permit = b.try_acquire().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| tx.send(b.call(|| Ok::<_, io::Error>(9)).ok()).unwrap());
        while b.queued() == 0 {
            std::thread::yield_now(); // wait for the condition, not a fixed time
        }
        assert_eq!(
            b.acquire().unwrap_err(),
            Rejected::Full,
            "the queue of 1 is full"
        );
        drop(permit);
        // Woken by the release, well before its 60 s wait would end.
        let got = rx.recv_timeout(Duration::from_secs(10));
        assert_eq!(got, Ok(Some(9)), "the waiter was not woken by the release");
    });
    assert_eq!((b.in_flight(), b.queued()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_running_call_gives_its_slot_back() {
    let b = one_slot(0);
    let call = b.call_async(pending::<Result<(), io::Error>>);
    let mut call = Box::pin(call); // boxed so that drop() really drops it
    assert!(timeout(MS, &mut call).await.is_err(), "still running");
    assert_eq!(b.in_flight(), 1);
    drop(call);
    assert_eq!(b.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_waiting_call_leaves_the_queue() {
    let b = one_slot(1);
    let _held = b.try_acquire().unwrap();
    let waiting = b.acquire_async();
    let mut waiting = Box::pin(waiting);
    assert!(timeout(MS, &mut waiting).await.is_err());
    assert_eq!(b.queued(), 1);
    drop(waiting);
    assert_eq!(b.queued(), 0, "the place in the queue was given back");
}

#[tokio::test(start_paused = true)]
async fn a_queued_caller_waits_at_most_max_wait() {
    let b = one_slot(1);
    let _held = b.try_acquire().unwrap();
    let start = Instant::now();
    assert_eq!(b.acquire_async().await.unwrap_err(), Rejected::Full);
    assert_eq!(start.elapsed(), MS * 100);
    assert_eq!(b.queued(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_async_waiter_gets_the_slot_when_it_is_freed() {
    let b = Arc::new(one_slot(2));
    let held = b.try_acquire().unwrap();
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.call_async(|| async { Ok::<_, io::Error>(4) }).await.ok() })
    };
    while b.queued() == 0 {
        tokio::task::yield_now().await;
    }
    drop(held);
    assert_eq!(waiter.await.unwrap(), Some(4));
    assert_eq!(b.in_flight(), 0);
}

#[test]
fn bad_settings_name_the_field() {
    let e = Bulkhead::builder("b").build().unwrap_err();
    assert_eq!(e.field, "max_concurrent");
    let e = Bulkhead::builder("b")
        .max_concurrent(1)
        .queue(3, Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(e.field, "queue");
}
