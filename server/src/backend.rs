//! Image backends: what the dashboard needs from wherever images live (health, list,
//! detail, full load, sharing inputs), as the [`Backend`] trait, and its two
//! implementations — [`DaemonBackend`] over the Docker daemon (through the engine) and
//! [`SourcesBackend`], which adds images opened from the command line or uploaded.
//!
//! A module of its own, not part of `http` or `source`: a backend is neither HTTP (the
//! routes only hold an `Arc<dyn Backend>`; tests plug in fakes) nor a way to read one
//! image (that is [`crate::source`] and [`crate::engine`]); it is the catalogue of
//! images one server shows, with the per-image metadata caches that go with it.

mod daemon;
mod sources;

pub use daemon::DaemonBackend;
pub use sources::{open_sources, OpenError, OpenedSource, SourcesBackend, MAX_KEPT_UPLOADS};

use app::api::{DockerHealth, ImageDetail, ImageSummary, Progress};
use app::compare::SharingInput;
use app::model::{Digest, Image};
use futures_util::future::BoxFuture;
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
}

/// What went wrong talking to a source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The daemon could not be reached.
    #[error("docker daemon at {address} is unavailable: {reason}")]
    Unavailable { address: String, reason: String },
    /// No such image (or other object).
    #[error("{0}")]
    NotFound(String),
    /// The daemon rejected the request (bad filter, bad reference).
    #[error("{0}")]
    Invalid(String),
    /// Anything else (read errors, limits, corrupt layers).
    #[error("{0}")]
    Failed(String),
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
}
