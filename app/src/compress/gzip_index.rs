//! Seekable gzip: a checkpoint ("zran") index over a possibly multi-member gzip stream, so a
//! read at uncompressed offset X decompresses only from the nearest checkpoint at or before X
//! instead of from the start of the blob.
//!
//! This module owns the gzip framing for that path: member headers (magic `1F 8B`, method 8,
//! FTEXT/FHCRC/FEXTRA/FNAME/FCOMMENT, reserved flag bits refused, names and comments capped at
//! [`MAX_HEADER_STRING`] bytes, the FHCRC checked), the raw deflate stream (miniz_oxide's
//! inflate core with a wrapping 32 KiB output ring that doubles as the dictionary), the
//! CRC32 + ISIZE trailer, any number of further members, and zero padding after the last
//! member (accepted like gzip(1); any other trailing byte fails).
//!
//! Invariants:
//! - A checkpoint lies inside one member's deflate stream, at a decompress call boundary. It
//!   holds the compressed bytes consumed, the uncompressed offset, the complete decoder state
//!   (bit buffer included, so no block boundary is needed), the 32 KiB ring and its position,
//!   and the member's running CRC32 and length. Checkpoints are strictly increasing in both
//!   offsets, one about every `spacing` uncompressed bytes.
//! - Building verifies every member's CRC32 and ISIZE. A [`GzipSeekReader`] verifies the
//!   trailer of every member it finishes (the running CRC from the checkpoint makes that a
//!   full check) and that the stream ends where the index says, so a blob that changed under
//!   its index fails instead of yielding wrong bytes silently.
//! - IO-free: only `Read`/`Seek` over the caller's reader, whose offset 0 is the first gzip
//!   byte. Decoding work is bounded by `max_uncompressed`; memory by one 64 KiB input buffer,
//!   the 32 KiB ring and the checkpoints (about 32 KiB + the postcard-encoded decoder state,
//!   a few KiB, each).
//! - The serialised index ([`GzipIndex::to_bytes`]) is versioned and checksummed and names the
//!   decoder layout it was written with; [`GzipIndex::from_bytes`] refuses anything else with
//!   an error, never panics, and allocates no more than its input's length. It is a cache the
//!   server wrote itself: the checksum catches damage, not forgery.

use crc32fast::Hasher;
use miniz_oxide::inflate::core::{decompress_with_limit, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

/// Default distance between checkpoints, in uncompressed bytes.
pub const DEFAULT_SPACING: u64 = 4 << 20;
/// Smallest checkpoint spacing; smaller requests are raised to it (a checkpoint costs a
/// 32 KiB window, so denser ones would cost more memory than the data).
pub const MIN_SPACING: u64 = WINDOW as u64;
/// Longest FNAME or FCOMMENT accepted in a member header, terminator excluded.
pub const MAX_HEADER_STRING: usize = 64 << 10;

/// The deflate window, and the size of the output ring.
const WINDOW: usize = 32 << 10;
const RING_MASK: usize = WINDOW - 1;
const INPUT_BUFFER: usize = 64 << 10;
/// `progress` is called at least every this many compressed bytes.
const PROGRESS_EVERY: u64 = 1 << 20;

// FTEXT (0x01) is a hint only.
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;

const MAGIC: &[u8; 8] = b"STRGZIX\0";
const VERSION: u16 = 1;
/// magic, version, decoder fingerprint, spacing, compressed, uncompressed, members, count.
const HEADER_LEN: usize = 8 + 2 + 4 + 8 * 4 + 4;
/// in, out, member, crc, member length, ring position, state length (then state, window).
const CHECKPOINT_FIXED_LEN: usize = 8 + 8 + 8 + 4 + 8 + 2 + 4;

/// Why a gzip stream cannot be indexed or read, or a stored index cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GzipIndexError {
    /// A member header is malformed (or the data is not gzip at all).
    #[error("bad gzip header at compressed byte {offset}: {reason}")]
    BadHeader { offset: u64, reason: &'static str },
    /// The deflate data of a member does not decode.
    #[error("corrupt deflate data in gzip member {member} near compressed byte {offset}; the blob is damaged, fetch it again")]
    CorruptDeflate { member: u64, offset: u64 },
    /// A member's data does not match its trailer CRC32.
    #[error("gzip member {member} fails its CRC32 check (trailer {expected:08x}, data {actual:08x}); the blob is damaged, fetch it again")]
    CrcMismatch {
        member: u64,
        expected: u32,
        actual: u32,
    },
    /// A member's length does not match its trailer ISIZE.
    #[error("gzip member {member} has the wrong size (trailer {expected} bytes mod 2^32, data {actual}); the blob is damaged, fetch it again")]
    SizeMismatch {
        member: u64,
        expected: u32,
        actual: u32,
    },
    /// The input ends inside a member.
    #[error(
        "gzip data ends early at compressed byte {offset}; the blob is incomplete, fetch it again"
    )]
    Truncated { offset: u64 },
    /// Bytes after the last member that are neither another member nor zero padding.
    #[error("trailing garbage at compressed byte {offset} after the last gzip member")]
    TrailingGarbage { offset: u64 },
    /// The stream decompresses to more than the caller allowed.
    #[error("gzip data decompresses to more than {limit} bytes (a decompression bomb?); raise the limit if the layer is genuine")]
    LimitExceeded { limit: u64 },
    /// A read was asked to start past the end of the uncompressed data.
    #[error("offset {at} is past the end of the uncompressed data ({len} bytes)")]
    OffsetBeyondEnd { at: u64, len: u64 },
    /// The gzip data read through an index is not the data the index was built from.
    #[error("gzip data does not match its index ({0}); rebuild the index")]
    IndexMismatch(String),
    /// Reading or seeking the compressed input failed.
    #[error("reading gzip data at compressed byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    /// A serialised index cannot be used.
    #[error("stored gzip index is unusable ({0}); delete it and rebuild")]
    BadIndex(String),
}

impl GzipIndexError {
    /// As an `io::Error` (for `Read`), keeping this error as its inner value.
    fn into_io(self) -> io::Error {
        let kind = match &self {
            GzipIndexError::Io { source, .. } => source.kind(),
            GzipIndexError::Truncated { .. } => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }
}

/// A point from which decompression can resume.
#[derive(Clone, PartialEq, Eq)]
struct Checkpoint {
    /// Compressed bytes consumed before this point (where the input resumes).
    in_offset: u64,
    /// Uncompressed bytes produced before this point.
    out_offset: u64,
    /// The member (0-based) whose deflate stream this point is in.
    member: u64,
    /// CRC32 of the member's uncompressed bytes so far.
    member_crc: u32,
    /// The member's uncompressed bytes so far.
    member_len: u64,
    /// Next write position in the ring.
    ring_pos: u16,
    /// The decoder, postcard-encoded (a few KiB instead of its ~11 KiB in memory).
    state: Vec<u8>,
    /// The output ring: the last 32 KiB of output, rotated by `ring_pos`.
    window: Box<[u8]>,
}

/// A checkpoint index over one gzip stream. See the module doc.
#[derive(Clone, PartialEq, Eq)]
pub struct GzipIndex {
    spacing: u64,
    compressed_len: u64,
    uncompressed_len: u64,
    members: u64,
    checkpoints: Vec<Checkpoint>,
}

impl fmt::Debug for GzipIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GzipIndex")
            .field("spacing", &self.spacing)
            .field("compressed_len", &self.compressed_len)
            .field("uncompressed_len", &self.uncompressed_len)
            .field("members", &self.members)
            .field("checkpoints", &self.checkpoints.len())
            .finish()
    }
}

impl GzipIndex {
    /// Reads the whole gzip stream once, verifying every member's CRC32 and ISIZE, and records
    /// a checkpoint every `spacing` uncompressed bytes (at least [`MIN_SPACING`]).
    /// `progress(compressed_bytes_consumed)` is called now and then: at least once per
    /// checkpoint and per MiB of input, and once at the end. `max_uncompressed` bounds the
    /// work: more output than that fails with [`GzipIndexError::LimitExceeded`].
    pub fn build<R: Read>(
        r: R,
        spacing: u64,
        max_uncompressed: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<GzipIndex, GzipIndexError> {
        let spacing = spacing.max(MIN_SPACING);
        let mut engine = Engine::new(r, 0);
        let mut checkpoints = Vec::new();
        let mut next_checkpoint = spacing;
        let mut next_progress = PROGRESS_EVERY;
        loop {
            // Stop exactly on the checkpoint offset when it lies in this call's reach.
            let max_out = match next_checkpoint.checked_sub(engine.out) {
                Some(gap) if gap > 0 => usize::try_from(gap).unwrap_or(WINDOW).min(WINDOW),
                _ => WINDOW,
            };
            if engine.step(max_out)?.is_none() {
                break;
            }
            if engine.out > max_uncompressed {
                return Err(GzipIndexError::LimitExceeded {
                    limit: max_uncompressed,
                });
            }
            if engine.out >= next_checkpoint && engine.phase == Phase::Deflate {
                checkpoints.push(engine.checkpoint()?);
                next_checkpoint = engine.out.saturating_add(spacing);
                progress(engine.input.pos);
                next_progress = engine.input.pos.saturating_add(PROGRESS_EVERY);
            } else if engine.input.pos >= next_progress {
                progress(engine.input.pos);
                next_progress = engine.input.pos.saturating_add(PROGRESS_EVERY);
            }
        }
        progress(engine.input.pos);
        Ok(GzipIndex {
            spacing,
            compressed_len: engine.input.pos,
            uncompressed_len: engine.out,
            members: engine.member,
            checkpoints,
        })
    }

    /// The checkpoint spacing in uncompressed bytes.
    pub fn spacing(&self) -> u64 {
        self.spacing
    }

    /// Bytes of the whole uncompressed stream (all members).
    pub fn uncompressed_len(&self) -> u64 {
        self.uncompressed_len
    }

    /// Bytes of the compressed input, zero padding after the last member included.
    pub fn compressed_len(&self) -> u64 {
        self.compressed_len
    }

    /// Number of gzip members.
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Number of checkpoints.
    pub fn checkpoints(&self) -> usize {
        self.checkpoints.len()
    }

    /// A reader yielding the uncompressed bytes from offset `at` to the end, starting at the
    /// nearest checkpoint ≤ `at` (seeking `r` there; offset 0 of `r` is the first gzip byte)
    /// and discarding the bytes before `at` before returning.
    pub fn reader_at<R: Read + Seek>(
        &self,
        mut r: R,
        at: u64,
    ) -> Result<GzipSeekReader<R>, GzipIndexError> {
        if at > self.uncompressed_len {
            return Err(GzipIndexError::OffsetBeyondEnd {
                at,
                len: self.uncompressed_len,
            });
        }
        let before = self.checkpoints.partition_point(|c| c.out_offset <= at);
        let checkpoint = before.checked_sub(1).and_then(|i| self.checkpoints.get(i));
        let start = checkpoint.map_or(0, |c| c.in_offset);
        r.seek(SeekFrom::Start(start))
            .map_err(|source| GzipIndexError::Io {
                offset: start,
                source,
            })?;
        let mut engine = Engine::new(r, start);
        if let Some(c) = checkpoint {
            engine.resume(c)?;
        }
        while engine.out < at {
            let gap = usize::try_from(at - engine.out)
                .unwrap_or(WINDOW)
                .min(WINDOW);
            if engine.step(gap)?.is_none() {
                return Err(GzipIndexError::IndexMismatch(format!(
                    "the data ends at uncompressed byte {}, the index says {}",
                    engine.out, self.uncompressed_len
                )));
            }
        }
        Ok(GzipSeekReader {
            engine,
            pending: 0..0,
            uncompressed_len: self.uncompressed_len,
            compressed_len: self.compressed_len,
            failed: false,
        })
    }

    /// The index as bytes for an on-disk cache; [`GzipIndex::from_bytes`] reads them back.
    ///
    /// Layout (little-endian): magic `STRGZIX\0`, version u16, decoder fingerprint u32,
    /// spacing, compressed length, uncompressed length, members (u64 each), checkpoint count
    /// u32; per checkpoint: compressed offset, uncompressed offset, member (u64 each), member
    /// CRC32 u32, member length u64, ring position u16, state length u32, the postcard state,
    /// the raw 32 KiB window; finally a CRC32 of everything before it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let per: usize = self
            .checkpoints
            .iter()
            .map(|c| CHECKPOINT_FIXED_LEN + c.state.len() + WINDOW)
            .sum();
        let mut out = Vec::with_capacity(HEADER_LEN + per + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&decoder_fingerprint().to_le_bytes());
        for v in [
            self.spacing,
            self.compressed_len,
            self.uncompressed_len,
            self.members,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        // `build` and `from_bytes` cannot produce more than u32::MAX checkpoints in practice
        // (each costs 32 KiB); saturate rather than wrap so a reader refuses, not misreads.
        let count = u32::try_from(self.checkpoints.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_le_bytes());
        for c in &self.checkpoints {
            for v in [c.in_offset, c.out_offset, c.member] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&c.member_crc.to_le_bytes());
            out.extend_from_slice(&c.member_len.to_le_bytes());
            out.extend_from_slice(&c.ring_pos.to_le_bytes());
            let state_len = u32::try_from(c.state.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&state_len.to_le_bytes());
            out.extend_from_slice(&c.state);
            out.extend_from_slice(&c.window);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads an index written by [`GzipIndex::to_bytes`]. Other versions, another decoder
    /// layout, truncation, damage and inconsistent fields fail with
    /// [`GzipIndexError::BadIndex`].
    pub fn from_bytes(bytes: &[u8]) -> Result<GzipIndex, GzipIndexError> {
        let bad = |why: &str| GzipIndexError::BadIndex(why.to_string());
        let mut c = Cursor { bytes, pos: 0 };
        if c.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
            return Err(bad("not a Strata gzip index"));
        }
        let version = c.u16()?;
        if version != VERSION {
            return Err(GzipIndexError::BadIndex(format!(
                "format version {version}, this build reads version {VERSION}"
            )));
        }
        let Some((body, crc)) = bytes.split_last_chunk::<4>() else {
            return Err(bad("truncated"));
        };
        if body.len() < HEADER_LEN {
            return Err(bad("truncated"));
        }
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return Err(bad("checksum mismatch: truncated or damaged"));
        }
        let mut c = Cursor {
            bytes: body,
            pos: c.pos,
        };
        if c.u32()? != decoder_fingerprint() {
            return Err(bad("written by a different decoder version or platform"));
        }
        let spacing = c.u64()?;
        let compressed_len = c.u64()?;
        let uncompressed_len = c.u64()?;
        let members = c.u64()?;
        let count = c.u32()? as usize;
        if spacing < MIN_SPACING {
            return Err(bad("spacing below the minimum"));
        }
        if count > c.remaining() / (CHECKPOINT_FIXED_LEN + WINDOW) {
            return Err(bad("more checkpoints than the data holds"));
        }
        let mut checkpoints: Vec<Checkpoint> = Vec::with_capacity(count);
        for _ in 0..count {
            let in_offset = c.u64()?;
            let out_offset = c.u64()?;
            let member = c.u64()?;
            let member_crc = c.u32()?;
            let member_len = c.u64()?;
            let ring_pos = c.u16()?;
            let state_len = c.u32()? as usize;
            let state = c.take(state_len)?.to_vec();
            let window: Box<[u8]> = c.take(WINDOW)?.into();
            let in_order = checkpoints.last().is_none_or(|p| {
                p.out_offset < out_offset && p.in_offset <= in_offset && p.member <= member
            });
            if !in_order
                || out_offset == 0
                || out_offset > uncompressed_len
                || in_offset > compressed_len
                || member >= members
                || member_len > out_offset
                || usize::from(ring_pos) >= WINDOW
            {
                return Err(bad("inconsistent checkpoint"));
            }
            decode_state(&state)?;
            checkpoints.push(Checkpoint {
                in_offset,
                out_offset,
                member,
                member_crc,
                member_len,
                ring_pos,
                state,
                window,
            });
        }
        if c.remaining() != 0 {
            return Err(bad("trailing bytes"));
        }
        Ok(GzipIndex {
            spacing,
            compressed_len,
            uncompressed_len,
            members,
            checkpoints,
        })
    }
}

/// Uncompressed bytes from an offset to the end, read through a [`GzipIndex`]. Errors are
/// `io::Error`s whose inner value is the [`GzipIndexError`].
pub struct GzipSeekReader<R> {
    engine: Engine<R>,
    /// Output in the ring not handed out yet.
    pending: std::ops::Range<usize>,
    uncompressed_len: u64,
    compressed_len: u64,
    failed: bool,
}

impl<R> GzipSeekReader<R> {
    /// The uncompressed offset of the next byte `read` returns.
    pub fn position(&self) -> u64 {
        self.engine.out - self.pending.len() as u64
    }

    /// The compressed reader.
    pub fn into_inner(self) -> R {
        self.engine.input.r
    }
}

impl<R: Read> GzipSeekReader<R> {
    fn next_chunk(&mut self) -> Result<bool, GzipIndexError> {
        match self.engine.step(WINDOW)? {
            Some(range) => {
                if self.engine.out > self.uncompressed_len {
                    return Err(GzipIndexError::IndexMismatch(format!(
                        "the data runs past uncompressed byte {}",
                        self.uncompressed_len
                    )));
                }
                self.pending = range;
                Ok(true)
            }
            None if self.engine.out != self.uncompressed_len => {
                Err(GzipIndexError::IndexMismatch(format!(
                    "the data ends at uncompressed byte {}, the index says {}",
                    self.engine.out, self.uncompressed_len
                )))
            }
            None if self.engine.input.pos != self.compressed_len => {
                Err(GzipIndexError::IndexMismatch(format!(
                    "the blob is {} bytes, the index says {}",
                    self.engine.input.pos, self.compressed_len
                )))
            }
            None => Ok(false),
        }
    }
}

impl<R: Read> Read for GzipSeekReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.failed {
            return Err(io::Error::other("gzip reader failed earlier"));
        }
        while self.pending.is_empty() {
            match self.next_chunk() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(e) => {
                    self.failed = true;
                    return Err(e.into_io());
                }
            }
        }
        let n = self.pending.len().min(buf.len());
        let from = self.pending.start;
        buf[..n].copy_from_slice(&self.engine.ring[from..from + n]);
        self.pending.start += n;
        Ok(n)
    }
}

/// Where the engine is in the gzip framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before a member header, padding or the end of input.
    Header,
    /// Inside a member's deflate stream.
    Deflate,
    /// After a member's deflate stream, before its trailer.
    Trailer,
    /// Past the last member and any zero padding.
    End,
}

/// The gzip decoder shared by index building and reading.
struct Engine<R> {
    input: Input<R>,
    phase: Phase,
    decoder: Box<DecompressorOxide>,
    ring: Box<[u8]>,
    ring_pos: usize,
    /// Uncompressed bytes produced in total.
    out: u64,
    /// The current member (0-based); after the end, the number of members.
    member: u64,
    member_crc: Hasher,
    member_len: u64,
}

impl<R: Read> Engine<R> {
    fn new(r: R, pos: u64) -> Self {
        Engine {
            input: Input {
                r,
                buf: vec![0; INPUT_BUFFER].into_boxed_slice(),
                lo: 0,
                hi: 0,
                pos,
                eof: false,
            },
            phase: Phase::Header,
            decoder: Box::default(),
            ring: vec![0; WINDOW].into_boxed_slice(),
            ring_pos: 0,
            out: 0,
            member: 0,
            member_crc: Hasher::new(),
            member_len: 0,
        }
    }

    fn checkpoint(&self) -> Result<Checkpoint, GzipIndexError> {
        let state = postcard::to_allocvec(&*self.decoder)
            .map_err(|e| GzipIndexError::BadIndex(format!("cannot encode decoder state: {e}")))?;
        Ok(Checkpoint {
            in_offset: self.input.pos,
            out_offset: self.out,
            member: self.member,
            member_crc: self.member_crc.clone().finalize(),
            member_len: self.member_len,
            // The ring position is masked to 15 bits.
            ring_pos: u16::try_from(self.ring_pos).unwrap_or(0),
            state,
            window: self.ring.clone(),
        })
    }

    fn resume(&mut self, c: &Checkpoint) -> Result<(), GzipIndexError> {
        self.decoder = decode_state(&c.state)?;
        self.ring.copy_from_slice(&c.window);
        self.ring_pos = usize::from(c.ring_pos) & RING_MASK;
        self.out = c.out_offset;
        self.member = c.member;
        self.member_crc = Hasher::new_with_initial_len(c.member_crc, c.member_len);
        self.member_len = c.member_len;
        self.phase = Phase::Deflate;
        Ok(())
    }

    /// Decodes until some output is produced, returned as a range of the ring (at most
    /// `max_out` bytes, at least one), or `None` at the end of the stream.
    fn step(&mut self, max_out: usize) -> Result<Option<std::ops::Range<usize>>, GzipIndexError> {
        loop {
            match self.phase {
                Phase::End => return Ok(None),
                Phase::Header => {
                    self.phase = if self.member_header()? {
                        Phase::Deflate
                    } else {
                        Phase::End
                    };
                }
                Phase::Trailer => {
                    self.trailer()?;
                    self.member += 1;
                    self.phase = Phase::Header;
                }
                Phase::Deflate => {
                    if let Some(range) = self.inflate(max_out.max(1))? {
                        return Ok(Some(range));
                    }
                }
            }
        }
    }

    /// One decompress call; the output it produced, if any.
    fn inflate(
        &mut self,
        max_out: usize,
    ) -> Result<Option<std::ops::Range<usize>>, GzipIndexError> {
        if self.input.avail().is_empty() && !self.input.eof {
            self.input.fill()?;
            return Ok(None);
        }
        let flags = if self.input.eof {
            0
        } else {
            inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
        };
        let pos = self.ring_pos;
        let (status, n_in, n_out) = decompress_with_limit(
            &mut self.decoder,
            self.input.avail(),
            &mut self.ring,
            pos,
            max_out,
            flags,
        );
        self.input.consume(n_in);
        let produced = pos..pos + n_out;
        if n_out > 0 {
            let Some(bytes) = self.ring.get(produced.clone()) else {
                return Err(self.corrupt());
            };
            self.member_crc.update(bytes);
            self.member_len += n_out as u64;
            self.out += n_out as u64;
            self.ring_pos = produced.end & RING_MASK;
        }
        match status {
            TINFLStatus::Done => self.phase = Phase::Trailer,
            TINFLStatus::NeedsMoreInput => {
                if self.input.fill()? == 0 && !self.input.eof {
                    return Err(self.corrupt()); // no progress with a full input buffer
                }
            }
            TINFLStatus::HasMoreOutput if n_out > 0 || n_in > 0 => {}
            TINFLStatus::FailedCannotMakeProgress if self.input.eof => {
                return Err(GzipIndexError::Truncated {
                    offset: self.input.pos,
                })
            }
            _ => return Err(self.corrupt()),
        }
        Ok((n_out > 0).then_some(produced))
    }

    fn corrupt(&self) -> GzipIndexError {
        GzipIndexError::CorruptDeflate {
            member: self.member,
            offset: self.input.pos,
        }
    }

    /// Parses the next member header, or the zero padding and end of input after the last
    /// member (then `false`).
    fn member_header(&mut self) -> Result<bool, GzipIndexError> {
        let start = self.input.pos;
        let head = self.input.peek(2)?;
        if self.member > 0 {
            if head.is_empty() {
                return Ok(false);
            }
            if head[0] == 0 {
                self.zero_padding()?;
                return Ok(false);
            }
            if head != [0x1f, 0x8b] {
                return Err(GzipIndexError::TrailingGarbage { offset: start });
            }
        } else if head.is_empty() {
            return Err(GzipIndexError::BadHeader {
                offset: start,
                reason: "empty input, not gzip",
            });
        } else if head != &[0x1f, 0x8b][..head.len()] {
            return Err(GzipIndexError::BadHeader {
                offset: start,
                reason: "no gzip magic (1f 8b)",
            });
        }
        let bad = |reason| GzipIndexError::BadHeader {
            offset: start,
            reason,
        };
        let mut crc = Hasher::new();
        let mut fixed = [0u8; 10];
        self.input.read_exact(&mut fixed)?;
        crc.update(&fixed);
        if fixed[2] != 8 {
            return Err(bad("compression method is not deflate"));
        }
        let flags = fixed[3];
        if flags & FRESERVED != 0 {
            return Err(bad("reserved flag bits set"));
        }
        if flags & FEXTRA != 0 {
            let mut xlen = [0u8; 2];
            self.input.read_exact(&mut xlen)?;
            crc.update(&xlen);
            let mut left = usize::from(u16::from_le_bytes(xlen));
            let mut chunk = [0u8; 256];
            while left > 0 {
                let n = left.min(chunk.len());
                self.input.read_exact(&mut chunk[..n])?;
                crc.update(&chunk[..n]);
                left -= n;
            }
        }
        for (flag, what) in [
            (FNAME, "file name longer than 64 KiB"),
            (FCOMMENT, "comment longer than 64 KiB"),
        ] {
            if flags & flag != 0 {
                let mut len = 0usize;
                loop {
                    let b = self.input.byte()?;
                    crc.update(&[b]);
                    if b == 0 {
                        break;
                    }
                    len += 1;
                    if len > MAX_HEADER_STRING {
                        return Err(bad(what));
                    }
                }
            }
        }
        if flags & FHCRC != 0 {
            let mut hcrc = [0u8; 2];
            self.input.read_exact(&mut hcrc)?;
            if u16::from_le_bytes(hcrc) != (crc.finalize() & 0xffff) as u16 {
                return Err(bad("header CRC16 mismatch"));
            }
        }
        *self.decoder = DecompressorOxide::new();
        self.member_crc = Hasher::new();
        self.member_len = 0;
        Ok(true)
    }

    /// Consumes zero bytes to the end of input; anything else is trailing garbage.
    fn zero_padding(&mut self) -> Result<(), GzipIndexError> {
        loop {
            let avail = self.input.avail();
            if let Some(i) = avail.iter().position(|&b| b != 0) {
                return Err(GzipIndexError::TrailingGarbage {
                    offset: self.input.pos + i as u64,
                });
            }
            let n = avail.len();
            self.input.consume(n);
            if self.input.fill()? == 0 && self.input.eof {
                return Ok(());
            }
        }
    }

    fn trailer(&mut self) -> Result<(), GzipIndexError> {
        let mut t = [0u8; 8];
        self.input.read_exact(&mut t)?;
        let expected = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let actual = self.member_crc.clone().finalize();
        if expected != actual {
            return Err(GzipIndexError::CrcMismatch {
                member: self.member,
                expected,
                actual,
            });
        }
        let expected = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        // ISIZE is the length mod 2^32.
        let actual = (self.member_len & 0xffff_ffff) as u32;
        if expected != actual {
            return Err(GzipIndexError::SizeMismatch {
                member: self.member,
                expected,
                actual,
            });
        }
        Ok(())
    }
}

/// Buffered compressed input that knows its absolute offset.
struct Input<R> {
    r: R,
    buf: Box<[u8]>,
    lo: usize,
    hi: usize,
    /// Absolute offset of `buf[lo]`: the compressed bytes consumed so far.
    pos: u64,
    eof: bool,
}

impl<R: Read> Input<R> {
    fn avail(&self) -> &[u8] {
        &self.buf[self.lo..self.hi]
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.hi - self.lo);
        self.lo += n;
        self.pos += n as u64;
    }

    /// Reads more input after what is buffered; the bytes added (0 at the end of input, or
    /// when the buffer is already full).
    fn fill(&mut self) -> Result<usize, GzipIndexError> {
        if self.eof {
            return Ok(0);
        }
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.hi -= self.lo;
            self.lo = 0;
        }
        let space = self.buf.len() - self.hi;
        if space == 0 {
            return Ok(0);
        }
        loop {
            match self.r.read(&mut self.buf[self.hi..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    let n = n.min(space);
                    self.hi += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(GzipIndexError::Io {
                        offset: self.pos + (self.hi - self.lo) as u64,
                        source,
                    })
                }
            }
        }
    }

    /// Up to `n` (≤ the buffer size) bytes without consuming them; fewer only at the end.
    fn peek(&mut self, n: usize) -> Result<&[u8], GzipIndexError> {
        while self.hi - self.lo < n && !self.eof {
            self.fill()?;
        }
        let n = n.min(self.hi - self.lo);
        Ok(&self.buf[self.lo..self.lo + n])
    }

    fn byte(&mut self) -> Result<u8, GzipIndexError> {
        let mut b = [0u8];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn read_exact(&mut self, out: &mut [u8]) -> Result<(), GzipIndexError> {
        let mut done = 0;
        while done < out.len() {
            if self.lo == self.hi && self.fill()? == 0 {
                return Err(GzipIndexError::Truncated { offset: self.pos });
            }
            let n = (self.hi - self.lo).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.lo..self.lo + n]);
            self.consume(n);
            done += n;
        }
        Ok(())
    }
}

/// Identifies the decoder's serialised layout and bit-buffer width, so an index from another
/// miniz_oxide version or platform is refused rather than misread.
fn decoder_fingerprint() -> u32 {
    let mut h = Hasher::new();
    if let Ok(bytes) = postcard::to_allocvec(&DecompressorOxide::new()) {
        h.update(&bytes);
    }
    h.update(&[usize::BITS as u8]);
    h.finalize()
}

fn decode_state(state: &[u8]) -> Result<Box<DecompressorOxide>, GzipIndexError> {
    match postcard::take_from_bytes::<DecompressorOxide>(state) {
        Ok((decoder, [])) => Ok(Box::new(decoder)),
        _ => Err(GzipIndexError::BadIndex("undecodable decoder state".into())),
    }
}

/// Reads little-endian fields from a serialised index.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], GzipIndexError> {
        if n > self.remaining() {
            return Err(GzipIndexError::BadIndex("truncated".into()));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GzipIndexError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u16(&mut self) -> Result<u16, GzipIndexError> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, GzipIndexError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, GzipIndexError> {
        self.array().map(u64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests;
