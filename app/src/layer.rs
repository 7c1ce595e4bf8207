//! Reads one layer blob into a [`LayerIndex`] in a single streaming pass: SHA-256 of the
//! blob as stored (when compressed), decompression under budget ([`crate::compress`]),
//! SHA-256 of the uncompressed tar (the diff ID), Go-compatible header parsing
//! ([`crate::tar`]), CRC-64/GO-ISO of every regular file (what Docker's tar-split stores),
//! and moby-style name normalisation with entry flags.
//!
//! After the tar's end the stream is drained to EOF, so trailing garbage, a bad gzip CRC or
//! a truncated blob cannot go unnoticed, and the diff ID is verified against the expected
//! one. An index is only returned for a stream that was read completely; a caller may cache
//! it under its `diff_id`.
//!
//! Naming rules (moby's `UnpackLayer`): leading `/` stripped, `path.Clean`, the root entry
//! skipped (`./a` and `a` are one path). Names that escape the root are kept, flagged
//! [`EntryFlag::EscapesRoot`] with their cleaned `..` path, for a quarantine list; a root
//! given as a symlink is kept as path `.` flagged [`EntryFlag::RootIsSymlink`]. Both must
//! be ignored by tree building. Whiteouts (`.wh.*`) are ordinary entries here.

mod hash;
pub(crate) mod path;
#[cfg(test)]
mod tests;

use crate::compress::{CompressError, Decoder};
use crate::limits::Limits;
use crate::model::{Compression, Digest, Entry, EntryFlag, EntryKind, LayerIndex, LayerWarning};
use crate::tar::{Header, TarError, TarReader, TarSource};
use std::io::{self, Read};

/// The CRC Docker's tar-split stores per file: Go's `crc64.MakeTable(crc64.ISO)`.
pub(crate) static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_GO_ISO);

/// Size of the read buffer for payloads and draining.
const BUF: usize = 256 * 1024;

/// Why a layer could not be indexed. Nothing about a failed layer may be cached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// Unsupported or corrupt compression, not a tar, or a decompression budget.
    #[error(transparent)]
    Compress(#[from] CompressError),
    /// A tar framing or header error.
    #[error(transparent)]
    Tar(#[from] TarError),
    /// An entry count or similar cap.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// A path longer than `Limits::max_path`.
    #[error("path of {len} bytes in the entry at byte {offset} is longer than the limit of {max}")]
    PathTooLong { offset: u64, len: usize, max: usize },
    /// The uncompressed stream does not hash to the expected diff ID.
    #[error("diff id mismatch: expected {expected}, got {actual}")]
    DiffIdMismatch { expected: Digest, actual: Digest },
    /// Bytes after the end of the compressed stream.
    #[error("{bytes} bytes of trailing data after the {compression:?} stream")]
    TrailingData {
        compression: Compression,
        bytes: u64,
    },
    /// Reading the blob failed outside the tar reader.
    #[error("reading layer: {0}")]
    Io(io::Error),
    /// Docker tar-split metadata that is malformed or disagrees with itself.
    #[error("tar-split: {0}")]
    TarSplit(String),
}

impl LayerError {
    /// Lifts decoder errors (budgets, corrupt data) out of the tar reader's I/O errors.
    fn from_tar(e: TarError) -> Self {
        match e {
            TarError::Io { source, offset } => Self::from_io(source, offset),
            other => LayerError::Tar(other),
        }
    }

    pub(crate) fn from_io(source: io::Error, offset: u64) -> Self {
        if source.get_ref().is_some_and(|e| e.is::<TarSplitError>()) {
            return LayerError::TarSplit(source.to_string());
        }
        if source.get_ref().is_some_and(|e| e.is::<CompressError>()) {
            if let Some(Ok(c)) = source.into_inner().map(|e| e.downcast::<CompressError>()) {
                return LayerError::Compress(*c);
            }
            return LayerError::Io(io::Error::other("decoder failed"));
        }
        LayerError::Tar(TarError::Io { offset, source })
    }
}

/// A tar-split metadata problem raised inside a tar source.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct TarSplitError(pub String);

/// Indexes one layer blob (gzip, zstd or plain tar, detected by magic) in one pass.
/// `expected_diff_id` is checked after the stream was read to its end; `progress` gets
/// the running count of blob bytes consumed.
pub fn index_layer<R: Read>(
    blob: R,
    expected_diff_id: Option<&Digest>,
    limits: &Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<LayerIndex, LayerError> {
    let blob = hash::Hashing::new(blob, Some(progress));
    let mut dec = Decoder::new(blob, limits)?;
    let compression = dec.compression();
    // An uncompressed blob's digest is its diff ID: don't hash the same bytes twice.
    dec.source_mut().hashing = compression != Compression::None;
    let (tar, dec) = index_tar(dec, expected_diff_id, limits)?;
    let compressed_size = dec.compressed_bytes();
    let mut blob = dec.into_inner();
    check_drained(&mut blob, compression)?;
    let (blob_digest, _, _) = blob.finish();
    Ok(tar.into_index(compression, compressed_size, blob_digest))
}

/// [`index_layer`] for a blob whose compressed digest the caller verifies itself (a
/// registry download hashes the bytes as they arrive, and must fail the whole read if
/// its check fails): `blob_digest` is recorded as given, and decompression runs on a
/// thread of its own, so inflating overlaps hashing and parsing the tar (two cores make
/// a gzip layer up to twice as fast). Same checks, same errors, same index.
#[cfg(not(target_arch = "wasm32"))]
pub fn index_layer_prehashed_threaded<R: Read + Send>(
    blob: R,
    expected_diff_id: &Digest,
    blob_digest: &Digest,
    limits: &Limits,
) -> Result<LayerIndex, LayerError> {
    let mut dec = Decoder::new(blob, limits)?;
    let compression = dec.compression();
    if compression == Compression::None {
        // Nothing to inflate: one thread hashes and parses as fast.
        let (tar, _) = index_tar(dec, Some(expected_diff_id), limits)?;
        return Ok(tar.into_index(compression, 0, blob_digest.clone()));
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(INFLATED_CHUNKS);
        let inflater = scope.spawn(move || loop {
            let mut chunk = vec![0u8; BUF];
            match crate::compress::read_up_to(&mut dec, &mut chunk) {
                Ok(0) => return Some(dec),
                Ok(n) => {
                    chunk.truncate(n);
                    if tx.send(Ok(chunk)).is_err() {
                        return None; // the parser stopped first; its error is the answer
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return None;
                }
            }
        });
        let parsed = index_tar(Inflated::new(rx), Some(expected_diff_id), limits);
        // Dropping the receiver (with `parsed`'s source) lets a blocked inflater end.
        let parsed = parsed.map(|(tar, _)| tar);
        let dec = inflater
            .join()
            .map_err(|_| LayerError::Io(io::Error::other("the decompression thread panicked")))?;
        let tar = parsed?;
        let dec =
            dec.ok_or_else(|| LayerError::Io(io::Error::other("decompression stopped early")))?;
        let compressed_size = dec.compressed_bytes();
        check_drained(&mut dec.into_inner(), compression)?;
        Ok(tar.into_index(compression, compressed_size, blob_digest.clone()))
    })
}

/// Inflated chunks queued between the decompression thread and the parser (4 MiB).
#[cfg(not(target_arch = "wasm32"))]
const INFLATED_CHUNKS: usize = 16;

/// `Read` over chunks from the decompression thread.
#[cfg(not(target_arch = "wasm32"))]
struct Inflated {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
}

#[cfg(not(target_arch = "wasm32"))]
impl Inflated {
    fn new(rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>) -> Self {
        Inflated {
            rx,
            chunk: Vec::new(),
            pos: 0,
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Read for Inflated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // the inflater finished
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl TarSource for Inflated {}

/// What reading the uncompressed tar found.
struct TarRead {
    diff_id: Digest,
    tar_size: u64,
    entries: Vec<Entry>,
    warnings: Vec<LayerWarning>,
}

impl TarRead {
    fn into_index(
        self,
        compression: Compression,
        compressed_size: u64,
        blob: Digest,
    ) -> LayerIndex {
        let compressed = compression != Compression::None;
        LayerIndex {
            diff_id: self.diff_id,
            tar_size: self.tar_size,
            compression,
            compressed_size: compressed.then_some(compressed_size),
            blob_digest: compressed.then_some(blob),
            entries: self.entries,
            warnings: self.warnings,
        }
    }
}

/// Hashes and parses an uncompressed tar stream to its end, checking the diff ID;
/// returns the source, drained.
fn index_tar<S: TarSource>(
    src: S,
    expected_diff_id: Option<&Digest>,
    limits: &Limits,
) -> Result<(TarRead, S), LayerError> {
    let tar = hash::Hashing::new(src, None);
    let mut tr = TarReader::with_source(tar, limits);
    let mut buf = vec![0u8; BUF];
    let entries = index_entries(&mut tr, limits, &mut buf)?;
    let (end_marker, globals) = (tr.end_marker_seen(), tr.global_headers());
    let mut tar = tr.into_source();
    let trailer =
        drain_trailer(&mut tar, &mut buf).map_err(|e| LayerError::from_io(e, tar.count()))?;
    let (diff_id, tar_size, src) = tar.finish();
    if let Some(expected) = expected_diff_id {
        if *expected != diff_id {
            return Err(LayerError::DiffIdMismatch {
                expected: expected.clone(),
                actual: diff_id,
            });
        }
    }
    let warnings = layer_warnings(&entries, tar_size, end_marker, globals, trailer);
    Ok((
        TarRead {
            diff_id,
            tar_size,
            entries,
            warnings,
        },
        src,
    ))
}

/// Fails when anything follows the compressed stream.
fn check_drained(rest: &mut impl Read, compression: Compression) -> Result<(), LayerError> {
    let extra = drain_count(rest, &mut vec![0u8; BUF]).map_err(LayerError::Io)?;
    if extra > 0 {
        return Err(LayerError::TrailingData {
            compression,
            bytes: extra,
        });
    }
    Ok(())
}

/// The most file bytes (logical sizes, sparse included) one layer may declare: 1 PiB.
/// With at most 1000 layers an image totals under 2^60, so sums never overflow.
pub const MAX_LOGICAL_LAYER_BYTES: u64 = 1 << 50;

/// Reads every entry of a tar stream into normalised, flagged [`Entry`]s. Shared by
/// [`index_layer`] and the tar-split reader, so both produce the same index.
pub(crate) fn index_entries<S: TarSource>(
    tr: &mut TarReader<S>,
    limits: &Limits,
    buf: &mut [u8],
) -> Result<Vec<Entry>, LayerError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut logical_bytes: u64 = 0;
    while let Some(h) = tr.next_header().map_err(LayerError::from_tar)? {
        if entries.len() as u64 >= limits.max_entries_per_layer {
            return Err(LayerError::LimitExceeded(format!(
                "more than {} entries in one layer",
                limits.max_entries_per_layer
            )));
        }
        if h.path.len() > limits.max_path {
            return Err(LayerError::PathTooLong {
                offset: h.offset,
                len: h.path.len(),
                max: limits.max_path,
            });
        }
        let Some(mut entry) = make_entry(&h, limits) else {
            continue;
        };
        // Sparse real sizes (and tar-split sizes) are declared, not backed by bytes read:
        // bound their sum so every later total over layers and images stays in u64.
        logical_bytes = logical_bytes
            .checked_add(entry.size)
            .filter(|&total| total <= MAX_LOGICAL_LAYER_BYTES)
            .ok_or_else(|| {
                LayerError::LimitExceeded(format!(
                    "file sizes in one layer add up to more than {} bytes (at byte {})",
                    MAX_LOGICAL_LAYER_BYTES, h.offset
                ))
            })?;
        if entry.kind == EntryKind::File && h.sparse.is_none() {
            entry.crc64 = Some(match tr.absent_crc64() {
                Some(crc) => crc,
                None => {
                    let mut digest = CRC64.digest();
                    loop {
                        let n = tr.read_payload(buf).map_err(LayerError::from_tar)?;
                        if n == 0 {
                            break;
                        }
                        digest.update(&buf[..n]);
                    }
                    digest.finalize()
                }
            });
        }
        entries.push(entry);
    }
    flag_duplicates(&mut entries);
    Ok(entries)
}

fn make_entry(h: &Header, limits: &Limits) -> Option<Entry> {
    let cleaned = path::clean(&h.path);
    let mut flags = Vec::new();
    let (kind, known) = match h.typeflag {
        b'0' | b'S' => (EntryKind::File, true),
        b'1' => (EntryKind::Hardlink, true),
        b'2' => (EntryKind::Symlink, true),
        b'3' => (EntryKind::CharDevice, true),
        b'4' => (EntryKind::BlockDevice, true),
        b'5' => (EntryKind::Dir, true),
        b'6' => (EntryKind::Fifo, true),
        other => (EntryKind::Other(other), false),
    };
    if cleaned.is_root {
        if kind != EntryKind::Symlink {
            return None; // moby skips the root entry
        }
        flags.push(EntryFlag::RootIsSymlink);
    }
    if cleaned.escapes {
        flags.push(EntryFlag::EscapesRoot);
    }
    if !known {
        flags.push(EntryFlag::UnknownType);
    }
    if h.sparse.is_some() {
        flags.push(EntryFlag::Sparse);
    }
    if cleaned.longest > 255 {
        flags.push(EntryFlag::LongComponent);
    }
    if cleaned.depth > limits.max_depth {
        flags.push(EntryFlag::TooDeep);
    }
    if path::windows_style(&h.path) {
        flags.push(EntryFlag::WindowsStyleName);
    }
    let link = match kind {
        EntryKind::Hardlink => {
            // Absolute targets are root-relative (as moby joins them under the root).
            let target = path::clean(&h.linkname);
            if target.escapes {
                flags.push(EntryFlag::HardlinkEscapes);
            }
            Some(target.path.into_boxed_slice())
        }
        EntryKind::Symlink => Some(h.linkname.clone().into_boxed_slice()),
        _ => None,
    };
    Some(Entry {
        path: cleaned.path.into_boxed_slice(),
        kind,
        size: if kind == EntryKind::File { h.size } else { 0 },
        mode: (h.mode & 0o7777) as u32,
        uid: h.uid.max(0) as u64,
        gid: h.gid.max(0) as u64,
        mtime: h.mtime.clamp(MIN_TIME, MAX_TIME),
        link,
        crc64: None,
        flags,
        offset: h.offset,
    })
}

/// Year 1 and year 9999: what Go's `time` and every UI can show.
const MIN_TIME: i64 = -62_135_596_800;
const MAX_TIME: i64 = 253_402_300_799;

/// Flags every occurrence of a path after its first (last one wins when stacking).
fn flag_duplicates(entries: &mut [Entry]) {
    let mut idx: Vec<u32> = (0..entries.len() as u32).collect();
    idx.sort_by(|&a, &b| {
        entries[a as usize]
            .path
            .cmp(&entries[b as usize].path)
            .then(a.cmp(&b))
    });
    for w in idx.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        if entries[a].path == entries[b].path {
            entries[b].flags.push(EntryFlag::Duplicate);
        }
    }
}

/// What followed the end of the tar archive in the uncompressed stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Trailer {
    pub bytes: u64,
    pub nonzero: bool,
}

/// Reads a stream to EOF, noting whether anything but zeros came.
pub(crate) fn drain_trailer(r: &mut impl Read, buf: &mut [u8]) -> io::Result<Trailer> {
    let mut t = Trailer::default();
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(t),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        t.bytes += n as u64;
        t.nonzero |= buf[..n].iter().any(|&b| b != 0);
    }
}

fn drain_count(r: &mut impl Read, buf: &mut [u8]) -> io::Result<u64> {
    drain_trailer(r, buf).map(|t| t.bytes)
}

/// Layer-level warnings derived from the read, identical for both readers.
pub(crate) fn layer_warnings(
    entries: &[Entry],
    tar_size: u64,
    end_marker: bool,
    globals: u64,
    trailer: Trailer,
) -> Vec<LayerWarning> {
    let mut out = Vec::new();
    let mut warn = |message: String| {
        out.push(LayerWarning {
            message,
            path: None,
        })
    };
    if !end_marker && tar_size > 0 {
        warn(
            "the tar has no end-of-archive marker (possibly truncated; verify the diff id)".into(),
        );
    }
    if globals > 0 {
        warn(format!("{globals} PAX global header(s) ignored"));
    }
    if trailer.nonzero {
        warn(format!(
            "{} bytes after the tar end-of-archive marker are not zeros",
            trailer.bytes
        ));
    }
    if entries
        .iter()
        .any(|e| e.flags.contains(&EntryFlag::EscapesRoot))
    {
        warn("entries escape the layer root; Docker (graphdriver) would refuse this layer".into());
    }
    for e in entries {
        if e.flags.contains(&EntryFlag::RootIsSymlink) {
            out.push(LayerWarning {
                message: "the root is given as a symlink; ignored".into(),
                path: Some(e.path.clone()),
            });
        }
    }
    out
}
