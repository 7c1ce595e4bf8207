//! The one entry point the CLI and the HTTP server use to turn a [`Source`] into a
//! complete [`Image`]: daemon images (layer cache → the daemon's layer store via
//! tar-split → export), archive files and OCI layout directories, with progress events
//! and cancellation.
//!
//! Invariants:
//! - Layers are keyed by diff ID everywhere; an index enters the memory map or the disk
//!   cache only after its diff ID was verified (computed from the bytes, or, on the layer
//!   store path, recorded by the daemon for exactly that chain position), and only from
//!   a read that succeeded as a whole — nothing from a failed or partial read is cached.
//! - Loads of one daemon image are de-duplicated: the work runs in a spawned task owned
//!   by the engine, so a waiter that gives up does not restart or abort it for others;
//!   when the last waiter gives up (cancels or drops its future) the load is cancelled:
//!   the export stream to the daemon is dropped and the parser stops.
//! - At most [`MAX_CONCURRENT_EXPORTS`] exports run at once (each costs the daemon a
//!   temporary copy of the image); the others wait in a fair [`ExportQueue`] and hear
//!   their place in line through [`ProgressSink::queued`].

mod archive;
mod daemon;
mod export;
mod queue;
pub mod registry;

use crate::cache::LayerCache;
use crate::progress::{LoadProgress, LoadStage, ProgressSink};
use crate::registry::{BlobStore, RegistryClient, RegistryError, RegistrySettings};
use crate::single_flight::{Keep, SingleFlight, TaskFailed};
use crate::source::docker::{DockerClient, DockerError};
use crate::source::{Source, SourceError};
use app::archive::{ArchiveError, Platform};
use app::limits::Limits;
use app::model::{Digest, Image, LayerIndex};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tokio_util::sync::CancellationToken;

pub use queue::{ExportQueue, QueueClosed};

/// Exports allowed to run at the same time.
pub const MAX_CONCURRENT_EXPORTS: usize = 2;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Docker endpoint; `None` = `DOCKER_HOST` or the local socket.
    pub docker_host: Option<String>,
    /// TLS files of that endpoint; `None` = `DOCKER_CERT_PATH` (when TLS is asked for).
    pub docker_cert_path: Option<PathBuf>,
    /// On-disk cache directory; `None` = no disk cache (see [`crate::cache::default_dir`]).
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Read layers from the daemon's own store (tar-split) when it is readable.
    pub use_layer_store: bool,
    /// Longest silence tolerated between two chunks of an export.
    pub export_idle_timeout: std::time::Duration,
    /// How registries are reached (credentials, CAs, plain-HTTP hosts).
    pub registry: RegistrySettings,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            docker_host: None,
            docker_cert_path: None,
            cache_dir: None,
            limits: Limits::default(),
            use_layer_store: true,
            export_idle_timeout: crate::source::docker::EXPORT_IDLE_TIMEOUT,
            registry: RegistrySettings::default(),
        }
    }
}

/// Per-load options.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Platform to pick from multi-platform archives; `None` = the host's
    /// ([`host_platform`]). Daemon images have one platform per ID and ignore it.
    pub platform: Option<Platform>,
}

/// Where the layers of one load came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    pub layers: usize,
    /// From the memory map or the disk cache.
    pub from_cache: usize,
    /// From the daemon's layer store (tar-split).
    pub from_layer_store: usize,
    /// From `GET /images/{id}/get`.
    pub from_export: usize,
    /// From an archive file or OCI layout (or a registry blob already on disk).
    pub from_archive: usize,
    /// Downloaded from a registry.
    pub from_registry: usize,
    /// Whether the daemon was asked for an export.
    pub exported: bool,
}

impl std::fmt::Display for LoadReport {
    /// `layers from cache: 1/3, from layer store: 0, from export: 0, from archive: 0,
    /// from registry: 2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "layers from cache: {}/{}, from layer store: {}, from export: {}, from archive: {}, from registry: {}",
            self.from_cache,
            self.layers,
            self.from_layer_store,
            self.from_export,
            self.from_archive,
            self.from_registry
        )
    }
}

/// A loaded image and how it was obtained.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub image: Arc<Image>,
    pub report: LoadReport,
}

/// Totals since the engine started (for tests, logs and the API's health view).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EngineStats {
    pub exports: u64,
    pub layer_store_layers: u64,
    pub cached_layers: u64,
    pub parsed_layers: u64,
}

/// Why a load failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The SOURCE string is invalid.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The daemon failed or is unreachable.
    #[error(transparent)]
    Docker(#[from] DockerError),
    /// A registry failed, refused or is unreachable (boxed: it is the largest cause).
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// A file or directory could not be read (the `io::Error` is kept as the source;
    /// `Arc` because load results are shared between waiters).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A directory is too large or too deep to be an OCI layout.
    #[error("{}: {what}; not an OCI image layout?", path.display())]
    NotALayout {
        path: std::path::PathBuf,
        what: String,
    },
    /// The image data is invalid (bad archive, digest mismatch, missing layers, ...).
    #[error("{source_name}: {error}")]
    Archive {
        source_name: String,
        error: ArchiveError,
    },
    /// The daemon's answers disagree with each other or with the exported data.
    #[error("image {id}: {message}")]
    Inconsistent { id: String, message: String },
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A worker task failed (a bug, reported instead of crashing).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<RegistryError> for EngineError {
    fn from(e: RegistryError) -> Self {
        EngineError::Registry(Box::new(e))
    }
}

impl From<TaskFailed> for EngineError {
    fn from(e: TaskFailed) -> Self {
        EngineError::Internal(e.to_string())
    }
}

impl EngineError {
    /// True when the daemon could not be reached (the CLI suggests archives then).
    pub fn is_daemon_unavailable(&self) -> bool {
        matches!(self, EngineError::Docker(DockerError::Unavailable { .. }))
    }

    /// True when the image (or file) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            EngineError::Docker(DockerError::NotFound(_))
                | EngineError::Source(SourceError::NotFound(_))
        ) || matches!(self, EngineError::Registry(r) if r.is_not_found())
    }
}

/// The engine: cheap to clone, shareable between requests.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    config: EngineConfig,
    docker: Result<DockerClient, DockerError>,
    cache: Option<LayerCache>,
    cache_error: Option<String>,
    memory: Mutex<HashMap<Digest, Weak<LayerIndex>>>,
    flights: SingleFlight<Digest, Loaded, EngineError, Arc<daemon::FanOut>>,
    exports: ExportQueue,
    stats: Counters,
    registry: Result<RegistryClient, RegistryError>,
    /// The blob store, opened on first use (a temporary one without a cache directory).
    blobs: std::sync::OnceLock<Result<(BlobStore, Option<tempfile::TempDir>), RegistryError>>,
}

#[derive(Default)]
struct Counters {
    exports: AtomicU64,
    layer_store_layers: AtomicU64,
    cached_layers: AtomicU64,
    parsed_layers: AtomicU64,
}

impl Engine {
    /// Builds an engine. Nothing is contacted yet; a cache directory that cannot be
    /// created disables the disk cache (see [`Engine::cache_error`]).
    pub fn new(config: EngineConfig) -> Self {
        let docker = DockerClient::new(config.docker_host.as_deref()).map(|d| {
            d.with_export_idle_timeout(config.export_idle_timeout)
                .with_cert_path(config.docker_cert_path.clone())
        });
        let (cache, cache_error) = match &config.cache_dir {
            None => (None, None),
            Some(dir) => match LayerCache::open(dir) {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        let registry = RegistryClient::new(config.registry.clone());
        Engine {
            inner: Arc::new(Inner {
                registry,
                blobs: std::sync::OnceLock::new(),
                config,
                docker,
                cache,
                cache_error,
                memory: Mutex::new(HashMap::new()),
                flights: SingleFlight::new(Keep::InFlight),
                exports: ExportQueue::new(MAX_CONCURRENT_EXPORTS),
                stats: Counters::default(),
            }),
        }
    }

    /// The daemon client (fails only for an unusable `--docker-host`/`DOCKER_HOST`).
    pub fn docker(&self) -> Result<&DockerClient, EngineError> {
        self.inner
            .docker
            .as_ref()
            .map_err(|e| EngineError::Docker(e.clone()))
    }

    /// Why the disk cache is off, when a directory was given but is unusable.
    pub fn cache_error(&self) -> Option<&str> {
        self.inner.cache_error.as_deref()
    }

    /// The queue in front of the export slots.
    pub fn export_queue(&self) -> &ExportQueue {
        &self.inner.exports
    }

    /// Totals since start.
    pub fn stats(&self) -> EngineStats {
        let s = &self.inner.stats;
        EngineStats {
            exports: s.exports.load(Ordering::Relaxed),
            layer_store_layers: s.layer_store_layers.load(Ordering::Relaxed),
            cached_layers: s.cached_layers.load(Ordering::Relaxed),
            parsed_layers: s.parsed_layers.load(Ordering::Relaxed),
        }
    }

    /// Loads any source completely.
    pub async fn load(
        &self,
        source: &Source,
        options: &LoadOptions,
        progress: Arc<dyn ProgressSink>,
        cancel: CancellationToken,
    ) -> Result<Loaded, EngineError> {
        progress.report(LoadProgress::Stage {
            stage: LoadStage::Resolving,
        });
        match source {
            Source::Docker(r) => {
                let id = self.docker()?.resolve(r).await?;
                self.load_daemon_image(&id, progress, cancel).await
            }
            Source::DockerArchive { path, reference }
            | Source::OciArchive { path, reference }
            | Source::ArchiveFile { path, reference } => {
                archive::load(
                    &self.inner,
                    path.clone(),
                    false,
                    reference.clone(),
                    options,
                    progress,
                    cancel,
                )
                .await
            }
            Source::Registry(r) => registry::load(&self.inner, r, options, progress, cancel).await,
            Source::OciDir { path, reference } => {
                archive::load(
                    &self.inner,
                    path.clone(),
                    true,
                    reference.clone(),
                    options,
                    progress,
                    cancel,
                )
                .await
            }
        }
    }

    /// Loads a daemon image by its full ID (what the HTTP layer calls after listing).
    /// Concurrent calls for one ID share one load.
    pub async fn load_daemon_image(
        &self,
        id: &Digest,
        progress: Arc<dyn ProgressSink>,
        cancel: CancellationToken,
    ) -> Result<Loaded, EngineError> {
        daemon::load_shared(&self.inner, id, progress, cancel).await
    }

    /// The archive member names of the image's layers in a daemon export (`<v1-id>/layer.tar`
    /// with Docker ≤ 24, `blobs/sha256/<hex>` later): dive's layer IDs. Costs one export,
    /// as `dive IMAGE` does.
    pub async fn export_layer_members(
        &self,
        id: &Digest,
    ) -> Result<Option<Vec<String>>, EngineError> {
        daemon::export_layer_members(&self.inner, id).await
    }

    /// The daemon's graphdriver layer store, when this process can read it (file
    /// contents of daemon images are read from there).
    pub async fn layer_store(&self) -> Option<crate::source::storage::LayerStore> {
        if !self.inner.config.use_layer_store {
            return None;
        }
        daemon::layer_store(&self.inner).await
    }

    /// Writes the daemon's export of image `id` (`docker save` format) to `dest`, taking
    /// an export slot like a load does.
    pub async fn export_to_file(
        &self,
        id: &Digest,
        dest: &std::path::Path,
    ) -> Result<(), EngineError> {
        daemon::export_to_file(&self.inner, id, dest).await
    }

    /// How many bottom layers are the base image, judged from the other tagged images in
    /// the daemon (the longest one whose layers are a strict prefix of `image`'s); `None`
    /// when none is found (callers then treat layer 0 as the base, like dive).
    pub async fn base_layers(&self, image: &Image) -> Option<u32> {
        daemon::base_layers(&self.inner, image).await
    }
}

impl Engine {
    /// The registry client (fails only for unusable `--registry-ca` files).
    pub fn registry(&self) -> Result<&RegistryClient, EngineError> {
        self.inner.registry()
    }

    /// The bytes of layer `layer` of an image loaded from registry reference `r` (the
    /// blob is fetched into the blob store when it is not there yet).
    pub async fn registry_layer_bytes(
        &self,
        r: &crate::registry::RegistryRef,
        image: &Image,
        layer: usize,
    ) -> Result<crate::content::LayerBytes, EngineError> {
        registry::layer_bytes(&self.inner, r, image, layer).await
    }

    /// The content size of a layer already read (memory or disk cache), by diff ID.
    pub fn cached_size(&self, diff_id: &Digest) -> Option<u64> {
        self.inner.cached_layer(diff_id).map(|l| l.content_size())
    }

    /// The store registry blobs are kept in.
    pub fn blob_store(&self) -> Result<BlobStore, EngineError> {
        self.inner.blob_store()
    }
}

impl Inner {
    fn registry(&self) -> Result<&RegistryClient, EngineError> {
        self.registry
            .as_ref()
            .map_err(|e| EngineError::from(e.clone()))
    }

    fn blob_store(&self) -> Result<BlobStore, EngineError> {
        let opened = self.blobs.get_or_init(|| match &self.config.cache_dir {
            Some(dir) => BlobStore::open(&dir.join("blobs")).map(|s| (s, None)),
            None => {
                let tmp = tempfile::tempdir().map_err(|e| RegistryError::Store {
                    path: std::env::temp_dir(),
                    message: e.to_string(),
                })?;
                BlobStore::open(tmp.path()).map(|s| (s, Some(tmp)))
            }
        });
        opened
            .as_ref()
            .map(|(s, _)| s.clone())
            .map_err(|e| EngineError::from(e.clone()))
    }

    /// A verified layer from memory or disk.
    fn cached_layer(&self, diff_id: &Digest) -> Option<Arc<LayerIndex>> {
        if let Some(hit) = self.memory.lock().get(diff_id).and_then(Weak::upgrade) {
            return Some(hit);
        }
        let from_disk = self.cache.as_ref()?.get_layer(diff_id)?;
        Some(self.remember(Arc::new(from_disk), false))
    }

    /// Records a verified layer in memory (and on disk when `persist`), returning the
    /// shared copy (an equal one already in memory wins, so images share layers).
    fn remember(&self, layer: Arc<LayerIndex>, persist: bool) -> Arc<LayerIndex> {
        if persist {
            if let Some(cache) = &self.cache {
                if let Err(e) = cache.put_layer(&layer) {
                    tracing::warn!("layer cache: {e}");
                }
            }
        }
        let mut m = self.memory.lock();
        if let Some(existing) = m.get(&layer.diff_id).and_then(Weak::upgrade) {
            return existing;
        }
        if m.len() > 4096 {
            m.retain(|_, w| w.strong_count() > 0);
        }
        m.insert(layer.diff_id.clone(), Arc::downgrade(&layer));
        layer
    }
}

/// The platform images run on here, as Docker names it (`linux/amd64`, `linux/arm64`):
/// images are Linux ones whatever the host OS, as with Docker Desktop.
pub fn host_platform() -> Platform {
    let (arch, variant) = match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "x86" => ("386", None),
        "aarch64" => ("arm64", None),
        "arm" => ("arm", Some("v7")),
        "powerpc64" => ("ppc64le", None),
        "s390x" => ("s390x", None),
        "riscv64" => ("riscv64", None),
        "loongarch64" => ("loong64", None),
        other => (other, None),
    };
    Platform::new("linux", arch, variant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_platform_is_linux() {
        let p = host_platform();
        assert_eq!(p.os, "linux");
        assert!(!p.architecture.is_empty());
        if cfg!(target_arch = "x86_64") {
            assert_eq!(p.to_string(), "linux/amd64");
        }
    }

    use crate::progress::NoProgress;
    use app::testkit::{ImageBuilder, LayerBuilder};

    fn archive(dir: &std::path::Path, name: &str, image: &ImageBuilder) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, image.docker_save()).unwrap();
        path
    }

    fn sample(tag: &str) -> ImageBuilder {
        ImageBuilder::new()
            .layer(
                "ADD base",
                &LayerBuilder::new()
                    .dir("etc")
                    .file("etc/a", vec![b'a'; 500]),
            )
            .empty_step("ENV X=1")
            .layer("RUN rm", &LayerBuilder::new().whiteout("etc/a"))
            .tag(tag)
    }

    async fn load_path(
        engine: &Engine,
        source: &str,
        cancel: CancellationToken,
    ) -> Result<Loaded, EngineError> {
        let source = Source::parse(source)?;
        engine
            .load(
                &source,
                &LoadOptions::default(),
                Arc::new(NoProgress),
                cancel,
            )
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn archives_load_select_and_fill_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let one = sample("app:1");
        let path = archive(dir.path(), "one.tar", &one);
        let engine = Engine::new(EngineConfig {
            cache_dir: Some(cache.clone()),
            ..EngineConfig::default()
        });
        let source = format!("docker-archive:{}", path.display());
        let loaded = load_path(&engine, &source, CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(loaded.image.id, one.image_id());
        assert_eq!(loaded.report.from_archive, 2);
        assert_eq!(
            loaded
                .image
                .layers
                .iter()
                .map(|l| l.diff_id.clone())
                .collect::<Vec<_>>(),
            one.diff_ids()
        );
        // Verified layers went to the disk cache, keyed by diff ID.
        let disk = LayerCache::open(&cache).unwrap();
        for (d, l) in one.diff_ids().iter().zip(&loaded.image.layers) {
            assert_eq!(disk.get_layer(d).as_ref(), Some(&**l));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn corrupt_archives_fail_and_cache_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let mut bytes = sample("app:1").docker_save();
        // Flip a byte inside the first layer's payload (file contents of etc/a).
        let pos = bytes
            .windows(500)
            .position(|w| w.iter().all(|b| *b == b'a'))
            .unwrap();
        bytes[pos + 10] = b'b';
        let path = dir.path().join("bad.tar");
        std::fs::write(&path, bytes).unwrap();
        let engine = Engine::new(EngineConfig {
            cache_dir: Some(cache.clone()),
            ..EngineConfig::default()
        });
        let r = load_path(&engine, path.to_str().unwrap(), CancellationToken::new()).await;
        assert!(matches!(r, Err(EngineError::Archive { .. })), "{r:?}");
        assert_eq!(
            std::fs::read_dir(cache.join(format!("layers/v{}", crate::cache::FORMAT_VERSION)))
                .unwrap()
                .count(),
            0
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_loads_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path(), "one.tar", &sample("app:1"));
        let engine = Engine::new(EngineConfig::default());
        let cancel = CancellationToken::new();
        cancel.cancel();
        let r = load_path(&engine, path.to_str().unwrap(), cancel).await;
        assert!(matches!(r, Err(EngineError::Cancelled)), "{r:?}");
    }

    #[test]
    fn bad_docker_host_only_fails_daemon_use() {
        let e = Engine::new(EngineConfig {
            docker_host: Some("ftp://x".into()),
            ..EngineConfig::default()
        });
        assert!(matches!(
            e.docker(),
            Err(EngineError::Docker(DockerError::Config { .. }))
        ));
        assert_eq!(e.stats(), EngineStats::default());
    }
}
