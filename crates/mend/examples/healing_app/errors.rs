//! The application's one error type. Every failure a request can meet
//! becomes an [`ApplicationError`] through a `From` conversion, and the
//! error itself says what the policies need to know: whether another
//! attempt may succeed ([`is_transient`](ApplicationError::is_transient),
//! which the database retry asks), which HTTP status the caller gets, and
//! a short `kind` for logs and the `app_errors_total` counter.

use std::io;
use std::time::Duration;

use axum::http::StatusCode;
use mend::checkpoint::CheckpointError;
use mend::classify::{Classify, Outcome};
use mend::cleanup::sqlite::TransactionError;
use mend::layer::BoxError;
use mend::retry::RetryError;
use mend::{Elapsed, Rejected};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplicationError {
    /// Local I/O failed.
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// The dependency could not be reached, or a policy in front of it
    /// refused or cut the call short (the boxed error of the tower stack).
    #[error("the quote service failed: {0}")]
    Dependency(BoxError),
    /// The dependency answered, with an error status, after every retry.
    #[error("the quote service answered {0}")]
    DependencyStatus(StatusCode),
    /// A mend policy refused to run the call.
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// A mend timeout cut the call short.
    #[error(transparent)]
    Elapsed(#[from] Elapsed),
    /// SQLite failed.
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The checkpoint store could not make a change durable: the change
    /// is not acknowledged.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A retry gave up; the last attempt's error is kept.
    #[error("{source} (gave up after {attempts} attempt(s): {reason})")]
    GaveUp {
        /// The last attempt's error.
        source: Box<ApplicationError>,
        /// Attempts made.
        attempts: u32,
        /// Why no further attempt was made.
        reason: mend::retry::GiveUp,
    },
    /// The caller sent something unusable.
    #[error("bad request: {0}")]
    BadRequest(String),
}

impl ApplicationError {
    /// An error of the application's own machinery (a setting refused at
    /// start, a blocking task that panicked), as an I/O error.
    pub(crate) fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApplicationError::Io(io::Error::other(error))
    }

    /// Whether another attempt may succeed: a busy or locked database,
    /// a connection refused or reset, a refusal that carries a wait, a
    /// timeout. A bad request, a full disk or a poisoned store are not.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            ApplicationError::Io(e) => mend::classify::io_is_transient(e),
            ApplicationError::Dependency(e) => mend::classify::default_is_transient(e),
            ApplicationError::DependencyStatus(status) => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            ApplicationError::Rejected(r) => r.is_temporary(),
            ApplicationError::Elapsed(_) => true,
            ApplicationError::Database(e) => is_busy(e),
            ApplicationError::Checkpoint(_) | ApplicationError::BadRequest(_) => false,
            ApplicationError::GaveUp { .. } => false,
        }
    }

    /// A short name for logs and the `app_errors_total{kind}` counter.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ApplicationError::Io(_) => "io",
            ApplicationError::Dependency(_) | ApplicationError::DependencyStatus(_) => "dependency",
            ApplicationError::Rejected(_) => "rejected",
            ApplicationError::Elapsed(_) => "timeout",
            ApplicationError::Database(_) => "database",
            ApplicationError::Checkpoint(_) => "checkpoint",
            ApplicationError::GaveUp { source, .. } => source.kind(),
            ApplicationError::BadRequest(_) => "bad_request",
        }
    }

    /// The status a caller gets: 400 for its own mistakes; 503 (with the
    /// wait, when a policy knows it) while a dependency is failing; 504
    /// for a timeout; 500 for the rest.
    pub(crate) fn status(&self) -> (StatusCode, Option<Duration>) {
        match self {
            ApplicationError::BadRequest(_) => (StatusCode::BAD_REQUEST, None),
            ApplicationError::Dependency(e) => match mend::layer::status_for(e.as_ref()) {
                (StatusCode::INTERNAL_SERVER_ERROR, _) => (StatusCode::BAD_GATEWAY, None),
                found => found,
            },
            ApplicationError::DependencyStatus(_) => (StatusCode::BAD_GATEWAY, None),
            ApplicationError::Rejected(r) => mend::layer::status_for(r),
            ApplicationError::Elapsed(_) => (StatusCode::GATEWAY_TIMEOUT, None),
            ApplicationError::Database(e) if is_busy(e) => (StatusCode::SERVICE_UNAVAILABLE, None),
            ApplicationError::GaveUp { source, .. } => source.status(),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl From<BoxError> for ApplicationError {
    fn from(error: BoxError) -> Self {
        ApplicationError::Dependency(error)
    }
}

impl From<mend::Error<ApplicationError>> for ApplicationError {
    fn from(error: mend::Error<ApplicationError>) -> Self {
        match error {
            mend::Error::Inner(e) => e,
            mend::Error::Rejected(r) => r.into(),
            mend::Error::Elapsed(e) => e.into(),
        }
    }
}

impl From<RetryError<ApplicationError>> for ApplicationError {
    fn from(error: RetryError<ApplicationError>) -> Self {
        ApplicationError::GaveUp {
            source: Box::new(error.error.into()),
            attempts: error.attempts,
            reason: error.reason,
        }
    }
}

/// The transaction guard's error: the work's own, or SQLite's at `BEGIN`
/// or `COMMIT` (a busy database among them, which stays transient).
impl From<TransactionError<ApplicationError>> for ApplicationError {
    fn from(error: TransactionError<ApplicationError>) -> Self {
        match error {
            TransactionError::Begin(e) | TransactionError::Commit(e) => e.into(),
            TransactionError::Failed { error, .. } => error,
            other => ApplicationError::internal(other.to_string()),
        }
    }
}

impl axum::response::IntoResponse for ApplicationError {
    fn into_response(self) -> axum::response::Response {
        let (status, wait) = self.status();
        let mut response = (status, self.to_string()).into_response();
        if let Some(wait) = wait {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}

/// The classification the application's own retries use: an error is
/// worth another attempt when [`ApplicationError::is_transient`] says
/// so; a bad request says nothing about the health of what was called.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AppClassify;

impl<T> Classify<T, ApplicationError> for AppClassify {
    fn outcome(&self, result: &Result<T, ApplicationError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(ApplicationError::BadRequest(_)) => Outcome::Ignored,
            Err(_) => Outcome::Failure,
        }
    }

    fn is_transient(&self, error: &ApplicationError) -> bool {
        error.is_transient()
    }
}
