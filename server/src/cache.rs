//! The on-disk cache of layer indexes (keyed by verified diff ID) and image configs
//! (keyed by image ID, i.e. the digest of the bytes stored), shared by every image and
//! every run.
//!
//! Invariants: a file is only ever written under the digest the engine verified for its
//! content (the layer reader's computed diff ID, or the config bytes' own digest); files
//! are written to a temp file and renamed into place, so readers never see a partial
//! file; a file that is corrupt, of another format version, or whose content names
//! another key is ignored (and replaced on the next write), never trusted.

use app::model::{Digest, LayerIndex};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bumped whenever [`LayerIndex`] or the encoding changes; old files are then ignored.
pub const FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"STRATA\0L";

/// Cache IO failures (reads never fail: an unreadable entry is a miss).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The cache directory could not be created.
    #[error("cannot create cache directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An entry could not be written.
    #[error("cannot write cache entry {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An entry could not be encoded.
    #[error("cannot encode the index of layer {0} for the cache")]
    Encode(Digest),
    /// A config whose bytes do not hash to the ID it was offered under.
    #[error("config bytes do not match image id {0}; not cached")]
    Unverified(Digest),
}

/// A cache directory.
#[derive(Debug, Clone)]
pub struct LayerCache {
    layers: PathBuf,
    configs: PathBuf,
}

/// The cache directory to use: `explicit` (`--cache-dir`), else `STRATA_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`; `None` when none can be found.
pub fn default_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_owned());
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("STRATA_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("strata")))
        .or_else(|| env("HOME").map(|p| p.join(".cache").join("strata")))
}

impl LayerCache {
    /// Opens (creating) the cache under `dir`.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let v = format!("v{FORMAT_VERSION}");
        let layers = dir.join("layers").join(&v);
        let configs = dir.join("configs").join(&v);
        for d in [&layers, &configs] {
            std::fs::create_dir_all(d).map_err(|source| CacheError::CreateDir {
                path: d.clone(),
                source,
            })?;
        }
        Ok(LayerCache { layers, configs })
    }

    /// The cached index of a layer, or `None` (missing, corrupt, other version, wrong key).
    pub fn get_layer(&self, diff_id: &Digest) -> Option<LayerIndex> {
        let bytes = std::fs::read(self.layers.join(diff_id.hex())).ok()?;
        let body = bytes.strip_prefix(MAGIC.as_slice())?;
        let (version, body) = body.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*version) != FORMAT_VERSION {
            return None;
        }
        let index: LayerIndex = postcard::from_bytes(body).ok()?;
        (index.diff_id == *diff_id).then_some(index)
    }

    /// Stores a layer index under its own (verified) diff ID.
    pub fn put_layer(&self, index: &LayerIndex) -> Result<(), CacheError> {
        let body =
            postcard::to_stdvec(index).map_err(|_| CacheError::Encode(index.diff_id.clone()))?;
        let mut bytes = Vec::with_capacity(body.len() + 12);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&body);
        write_atomic(&self.layers, index.diff_id.hex(), &bytes)
    }

    /// A cached image config (its bytes hash to `id`, checked on read).
    pub fn get_config(&self, id: &Digest) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.configs.join(id.hex())).ok()?;
        (Digest::of(&bytes) == *id).then_some(bytes)
    }

    /// Stores config bytes under `id` after checking that they hash to it.
    pub fn put_config(&self, id: &Digest, raw: &[u8]) -> Result<(), CacheError> {
        if Digest::of(raw) != *id {
            return Err(CacheError::Unverified(id.clone()));
        }
        write_atomic(&self.configs, id.hex(), raw)
    }
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), CacheError> {
    let path = dir.join(name);
    let err = |source| CacheError::Write {
        path: path.clone(),
        source,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_data().map_err(err)?;
    tmp.persist(&path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{Compression, Entry, EntryKind};

    fn index(seed: &[u8]) -> LayerIndex {
        LayerIndex {
            diff_id: Digest::of(seed),
            tar_size: 2048,
            compression: Compression::None,
            compressed_size: None,
            blob_digest: None,
            entries: vec![Entry {
                path: b"bin/busybox".to_vec().into_boxed_slice(),
                kind: EntryKind::File,
                size: 7,
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: 1,
                link: None,
                crc64: Some(42),
                flags: vec![],
                offset: 0,
            }],
            warnings: vec![],
        }
    }

    #[test]
    fn round_trips_and_ignores_bad_files() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let dir = dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(Path::new("/nonexistent"));
        let cache = LayerCache::open(dir).map_err(|e| e.to_string());
        assert!(cache.is_ok(), "{cache:?}");
        let Ok(cache) = cache else { return };
        let li = index(b"one");
        assert_eq!(cache.get_layer(&li.diff_id), None);
        assert!(cache.put_layer(&li).is_ok());
        assert_eq!(cache.get_layer(&li.diff_id), Some(li.clone()));

        // Stored under another key: never returned for that key.
        let other = Digest::of(b"two");
        let layers = dir.join(format!("layers/v{FORMAT_VERSION}"));
        let file = layers.join(li.diff_id.hex());
        assert!(std::fs::copy(&file, layers.join(other.hex())).is_ok());
        assert_eq!(cache.get_layer(&other), None);

        // Corrupt and other-version files are misses, then rewritten.
        assert!(std::fs::write(&file, b"STRATA\0L\x01\0\0\0garbage").is_ok());
        assert_eq!(cache.get_layer(&li.diff_id), None);
        assert!(std::fs::write(&file, b"STRATA\0L\x09\0\0\0").is_ok());
        assert_eq!(cache.get_layer(&li.diff_id), None);
        assert!(cache.put_layer(&li).is_ok());
        assert_eq!(cache.get_layer(&li.diff_id), Some(li));
    }

    #[test]
    fn configs_are_verified() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else { panic!("tempdir") };
        let Ok(cache) = LayerCache::open(dir.path()) else {
            panic!("open")
        };
        let raw = br#"{"architecture":"amd64"}"#;
        let id = Digest::of(raw);
        assert!(matches!(
            cache.put_config(&Digest::of(b"x"), raw),
            Err(CacheError::Unverified(_))
        ));
        assert!(cache.put_config(&id, raw).is_ok());
        assert_eq!(cache.get_config(&id).as_deref(), Some(raw.as_slice()));
    }

    #[test]
    fn dir_precedence() {
        assert_eq!(
            default_dir(Some(Path::new("/x"))),
            Some(PathBuf::from("/x"))
        );
    }
}
