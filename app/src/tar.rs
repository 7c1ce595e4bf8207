//! A streaming tar *header* reader with Go `archive/tar` semantics and hard caps. It never
//! extracts and never buffers payloads: [`TarReader::next_header`] skips whatever the caller
//! left unread of the previous entry, and [`TarReader::read_payload`] hands out the current
//! entry's bytes.
//!
//! Hand-written rather than the `tar` crate: it must accept and reject exactly what Go's
//! `archive/tar` does (Docker's reader), enforce hard caps before reading, and read
//! tar-split metadata that carries no payloads, none of which a general tar crate offers.
//!
//! What it accepts is what Docker (Go) accepts: v7, ustar (with the prefix field), star,
//! GNU (`L`/`K` long names, old `S` sparse) and PAX (`x` records apply to the next entry
//! only, never to `L`/`K`; `g` global headers are counted and ignored), base-256 and
//! space/NUL-padded octal numbers, signed or unsigned checksums, PAX sparse 0.0/0.1/1.0.
//!
//! Where it is stricter than Go, on purpose:
//! - an extension header (`L`, `K`, `x`, `g`) larger than `Limits::max_extension_header` is
//!   refused from its declared size, before any of it is read;
//! - a PAX key given twice in one header is refused as ambiguous (Go keeps the last one);
//! - an extension header that is not followed by an entry, and an archive ending inside
//!   padding, are errors (Go reports a clean end);
//! - a sparse map with more than `Limits::max_sparse_regions` regions is refused.
//!
//! Where it follows Go: a GNU long name wins over a PAX `path` on the same entry, and two
//! consecutive `x` headers leave only the second in force. An archive that ends exactly on
//! a block boundary without the two zero blocks ends cleanly, but
//! [`TarReader::end_marker_seen`] stays false so callers can report it.
//!
//! Sources are [`TarSource`]s: any `Read` (wrapped in [`Plain`]) or a source that does not
//! carry payload bytes at all (tar-split metadata), which says so through
//! [`TarSource::absent_payload`] and supplies the payload's CRC-64 instead.

mod block;
mod fields;
mod pax;
mod sparse;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

pub use block::Format;
use block::{field, BLOCK};
use fields::{merge_pax, pax_error, Fields};
use pax::PaxRecords;
use std::io::{self, Read};

use crate::limits::Limits;

/// Where a [`TarReader`] gets its bytes.
pub trait TarSource: Read {
    /// Skips `n` bytes, returning how many were skipped (fewer only at end of data). The
    /// default reads through them, so hashing wrappers still see every byte.
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut buf = [0u8; 16 * 1024];
        let mut done = 0u64;
        while done < n {
            let want = (n - done).min(buf.len() as u64) as usize;
            match self.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(k) => done += k as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Called once per entry, after its headers, with the physical payload length. A source
    /// that does not carry payload bytes returns `Some(crc64)` (CRC-64/GO-ISO of the
    /// content, 0 when empty) and the payload counts as consumed; `None` means the bytes
    /// follow in the stream.
    fn absent_payload(&mut self, len: u64) -> io::Result<Option<u64>> {
        let _ = len;
        Ok(None)
    }
}

/// A plain byte stream as a [`TarSource`].
#[derive(Debug)]
pub struct Plain<R>(pub R);

impl<R: Read> Read for Plain<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> TarSource for Plain<R> {}

/// Whether a block is a valid header (either checksum matches), as a format sniffer.
pub fn looks_like_header(block: &[u8; block::BLOCK]) -> bool {
    block::format(block).is_some()
}

/// Which sparse encoding an entry used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseFormat {
    /// Old GNU `S` type flag with the map in the header.
    OldGnu,
    /// PAX `GNU.sparse.map` (0.0 folded into 0.1).
    Pax0,
    /// PAX 1.0: the map at the start of the payload.
    Pax1,
}

/// Sparse-file details; the header's `size` is the real (logical) size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sparse {
    pub format: SparseFormat,
    pub regions: usize,
    /// Bytes of data stored in the archive (the rest are holes).
    pub data_bytes: u64,
}

/// One entry's header after all extension headers were merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Raw path bytes (GNU `L` > PAX `path` / `GNU.sparse.name` > ustar prefix + name).
    pub path: Vec<u8>,
    /// The type flag; a NUL flag is reported as `b'0'` (or `b'5'` for names ending in `/`).
    pub typeflag: u8,
    /// Logical size in bytes (the real size for sparse files).
    pub size: u64,
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// Raw link target (GNU `K` > PAX `linkpath` > header field).
    pub linkname: Vec<u8>,
    pub sparse: Option<Sparse>,
    pub format: Format,
    /// Whether PAX records applied to this entry.
    pub pax: bool,
    /// Byte offset of the entry's first header block (its extension headers included).
    pub offset: u64,
}

/// Why a tar stream could not be read. Offsets count bytes of the tar stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TarError {
    /// The source failed (a decoder error, a limit from below).
    #[error("reading tar at byte {offset}: {source}")]
    Io { offset: u64, source: io::Error },
    /// The data ended inside a header, an extension header or an entry's payload.
    #[error("truncated tar: data ends at byte {offset} inside {what}")]
    Truncated { offset: u64, what: &'static str },
    /// Neither the unsigned nor the signed checksum matches.
    #[error("bad tar header checksum at byte {offset}")]
    BadChecksum { offset: u64 },
    /// A header field that Go's reader also rejects (`ErrHeader`).
    #[error("invalid tar header at byte {offset}: {reason}")]
    InvalidHeader { offset: u64, reason: String },
    /// A malformed or ambiguous PAX header.
    #[error("invalid PAX header at byte {offset}: {reason}")]
    Pax { offset: u64, reason: String },
    /// An extension header over `Limits::max_extension_header`, refused before reading.
    #[error("limit exceeded: {what} at byte {offset} declares {size} bytes (limit {max})")]
    ExtensionTooLarge {
        offset: u64,
        what: &'static str,
        size: u64,
        max: u64,
    },
    /// A sparse map over `Limits::max_sparse_regions`.
    #[error("limit exceeded: sparse map at byte {offset} has more than {max} regions")]
    TooManySparseRegions { offset: u64, max: usize },
}

/// Streaming reader of tar headers; see the module docs for its semantics.
pub struct TarReader<S> {
    src: S,
    offset: u64,
    /// Unread physical payload bytes of the current entry.
    remaining: u64,
    /// Padding after the current entry's payload.
    pad: u64,
    absent_crc: Option<u64>,
    done: bool,
    end_marker: bool,
    globals: u64,
    max_ext: u64,
    max_sparse: usize,
}

/// Extension headers collected before an entry's own header.
#[derive(Default)]
struct Pending {
    pax: Option<PaxRecords>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.pax.is_none() && self.long_name.is_none() && self.long_link.is_none()
    }
}

impl<R: Read> TarReader<Plain<R>> {
    /// Reads a tar stream from `r`.
    pub fn new(r: R, limits: &Limits) -> Self {
        Self::with_source(Plain(r), limits)
    }

    /// The underlying reader, positioned after the last byte consumed (to drain it).
    pub fn into_inner(self) -> R {
        self.src.0
    }
}

impl<S: TarSource> TarReader<S> {
    /// Reads from any [`TarSource`].
    pub fn with_source(src: S, limits: &Limits) -> Self {
        TarReader {
            src,
            offset: 0,
            remaining: 0,
            pad: 0,
            absent_crc: None,
            done: false,
            end_marker: false,
            globals: 0,
            max_ext: limits.max_extension_header,
            max_sparse: limits.max_sparse_regions,
        }
    }

    /// Bytes of the tar stream consumed so far (absent payloads included).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// True once two zero blocks ended the archive; false if the data simply stopped.
    pub fn end_marker_seen(&self) -> bool {
        self.end_marker
    }

    /// PAX global (`g`) headers seen and ignored.
    pub fn global_headers(&self) -> u64 {
        self.globals
    }

    /// Unread payload bytes of the current entry.
    pub fn remaining_payload(&self) -> u64 {
        self.remaining
    }

    /// For a source without payload bytes, the CRC-64 it recorded for the current entry.
    pub fn absent_crc64(&self) -> Option<u64> {
        self.absent_crc
    }

    /// The source, positioned after the last byte consumed.
    pub fn into_source(self) -> S {
        self.src
    }

    /// Reads the current entry's payload; `Ok(0)` at its end.
    pub fn read_payload(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = self.remaining.min(buf.len() as u64) as usize;
        loop {
            match self.src.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(TarError::Truncated {
                        offset: self.offset,
                        what: "entry data",
                    })
                }
                Ok(n) => {
                    self.offset += n as u64;
                    self.remaining -= n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(e)),
            }
        }
    }

    /// The current entry's payload as a `Read` (errors become `io::Error`s).
    pub fn payload(&mut self) -> impl Read + '_ {
        PayloadReader { tr: self }
    }

    /// Advances to the next entry, skipping the rest of the current one. `Ok(None)` at the
    /// end of the archive (see [`Self::end_marker_seen`]).
    pub fn next_header(&mut self) -> Result<Option<Header>, TarError> {
        if self.done {
            return Ok(None);
        }
        self.skip_exact(self.remaining, "entry data")?;
        self.remaining = 0;
        self.skip_exact(self.pad, "padding")?;
        self.pad = 0;
        self.absent_crc = None;
        let start = self.offset;
        let mut pending = Pending::default();
        loop {
            let hdr_off = self.offset;
            let Some(blk) = self.read_block("a header")? else {
                return self.finish(&pending, false);
            };
            if block::is_zero(&blk) {
                return match self.read_block("the end-of-archive marker")? {
                    None => self.finish(&pending, false),
                    Some(b) if block::is_zero(&b) => self.finish(&pending, true),
                    Some(_) => Err(TarError::InvalidHeader {
                        offset: hdr_off,
                        reason: "zero block followed by a non-zero block".into(),
                    }),
                };
            }
            let format = block::format(&blk).ok_or(TarError::BadChecksum { offset: hdr_off })?;
            let fields = Fields::parse(&blk, format, hdr_off)?;
            match blk[field::TYPEFLAG] {
                t @ (b'x' | b'g') => {
                    let size = self.extension_size(fields.size, hdr_off, "PAX header")?;
                    let buf = self.read_special(size, "a PAX header")?;
                    let recs = pax::parse(&buf).map_err(|e| pax_error(hdr_off, e))?;
                    if t == b'g' {
                        // Go returns a global header as an entry of its own, which also
                        // ends whatever extension headers came before it.
                        self.globals += 1;
                        pending = Pending::default();
                    } else {
                        pending.pax = Some(recs);
                    }
                }
                t @ (b'L' | b'K') => {
                    let what = if t == b'L' {
                        "GNU long name"
                    } else {
                        "GNU long link"
                    };
                    let size = self.extension_size(fields.size, hdr_off, what)?;
                    let mut buf = self.read_special(size, "a GNU long name")?;
                    let len = block::parse_str(&buf).len();
                    buf.truncate(len);
                    if t == b'L' {
                        pending.long_name = Some(buf);
                    } else {
                        pending.long_link = Some(buf);
                    }
                }
                _ => {
                    let hdr = self.entry(&blk, format, fields, pending, start, hdr_off)?;
                    return Ok(Some(hdr));
                }
            }
        }
    }

    fn finish(&mut self, pending: &Pending, marker: bool) -> Result<Option<Header>, TarError> {
        if !pending.is_empty() {
            return Err(TarError::InvalidHeader {
                offset: self.offset,
                reason: "archive ends after an extension header with no entry".into(),
            });
        }
        self.done = true;
        self.end_marker = marker;
        Ok(None)
    }

    fn entry(
        &mut self,
        blk: &[u8; BLOCK],
        format: Format,
        f: Fields,
        pending: Pending,
        start: u64,
        hdr_off: u64,
    ) -> Result<Header, TarError> {
        let mut hdr = Header {
            path: f.name,
            typeflag: blk[field::TYPEFLAG],
            size: 0,
            mode: f.mode,
            uid: f.uid,
            gid: f.gid,
            mtime: f.mtime,
            linkname: block::parse_str(&blk[field::LINKNAME]).to_vec(),
            sparse: None,
            format,
            pax: pending.pax.is_some(),
            offset: start,
        };
        let mut size = f.size;
        if let Some(recs) = &pending.pax {
            size = merge_pax(&mut hdr, recs, size).map_err(|reason| TarError::Pax {
                offset: hdr_off,
                reason,
            })?;
        }
        if let Some(n) = pending.long_name {
            hdr.path = n;
        }
        if let Some(l) = pending.long_link {
            hdr.linkname = l;
        }
        if hdr.typeflag == 0 {
            hdr.typeflag = if hdr.path.ends_with(b"/") { b'5' } else { b'0' };
        }
        let physical = u64::try_from(size).map_err(|_| TarError::InvalidHeader {
            offset: hdr_off,
            reason: format!("negative size {size}"),
        })?;
        hdr.size = physical;
        self.remaining = if header_only(hdr.typeflag) {
            0
        } else {
            physical
        };
        self.pad = pad_of(self.remaining);
        self.read_sparse(&mut hdr, blk, pending.pax.as_ref(), hdr_off)?;
        match self.src.absent_payload(self.remaining) {
            Ok(Some(crc)) => {
                self.offset += self.remaining;
                self.remaining = 0;
                self.absent_crc = Some(crc);
            }
            Ok(None) => {}
            Err(e) => return Err(self.io_err(e)),
        }
        Ok(hdr)
    }

    fn extension_size(&self, size: i64, off: u64, what: &'static str) -> Result<u64, TarError> {
        let size = u64::try_from(size).map_err(|_| TarError::InvalidHeader {
            offset: off,
            reason: format!("negative size {size} on {what}"),
        })?;
        if size > self.max_ext {
            return Err(TarError::ExtensionTooLarge {
                offset: off,
                what,
                size,
                max: self.max_ext,
            });
        }
        Ok(size)
    }

    /// Reads a capped extension payload and its padding.
    fn read_special(&mut self, size: u64, what: &'static str) -> Result<Vec<u8>, TarError> {
        let mut buf = vec![0u8; size as usize];
        let n = self.read_full(&mut buf)?;
        if n < buf.len() {
            return Err(TarError::Truncated {
                offset: self.offset,
                what,
            });
        }
        self.skip_exact(pad_of(size), "padding")?;
        Ok(buf)
    }

    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        let mut n = 0;
        while n < buf.len() {
            match self.src.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => {
                    n += k;
                    self.offset += k as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(e)),
            }
        }
        Ok(n)
    }

    /// A whole block, `None` at a clean end of data, an error for a partial block.
    fn read_block(&mut self, what: &'static str) -> Result<Option<[u8; BLOCK]>, TarError> {
        let mut blk = [0u8; BLOCK];
        match self.read_full(&mut blk)? {
            0 => Ok(None),
            BLOCK => Ok(Some(blk)),
            _ => Err(TarError::Truncated {
                offset: self.offset,
                what,
            }),
        }
    }

    fn skip_exact(&mut self, n: u64, what: &'static str) -> Result<(), TarError> {
        if n == 0 {
            return Ok(());
        }
        let skipped = match self.src.skip(n) {
            Ok(k) => k,
            Err(e) => return Err(self.io_err(e)),
        };
        self.offset += skipped;
        if skipped < n {
            return Err(TarError::Truncated {
                offset: self.offset,
                what,
            });
        }
        Ok(())
    }

    fn io_err(&self, source: io::Error) -> TarError {
        TarError::Io {
            offset: self.offset,
            source,
        }
    }
}

struct PayloadReader<'a, S> {
    tr: &'a mut TarReader<S>,
}

impl<S: TarSource> Read for PayloadReader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tr.read_payload(buf).map_err(|e| match e {
            TarError::Io { source, .. } => source,
            other => io::Error::new(io::ErrorKind::UnexpectedEof, other),
        })
    }
}

/// Types whose size field says nothing about payload (Go's `isHeaderOnlyType`).
fn header_only(typeflag: u8) -> bool {
    matches!(typeflag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6')
}

fn pad_of(n: u64) -> u64 {
    (BLOCK as u64 - n % BLOCK as u64) % BLOCK as u64
}
