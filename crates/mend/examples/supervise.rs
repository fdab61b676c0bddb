//! Run with: cargo run --example supervise --features supervise,health
//!
//! Three tasks under a supervisor, and a health monitor that restarts the
//! one that wedges. `ingest` fills a queue; `indexer` drains it and beats a
//! heartbeat; `reporter` prints the queue's depth, and panics once. The
//! supervisor restarts the reporter after its panic (a panic is a failure,
//! not a crash). Two seconds in, the indexer wedges: it stops draining and
//! beating, though its task is still alive, so the supervisor alone cannot
//! see it. A liveness probe on the heartbeat can: after two stale beats it
//! asks the supervisor to restart the indexer by name, and the fresh start
//! drains the backlog. Every event is printed as it happens; at the end the
//! supervisor shuts down, children in reverse order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use mend::health::{CheckResult, HealthEvent, Monitor, Probe};
use mend::observe::Event;
use mend::supervise::{ChildSpec, RestartPlan, Strategy, SuperviseEvent, Supervisor};
use tokio::time::{Instant, sleep};

/// What the tasks share.
#[derive(Default)]
struct Plant {
    queue: AtomicU64,
    /// Milliseconds since `began` of the indexer's last beat.
    heartbeat_ms: AtomicU64,
    /// The indexer's first start wedges after two seconds.
    wedge_once: AtomicBool,
    /// The reporter's first start panics.
    panic_once: AtomicBool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let began = Instant::now();
    let ms = move || began.elapsed().as_millis() as u64;
    let plant = Arc::new(Plant::default());
    plant.wedge_once.store(true, SeqCst);
    plant.panic_once.store(true, SeqCst);
    let print = move |event: &Event| {
        let shown = event
            .downcast_ref::<SuperviseEvent>()
            .map(ToString::to_string)
            .or_else(|| event.downcast_ref::<HealthEvent>().map(ToString::to_string));
        if let Some(line) = shown {
            println!("{:>5.1}s {line}", ms() as f64 / 1e3);
        }
    };

    let ingest = {
        let plant = plant.clone();
        ChildSpec::new("ingest", move |ctx| {
            let plant = plant.clone();
            async move {
                while !ctx.is_cancelled() {
                    plant.queue.fetch_add(5, SeqCst);
                    sleep(Duration::from_millis(100)).await;
                }
                Ok::<(), std::io::Error>(())
            }
        })
    };
    let indexer = {
        let plant = plant.clone();
        ChildSpec::new("indexer", move |ctx| {
            let plant = plant.clone();
            let wedges = plant.wedge_once.swap(false, SeqCst);
            async move {
                let started = Instant::now();
                loop {
                    tokio::select! {
                        () = ctx.cancelled() => return Ok::<(), std::io::Error>(()),
                        () = sleep(Duration::from_millis(100)) => {}
                    }
                    if wedges && started.elapsed() > Duration::from_secs(2) {
                        continue; // alive, but stuck: no draining, no beat
                    }
                    let _ = plant
                        .queue
                        .fetch_update(SeqCst, SeqCst, |q| Some(q.saturating_sub(20)));
                    plant.heartbeat_ms.store(ms(), SeqCst);
                }
            }
        })
    };
    let reporter = {
        let plant = plant.clone();
        ChildSpec::new("reporter", move |ctx| {
            let plant = plant.clone();
            async move {
                let mut ticks = 0;
                while !ctx.is_cancelled() {
                    sleep(Duration::from_millis(500)).await;
                    ticks += 1;
                    if ticks == 2 && plant.panic_once.swap(false, SeqCst) {
                        panic!("the report template is missing");
                    }
                    println!(
                        "{:>5.1}s   queue depth {}",
                        ms() as f64 / 1e3,
                        plant.queue.load(SeqCst)
                    );
                }
                Ok::<(), std::io::Error>(())
            }
        })
    };

    let supervisor = Supervisor::builder("pipeline")
        .restarts(
            RestartPlan::builder()
                .strategy(Strategy::OneForOne)
                .intensity(5, Duration::from_secs(30)),
        )
        .child(ingest)
        .child(indexer)
        .child(reporter)
        .on_event(print)
        .without_logging()
        .build()?
        .start();

    let (beats, handle) = (plant.clone(), supervisor.clone());
    let monitor = Monitor::builder()
        .without_logging()
        .on_event(print)
        .probe(
            Probe::liveness("indexer", "heartbeat", move || {
                let stale = ms().saturating_sub(beats.heartbeat_ms.load(SeqCst));
                async move {
                    if stale > 1_000 {
                        CheckResult::fail(format!("no heartbeat for {stale} ms"))
                    } else {
                        CheckResult::pass().observed(stale as f64, "ms")
                    }
                }
            })
            .period(Duration::from_millis(500))
            .initial_delay(Duration::from_millis(500))
            .failure_threshold(2)
            .recovery(move || {
                let handle = handle.clone();
                async move { handle.restart_child("indexer").await }
            }),
        )
        .build()?
        .start();

    // Run until the indexer has been restarted and drained the backlog.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        sleep(Duration::from_millis(100)).await;
        let restarted = supervisor.child("indexer").is_some_and(|c| c.starts >= 2);
        if restarted && plant.queue.load(SeqCst) < 20 {
            break;
        }
        if Instant::now() > deadline {
            return Err("the indexer was not healed within 15 s".into());
        }
    }
    println!("{:>5.1}s healed; shutting down", ms() as f64 / 1e3);
    monitor.stop();
    supervisor.shutdown().await?;
    for child in supervisor.children() {
        println!(
            "  {:<9} starts {}  ends: {} ok, {} errors, {} panics, {} stopped",
            child.name,
            child.starts,
            child.exits.normal,
            child.exits.error,
            child.exits.panic,
            child.exits.stopped
        );
    }
    Ok(())
}
