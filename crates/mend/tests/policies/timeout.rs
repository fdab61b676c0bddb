//! The timeout drops the operation and returns `Elapsed`.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mend::limit::Timeout;
use tokio::time::Instant;

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn on_expiry_the_operation_is_dropped() {
    let timeout = Timeout::builder("timeout", Duration::from_secs(2))
        .build()
        .unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let start = Instant::now();
    let err = timeout
        .call_async(|| async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, io::Error>(())
        })
        .await
        .unwrap_err();
    assert!(err.is_elapsed());
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(dropped.load(Ordering::SeqCst), "the operation was dropped");
}

#[tokio::test(start_paused = true)]
async fn a_quick_call_passes_through() {
    let timeout = Timeout::builder("timeout", Duration::from_secs(2))
        .build()
        .unwrap();
    let got = timeout
        .call_async(|| async { Err::<(), _>(io::Error::other("x")) })
        .await;
    assert_eq!(
        got.unwrap_err().into_inner().map(|e| e.to_string()),
        Some("x".into())
    );
    assert_eq!(
        Timeout::builder("timeout", Duration::ZERO)
            .build()
            .unwrap_err()
            .field,
        "limit"
    );
}
