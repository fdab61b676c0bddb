//! What metrics cost: the breaker's and retry's success paths with no
//! recorder, then (same run) with a Prometheus recorder installed and a
//! thread scraping every second; and the time one scrape of a registry of
//! 10,000 keys takes (the memory each series holds is measured by
//! `tests/alloc`).
//!
//! Run with: `cargo bench -p mend --all-features --bench metrics -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mend::breaker::{BreakerRegistry, CircuitBreaker};
use mend::metrics::Collector;
use mend::metrics::prometheus::Exporter;
use mend::retry::Retry;

#[inline(never)]
fn op() -> Result<u64, io::Error> {
    Ok(black_box(1))
}

fn breaker() -> Arc<CircuitBreaker> {
    Arc::new(
        CircuitBreaker::builder("bench")
            .consecutive_failures(5)
            .without_logging()
            .build()
            .unwrap(),
    )
}

fn retry() -> Arc<Retry> {
    Arc::new(Retry::builder("bench").without_logging().build().unwrap())
}

fn success_paths(c: &mut Criterion, label: &str) -> (Arc<CircuitBreaker>, Arc<Retry>) {
    let (breaker, retry) = (breaker(), retry());
    let mut g = c.benchmark_group(format!("metrics/{label}"));
    g.bench_function("breaker success", |b| {
        b.iter(|| black_box(breaker.call(op)))
    });
    g.bench_function("retry success", |b| b.iter(|| black_box(retry.call(op))));
    g.finish();
    (breaker, retry)
}

fn cost(c: &mut Criterion) {
    // No recorder yet: the facade is a no-op and nobody reads the counters.
    success_paths(c, "off");

    let exporter = Exporter::install().unwrap();
    let collector = Arc::new(Collector::new());
    let stop = Arc::new(AtomicBool::new(false));
    let scraper = {
        let (exporter, collector, stop) = (exporter.clone(), collector.clone(), stop.clone());
        std::thread::spawn(move || {
            // At least one scrape even when the measured calls end first
            // (in `--test` mode they take microseconds).
            let mut scrapes = 0u64;
            loop {
                black_box(exporter.render(&collector));
                scrapes += 1;
                if stop.load(Ordering::Relaxed) {
                    break scrapes;
                }
                std::thread::park_timeout(Duration::from_secs(1));
            }
        })
    };
    let (breaker, retry) = {
        // Registered before the measured calls, as a service would.
        let (breaker, retry) = (self::breaker(), self::retry());
        collector.register(&breaker);
        collector.register(&retry);
        (breaker, retry)
    };
    let mut g = c.benchmark_group("metrics/on, scraped every second");
    g.bench_function("breaker success", |b| {
        b.iter(|| black_box(breaker.call(op)))
    });
    g.bench_function("retry success", |b| b.iter(|| black_box(retry.call(op))));
    g.finish();
    stop.store(true, Ordering::Relaxed);
    scraper.thread().unpark();
    let scrapes = scraper.join().unwrap();
    assert!(scrapes >= 1);

    registry_scrape(c, &exporter);
}

/// One scrape of a registry of 10,000 keys: summed under the registry's
/// name first (the recorder then holds only a few series: it never forgets
/// one), then with a series set per key, split into reading the breakers
/// (`collect`) and the exporter's rendering.
fn registry_scrape(c: &mut Criterion, exporter: &Exporter) {
    let mut g = c.benchmark_group("metrics/scrape");
    g.sample_size(10);
    let summed = Collector::new();
    let sums_only = filled_registry("tenants", false);
    summed.register(&sums_only);
    g.bench_function("registry of 10,000 keys, sums only", |b| {
        b.iter(|| black_box(exporter.render(&summed).len()))
    });

    let collector = Collector::new();
    let per_key = filled_registry("hosts", true);
    collector.register(&per_key);
    let text = exporter.render(&collector);
    let series = text.lines().filter(|l| l.starts_with("mend_")).count();
    println!("registry of {KEYS} keys, a series set per key: {series} series in the recorder");
    g.bench_function("registry of 10,000 keys, per key: collect", |b| {
        b.iter(|| black_box(collector.collect()))
    });
    g.bench_function(
        "registry of 10,000 keys, per key: collect and render",
        |b| b.iter(|| black_box(exporter.render(&collector).len())),
    );
    g.finish();
}

const KEYS: u32 = 10_000;

/// A registry of `KEYS` breakers, each called once.
fn filled_registry(name: &str, per_key: bool) -> Arc<BreakerRegistry<u32>> {
    let registry = Arc::new(
        BreakerRegistry::builder(CircuitBreaker::builder(name).without_logging())
            .max_keys(KEYS as usize)
            .metrics_per_key(per_key)
            .build::<u32>()
            .unwrap(),
    );
    for key in 0..KEYS {
        let _ = registry.get(&key).unwrap().call(op);
    }
    registry
}

criterion_group!(benches, cost);
criterion_main!(benches);
