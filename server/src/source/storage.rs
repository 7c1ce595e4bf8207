//! The fast path for daemon images: reading layer indexes straight from the daemon's own
//! store via tar-split metadata, and the config from the image store, instead of
//! exporting the whole image. Two store layouts are known:
//! - Docker's graphdriver store, `<DockerRootDir>/image/<driver>/layerdb/sha256/<chain-id>/`
//!   with `tar-split.json.gz`, configs in `imagedb/content/sha256/<id>` (this file);
//! - containers/storage, the store of Podman, Buildah and CRI-O:
//!   `<graphroot>/<driver>-layers/<layer-id>.tar-split.gz` ([`containers`]).
//!
//! Invariants: a layer is read only when the store records exactly the diff ID the image
//! config expects at that position (the chain ID encodes the position and every layer
//! below), and a config only when its bytes hash to the image ID. Any mismatch or
//! failure is an error the engine answers by falling back to the export; nothing here
//! writes anywhere.

mod containers;

use app::limits::Limits;
use app::model::{Digest, LayerIndex};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
/// Why the store could not serve a layer or config.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A file of the store could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The layerdb records another diff ID for this chain ID.
    #[error("layer store {path}: diff is {found:?}, image expects {expected}")]
    DiffMismatch {
        path: PathBuf,
        expected: Digest,
        found: String,
    },
    /// The stored config does not hash to the image ID.
    #[error("image store config for {0} does not match its id")]
    ConfigMismatch(Digest),
    /// tar-split metadata could not be turned into an index.
    #[error("tar-split of layer {diff_id}: {message}")]
    TarSplit { diff_id: Digest, message: String },
}

/// The daemon's image store, when this process can read it.
#[derive(Debug, Clone)]
pub struct LayerStore {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Docker's graphdriver store: `<root>/image/<driver>`.
    Graph { base: PathBuf },
    /// containers/storage (Podman): `<root>/<driver>-layers`, `<root>/<driver>-images`.
    Containers(Arc<containers::ContainersStore>),
}

impl LayerStore {
    /// The store under `root` for `driver` (as the daemon's `/info` reports them), if
    /// its layer metadata is readable.
    pub fn open(root: &Path, driver: &str) -> Option<Self> {
        if driver.is_empty()
            || !driver
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return None;
        }
        let base = root.join("image").join(driver);
        if std::fs::read_dir(base.join("layerdb").join("sha256")).is_ok() {
            return Some(LayerStore {
                kind: Kind::Graph { base },
            });
        }
        match containers::ContainersStore::open(root, driver) {
            Ok(store) => Some(LayerStore {
                kind: Kind::Containers(Arc::new(store)),
            }),
            Err(e) => {
                tracing::debug!("no readable layer store under {}: {e}", root.display());
                None
            }
        }
    }

    /// The raw config of image `id`, verified against its digest.
    pub fn read_config(&self, id: &Digest, limits: &Limits) -> Result<Vec<u8>, StorageError> {
        let path = match &self.kind {
            Kind::Graph { base } => base.join("imagedb/content/sha256").join(id.hex()),
            Kind::Containers(store) => store.config_path(id),
        };
        let bytes = read_capped(&path, limits.max_json)?;
        if Digest::of(&bytes) != *id {
            return Err(StorageError::ConfigMismatch(id.clone()));
        }
        Ok(bytes)
    }

    /// The index of the layer at `chain_id` (its position), checked to hold `diff_id`.
    pub fn index_layer(
        &self,
        chain_id: &Digest,
        diff_id: &Digest,
        limits: &Limits,
    ) -> Result<LayerIndex, StorageError> {
        let ts_path = match &self.kind {
            Kind::Graph { base } => {
                graph_layer_dir(base, chain_id, diff_id)?.join("tar-split.json.gz")
            }
            Kind::Containers(store) => store.tar_split_path(chain_id, diff_id)?,
        };
        let file = std::fs::File::open(&ts_path).map_err(|source| StorageError::Io {
            path: ts_path.clone(),
            source,
        })?;
        app::tarsplit::index_tar_split(BufReader::new(file), diff_id.clone(), limits).map_err(|e| {
            StorageError::TarSplit {
                diff_id: diff_id.clone(),
                message: e.to_string(),
            }
        })
    }

    /// Whether the driver keeps each layer's own changes in a directory
    /// ([`LayerStore::diff_dir`]): Docker's overlay2 and containers/storage's overlay.
    pub fn has_diff_dirs(&self) -> bool {
        match &self.kind {
            Kind::Graph { base } => base.file_name().is_some_and(|d| d == "overlay2"),
            Kind::Containers(store) => store.driver() == "overlay",
        }
    }

    /// The unpacked directory of the layer at `chain_id`, checked to hold `diff_id` like
    /// [`LayerStore::index_layer`]: Docker's overlay2 `<root>/overlay2/<cache-id>/diff`,
    /// containers/storage's overlay `<root>/overlay/<layer-id>/diff`. Other drivers keep
    /// whole filesystems per layer (vfs) or no directory at all, so they have none.
    pub fn diff_dir(&self, chain_id: &Digest, diff_id: &Digest) -> Result<PathBuf, StorageError> {
        match &self.kind {
            Kind::Graph { base } => graph_diff_dir(base, chain_id, diff_id),
            Kind::Containers(store) => store.diff_dir(chain_id, diff_id),
        }
    }
}

/// `layerdb/sha256/<chain-id>/`, checked to record `diff_id` as its diff.
fn graph_layer_dir(
    base: &Path,
    chain_id: &Digest,
    diff_id: &Digest,
) -> Result<PathBuf, StorageError> {
    let dir = base.join("layerdb/sha256").join(chain_id.hex());
    let diff_path = dir.join("diff");
    let recorded = read_capped(&diff_path, 128)?;
    let recorded = String::from_utf8_lossy(&recorded).trim().to_owned();
    if recorded != diff_id.as_str() {
        return Err(StorageError::DiffMismatch {
            path: diff_path,
            expected: diff_id.clone(),
            found: recorded.chars().take(80).collect(),
        });
    }
    Ok(dir)
}

fn graph_diff_dir(
    base: &Path,
    chain_id: &Digest,
    diff_id: &Digest,
) -> Result<PathBuf, StorageError> {
    let dir = graph_layer_dir(base, chain_id, diff_id)?;
    let cache_id_path = dir.join("cache-id");
    let cache_id = read_capped(&cache_id_path, 128)?;
    let cache_id = String::from_utf8_lossy(&cache_id).trim().to_owned();
    let driver = base.file_name().and_then(|d| d.to_str()).unwrap_or("");
    let root = base.parent().and_then(Path::parent);
    match root {
        Some(root) if is_plain_name(&cache_id) && driver == "overlay2" => {
            Ok(root.join(driver).join(cache_id).join("diff"))
        }
        _ => Err(no_diff_dir(cache_id_path, driver, &cache_id)),
    }
}

/// A store-recorded ID that is safe as one path component.
fn is_plain_name(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn no_diff_dir(path: PathBuf, driver: &str, id: &str) -> StorageError {
    StorageError::Io {
        path,
        source: std::io::Error::other(format!(
            "no unpacked layer directory (driver {driver}, layer {id:?})"
        )),
    }
}

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, StorageError> {
    let io = |source| StorageError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(io(std::io::Error::other(format!(
            "larger than {cap} bytes"
        ))));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_driver_names_and_missing_roots() {
        assert!(LayerStore::open(Path::new("/nonexistent"), "overlay2").is_none());
        assert!(LayerStore::open(Path::new("/"), "../etc").is_none());
        assert!(LayerStore::open(Path::new("/"), "").is_none());
    }

    #[test]
    fn checks_diff_and_config_digests() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("image/overlay2");
        let diff = Digest::of(b"layer");
        let chain = diff.clone();
        let layer_dir = base.join("layerdb/sha256").join(chain.hex());
        std::fs::create_dir_all(&layer_dir).unwrap();
        std::fs::write(layer_dir.join("diff"), Digest::of(b"other").as_str()).unwrap();
        let store = LayerStore::open(dir.path(), "overlay2").unwrap();
        let limits = Limits::default();
        assert!(matches!(
            store.index_layer(&chain, &diff, &limits),
            Err(StorageError::DiffMismatch { .. })
        ));

        let cfg_dir = base.join("imagedb/content/sha256");
        std::fs::create_dir_all(&cfg_dir).unwrap();
        let raw = b"{}";
        let id = Digest::of(raw);
        std::fs::write(cfg_dir.join(id.hex()), b"{ }").unwrap();
        assert!(matches!(
            store.read_config(&id, &limits),
            Err(StorageError::ConfigMismatch(_))
        ));
        std::fs::write(cfg_dir.join(id.hex()), raw).unwrap();
        assert_eq!(store.read_config(&id, &limits).unwrap(), raw);
    }
}
