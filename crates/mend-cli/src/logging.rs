//! Logs to stderr through `tracing`: human-readable lines by default,
//! JSON lines with `--log-json`. Every event of the library (a service
//! started, failed, was killed, will restart, gave up) arrives here
//! through its `tracing` bridge.

/// Installs the subscriber for the whole run.
pub(crate) fn init(json: bool) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.with_target(false).init();
    }
}
