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

use app::compress::gzip_index::{GzipIndex, DEFAULT_SPACING};
use app::content::{payload_start, Checked, ContentError};
use app::limits::Limits;
use app::model::{Compression, Digest, Entry, EntryKind};
use std::collections::VecDeque;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
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
        /// The blob's digest (compressed bytes): the key of its gzip index.
        blob_digest: Option<Digest>,
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

/// Gzip indexes kept in memory at once (about 10 MB per GB of layer each).
const MEMORY_INDEXES: usize = 32;

/// Reads file contents, keeping the gzip checkpoint index of every gzip blob it read
/// (in memory, and on disk under the cache directory by blob digest, so a restart or a
/// second `strata cat` starts from the nearest checkpoint).
pub struct Contents {
    dir: Option<PathBuf>,
    memory: parking_lot::Mutex<VecDeque<(Digest, Arc<GzipIndex>)>>,
    limits: Limits,
}

impl Contents {
    /// A store whose indexes persist under `cache_dir` (`None`: memory only).
    pub fn new(cache_dir: Option<&Path>) -> Contents {
        let dir = cache_dir.map(|d| d.join("gzip-index").join("v1"));
        if let Some(d) = &dir {
            if let Err(e) = std::fs::create_dir_all(d) {
                tracing::warn!("gzip indexes kept in memory only: {}: {e}", d.display());
            }
        }
        Contents {
            dir,
            memory: parking_lot::Mutex::new(VecDeque::new()),
            limits: Limits::default(),
        }
    }

    /// Opens the bytes of `entry` (a regular file of the layer at `bytes`) from `start`.
    /// A read from 0 is checked against the entry's CRC-64 when it reaches the end.
    /// Blocking.
    pub fn open_file(
        &self,
        bytes: &LayerBytes,
        entry: &Entry,
        start: u64,
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
            LayerBytes::Blob { .. } => {
                let header = self.tar_at(bytes, entry.offset)?;
                let payload = entry.offset + payload_start(header, entry, &self.limits)?;
                let body = self.tar_at(bytes, payload + start)?;
                Box::new(body.take(size - start))
            }
        };
        let reader: Box<dyn Read + Send> = match (start, entry.crc64) {
            (0, Some(crc)) => Box::new(Checked::new(raw, crc)),
            _ => raw,
        };
        Ok(FileBytes { reader, size })
    }

    /// The uncompressed layer tar of a blob from byte `at` on: a seek for plain tar, the
    /// nearest checkpoint for gzip, decompression from the start for zstd.
    fn tar_at(&self, bytes: &LayerBytes, at: u64) -> Result<Box<dyn Read + Send>, ReadError> {
        let LayerBytes::Blob {
            path,
            start,
            len,
            compression,
            blob_digest,
        } = bytes
        else {
            return Err(ReadError::NotAFile("an unpacked layer".into()));
        };
        let io = |e: io::Error| ReadError::Io {
            path: path.clone(),
            source: Arc::new(e),
        };
        let mut blob = Window::open(path, *start, *len).map_err(io)?;
        // The recorded compression is a hint; the blob's first bytes decide.
        let mut head = [0u8; 512];
        let n = read_prefix(&mut blob, &mut head).map_err(io)?;
        blob.seek(SeekFrom::Start(0)).map_err(io)?;
        let sniffed = app::compress::sniff(&head[..n]).unwrap_or(*compression);
        match sniffed {
            Compression::None => {
                blob.seek(SeekFrom::Start(at)).map_err(io)?;
                Ok(Box::new(blob))
            }
            Compression::Gzip => {
                let index = self.gzip_index(path, *start, *len, blob_digest.as_ref())?;
                let reader = index
                    .reader_at(io::BufReader::new(blob), at)
                    .map_err(|e| io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
                Ok(Box::new(reader))
            }
            Compression::Zstd => {
                let mut dec = app::compress::Decoder::new(io::BufReader::new(blob), &self.limits)
                    .map_err(|e| io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
                skip(&mut dec, at).map_err(io)?;
                Ok(Box::new(dec))
            }
        }
    }

    /// The checkpoint index of a gzip blob: from memory, from disk, or built by one
    /// pass over the blob (then kept in both).
    fn gzip_index(
        &self,
        path: &Path,
        start: u64,
        len: u64,
        digest: Option<&Digest>,
    ) -> Result<Arc<GzipIndex>, ReadError> {
        if let Some(d) = digest {
            if let Some((_, ix)) = self.memory.lock().iter().find(|(k, _)| k == d) {
                return Ok(ix.clone());
            }
        }
        let file = |d: &Digest| self.dir.as_ref().map(|dir| dir.join(d.hex()));
        let from_disk = digest
            .and_then(&file)
            .and_then(|f| std::fs::read(f).ok())
            .and_then(|b| GzipIndex::from_bytes(&b).ok())
            .filter(|ix| ix.compressed_len() <= len);
        let index = match from_disk {
            Some(ix) => ix,
            None => {
                let io = |e: io::Error| ReadError::Io {
                    path: path.to_owned(),
                    source: Arc::new(e),
                };
                let blob = Window::open(path, start, len).map_err(io)?;
                let ix = GzipIndex::build(
                    io::BufReader::new(blob),
                    DEFAULT_SPACING,
                    self.limits.max_layer_bytes,
                    &mut |_| {},
                )
                .map_err(|e| io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
                if let Some(f) = digest.and_then(&file) {
                    if let Err(e) = write_atomic(&f, &ix.to_bytes()) {
                        tracing::debug!("gzip index not kept on disk: {}: {e}", f.display());
                    }
                }
                ix
            }
        };
        let index = Arc::new(index);
        if let Some(d) = digest {
            let mut memory = self.memory.lock();
            memory.push_back((d.clone(), index.clone()));
            while memory.len() > MEMORY_INDEXES {
                memory.pop_front();
            }
        }
        Ok(index)
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}

/// Fills as much of `buf` as the reader has.
fn read_prefix(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
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

#[cfg(test)]
mod tests {
    use super::*;
    use app::testkit::LayerBuilder;

    fn entry<'a>(ix: &'a app::model::LayerIndex, path: &str) -> &'a Entry {
        ix.entries
            .iter()
            .find(|e| e.path.as_ref() == path.as_bytes())
            .unwrap()
    }

    fn read_all(c: &Contents, bytes: &LayerBytes, e: &Entry, start: u64) -> Vec<u8> {
        let mut out = Vec::new();
        c.open_file(bytes, e, start)
            .unwrap()
            .reader
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gzip_blobs_read_through_a_cached_checkpoint_index() {
        let big: Vec<u8> = (0..6_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let layer = LayerBuilder::new()
            .file("a.txt", b"first")
            .file("big.bin", &big)
            .file("z.txt", b"last file");
        let gz = layer.tar_gz();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        // the blob sits inside a larger file, as an archive member does
        let mut file = b"0123456789".to_vec();
        file.extend_from_slice(&gz);
        std::fs::write(&path, &file).unwrap();
        let ix = app::layer::index_layer(&gz[..], None, &Limits::default(), &mut |_| {}).unwrap();
        let digest = Digest::of(&gz);
        let bytes = LayerBytes::Blob {
            path,
            start: 10,
            len: gz.len() as u64,
            compression: Compression::Gzip,
            blob_digest: Some(digest.clone()),
        };
        let cache = tempfile::tempdir().unwrap();
        let c = Contents::new(Some(cache.path()));
        assert_eq!(read_all(&c, &bytes, entry(&ix, "z.txt"), 0), b"last file");
        assert_eq!(
            read_all(&c, &bytes, entry(&ix, "big.bin"), 5_999_990),
            &big[5_999_990..]
        );
        assert_eq!(read_all(&c, &bytes, entry(&ix, "big.bin"), 0), big);
        let on_disk = cache.path().join("gzip-index/v1").join(digest.hex());
        assert!(on_disk.is_file(), "the index is kept by blob digest");
        // a new store (a restart) reads it back from disk
        let again = Contents::new(Some(cache.path()));
        assert_eq!(read_all(&again, &bytes, entry(&ix, "a.txt"), 0), b"first");
        // a corrupt index file is rebuilt, not trusted
        std::fs::write(&on_disk, b"garbage").unwrap();
        let third = Contents::new(Some(cache.path()));
        assert_eq!(read_all(&third, &bytes, entry(&ix, "z.txt"), 5), b"file");
    }

    #[test]
    fn tampered_bytes_fail_the_checksum() {
        let layer = LayerBuilder::new().file("etc/conf", b"secret=1");
        let tar = layer.tar();
        let ix = app::layer::index_layer(&tar[..], None, &Limits::default(), &mut |_| {}).unwrap();
        let e = entry(&ix, "etc/conf").clone();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer.tar");
        let mut bad = tar.clone();
        let at = bad.windows(8).position(|w| w == b"secret=1").unwrap();
        bad[at + 7] = b'2';
        std::fs::write(&path, &bad).unwrap();
        let bytes = LayerBytes::Blob {
            path,
            start: 0,
            len: bad.len() as u64,
            compression: Compression::None,
            blob_digest: None,
        };
        let c = Contents::new(None);
        let mut out = Vec::new();
        let err = c
            .open_file(&bytes, &e, 0)
            .unwrap()
            .reader
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
