//! Daemon exports kept on disk for file contents when Docker's layer store cannot be
//! read (not root, a remote daemon, `--no-layer-store`): the image is exported once to a
//! private spool directory and then read like a `docker save` file. At most
//! [`MAX_KEPT_EXPORTS`] are kept (the oldest is deleted); the directory goes with the
//! server.

use super::BackendError;
use crate::engine::Engine;
use app::model::Digest;
use std::collections::VecDeque;
use std::path::PathBuf;

/// Exported images kept at once.
pub const MAX_KEPT_EXPORTS: usize = 4;

/// The spool of exported images.
pub struct Exports {
    dir: Option<tempfile::TempDir>,
    /// Newest last. Held across an export so one image is exported once.
    kept: tokio::sync::Mutex<VecDeque<(Digest, PathBuf)>>,
}

impl Default for Exports {
    fn default() -> Self {
        Exports {
            dir: tempfile::Builder::new()
                .prefix("strata-exports-")
                .tempdir()
                .ok(),
            kept: tokio::sync::Mutex::new(VecDeque::new()),
        }
    }
}

impl Exports {
    /// The `docker save` file of image `id`, exporting it first if needed.
    pub async fn archive_of(&self, engine: &Engine, id: &Digest) -> Result<PathBuf, BackendError> {
        let dir = self.dir.as_ref().ok_or_else(|| {
            BackendError::Failed("cannot create a spool directory for exports".into())
        })?;
        let mut kept = self.kept.lock().await;
        if let Some((_, path)) = kept.iter().find(|(k, _)| k == id) {
            return Ok(path.clone());
        }
        let path = dir.path().join(format!("{}.tar", id.hex()));
        if let Err(e) = engine.export_to_file(id, &path).await {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
        kept.push_back((id.clone(), path.clone()));
        while kept.len() > MAX_KEPT_EXPORTS {
            if let Some((_, old)) = kept.pop_front() {
                let _ = std::fs::remove_file(old);
            }
        }
        Ok(path)
    }
}
