//! Archive uploads: `POST /api/v1/uploads` takes the raw bytes of a `docker save` or OCI
//! archive, streams them to a private spool file ([`spool`]), loads the image in-process
//! through the engine, and adds it to the image list beside the daemon's
//! (through an [`UploadTarget`], in the server [`crate::backend::SourcesBackend`]). Archives are never handed to the daemon
//! (BAD-INPUTS §3: `POST /images/load` unpacks attacker tars).
//!
//! Limits: the body is capped by `--max-upload-size` while it streams (a larger
//! `Content-Length` is refused before reading), at most [`MAX_CONCURRENT_UPLOADS`] run at
//! once (429 with `Retry-After` beyond), and a client that sends nothing for
//! `--upload-idle-timeout` seconds gets 408. This route alone is exempt from the JSON
//! body rule, the 1 MiB body limit and the 30 s request timeout (see
//! [`is_upload_request`]); the host check, rate limit, authentication and the
//! cross-origin check apply as to every route. Uploads change nothing in the daemon, so
//! read-only servers accept them from any authenticated user.

mod error;
mod spool;

pub use error::UploadError;
pub use spool::{Spool, SpoolError};

use super::audit::AUDIT_TARGET;
use super::auth::Principal;
use super::state::AppState;
use crate::backend::{OpenedSource, SourcesBackend};
use crate::engine::{Engine, EngineError, LoadOptions};
use crate::progress::NoProgress;
use crate::source::Source;
use app::api::ImageSummary;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The upload route, as the security layers see it.
pub const UPLOAD_PATH: &str = "/api/v1/uploads";
/// Uploads allowed to run at the same time.
pub const MAX_CONCURRENT_UPLOADS: usize = 2;
/// The default `--max-upload-size`.
pub const DEFAULT_MAX_UPLOAD_SIZE: u64 = 4 << 30;
/// The default `--upload-idle-timeout`, in seconds.
pub const DEFAULT_UPLOAD_IDLE_SECS: u64 = 30;
/// Seconds a client is asked to wait when every upload slot is taken.
const BUSY_RETRY_AFTER_SECS: u64 = 5;
/// Longest display name kept from `?name=`.
const MAX_NAME_CHARS: usize = 100;
/// Media types an upload body may declare.
const ARCHIVE_TYPES: [&str; 2] = ["application/octet-stream", "application/x-tar"];

/// Upload settings of `strata serve` (flags in `cli::serve_args`).
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Turn off archive uploads from the UI (POST /api/v1/uploads then answers 403)
    pub no_upload: bool,
    /// Largest archive accepted by upload (e.g. 500MB, 4GiB)
    pub max_upload_size: u64,
    /// Seconds an upload may send no bytes before it is abandoned with 408
    pub upload_idle_timeout: u64,
    /// Directory for uploads in progress (default: a private directory under $TMPDIR)
    pub upload_dir: Option<PathBuf>,
}

impl Default for UploadConfig {
    fn default() -> Self {
        UploadConfig {
            no_upload: false,
            max_upload_size: DEFAULT_MAX_UPLOAD_SIZE,
            upload_idle_timeout: DEFAULT_UPLOAD_IDLE_SECS,
            upload_dir: None,
        }
    }
}

/// Where a loaded upload is listed: the one thing the upload route asks of a backend.
pub trait UploadTarget: Send + Sync + 'static {
    /// Lists `upload` beside the other images and returns what it is listed as.
    fn add_upload(&self, upload: OpenedSource) -> ImageSummary;
}

impl UploadTarget for SourcesBackend {
    fn add_upload(&self, upload: OpenedSource) -> ImageSummary {
        SourcesBackend::add_upload(self, upload)
    }
}

/// What the upload route needs: where uploads go, how they are loaded and where the
/// loaded images are listed.
pub struct Uploads {
    engine: Engine,
    target: Arc<dyn UploadTarget>,
    spool: Spool,
    max_bytes: u64,
    idle: Duration,
    permits: Arc<Semaphore>,
    concurrency: usize,
}

impl Uploads {
    /// Opens the spool directory of `config`; loaded images are added to `target`.
    pub fn new(
        engine: Engine,
        target: Arc<dyn UploadTarget>,
        config: &UploadConfig,
    ) -> Result<Uploads, SpoolError> {
        let spool = Spool::open(config.upload_dir.as_deref())?;
        tracing::info!(
            "archive uploads up to {} spooled in {}",
            app::fmt::size(config.max_upload_size),
            spool.dir().display()
        );
        Ok(Uploads {
            engine,
            target,
            spool,
            max_bytes: config.max_upload_size,
            idle: Duration::from_secs(config.upload_idle_timeout.max(1)),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_UPLOADS)),
            concurrency: MAX_CONCURRENT_UPLOADS,
        })
    }

    /// The same uploads with another concurrency cap (at least one).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self.permits = Arc::new(Semaphore::new(self.concurrency));
        self
    }

    /// The same uploads with another idle timeout (tests use short ones).
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// The spool directory (empty whenever no upload is in progress).
    pub fn spool_dir(&self) -> &std::path::Path {
        self.spool.dir()
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/uploads", post(upload_archive))
}

/// Whether `req` is an upload (exempt from the JSON-only body rule, the small body
/// limit and the request timeout; every other layer applies).
pub(crate) fn is_upload_request(req: &Request) -> bool {
    req.method() == Method::POST && req.uri().path() == UPLOAD_PATH
}

/// Whether the request declares an archive body (`application/octet-stream` or
/// `application/x-tar`). Neither can be sent by an HTML form, so the CSRF rule that
/// bodies must be JSON keeps its purpose.
pub(crate) fn is_archive_body(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            ARCHIVE_TYPES
                .iter()
                .any(|t| mime.trim().eq_ignore_ascii_case(t))
        })
}

/// `POST /api/v1/uploads[?name=FILE]`: 201 with the image's list entry.
async fn upload_archive(State(state): State<AppState>, req: Request) -> Response {
    let user = req
        .extensions()
        .get::<Principal>()
        .map_or_else(|| "-".to_owned(), |p| p.user.clone());
    let name = display_name(req.uri().query());
    let outcome = match state.uploads.clone() {
        None => Err(UploadError::Disabled),
        Some(uploads) => receive_and_load(&uploads, &name, req).await,
    };
    match outcome {
        Ok((summary, bytes)) => {
            tracing::info!(
                target: AUDIT_TARGET,
                user = ?user,
                name = ?name,
                bytes,
                image = %summary.id,
                "upload loaded"
            );
            let location = format!("/api/v1/images/{}", summary.id);
            let mut response = (StatusCode::CREATED, Json(summary)).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Err(e) => {
            tracing::info!(
                target: AUDIT_TARGET,
                user = ?user,
                name = ?name,
                error = %e,
                "upload refused"
            );
            e.into_response()
        }
    }
}

async fn receive_and_load(
    uploads: &Uploads,
    name: &str,
    req: Request,
) -> Result<(ImageSummary, u64), UploadError> {
    let headers = req.headers();
    if let Some(enc) = headers.get(header::CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?");
        if !enc.trim().eq_ignore_ascii_case("identity") {
            return Err(UploadError::Encoded(enc.to_owned()));
        }
    }
    if !is_archive_body(&req) {
        return Err(UploadError::MediaType);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > uploads.max_bytes) {
        return Err(UploadError::TooLarge {
            limit: uploads.max_bytes,
        });
    }
    let _permit = uploads
        .permits
        .clone()
        .try_acquire_owned()
        .map_err(|_| UploadError::Busy {
            running: uploads.concurrency,
            retry_after: BUSY_RETRY_AFTER_SECS,
        })?;
    let spooled = spool::receive(
        &uploads.spool,
        req.into_body(),
        uploads.max_bytes,
        uploads.idle,
    )
    .await?;
    let source = Source::ArchiveFile {
        path: spooled.path.to_path_buf(),
        reference: None,
    };
    // Stops the parse when the client goes away (this future is then dropped).
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    let loaded = uploads
        .engine
        .load(
            &source,
            &LoadOptions::default(),
            Arc::new(NoProgress),
            cancel,
        )
        .await;
    let spool_path = spooled.path.display().to_string();
    if let Err(e) = spooled.path.close() {
        tracing::warn!("cannot remove spooled upload {spool_path}: {e}");
    }
    let loaded = loaded.map_err(|e| load_error(&e, &spool_path, name))?;
    let summary = uploads.target.add_upload(OpenedSource {
        source: format!("upload:{name}"),
        image: loaded.image,
    });
    Ok((summary, spooled.bytes))
}

/// The engine's one-line error, naming the upload instead of its spool file.
fn load_error(e: &EngineError, spool_path: &str, name: &str) -> UploadError {
    match e {
        EngineError::Internal(detail) => UploadError::Internal(detail.clone()),
        EngineError::Cancelled => UploadError::Interrupted("client went away".to_owned()),
        other => UploadError::BadArchive(other.to_string().replace(spool_path, name)),
    }
}

/// `?name=` reduced to a file name of printable characters; `archive.tar` by default.
fn display_name(query: Option<&str>) -> String {
    let raw = query
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "name")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        "archive.tar".to_owned()
    } else {
        clean.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_file_names_only() {
        assert_eq!(display_name(Some("name=app.tar")), "app.tar");
        assert_eq!(display_name(Some("name=..%2F..%2Fetc%2Fpasswd")), "passwd");
        assert_eq!(display_name(Some("name=C%3A%5Cx%5Cimg.tar")), "img.tar");
        assert_eq!(display_name(Some("name=a%0Ab.tar")), "ab.tar");
        assert_eq!(display_name(Some("name=..")), "archive.tar");
        assert_eq!(display_name(None), "archive.tar");
        assert_eq!(
            display_name(Some(&format!("name={}", "x".repeat(500)))).len(),
            MAX_NAME_CHARS
        );
    }
}
