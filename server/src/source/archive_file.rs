//! Image archives on disk (`docker save` output, classic or OCI-style, and `oci-archive`
//! tars, optionally gzip-compressed as a whole): read in one streaming pass through
//! `app::archive::read_archive`, which tells the layouts apart by their members.
//!
//! Invariant: the file is read front to back once; nothing is extracted to disk.

use crate::progress::ChunkProgress;
use app::archive::{read_archive, Archive, ArchiveError};
use app::limits::Limits;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Why an archive file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveFileError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The contents are not a readable image archive.
    #[error("{path}: {source}")]
    Archive { path: PathBuf, source: ArchiveError },
}

/// What kind of file this is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A tar (`ustar` magic at offset 257).
    Tar,
    /// A gzip stream (a `.tar.gz` of an archive).
    Gzip,
    /// Anything else.
    Unknown,
}

/// Sniffs the first bytes of an archive file.
pub fn sniff(head: &[u8]) -> FileKind {
    if head.starts_with(&[0x1f, 0x8b]) {
        FileKind::Gzip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        FileKind::Tar
    } else {
        FileKind::Unknown
    }
}

/// Reads every image in the archive at `path`. `on_bytes` receives the file bytes
/// consumed so far (of `total`, the file size).
pub fn read_file(
    path: &Path,
    limits: &Limits,
    progress: &mut ChunkProgress<'_>,
) -> Result<Archive, ArchiveFileError> {
    let io = |source| ArchiveFileError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map(|m| m.len()).ok();
    progress.set_total(total);
    let mut reader = BufReader::with_capacity(1 << 20, progress.wrap(file));
    let kind = sniff(reader.fill_buf().map_err(io)?);
    let result = match kind {
        FileKind::Gzip => read_archive(
            flate2::bufread::MultiGzDecoder::new(reader),
            limits,
            &mut |_| {},
        ),
        FileKind::Tar | FileKind::Unknown => {
            read_archive(&mut reader as &mut dyn Read, limits, &mut |_| {})
        }
    };
    result.map_err(|source| ArchiveFileError::Archive {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_tar_and_gzip() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), FileKind::Tar);
        assert_eq!(sniff(&[0x1f, 0x8b, 8]), FileKind::Gzip);
        assert_eq!(sniff(b"hello"), FileKind::Unknown);
    }
}
