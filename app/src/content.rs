//! File contents, IO-free: finding where an entry's bytes start in its layer's tar (from
//! the header offset recorded while indexing), checking them against the index's CRC-64,
//! telling text from binary, and the line diff of two versions.
//!
//! Invariants: the header found at an entry's offset must carry the entry's own (cleaned)
//! path, type and size, else the read fails as stale instead of returning other bytes;
//! sparse entries are refused (their hole map is not kept); a diff never runs on inputs
//! over the caller's cap (the caller compares checksums instead).

#[cfg(test)]
mod tests;

use crate::api::{DiffHunk, DiffLine, DiffLineKind};
use crate::layer::{path, CRC64};
use crate::limits::Limits;
use crate::model::{Entry, EntryFlag, EntryKind};
use crate::tar::{TarError, TarReader};
use std::io::{self, Read};

/// Why a file's bytes could not be located or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// The layer's tar could not be read at the entry.
    #[error("reading the entry's tar header: {0}")]
    Tar(#[from] TarError),
    /// The header at the recorded offset is not this entry's: the layer bytes changed
    /// since they were indexed (or the index came from another copy).
    #[error("layer bytes changed since they were indexed: expected {expected} at byte {offset}, found {found}; reload the image")]
    Stale {
        offset: u64,
        expected: String,
        found: String,
    },
    /// A sparse file (its hole map is not kept).
    #[error("is a sparse file; its content cannot be shown")]
    Sparse,
    /// The bytes read do not match the layer index's checksum.
    #[error("content does not match the layer's checksum (CRC-64 {expected:016x}, read {found:016x}): the layer data is corrupt")]
    Checksum { expected: u64, found: u64 },
}

/// Where the payload of `entry` starts, relative to the entry's first header block,
/// read from a stream positioned at that block (`entry.offset` in the layer tar).
pub fn payload_start(r: impl Read, entry: &Entry, limits: &Limits) -> Result<u64, ContentError> {
    if entry.flags.contains(&EntryFlag::Sparse) {
        return Err(ContentError::Sparse);
    }
    let mut tr = TarReader::new(r, limits);
    let stale = |found: String| ContentError::Stale {
        offset: entry.offset,
        expected: String::from_utf8_lossy(&entry.path).into_owned(),
        found,
    };
    let header = tr
        .next_header()?
        .ok_or_else(|| stale("the end of the archive".into()))?;
    let cleaned = path::clean(&header.path).path;
    let typed_file = matches!(header.typeflag, b'0' | b'7');
    let size_ok = entry.kind != EntryKind::File || header.size == entry.size;
    if cleaned != *entry.path || (entry.kind == EntryKind::File && !typed_file) || !size_ok {
        return Err(stale(format!(
            "{} ({} bytes)",
            String::from_utf8_lossy(&header.path),
            header.size
        )));
    }
    Ok(tr.offset())
}

/// Wraps a reader of a whole file and fails at its end when the bytes do not hash to
/// `expected` (the layer index's CRC-64).
pub struct Checked<R> {
    inner: R,
    digest: crc::Digest<'static, u64, crc::Table<16>>,
    expected: u64,
}

impl<R: Read> Checked<R> {
    pub fn new(inner: R, expected: u64) -> Self {
        Checked {
            inner,
            digest: CRC64.digest(),
            expected,
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let found = self.digest.clone().finalize();
            if found != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    ContentError::Checksum {
                        expected: self.expected,
                        found,
                    },
                ));
            }
        }
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// Whether `prefix` (the first bytes of a file) should be shown as binary: it holds a
/// NUL byte or is not UTF-8 (a sequence cut at the end of the prefix is fine).
pub fn is_binary(prefix: &[u8]) -> bool {
    if prefix.contains(&0) {
        return true;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => false,
        Err(e) => e.error_len().is_some(),
    }
}

/// Lines of context around each change in [`line_diff`].
pub const DIFF_CONTEXT: usize = 3;

/// The unified line diff of two texts, as hunks with 1-based line numbers.
pub fn line_diff(a: &str, b: &str) -> Vec<DiffHunk> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_lines(a, b);
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(DIFF_CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (a_range, b_range) = (first.old_range().start, first.new_range().start);
        let a_len = last.old_range().end - a_range;
        let b_len = last.new_range().end - b_range;
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    ChangeTag::Equal => DiffLineKind::Context,
                    ChangeTag::Insert => DiffLineKind::Added,
                    ChangeTag::Delete => DiffLineKind::Removed,
                };
                let text = change.value().trim_end_matches(['\n', '\r']).to_owned();
                lines.push(DiffLine { kind, text });
            }
        }
        hunks.push(DiffHunk {
            a_start: line_number(a_range, a_len),
            a_len: a_len as u32,
            b_start: line_number(b_range, b_len),
            b_len: b_len as u32,
            lines,
        });
    }
    hunks
}

/// GNU diff's numbering: the first line of the range, or the line before an empty range.
fn line_number(start: usize, len: usize) -> u32 {
    (if len == 0 { start } else { start + 1 }) as u32
}

/// Renders hunks as a unified diff with `---`/`+++` headers (what `strata cat --diff`
/// prints).
pub fn unified(a_name: &str, b_name: &str, hunks: &[DiffHunk]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("--- {a_name}\n+++ {b_name}\n");
    for h in hunks {
        let _ = writeln!(
            out,
            "@@ -{},{} +{},{} @@",
            h.a_start, h.a_len, h.b_start, h.b_len
        );
        for l in &h.lines {
            let sign = match l.kind {
                DiffLineKind::Added => '+',
                DiffLineKind::Removed => '-',
                DiffLineKind::Context | DiffLineKind::Unknown => ' ',
            };
            let _ = writeln!(out, "{sign}{}", l.text);
        }
    }
    out
}
