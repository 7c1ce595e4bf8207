//! Image backends: what the dashboard needs from wherever images live (health, list,
//! detail, full load, sharing inputs), as the [`Backend`] trait, and its
//! implementations — [`DaemonBackend`] over one Docker daemon (through the engine),
//! [`HostsBackend`] over several named ones, and [`SourcesBackend`], which adds images
//! opened from the command line or uploaded.
//!
//! A module of its own, not part of `http` or `source`: a backend is neither HTTP (the
//! routes only hold an `Arc<dyn Backend>`; tests plug in fakes) nor a way to read one
//! image (that is [`crate::source`] and [`crate::engine`]); it is the catalogue of
//! images one server shows, with the per-image metadata caches that go with it.

mod daemon;
mod exports;
mod hosts;
mod progress;
mod sources;

pub use daemon::DaemonBackend;
pub use hosts::{Host, HostSpec, HostsBackend};
pub use progress::progress_sink;
pub use sources::{open_sources, OpenError, OpenedSource, SourcesBackend, MAX_KEPT_UPLOADS};

use crate::content::{LayerBytes, LocateError};
use crate::engine::EngineError;
use crate::source::docker::DockerError;
use app::api::{DockerHealth, ImageDetail, ImageSummary, Progress};
use app::compare::SharingInput;
use app::model::{BadDigest, Digest, Image};
use futures_util::future::{BoxFuture, FutureExt as _};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Receives progress while an image is loaded.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Filters for listing images, with `docker image ls --filter` semantics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilters {
    /// `dangling=true|false`.
    pub dangling: Option<bool>,
    /// `reference=<glob>`, any of them may match.
    pub reference: Vec<String>,
    /// `before=<image>`: created before that image.
    pub before: Option<String>,
    /// `since=<image>`: created after that image.
    pub since: Option<String>,
    /// `label=<key>` or `label=<key>=<value>`, all must match.
    pub label: Vec<String>,
    /// `host=<name>`: listed by one of these named Docker hosts (any may match).
    pub host: Vec<String>,
}

/// What went wrong talking to a source. Errors from the daemon client and the engine
/// are kept whole as the cause; [`BackendError::kind`] says which answer they deserve.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The daemon could not be reached.
    #[error("docker daemon at {address} is unavailable: {reason}")]
    Unavailable { address: String, reason: String },
    /// The daemon's list has no such image.
    #[error("no such image: {0}")]
    NoSuchImage(Digest),
    /// No such image (or other object), in a source without a typed error of its own.
    #[error("{0}")]
    NotFound(String),
    /// The request was rejected (bad filter, bad reference).
    #[error("{0}")]
    Invalid(String),
    /// The Docker daemon or its client failed.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// Loading through the engine failed (read errors, limits, corrupt layers).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The daemon's inspect answer names a layer by a malformed digest.
    #[error("image config lists a malformed layer diff ID: {0}")]
    BadDiffId(#[source] BadDigest),
    /// The layer's bytes could not be found.
    #[error(transparent)]
    Locate(#[from] LocateError),
    /// The source keeps no layer bytes (an uploaded archive once loaded).
    #[error("{0}")]
    NoBytes(String),
    /// Anything else (a worker task that failed, a source-specific failure).
    #[error("{0}")]
    Failed(String),
}

/// The answer a [`BackendError`] deserves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// The source cannot be reached now; retry later.
    Unavailable,
    /// No such image.
    NotFound,
    /// The request itself is wrong.
    Invalid,
    /// The source failed while answering.
    Failed,
}

impl BackendError {
    /// Which answer this error deserves, looking through the kept cause.
    pub fn kind(&self) -> BackendErrorKind {
        match self {
            BackendError::Unavailable { .. } => BackendErrorKind::Unavailable,
            BackendError::NoSuchImage(_) | BackendError::NotFound(_) => BackendErrorKind::NotFound,
            BackendError::Invalid(_) => BackendErrorKind::Invalid,
            BackendError::Docker(d) => docker_kind(d),
            BackendError::Engine(EngineError::Docker(d)) => docker_kind(d),
            BackendError::Engine(e) if e.is_not_found() => BackendErrorKind::NotFound,
            BackendError::Locate(LocateError::NoLayer { .. }) | BackendError::NoBytes(_) => {
                BackendErrorKind::NotFound
            }
            BackendError::Engine(_)
            | BackendError::BadDiffId(_)
            | BackendError::Locate(_)
            | BackendError::Failed(_) => BackendErrorKind::Failed,
        }
    }

    /// For an unreachable daemon, its address and the reason; `None` otherwise.
    pub fn unavailable(&self) -> Option<(&str, &str)> {
        let docker = match self {
            BackendError::Unavailable { address, reason } => return Some((address, reason)),
            BackendError::Docker(d) | BackendError::Engine(EngineError::Docker(d)) => d,
            _ => return None,
        };
        match docker {
            DockerError::Unavailable { address, reason }
            | DockerError::Config { address, reason } => Some((address, reason)),
            _ => None,
        }
    }
}

fn docker_kind(e: &DockerError) -> BackendErrorKind {
    match e {
        DockerError::Unavailable { .. } | DockerError::Config { .. } => {
            BackendErrorKind::Unavailable
        }
        DockerError::NotFound(_) => BackendErrorKind::NotFound,
        DockerError::Ambiguous { .. } => BackendErrorKind::Invalid,
        _ => BackendErrorKind::Failed,
    }
}

impl From<crate::single_flight::TaskFailed> for BackendError {
    fn from(e: crate::single_flight::TaskFailed) -> Self {
        BackendError::Failed(e.to_string())
    }
}

/// Sharing-map inputs of every local image, and a note per image left out.
pub type SharingInputs = (Vec<SharingInput>, Vec<String>);

/// Access to images for the HTTP layer.
pub trait Backend: Send + Sync + 'static {
    /// Whether the daemon answers; never fails.
    fn health(&self) -> BoxFuture<'_, DockerHealth>;
    /// Local images matching `filters`, with sizes and layer counts.
    fn list_images(
        &self,
        filters: ImageFilters,
    ) -> BoxFuture<'_, Result<Vec<ImageSummary>, BackendError>>;
    /// Inspect + config + history aligned to layers.
    fn image_detail(&self, id: Digest) -> BoxFuture<'_, Result<ImageDetail, BackendError>>;
    /// Reads every layer of the image (the expensive part), reporting progress
    /// (including the place in the export queue while waiting for a slot). Cancelling
    /// `cancel` stops the load promptly (the daemon export is dropped, nothing partial
    /// is cached); the future then fails or is simply dropped by the caller.
    fn load_image(
        &self,
        id: Digest,
        progress: ProgressFn,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<Arc<Image>, BackendError>>;
    /// Layer diff IDs and sizes of every local image, from metadata only (no layer read).
    fn sharing_inputs(&self) -> BoxFuture<'_, Result<SharingInputs, BackendError>>;
    /// Where the bytes of layer `layer` of a loaded `image` can be read (file contents).
    /// Backends that keep no layer bytes answer [`BackendError::NoBytes`].
    fn layer_bytes(
        &self,
        image: Arc<Image>,
        layer: u32,
    ) -> BoxFuture<'_, Result<LayerBytes, BackendError>> {
        let _ = (image, layer);
        async {
            Err(BackendError::NoBytes(
                "this source keeps no layer bytes".into(),
            ))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn kind_looks_through_the_kept_cause() {
        let missing = BackendError::from(DockerError::NotFound("app:1".into()));
        assert_eq!(missing.kind(), BackendErrorKind::NotFound);
        let ambiguous = BackendError::from(EngineError::Docker(DockerError::Ambiguous {
            reference: "ab".into(),
            count: 2,
        }));
        assert_eq!(ambiguous.kind(), BackendErrorKind::Invalid);
        let down = BackendError::from(EngineError::Docker(DockerError::Unavailable {
            address: "unix:///nope.sock".into(),
            reason: "no such file".into(),
        }));
        assert_eq!(down.kind(), BackendErrorKind::Unavailable);
        assert_eq!(
            down.unavailable(),
            Some(("unix:///nope.sock", "no such file"))
        );
    }

    #[test]
    fn io_errors_keep_their_source_through_the_backend() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = BackendError::from(EngineError::Io {
            path: "/srv/app.tar".into(),
            source: Arc::new(io),
        });
        assert_eq!(e.kind(), BackendErrorKind::Failed);
        // `transparent`: the engine error's own message and cause, unchanged.
        assert!(e.to_string().contains("/srv/app.tar"), "{e}");
        let io = e.source().expect("the io::Error is kept");
        assert_eq!(io.to_string(), "denied");
        let bad = BackendError::BadDiffId(BadDigest("md5:x".into()));
        assert!(bad.source().is_some());
    }
}
