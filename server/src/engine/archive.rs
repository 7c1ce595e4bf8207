//! Loading archive files and OCI layout directories: one streaming pass in a blocking
//! task (cancellable through the counted reader), then the image selected by reference
//! and platform; its verified layers go to the memory map and the disk cache.

use super::{host_platform, EngineError, Inner, LoadOptions, LoadReport, Loaded};
use crate::progress::{ChunkProgress, LoadProgress, LoadStage, ProgressSink};
use crate::source::archive_file::{self, ArchiveFileError};
use crate::source::oci_dir::{self, OciDirError};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Reads the archive (or layout directory, `is_dir`) at `path` and returns one image.
pub(super) async fn load(
    inner: &Arc<Inner>,
    path: PathBuf,
    is_dir: bool,
    reference: Option<String>,
    options: &LoadOptions,
    progress: Arc<dyn ProgressSink>,
    cancel: CancellationToken,
) -> Result<Loaded, EngineError> {
    let platform = options.platform.clone().unwrap_or_else(host_platform);
    let task_inner = inner.clone();
    let task_cancel = cancel.clone();
    let sink = progress.clone();
    let task = tokio::task::spawn_blocking(move || {
        sink.report(LoadProgress::Stage {
            stage: LoadStage::ReadingArchive,
        });
        let mut counter = ChunkProgress::new(&*sink, &task_cancel);
        let limits = &task_inner.config.limits;
        let archive = if is_dir {
            oci_dir::read_dir(&path, limits, &mut counter).map_err(|e| dir_error(e, &task_cancel))
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
        *layer = inner.remember(layer.clone(), true);
        progress.report(LoadProgress::Layer {
            index: i,
            count,
            diff_id: layer.diff_id.to_string(),
            from_cache: false,
        });
    }
    inner
        .stats
        .parsed_layers
        .fetch_add(count as u64, Ordering::Relaxed);
    progress.report(LoadProgress::Stage {
        stage: LoadStage::Done,
    });
    Ok(Loaded {
        image: Arc::new(image),
        report: LoadReport {
            layers: count,
            from_archive: count,
            ..LoadReport::default()
        },
    })
}

fn file_error(e: ArchiveFileError, cancel: &CancellationToken) -> EngineError {
    if cancel.is_cancelled() {
        return EngineError::Cancelled;
    }
    match e {
        ArchiveFileError::Io { path, source } => EngineError::Io {
            path,
            source: Arc::new(source),
        },
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
        OciDirError::Io { path, source } => EngineError::Io {
            path,
            source: Arc::new(source),
        },
        OciDirError::TooBig { path, what } => EngineError::NotALayout { path, what },
    }
}
