//! File contents of image layers, with IO: where a layer's bytes live ([`LayerBytes`],
//! found by [`locate`]), and reading one entry's bytes from there from any offset —
//! seeking in plain tar blobs, resuming from checkpoints in gzip blobs, decompressing
//! zstd from its start, or opening the file in the daemon's unpacked overlay2 layer
//! directory ([`overlay`]) without following any symlink.
//!
//! Invariants: a read names a tar entry of the layer index, never a host path; the
//! header found at the entry's offset must be that entry's (else the read fails as
//! stale); a whole-file read is checked against the index's CRC-64; overlay2 reads are
//! confined to the layer directory by `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`.

mod diff;
pub mod locate;
pub mod overlay;
mod window;

pub use diff::{diff, Side, MAX_DIFF_BYTES};
pub use locate::{locate, LocateError};
pub use window::Window;

use app::content::{payload_start, Checked, ContentError};
use app::limits::Limits;
use app::model::{Compression, Digest, Entry, EntryKind};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the bytes of one layer can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerBytes {
    /// The layer blob is bytes `start..start + len` of `path` (an archive member or an
    /// OCI layout blob), compressed as `compression`.
    Blob {
        path: PathBuf,
        start: u64,
        len: u64,
        compression: Compression,
        diff_id: Digest,
    },
    /// The daemon's unpacked layer directory (overlay2 `diff/`).
    Unpacked { dir: PathBuf },
}

/// Why a file's bytes could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: Arc<io::Error>,
    },
    /// The entry could not be located or verified in the layer's tar.
    #[error("{0}")]
    Content(Arc<ContentError>),
    /// The unpacked layer holds something else at the path.
    #[error("the unpacked layer holds {found} at {path}, the layer index says {expected}")]
    Mismatch {
        path: String,
        expected: String,
        found: String,
    },
    /// Not a regular file.
    #[error("{0} has no bytes to read")]
    NotAFile(String),
    /// The requested start lies beyond the file's end.
    #[error("offset {start} is beyond the end of the file ({size} bytes)")]
    BeyondEnd { start: u64, size: u64 },
}

impl From<ContentError> for ReadError {
    fn from(e: ContentError) -> Self {
        ReadError::Content(Arc::new(e))
    }
}

/// The bytes of one file from some offset.
pub struct FileBytes {
    /// Reads from the requested start to the end of the file.
    pub reader: Box<dyn Read + Send>,
    /// The file's whole size.
    pub size: u64,
}

/// Opens the bytes of `entry` (a regular file of the layer at `bytes`) from `start`. A
/// read from 0 is checked against the entry's CRC-64 when it reaches the end. Blocking.
pub fn open_file(
    bytes: &LayerBytes,
    entry: &Entry,
    start: u64,
    limits: &Limits,
) -> Result<FileBytes, ReadError> {
    if entry.kind != EntryKind::File {
        return Err(ReadError::NotAFile(
            String::from_utf8_lossy(&entry.path).into_owned(),
        ));
    }
    let size = entry.size;
    if start > size {
        return Err(ReadError::BeyondEnd { start, size });
    }
    let raw: Box<dyn Read + Send> = match bytes {
        LayerBytes::Unpacked { dir } => Box::new(overlay::open_at(dir, entry, start)?),
        LayerBytes::Blob {
            path,
            start: blob_start,
            len,
            compression,
            ..
        } => {
            let io = |e: io::Error| ReadError::Io {
                path: path.clone(),
                source: Arc::new(e),
            };
            let window = || Window::open(path, *blob_start, *len).map_err(io);
            let header = tar_at(window()?, *compression, entry.offset, limits).map_err(io)?;
            let payload = entry.offset + payload_start(header, entry, limits)?;
            let body = tar_at(window()?, *compression, payload + start, limits).map_err(io)?;
            Box::new(body.take(size - start))
        }
    };
    let reader: Box<dyn Read + Send> = match (start, entry.crc64) {
        (0, Some(crc)) => Box::new(Checked::new(raw, crc)),
        _ => raw,
    };
    Ok(FileBytes { reader, size })
}

/// The uncompressed layer tar from byte `at` on.
fn tar_at(
    mut blob: Window,
    compression: Compression,
    at: u64,
    limits: &Limits,
) -> io::Result<Box<dyn Read + Send>> {
    if compression == Compression::None {
        blob.seek(SeekFrom::Start(at))?;
        return Ok(Box::new(blob));
    }
    // The decoder sniffs the bytes (the recorded compression is only a hint).
    let mut dec = app::compress::Decoder::new(io::BufReader::new(blob), limits)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    skip(&mut dec, at)?;
    Ok(Box::new(dec))
}

/// Reads and drops `n` bytes; fewer available is an error.
fn skip(r: &mut impl Read, n: u64) -> io::Result<()> {
    let skipped = io::copy(&mut r.by_ref().take(n), &mut io::sink())?;
    if skipped < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("layer data ends at byte {skipped}, before byte {n}"),
        ));
    }
    Ok(())
}
