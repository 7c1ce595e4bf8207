//! `UploadError`: why an upload was refused or failed, rendered as `{code, message}`
//! with its status. Messages say what to do; spool paths never appear in them.

use crate::http::error::error_response;
use app::api::ErrorCode;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// A failed upload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// 403 `uploads_disabled`: the server runs with `--no-upload`.
    #[error("archive uploads are turned off on this server (it was started with --no-upload); open archives with `strata serve PATH` instead")]
    Disabled,
    /// 415 `unsupported_media_type`: the body is not declared as an archive.
    #[error(
        "upload body must be the raw archive sent as application/octet-stream or application/x-tar"
    )]
    MediaType,
    /// 415 `unsupported_media_type`: a `Content-Encoding` other than identity.
    #[error(
        "Content-Encoding {0:?} is not accepted on uploads; send the archive bytes as they are"
    )]
    Encoded(String),
    /// 413 `upload_too_large`.
    #[error("archive is larger than this server's upload limit of {} ({limit} bytes); start it with a larger --max-upload-size", app::fmt::size(*limit))]
    TooLarge { limit: u64 },
    /// 429 `uploads_busy` with `Retry-After`.
    #[error("{running} uploads are already in progress (the limit); retry in {retry_after} s")]
    Busy { running: usize, retry_after: u64 },
    /// 408 `upload_timeout`: the client stopped sending.
    #[error("no archive bytes received for {secs} s; upload abandoned")]
    Idle { secs: u64 },
    /// 400 `upload_interrupted`: the body ended with an error (client went away).
    #[error("upload interrupted before the end of the archive: {0}")]
    Interrupted(String),
    /// 400 `empty_upload`.
    #[error("the upload is empty; send the archive file as the request body")]
    Empty,
    /// 422 `bad_archive`: the engine could not read an image from the archive.
    #[error("{0}")]
    BadArchive(String),
    /// 500 `internal`: the spool file could not be written (details logged only).
    #[error("cannot store the upload on the server")]
    Spool(String),
    /// 500 `internal`: a bug (details logged only).
    #[error("internal error")]
    Internal(String),
}

impl UploadError {
    /// The stable code for this error (its status is [`ErrorCode::status`]).
    pub fn code(&self) -> ErrorCode {
        match self {
            UploadError::Disabled => ErrorCode::UploadsDisabled,
            UploadError::MediaType | UploadError::Encoded(_) => ErrorCode::UnsupportedMediaType,
            UploadError::TooLarge { .. } => ErrorCode::UploadTooLarge,
            UploadError::Busy { .. } => ErrorCode::UploadsBusy,
            UploadError::Idle { .. } => ErrorCode::UploadTimeout,
            UploadError::Interrupted(_) => ErrorCode::UploadInterrupted,
            UploadError::Empty => ErrorCode::EmptyUpload,
            UploadError::BadArchive(_) => ErrorCode::BadArchive,
            UploadError::Spool(_) | UploadError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        if let UploadError::Spool(detail) | UploadError::Internal(detail) = &self {
            tracing::error!("upload failed: {detail}");
        }
        let mut response = error_response(self.code(), self.to_string());
        let status = response.status();
        let headers = response.headers_mut();
        if let UploadError::Busy { retry_after, .. } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body is not read; tell the client not to reuse the connection.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
