//! The checkpointer: a worker task, supervised, that takes a snapshot of
//! the books every second and beats a heartbeat every 100 ms. It can
//! wedge (`POST /faults/wedge`): the task stays alive but stops working
//! and beating, which its supervisor alone cannot see. The liveness probe
//! on the heartbeat can, and asks the supervisor to restart it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use mend::supervise::{ChildContext, ChildSpec};
use tokio::time::Instant;

use crate::errors::ApplicationError;
use crate::ledger::{self, Ledger};

/// What the worker shares with its probe and with the fault switch.
pub(crate) struct Heartbeat {
    began: Instant,
    /// Milliseconds after `began` of the last beat.
    last_ms: AtomicU64,
    /// Wedges asked for and not yet taken: the running worker takes one.
    wedges: AtomicU32,
}

impl Heartbeat {
    pub(crate) fn new() -> Arc<Heartbeat> {
        Arc::new(Heartbeat {
            began: Instant::now(),
            last_ms: AtomicU64::new(0),
            wedges: AtomicU32::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.began.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn beat(&self) {
        self.last_ms.store(self.now_ms(), Relaxed);
    }

    /// How long since the last beat.
    pub(crate) fn stale(&self) -> Duration {
        Duration::from_millis(self.now_ms().saturating_sub(self.last_ms.load(Relaxed)))
    }

    /// Makes the running worker wedge.
    pub(crate) fn wedge(&self) {
        self.wedges.fetch_add(1, Relaxed);
    }

    fn take_wedge(&self) -> bool {
        self.wedges
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// The worker's spec, for the supervisor.
pub(crate) fn checkpointer(ledger: Arc<Ledger>, heartbeat: Arc<Heartbeat>) -> ChildSpec {
    ChildSpec::new("checkpointer", move |ctx| {
        run(ctx, ledger.clone(), heartbeat.clone())
    })
}

async fn run(
    ctx: ChildContext,
    ledger: Arc<Ledger>,
    heartbeat: Arc<Heartbeat>,
) -> Result<(), ApplicationError> {
    tracing::info!(worker = "checkpointer", "started");
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for n in 0_u64.. {
        tokio::select! {
            () = ctx.cancelled() => break,
            _ = tick.tick() => {}
        }
        if heartbeat.take_wedge() {
            tracing::warn!(
                worker = "checkpointer",
                "wedged: no more work, no more beats"
            );
            ctx.cancelled().await; // alive, but stuck until restarted
            break;
        }
        heartbeat.beat();
        if n % 10 == 9 {
            let ledger = ledger.clone();
            ledger::on_blocking_thread(move || ledger.checkpoint()).await?;
        }
    }
    Ok(())
}
