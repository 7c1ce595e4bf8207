//! The error body of every failed API call, and its closed set of codes.
//!
//! Each [`ErrorCode`] has exactly one HTTP status ([`ErrorCode::status`]); the server's
//! error types pick a code and the status follows, so a code can never travel with two
//! different statuses, and the browser matches codes, never message text.

use serde::{Deserialize, Serialize};

/// Every error body: a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// Why a request failed, as a stable snake_case word on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400: a malformed path, query or reference.
    BadRequest,
    /// 401: no or a wrong token.
    Unauthenticated,
    /// 403: the Host header is not allowed (DNS rebinding guard).
    ForbiddenHost,
    /// 403: a state-changing request from another site.
    CrossOrigin,
    /// 403: the user's role may not do this, or the server is read-only.
    Forbidden,
    /// 403: archive uploads are turned off (`--no-upload`).
    UploadsDisabled,
    /// 404: no such image, layer, path, job or route.
    NotFound,
    /// 408: an upload stopped sending.
    UploadTimeout,
    /// 409: the analysis has not finished (start it with `POST .../analysis`).
    NotReady,
    /// 409: a cancel refused because other viewers still wait for the job.
    ViewersWaiting,
    /// 413: an upload over the server's limit.
    UploadTooLarge,
    /// 415: a body of the wrong media type or encoding.
    UnsupportedMediaType,
    /// 400: the upload ended early.
    UploadInterrupted,
    /// 400: the upload had no bytes.
    EmptyUpload,
    /// 422: no image could be read from an uploaded archive.
    BadArchive,
    /// 429: this client sent too many requests.
    RateLimited,
    /// 429: this user already runs the most jobs allowed.
    TooManyJobs,
    /// 429: the server already receives the most uploads allowed.
    UploadsBusy,
    /// 500: a bug; details are in the server log only.
    Internal,
    /// 502: the daemon or the image failed while being read.
    SourceFailed,
    /// 503: the Docker daemon does not answer.
    DockerUnavailable,
    /// A code this build does not know (a newer server), or an answer without a body.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status this code is always sent with.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest | UploadInterrupted | EmptyUpload => 400,
            Unauthenticated => 401,
            ForbiddenHost | CrossOrigin | Forbidden | UploadsDisabled => 403,
            NotFound => 404,
            UploadTimeout => 408,
            NotReady | ViewersWaiting => 409,
            UploadTooLarge => 413,
            UnsupportedMediaType => 415,
            BadArchive => 422,
            RateLimited | TooManyJobs | UploadsBusy => 429,
            Internal | Unknown => 500,
            SourceFailed => 502,
            DockerUnavailable => 503,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_travel_as_snake_case_words() {
        let body = ErrorBody {
            code: ErrorCode::DockerUnavailable,
            message: "m".into(),
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(json, r#"{"code":"docker_unavailable","message":"m"}"#);
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), body);
    }

    #[test]
    fn unknown_codes_from_a_newer_server_still_decode() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"brand_new","message":"m"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown);
    }

    #[test]
    fn statuses_are_error_statuses() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::TooManyJobs,
            ErrorCode::DockerUnavailable,
            ErrorCode::Unknown,
        ] {
            assert!((400..600).contains(&code.status()), "{code:?}");
        }
        assert_eq!(ErrorCode::TooManyJobs.status(), 429);
        assert_eq!(ErrorCode::NotReady.status(), 409);
    }
}
