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
//!   by the engine, so a waiter that gives up does not restart or abort it for others.
//! - At most [`MAX_CONCURRENT_EXPORTS`] exports run at once (each costs the daemon a
//!   temporary copy of the image).

mod daemon;
mod export;

use crate::cache::LayerCache;
use crate::progress::{ChunkProgress, Progress, ProgressSink, Stage};
use crate::source::archive_file::{self, ArchiveFileError};
use crate::source::docker::{DockerClient, DockerError};
use crate::source::oci_dir::{self, OciDirError};
use crate::source::{Source, SourceError};
use app::archive::{ArchiveError, Platform};
use app::limits::Limits;
use app::model::{Digest, Image, LayerIndex};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio_util::sync::CancellationToken;

pub use daemon::Flight;

/// Exports allowed to run at the same time.
pub const MAX_CONCURRENT_EXPORTS: usize = 2;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Docker endpoint; `None` = `DOCKER_HOST` or the local socket.
    pub docker_host: Option<String>,
    /// On-disk cache directory; `None` = no disk cache (see [`crate::cache::default_dir`]).
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Read layers from the daemon's own store (tar-split) when it is readable.
    pub use_layer_store: bool,
    /// Longest silence tolerated between two chunks of an export.
    pub export_idle_timeout: std::time::Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            docker_host: None,
            cache_dir: None,
            limits: Limits::default(),
            use_layer_store: true,
            export_idle_timeout: crate::source::docker::EXPORT_IDLE_TIMEOUT,
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
    /// From an archive file or OCI layout.
    pub from_archive: usize,
    /// Whether the daemon was asked for an export.
    pub exported: bool,
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
    /// A file or directory could not be read.
    #[error("{0}")]
    Io(String),
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
        )
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
    flights: Mutex<HashMap<Digest, Flight>>,
    exports: tokio::sync::Semaphore,
    stats: Counters,
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
        let docker = DockerClient::new(config.docker_host.as_deref())
            .map(|d| d.with_export_idle_timeout(config.export_idle_timeout));
        let (cache, cache_error) = match &config.cache_dir {
            None => (None, None),
            Some(dir) => match LayerCache::open(dir) {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        Engine {
            inner: Arc::new(Inner {
                config,
                docker,
                cache,
                cache_error,
                memory: Mutex::new(HashMap::new()),
                flights: Mutex::new(HashMap::new()),
                exports: tokio::sync::Semaphore::new(MAX_CONCURRENT_EXPORTS),
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
        progress.report(Progress::Stage {
            stage: Stage::Resolving,
        });
        match source {
            Source::Docker(r) => {
                let id = self.docker()?.resolve(r).await?;
                self.load_daemon_image(&id, progress, cancel).await
            }
            Source::DockerArchive { path, reference }
            | Source::OciArchive { path, reference }
            | Source::ArchiveFile { path, reference } => {
                self.load_archive(
                    path.clone(),
                    false,
                    reference.clone(),
                    options,
                    progress,
                    cancel,
                )
                .await
            }
            Source::OciDir { path, reference } => {
                self.load_archive(
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

    async fn load_archive(
        &self,
        path: PathBuf,
        is_dir: bool,
        reference: Option<String>,
        options: &LoadOptions,
        progress: Arc<dyn ProgressSink>,
        cancel: CancellationToken,
    ) -> Result<Loaded, EngineError> {
        let platform = options.platform.clone().unwrap_or_else(host_platform);
        let inner = self.inner.clone();
        let task_cancel = cancel.clone();
        let sink = progress.clone();
        let task = tokio::task::spawn_blocking(move || {
            sink.report(Progress::Stage {
                stage: Stage::ReadingArchive,
            });
            let mut counter = ChunkProgress::new(&*sink, &task_cancel);
            let limits = &inner.config.limits;
            let archive = if is_dir {
                oci_dir::read_dir(&path, limits, &mut counter)
                    .map_err(|e| dir_error(e, &task_cancel))
            } else {
                archive_file::read_file(&path, limits, &mut counter)
                    .map_err(|e| file_error(e, &task_cancel))
            }?;
            let name = path.display().to_string();
            let image = archive
                .select(reference.as_deref(), Some(&platform))
                .map_err(|error| EngineError::Archive {
                    source_name: name,
                    error,
                })?;
            Ok::<_, EngineError>(image)
        });
        let image = tokio::select! {
            r = task => r.map_err(|e| EngineError::Internal(e.to_string()))??,
            _ = cancel.cancelled() => return Err(EngineError::Cancelled),
        };
        let count = image.layers.len();
        let mut image = image;
        for (i, layer) in image.layers.iter_mut().enumerate() {
            *layer = self.inner.remember(layer.clone(), true);
            progress.report(Progress::Layer {
                index: i,
                count,
                diff_id: layer.diff_id.to_string(),
                from_cache: false,
            });
        }
        self.inner
            .stats
            .parsed_layers
            .fetch_add(count as u64, Ordering::Relaxed);
        progress.report(Progress::Stage { stage: Stage::Done });
        Ok(Loaded {
            image: Arc::new(image),
            report: LoadReport {
                layers: count,
                from_archive: count,
                ..LoadReport::default()
            },
        })
    }
}

impl Inner {
    /// A verified layer from memory or disk.
    fn cached_layer(&self, diff_id: &Digest) -> Option<Arc<LayerIndex>> {
        if let Some(hit) = self
            .memory
            .lock()
            .ok()
            .and_then(|m| m.get(diff_id).and_then(Weak::upgrade))
        {
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
        let Ok(mut m) = self.memory.lock() else {
            return layer;
        };
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

fn file_error(e: ArchiveFileError, cancel: &CancellationToken) -> EngineError {
    if cancel.is_cancelled() {
        return EngineError::Cancelled;
    }
    match e {
        ArchiveFileError::Io { .. } => EngineError::Io(e.to_string()),
        ArchiveFileError::Archive { path, source } => EngineError::Archive {
            source_name: path.display().to_string(),
            error: source,
        },
    }
}

fn dir_error(e: OciDirError, cancel: &CancellationToken) -> EngineError {
    if cancel.is_cancelled() {
        return EngineError::Cancelled;
    }
    match e {
        OciDirError::Archive { path, source } => EngineError::Archive {
            source_name: path.display().to_string(),
            error: source,
        },
        other => EngineError::Io(other.to_string()),
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
