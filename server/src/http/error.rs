//! `ApiError`: every failure of a route, rendered as `{code, message}` JSON with the
//! matching status. Internal details are logged, not sent.

use crate::backend::{BackendError, BackendErrorKind};
use app::api::{ErrorBody, ErrorCode};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Seconds a client should wait before retrying when the daemon is down.
const RETRY_AFTER_SECS: u64 = 5;

/// Seconds a client should wait before retrying when its job cap is reached.
const CAP_RETRY_AFTER_SECS: u64 = 5;

/// An error returned by a route. Each variant maps to one [`ErrorCode`], whose status
/// it is sent with.
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
    /// 409 `viewers_waiting`: a cancel refused while others watch the job.
    #[error("{0}")]
    ViewersWaiting(String),
    /// 429 `too_many_jobs` with `Retry-After`: the caller already has its share of
    /// running jobs.
    #[error("{user} already has {running} analyses running (at most {max} per user); wait for one to finish or cancel it")]
    TooManyJobs {
        user: String,
        running: usize,
        max: u32,
    },
    /// 429 `rate_limited` with `Retry-After`: every file-read slot is taken.
    #[error("{max} file reads are already running on this server; retry in a moment")]
    ReadsBusy { max: usize },
    /// 429 `rate_limited` with `Retry-After`: this user's file-read slots are taken.
    #[error("{user} already has {max} file reads running; retry when one has finished")]
    UserReadsBusy { user: String, max: usize },
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
    /// The stable code for this error (its status is [`ErrorCode::status`]).
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::ForbiddenHost(_) => ErrorCode::ForbiddenHost,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::NotReady(_) => ErrorCode::NotReady,
            ApiError::ViewersWaiting(_) => ErrorCode::ViewersWaiting,
            ApiError::TooManyJobs { .. } => ErrorCode::TooManyJobs,
            ApiError::ReadsBusy { .. } | ApiError::UserReadsBusy { .. } => ErrorCode::RateLimited,
            ApiError::DockerUnavailable { .. } => ErrorCode::DockerUnavailable,
            ApiError::SourceFailed(_) => ErrorCode::SourceFailed,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        if let Some((address, reason)) = e.unavailable() {
            return ApiError::DockerUnavailable {
                address: address.to_owned(),
                reason: reason.to_owned(),
            };
        }
        let message = e.to_string();
        match e.kind() {
            BackendErrorKind::NotFound => ApiError::NotFound(message),
            BackendErrorKind::Invalid => ApiError::BadRequest(message),
            BackendErrorKind::Unavailable | BackendErrorKind::Failed => {
                ApiError::SourceFailed(message)
            }
        }
    }
}

/// The `{code, message}` answer with the code's status: the one place every error
/// type of the HTTP layer turns into a response.
pub fn error_response(code: ErrorCode, message: String) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(ErrorBody { code, message })).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let mut response = error_response(self.code(), self.to_string());
        let retry_after = match self {
            ApiError::DockerUnavailable { .. } => Some(RETRY_AFTER_SECS),
            ApiError::TooManyJobs { .. } => Some(CAP_RETRY_AFTER_SECS),
            ApiError::ReadsBusy { .. } | ApiError::UserReadsBusy { .. } => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Fallback for unknown `/api/...` paths: JSON 404, never the SPA page.
pub async fn api_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no API route for {}", uri.path()))
}
