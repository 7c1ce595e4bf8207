//! The upload spool: a private directory (mode 0700) holding one temporary file (mode
//! 0600) per upload in progress, and [`receive`], which streams a request body into such
//! a file chunk by chunk while enforcing the size limit and the idle timeout.
//!
//! Invariant: a spooled file is a [`TempPath`] owned by whoever holds it, so it is
//! removed when the upload fails, when the client goes away (the request future is
//! dropped) and after the archive was loaded.

use super::UploadError;
use axum::body::Body;
use futures_util::StreamExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::{TempDir, TempPath};
use tokio::io::AsyncWriteExt as _;

/// Where uploads are written while they arrive.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    /// Set when the spool created its own directory (removed with the spool).
    _owned: Option<TempDir>,
}

/// Why the spool directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use upload directory {}: {source}; pass a writable directory with --upload-dir or turn uploads off with --no-upload", dir.display())]
pub struct SpoolError {
    pub dir: PathBuf,
    pub source: std::io::Error,
}

impl Spool {
    /// Uses `dir` (created if missing, then restricted to its owner), or a fresh private
    /// directory under the system temporary directory when `None`.
    pub fn open(dir: Option<&Path>) -> Result<Spool, SpoolError> {
        match dir {
            Some(dir) => {
                let fail = |source| SpoolError {
                    dir: dir.to_owned(),
                    source,
                };
                std::fs::create_dir_all(dir).map_err(fail)?;
                restrict(dir).map_err(fail)?;
                Ok(Spool {
                    dir: dir.to_owned(),
                    _owned: None,
                })
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("strata-uploads-")
                    .tempdir()
                    .map_err(|source| SpoolError {
                        dir: std::env::temp_dir(),
                        source,
                    })?;
                Ok(Spool {
                    dir: temp.path().to_owned(),
                    _owned: Some(temp),
                })
            }
        }
    }

    /// The directory uploads are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(unix)]
fn restrict(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn restrict(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// A body written to disk completely.
#[derive(Debug)]
pub struct Spooled {
    pub path: TempPath,
    pub bytes: u64,
}

/// Streams `body` into a new file of `spool`: at most `max_bytes`, and no more than
/// `idle` between two chunks. The file is removed on every error.
pub async fn receive(
    spool: &Spool,
    body: Body,
    max_bytes: u64,
    idle: Duration,
) -> Result<Spooled, UploadError> {
    let internal = |e: std::io::Error| UploadError::Spool(e.to_string());
    let temp = tempfile::Builder::new()
        .prefix("upload-")
        .suffix(".tar")
        .tempfile_in(&spool.dir)
        .map_err(internal)?;
    let (file, path) = temp.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut stream = body.into_data_stream();
    let mut bytes: u64 = 0;
    loop {
        let chunk = match tokio::time::timeout(idle, stream.next()).await {
            Err(_) => {
                return Err(UploadError::Idle {
                    secs: idle.as_secs(),
                })
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(UploadError::Interrupted(e.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        bytes = bytes.saturating_add(chunk.len() as u64);
        if bytes > max_bytes {
            return Err(UploadError::TooLarge { limit: max_bytes });
        }
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    drop(file);
    if bytes == 0 {
        return Err(UploadError::Empty);
    }
    Ok(Spooled { path, bytes })
}
