//! Layer blob decoding: compression is detected by magic bytes only (never by media type or
//! trial), then decoded as one stream under a byte budget.
//!
//! - gzip (`1F 8B 08`): every member (`MultiGzDecoder`), so pigz and eStargz layers list in
//!   full; trailing bytes that are not another member fail.
//! - zstd (`28 B5 2F FD`, or a skippable frame `50..5F 2A 4D 18`): every frame, window
//!   capped at 2^27 bytes (zstd's own default limit) so a `--long=31` blob fails instead of
//!   allocating 2 GiB; without the `zstd` feature (wasm) it fails with a clear error.
//! - anything whose first block is a tar header or zero block, or no bytes at all (a valid
//!   empty layer): raw tar.
//! - xz, bzip2, lz4 and unknown magic: "unsupported compression".
//!
//! The decompressed output must itself look like a tar (gzip-of-gzip fails as "not a tar";
//! nothing is decoded twice). Every read counts decompressed bytes against
//! `Limits::max_layer_bytes` and, past `Limits::ratio_grace`, against
//! `Limits::max_compression_ratio` times the compressed bytes consumed, so a bomb fails
//! early with bounded memory.

pub mod gzip_index;

use crate::limits::Limits;
use crate::model::Compression;
use crate::tar::TarSource;
use std::io::{self, Chain, Cursor, Read};

/// Why a blob cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressError {
    /// Known but unsupported compression (xz, bzip2, lz4) or unknown magic bytes.
    #[error("unsupported compression ({0})")]
    Unsupported(&'static str),
    /// A zstd blob in a build without the zstd decoder (wasm).
    #[error("zstd support not built in")]
    ZstdNotBuiltIn,
    /// The (decompressed) data does not start like a tar archive.
    #[error("not a tar archive: {0}")]
    NotTar(String),
    /// A decompressed-byte budget was exceeded.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// Reading or decoding failed.
    #[error("decoding {format} data: {source}")]
    Io {
        format: &'static str,
        source: io::Error,
    },
}

/// Detects the compression of a blob from its first bytes (up to 512 are looked at).
pub fn sniff(prefix: &[u8]) -> Result<Compression, CompressError> {
    match prefix {
        [] => Ok(Compression::None),
        [0x1f, 0x8b, 0x08, ..] => Ok(Compression::Gzip),
        [0x1f, 0x8b, ..] => Err(CompressError::Unsupported("gzip with an unknown method")),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
        [b, 0x2a, 0x4d, 0x18, ..] if b & 0xf0 == 0x50 => Ok(Compression::Zstd),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Err(CompressError::Unsupported("xz")),
        [b'B', b'Z', b'h', ..] => Err(CompressError::Unsupported("bzip2")),
        [0x04, 0x22, 0x4d, 0x18, ..] => Err(CompressError::Unsupported("lz4")),
        _ => {
            check_tar(prefix).map_err(|_| CompressError::Unsupported("unknown format"))?;
            Ok(Compression::None)
        }
    }
}

/// Whether `prefix` (up to the first 512 bytes of a stream) starts like a tar archive.
fn check_tar(prefix: &[u8]) -> Result<(), String> {
    if prefix.is_empty() || prefix.iter().all(|&b| b == 0) {
        return Ok(());
    }
    if let Ok(block) = <&[u8; 512]>::try_from(&prefix[..prefix.len().min(512)]) {
        if crate::tar::looks_like_header(block) {
            return Ok(());
        }
    } else if prefix.len() >= 263 && &prefix[257..262] == b"ustar" {
        return Ok(()); // a truncated tar: let the tar reader say so
    }
    Err(match sniff_magic_name(prefix) {
        Some(name) => format!("data starts with {name} magic (nested compression?)"),
        None => "first block is not a valid tar header".into(),
    })
}

fn sniff_magic_name(prefix: &[u8]) -> Option<&'static str> {
    match prefix {
        [0x1f, 0x8b, ..] => Some("gzip"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
        [0xfd, b'7', b'z', b'X', b'Z', ..] => Some("xz"),
        [b'B', b'Z', b'h', ..] => Some("bzip2"),
        _ => None,
    }
}

fn format_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "tar",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    }
}

/// Counts the compressed bytes the decoder consumes.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

type Source<R> = Chain<Cursor<Vec<u8>>, Counted<R>>;

enum Inner<R: Read> {
    Raw(Source<R>),
    Gzip(Box<flate2::read::MultiGzDecoder<Source<R>>>),
    #[cfg(feature = "zstd")]
    Zstd(Box<zstd::stream::read::Decoder<'static, io::BufReader<Source<R>>>>),
}

/// A sniffed, budgeted decoder yielding the uncompressed tar stream.
pub struct Decoder<R: Read> {
    inner: Inner<R>,
    compression: Compression,
    /// Decompressed bytes read ahead to check for a tar header, served first.
    head: Vec<u8>,
    head_pos: usize,
    out: u64,
    max_out: u64,
    max_ratio: u64,
    grace: u64,
}

impl<R: Read> Decoder<R> {
    /// Sniffs `r` and sets up the decoder. Fails on unsupported compression and on
    /// decompressed data that is not a tar.
    pub fn new(r: R, limits: &Limits) -> Result<Self, CompressError> {
        let mut counted = Counted { inner: r, count: 0 };
        let mut prefix = vec![0u8; 512];
        let n = read_up_to(&mut counted, &mut prefix).map_err(|source| CompressError::Io {
            format: "layer",
            source,
        })?;
        prefix.truncate(n);
        let compression = sniff(&prefix)?;
        let src = Cursor::new(prefix).chain(counted);
        let inner = match compression {
            Compression::None => Inner::Raw(src),
            Compression::Gzip => Inner::Gzip(Box::new(flate2::read::MultiGzDecoder::new(src))),
            Compression::Zstd => zstd_inner(src)?,
        };
        let mut dec = Decoder {
            inner,
            compression,
            head: Vec::new(),
            head_pos: 0,
            out: 0,
            max_out: limits.max_layer_bytes,
            max_ratio: limits.max_compression_ratio,
            grace: limits.ratio_grace,
        };
        if compression != Compression::None {
            let mut head = vec![0u8; 512];
            let n = read_up_to(&mut dec, &mut head).map_err(|source| dec.io_error(source))?;
            head.truncate(n);
            check_tar(&head).map_err(CompressError::NotTar)?;
            // Already counted in `out` when decoded; served from `head` uncounted.
            dec.head = head;
            dec.head_pos = 0;
        }
        Ok(dec)
    }

    /// The detected compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Compressed bytes consumed from the source so far.
    pub fn compressed_bytes(&self) -> u64 {
        self.source().1.count
    }

    /// Decompressed bytes handed out so far.
    pub fn decompressed_bytes(&self) -> u64 {
        self.out
    }

    /// Turns a read error into a typed error, recovering budget failures.
    pub fn io_error(&self, source: io::Error) -> CompressError {
        if source
            .get_ref()
            .is_some_and(|e| e.downcast_ref::<CompressError>().is_some())
        {
            if let Some(inner) = source.into_inner() {
                if let Ok(e) = inner.downcast::<CompressError>() {
                    return *e;
                }
            }
            return CompressError::LimitExceeded("decompression budget".into());
        }
        CompressError::Io {
            format: format_name(self.compression),
            source,
        }
    }

    /// The source reader, for draining whatever follows the compressed stream.
    pub fn into_inner(self) -> R {
        match self.inner {
            Inner::Raw(s) => s.into_inner().1.inner,
            Inner::Gzip(d) => d.into_inner().into_inner().1.inner,
            #[cfg(feature = "zstd")]
            Inner::Zstd(d) => d.finish().into_inner().into_inner().1.inner,
        }
    }

    /// The source reader (e.g. to stop hashing it once the blob turns out uncompressed).
    pub fn source_mut(&mut self) -> &mut R {
        let chain = match &mut self.inner {
            Inner::Raw(s) => s,
            Inner::Gzip(d) => d.get_mut(),
            #[cfg(feature = "zstd")]
            Inner::Zstd(d) => d.get_mut().get_mut(),
        };
        &mut chain.get_mut().1.inner
    }

    fn source(&self) -> (&Cursor<Vec<u8>>, &Counted<R>) {
        match &self.inner {
            Inner::Raw(s) => s.get_ref(),
            Inner::Gzip(d) => d.get_ref().get_ref(),
            #[cfg(feature = "zstd")]
            Inner::Zstd(d) => d.get_ref().get_ref().get_ref(),
        }
    }

    fn check_budget(&self) -> io::Result<()> {
        if self.out > self.max_out {
            return Err(io::Error::other(CompressError::LimitExceeded(format!(
                "layer decompresses to more than {} bytes",
                self.max_out
            ))));
        }
        if self.compression != Compression::None && self.out > self.grace {
            let compressed = self.compressed_bytes().max(1);
            if self.out / compressed > self.max_ratio {
                return Err(io::Error::other(CompressError::LimitExceeded(format!(
                    "compression ratio over {}:1 ({} bytes from {compressed}; a decompression bomb?)",
                    self.max_ratio, self.out
                ))));
            }
        }
        Ok(())
    }
}

#[cfg(feature = "zstd")]
fn zstd_inner<R: Read>(src: Source<R>) -> Result<Inner<R>, CompressError> {
    let io_err = |source| CompressError::Io {
        format: "zstd",
        source,
    };
    let mut d = zstd::stream::read::Decoder::new(src).map_err(io_err)?;
    d.window_log_max(27).map_err(io_err)?;
    Ok(Inner::Zstd(Box::new(d)))
}

#[cfg(not(feature = "zstd"))]
fn zstd_inner<R: Read>(_src: Source<R>) -> Result<Inner<R>, CompressError> {
    Err(CompressError::ZstdNotBuiltIn)
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.head_pos < self.head.len() {
            let n = (self.head.len() - self.head_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.head_pos..self.head_pos + n]);
            self.head_pos += n;
            return Ok(n);
        }
        let res = match &mut self.inner {
            Inner::Raw(s) => s.read(buf),
            Inner::Gzip(d) => d.read(buf),
            #[cfg(feature = "zstd")]
            Inner::Zstd(d) => d.read(buf),
        };
        let n = match res {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(source) => {
                return Err(io::Error::other(CompressError::Io {
                    format: format_name(self.compression),
                    source,
                }))
            }
        };
        self.out += n as u64;
        self.check_budget()?;
        Ok(n)
    }
}

impl<R: Read> TarSource for Decoder<R> {}

/// Fills `buf` as far as the reader allows; returns the bytes read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
pub(crate) mod tests;
