//! Layer indexes from Docker's tar-split metadata
//! (`/var/lib/docker/image/overlay2/layerdb/sha256/<chain-id>/tar-split.json.gz`), without
//! exporting the layer.
//!
//! The file is JSON lines (gzip'd on disk; both forms are accepted, by magic). Type 2
//! "segment" lines carry base64 raw tar bytes (headers, extension headers, padding, end
//! blocks); type 1 "file" lines stand for one entry's payload: `name` (or base64 `name_raw`
//! when not UTF-8), `size`, and `payload` = the 8-byte big-endian CRC-64/GO-ISO of the
//! content (null when empty). `position` counts lines from 0.
//!
//! The segments are fed to the same [`TarReader`] and entry builder as
//! [`crate::layer::index_layer`]; file lines answer [`TarSource::absent_payload`], so the
//! result is identical to indexing the real layer tar (same entries, sizes, CRCs, flags,
//! warnings, `tar_size`). The diff ID is taken from the caller (Docker's `diff` file next
//! to the tar-split); it cannot be recomputed without the payloads.
//!
//! Limits: sparse entries are refused (tar-split records their logical size and CRC, which
//! do not describe the stored bytes; Docker cannot reassemble them either), as are header
//! -only entries whose tar-split size is non-zero.

use crate::layer::{drain_trailer, index_entries, layer_warnings, LayerError, TarSplitError};
use crate::limits::Limits;
use crate::model::{Compression, Digest, LayerIndex};
use crate::tar::{TarReader, TarSource};
use base64::Engine as _;
use serde::Deserialize;
use std::io::{self, BufRead, BufReader, Read};

/// Indexes a layer from its tar-split JSON lines (gzip'd or not). `diff_id` is recorded
/// as given.
pub fn index_tar_split<R: Read>(
    json_lines: R,
    diff_id: Digest,
    limits: &Limits,
) -> Result<LayerIndex, LayerError> {
    let mut br = BufReader::with_capacity(64 * 1024, json_lines);
    let head = br.fill_buf().map_err(LayerError::Io)?;
    let lines: Box<dyn BufRead + '_> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(br)))
    } else {
        Box::new(br)
    };
    let src = SplitSource {
        lines,
        line: Vec::new(),
        max_line: limits.max_extension_header.saturating_mul(8) + (1 << 20),
        seg: Vec::new(),
        seg_pos: 0,
        file: None,
        position: 0,
    };
    let mut tr = TarReader::with_source(src, limits);
    let mut buf = vec![0u8; 64 * 1024];
    let entries = index_entries(&mut tr, limits, &mut buf)?;
    let (end_marker, globals, offset) = (tr.end_marker_seen(), tr.global_headers(), tr.offset());
    let mut src = tr.into_source();
    let trailer = drain_trailer(&mut src, &mut buf).map_err(split_error)?;
    let tar_size = offset + trailer.bytes;
    if tar_size > limits.max_layer_bytes {
        return Err(LayerError::LimitExceeded(format!(
            "layer of {tar_size} bytes is over the limit of {}",
            limits.max_layer_bytes
        )));
    }
    let warnings = layer_warnings(&entries, tar_size, end_marker, globals, trailer);
    Ok(LayerIndex {
        diff_id,
        tar_size,
        compression: Compression::None,
        compressed_size: None,
        blob_digest: None,
        entries,
        warnings,
    })
}

fn split_error(e: io::Error) -> LayerError {
    LayerError::from_io(e, 0)
}

/// Errors raised inside the source travel through `io::Error` (and the tar reader);
/// [`LayerError`] turns them back into [`LayerError::TarSplit`].
fn fail<T>(msg: String) -> io::Result<T> {
    Err(io::Error::other(TarSplitError(msg)))
}

/// One JSON line as tar-split's `storage.Entry` writes it.
#[derive(Deserialize)]
struct RawEntry {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    name_raw: Option<String>,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    position: Option<u64>,
}

/// A file line: a payload absent from the stream.
struct FileEntry {
    name: Vec<u8>,
    size: u64,
    crc: u64,
}

enum Item {
    Segment(Vec<u8>),
    File(FileEntry),
}

struct SplitSource<'a> {
    lines: Box<dyn BufRead + 'a>,
    line: Vec<u8>,
    max_line: u64,
    seg: Vec<u8>,
    seg_pos: usize,
    /// A file line read ahead.
    file: Option<FileEntry>,
    position: u64,
}

impl SplitSource<'_> {
    fn next_item(&mut self) -> io::Result<Option<Item>> {
        loop {
            self.line.clear();
            let n = (&mut self.lines)
                .take(self.max_line + 1)
                .read_until(b'\n', &mut self.line)?;
            if n == 0 {
                return Ok(None);
            }
            if self.line.len() as u64 > self.max_line {
                return fail(format!(
                    "line {} is longer than {} bytes",
                    self.position, self.max_line
                ));
            }
            if self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return self.parse_line().map(Some);
        }
    }

    fn parse_line(&mut self) -> io::Result<Item> {
        let pos = self.position;
        let e: RawEntry = match serde_json::from_slice(&self.line) {
            Ok(e) => e,
            Err(err) => return fail(format!("line {pos}: {err}")),
        };
        if let Some(p) = e.position {
            if p != pos {
                return fail(format!("line {pos} says it is at position {p}"));
            }
        }
        self.position += 1;
        let b64 = |s: &str, what: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .or_else(|err| fail(format!("line {pos}: bad base64 {what}: {err}")))
        };
        let payload = match &e.payload {
            Some(p) => b64(p, "payload")?,
            None => Vec::new(),
        };
        match e.kind {
            2 => Ok(Item::Segment(payload)),
            1 => {
                let name = match (&e.name_raw, e.name) {
                    (Some(raw), _) => b64(raw, "name_raw")?,
                    (None, Some(n)) => n.into_bytes(),
                    (None, None) => Vec::new(),
                };
                let size = match u64::try_from(e.size.unwrap_or(0)) {
                    Ok(s) => s,
                    Err(_) => return fail(format!("line {pos}: negative size")),
                };
                let crc = match payload.len() {
                    0 if size == 0 => 0,
                    8 => u64::from_be_bytes(payload[..8].try_into().unwrap_or_default()),
                    n => return fail(format!("line {pos}: checksum of {n} bytes, expected 8")),
                };
                Ok(Item::File(FileEntry { name, size, crc }))
            }
            k => fail(format!("line {pos}: unknown entry type {k}")),
        }
    }
}

impl Read for SplitSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.seg_pos < self.seg.len() {
                let n = (self.seg.len() - self.seg_pos).min(buf.len());
                buf[..n].copy_from_slice(&self.seg[self.seg_pos..self.seg_pos + n]);
                self.seg_pos += n;
                return Ok(n);
            }
            if let Some(f) = self.file.take() {
                // Go's reader reports PAX global headers as entries, so tar-split writes a
                // file line for them; an empty file line between headers carries nothing.
                if f.size != 0 {
                    return fail(format!(
                        "expected tar header bytes but found the payload of {:?}",
                        String::from_utf8_lossy(&f.name)
                    ));
                }
                continue;
            }
            match self.next_item()? {
                None => return Ok(0),
                Some(Item::Segment(s)) => {
                    self.seg = s;
                    self.seg_pos = 0;
                }
                Some(Item::File(f)) => self.file = Some(f),
            }
        }
    }
}

impl TarSource for SplitSource<'_> {
    fn absent_payload(&mut self, len: u64) -> io::Result<Option<u64>> {
        loop {
            if self.seg_pos < self.seg.len() {
                if len == 0 {
                    return Ok(Some(0));
                }
                return fail(format!("no file line for a payload of {len} bytes"));
            }
            let item = match self.file.take() {
                Some(f) => Some(Item::File(f)),
                None => self.next_item()?,
            };
            match item {
                Some(Item::File(f)) if f.size == len => return Ok(Some(f.crc)),
                Some(Item::File(f)) => {
                    return fail(format!(
                        "{:?} has size {} in tar-split but {len} bytes in its header \
                         (sparse or header-only entries are not supported)",
                        String::from_utf8_lossy(&f.name),
                        f.size
                    ))
                }
                Some(Item::Segment(s)) => {
                    self.seg = s;
                    self.seg_pos = 0;
                }
                None if len == 0 => return Ok(Some(0)),
                None => return fail(format!("tar-split ends before a payload of {len} bytes")),
            }
        }
    }
}

#[cfg(test)]
mod tests;
