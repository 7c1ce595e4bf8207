//! The blob store: registry blobs kept on disk by digest (`<dir>/sha256/<hex>`), so a
//! second analysis, the file viewer and every other source share one copy.
//!
//! Invariants: a blob appears under its name only after its bytes were verified against
//! its digest (written to a unique `.partial` file, renamed on success, deleted on
//! failure); names are built from parsed digests only.

use super::RegistryError;
use app::model::Digest;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Blobs by digest under one directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

/// A blob being written: deleted on drop unless [`Partial::commit`]ted.
#[derive(Debug)]
pub struct Partial {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl BlobStore {
    /// Opens (creating) the store at `dir`.
    pub fn open(dir: &Path) -> Result<Self, RegistryError> {
        let sha = dir.join("sha256");
        std::fs::create_dir_all(&sha).map_err(|e| RegistryError::Store {
            path: sha.clone(),
            message: e.to_string(),
        })?;
        Ok(BlobStore {
            dir: dir.to_owned(),
        })
    }

    /// Where the blob lives (whether or not it is there).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("sha256").join(digest.hex())
    }

    /// The blob's path when it is stored with `size` bytes (`size` 0 = any).
    pub fn get(&self, digest: &Digest, size: u64) -> Option<PathBuf> {
        let p = self.path(digest);
        let m = std::fs::metadata(&p).ok()?;
        (m.is_file() && (size == 0 || m.len() == size)).then_some(p)
    }

    /// Starts writing `digest`.
    pub fn create(&self, digest: &Digest) -> Result<Partial, RegistryError> {
        let dest = self.path(digest);
        let mut nonce = [0u8; 8];
        let _ = getrandom::fill(&mut nonce);
        let tmp = dest.with_extension(format!("partial-{}", hex::encode(nonce)));
        let file = File::create(&tmp).map_err(|e| RegistryError::Store {
            path: tmp.clone(),
            message: e.to_string(),
        })?;
        Ok(Partial {
            file: Some(file),
            tmp,
            dest,
        })
    }
}

impl Partial {
    /// The file to write to.
    pub fn file(&mut self) -> Option<&mut File> {
        self.file.as_mut()
    }

    /// Moves the verified blob under its name.
    pub fn commit(mut self) -> std::io::Result<PathBuf> {
        drop(self.file.take());
        std::fs::rename(&self.tmp, &self.dest)?;
        Ok(self.dest.clone())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn only_committed_blobs_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let d = Digest::of(b"hello");
        let mut p = store.create(&d).unwrap();
        p.file().unwrap().write_all(b"hello").unwrap();
        assert_eq!(store.get(&d, 0), None);
        let path = p.commit().unwrap();
        assert_eq!(store.get(&d, 5), Some(path));
        assert_eq!(store.get(&d, 6), None);
        let other = Digest::of(b"x");
        let mut abandoned = store.create(&other).unwrap();
        abandoned.file().unwrap().write_all(b"x").unwrap();
        drop(abandoned);
        assert_eq!(
            std::fs::read_dir(dir.path().join("sha256"))
                .unwrap()
                .count(),
            1
        );
    }
}
