//! The tour the example runs without `--serve`: each fault in turn, and
//! what the application's own `/metrics` and `/health` say about it.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use mend::health::MonitorHandle;
use mend::metrics::Collector;
use mend::metrics::prometheus::Exporter;
use tokio::time::sleep;

use crate::app::App;
use crate::dependency::Mode;

/// The application, and where its metrics and health are read.
struct Tour<'a> {
    app: &'a App,
    exporter: &'a Exporter,
    collector: &'a Collector,
}

impl Tour<'_> {
    /// Prints the scraped series whose names start with one of `names`.
    fn show(&self, names: &[&str]) {
        for line in self.exporter.render(self.collector).lines() {
            if !line.starts_with('#') && names.iter().any(|n| line.starts_with(n)) {
                println!("    {line}");
            }
        }
    }

    /// Makes `n` calls to the dependency and says how they went.
    async fn calls(&self, n: usize) {
        let mut ok = 0;
        for _ in 0..n {
            ok += usize::from(self.app.quote().await.is_ok());
        }
        println!("   {n} calls: {ok} answered, {} failed", n - ok);
    }

    /// Puts the dependency in `mode`, makes `n` calls, shows `series`.
    async fn dependency(&self, mode: Mode, n: usize, series: &[&str]) {
        self.app.dependency.set(mode);
        self.calls(n).await;
        self.show(series);
    }

    /// The dependency healthy again, once the breaker's open wait is over.
    async fn heal(&self) {
        self.app.dependency.set(Mode::Healthy);
        sleep(Duration::from_millis(2_100)).await;
    }
}

pub(crate) async fn run(
    app: &App,
    exporter: &Exporter,
    collector: &Collector,
    monitor: &MonitorHandle,
) {
    let tour = Tour {
        app,
        exporter,
        collector,
    };
    println!("\n1. five transactions, all healthy");
    for amount in [1_250, -300, 990, 15, 4_000] {
        match app.transaction(amount).await {
            Ok(tx) => println!("   transaction {} acknowledged: {tx:?}", tx.id),
            Err(e) => println!("   transaction failed: {e}"),
        }
    }

    println!("\n2. the dependency goes down: the breaker opens, calls fail fast");
    let open = "mend_breaker_state{breaker=\"quotes\",state=\"open\"}";
    let down = [
        open,
        "mend_breaker_rejected_total",
        "app_dependency_requests_total",
    ];
    tour.dependency(Mode::Down, 12, &down).await;
    sleep(Duration::from_millis(300)).await;
    println!(
        "   /readyz: {}, /health: {}",
        monitor.readyz(),
        monitor.report().to_json()
    );

    println!("\n3. it comes back: after the breaker's 2 s, trial calls close it");
    tour.heal().await;
    tour.calls(4).await;
    tour.show(&[
        "mend_breaker_state{breaker=\"quotes\",state=\"closed\"}",
        "mend_breaker_transitions_total",
    ]);

    println!(
        "\n4. the dependency turns slow (300 ms, over the 200 ms slow-call limit): the breaker opens"
    );
    let slow = ["mend_breaker_slow_calls_total", open];
    tour.dependency(Mode::Slow, 8, &slow).await;
    tour.heal().await;
    tour.calls(4).await;

    println!("\n5. the dependency flaps (every third request 503): retries, within the budget");
    let budget = [
        "mend_retry_calls_total{retry=\"quotes\"}",
        "mend_retry_retries_total{retry=\"quotes\"}",
        "mend_retry_gave_up_total{retry=\"quotes\"",
    ];
    tour.dependency(Mode::Flapping, 60, &budget).await;
    app.dependency.set(Mode::Healthy);

    println!("\n6. the checkpointer wedges: its liveness check fails, the supervisor restarts it");
    app.heartbeat.wedge();
    for _ in 0..50 {
        sleep(Duration::from_millis(100)).await;
        if exporter
            .render(collector)
            .contains("mend_supervise_starts_total{supervisor=\"app\",child=\"checkpointer\"} 2")
        {
            break;
        }
    }
    tour.show(&[
        "mend_supervise_starts_total",
        "mend_health_recoveries_total",
    ]);

    println!(
        "\n7. a second connection holds the database's write lock: transactions are retried whole"
    );
    app.contention.store(true, Relaxed);
    let writes: Vec<_> = (0..20)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move { app.transaction(n).await })
        })
        .collect();
    let mut acknowledged = 0;
    for write in writes {
        acknowledged += usize::from(matches!(write.await, Ok(Ok(_))));
    }
    app.contention.store(false, Relaxed);
    println!("   20 transactions under contention: {acknowledged} acknowledged");
    tour.show(&[
        "mend_retry_retries_total{retry=\"database\"}",
        "app_transactions_total",
    ]);

    println!("\n8. done: shutting down as on SIGTERM (the report is logged on stderr)");
}
