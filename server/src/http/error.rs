//! `ApiError`: every failure of a route, rendered as `{code, message}` JSON with the
//! matching status. Internal details are logged, not sent.

use crate::backend::BackendError;
use app::api::ErrorBody;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Seconds a client should wait before retrying when the daemon is down.
const RETRY_AFTER_SECS: &str = "5";

/// An error returned by a route.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 `bad_request`: malformed path or query.
    #[error("{0}")]
    BadRequest(String),
    /// 403 `forbidden_host`: the Host header is not allowed (DNS rebinding guard).
    #[error("host {0:?} is not allowed; use http://127.0.0.1 or http://localhost, or start with --allowed-host")]
    ForbiddenHost(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `not_ready`: the analysis has not finished (start it with POST .../analysis).
    #[error("{0}")]
    NotReady(String),
    /// 503 `docker_unavailable` with `Retry-After`.
    #[error("docker daemon at {address} is unavailable: {reason}")]
    DockerUnavailable { address: String, reason: String },
    /// 502 `source_failed`: the daemon or an image failed while being read.
    #[error("{0}")]
    SourceFailed(String),
    /// 500 `internal`: a bug; details are logged only.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The status and stable code for this error.
    pub fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::ForbiddenHost(_) => (StatusCode::FORBIDDEN, "forbidden_host"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
            ApiError::DockerUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "docker_unavailable")
            }
            ApiError::SourceFailed(_) => (StatusCode::BAD_GATEWAY, "source_failed"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Unavailable { address, reason } => {
                ApiError::DockerUnavailable { address, reason }
            }
            BackendError::NotFound(m) => ApiError::NotFound(m),
            BackendError::Invalid(m) => ApiError::BadRequest(m),
            BackendError::Failed(m) => ApiError::SourceFailed(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let body = ErrorBody {
            code: code.to_owned(),
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self, ApiError::DockerUnavailable { .. }) {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// Fallback for unknown `/api/...` paths: JSON 404, never the SPA page.
pub async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API route for {}", uri.path()))
}
