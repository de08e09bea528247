//! The relay's errors, and how each is answered over HTTP.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use carebank_core::sync::SyncError;

/// Everything the relay can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The request is malformed (bad path, bad message).
    #[error("{0}")]
    BadRequest(String),
    /// Missing, malformed, stale, replayed or wrongly signed authorisation.
    #[error("{0}")]
    Unauthorised(String),
    /// A valid signature by a key the circle does not trust (unenrolled or revoked).
    #[error("{0}")]
    Forbidden(String),
    /// The circle is not served by this relay.
    #[error("{0}")]
    NotFound(String),
    /// The body is (or is declared) larger than the relay accepts.
    #[error("{0}")]
    TooLarge(String),
    /// The body did not arrive in time.
    #[error("{0}")]
    Timeout(String),
    /// The relay is handling as many requests as it may; the client should retry later.
    #[error("{0}")]
    Busy(String),
    /// The database holds something this relay cannot use (a schema from a newer relay, a
    /// stored value that does not parse).
    #[error("database: {0}")]
    Database(String),
    /// SQLite failed (the driver's error kept as the source, for the log).
    #[error("database (SQLite): {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// PostgreSQL failed (the driver's error kept as the source, for the log).
    #[error("database (PostgreSQL): {0}")]
    Postgres(#[source] postgres::Error),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// Something that should not happen.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for RelayError {
    fn from(e: rusqlite::Error) -> RelayError {
        RelayError::Sqlite(e)
    }
}

impl From<postgres::Error> for RelayError {
    fn from(e: postgres::Error) -> RelayError {
        RelayError::Postgres(e)
    }
}

impl From<SyncError> for RelayError {
    fn from(e: SyncError) -> RelayError {
        match e {
            SyncError::Malformed(_)
            | SyncError::Version(_)
            | SyncError::TooLarge(_)
            | SyncError::WrongCircle { .. }
            | SyncError::Unexpected { .. } => RelayError::BadRequest(e.to_string()),
            other => RelayError::Internal(other.to_string()),
        }
    }
}

impl RelayError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            RelayError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            RelayError::Unauthorised(_) => (StatusCode::UNAUTHORIZED, "unauthorised"),
            RelayError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            RelayError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            RelayError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            RelayError::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            RelayError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            RelayError::Database(_)
            | RelayError::Sqlite(_)
            | RelayError::Postgres(_)
            | RelayError::Config(_)
            | RelayError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let RelayError::Busy(_) = self {
            tracing::warn!(error = %self, "request shed");
        } else if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), error = %self, "request refused");
        }
        let body = serde_json::json!({ "error": code, "message": self.to_string() });
        let mut response = (status, axum::Json(body)).into_response();
        if matches!(self, RelayError::Busy(_)) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_database_driver_error_is_kept_as_the_source() {
        let e = RelayError::from(rusqlite::Error::InvalidQuery);
        assert!(matches!(e, RelayError::Sqlite(_)));
        assert!(e.source().is_some());
        assert_eq!(e.status_and_code().1, "internal");
    }
}
