//! Streaming generators and measuring helpers for the `limits_*` tests: a gzip bomb and a
//! many-entry layer tar that are produced piece by piece as they are read (never held in
//! memory whole), and peak-RSS readings from `/proc/self/status`. The archives around
//! them are built with `crate::archive_support::kit`.

use flate2::{Compress, Compression, Crc, FlushCompress};
use std::io::{self, Read};

/// A 512-byte ustar header (`name` < 100 bytes, `link` < 100 bytes).
pub fn ustar_header(name: &[u8], size: u64, typeflag: u8, link: &[u8]) -> [u8; 512] {
    assert!(name.len() < 100 && link.len() < 100);
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    let octal = |h: &mut [u8; 512], at: usize, width: usize, v: u64| {
        let s = format!("{v:0w$o}", w = width - 1);
        assert_eq!(s.len(), width - 1, "{v} does not fit {width} octal digits");
        h[at..at + width - 1].copy_from_slice(s.as_bytes());
    };
    octal(&mut h, 100, 8, if typeflag == b'5' { 0o755 } else { 0o644 });
    octal(&mut h, 108, 8, 0);
    octal(&mut h, 116, 8, 0);
    octal(&mut h, 124, 12, size);
    octal(&mut h, 136, 12, 1_700_000_000);
    h[156] = typeflag;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

/// Serves a list of byte pieces, each repeated a number of times, as one stream.
pub struct Pieces {
    pieces: Vec<(Vec<u8>, u64)>,
    idx: usize,
    done_reps: u64,
    pos: usize,
}

impl Pieces {
    pub fn new(pieces: Vec<(Vec<u8>, u64)>) -> Self {
        Pieces {
            pieces,
            idx: 0,
            done_reps: 0,
            pos: 0,
        }
    }

    /// Total bytes the stream yields.
    pub fn len(&self) -> u64 {
        self.pieces.iter().map(|(p, n)| p.len() as u64 * n).sum()
    }
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some((piece, reps)) = self.pieces.get(self.idx) {
            if self.done_reps == *reps {
                self.idx += 1;
                self.done_reps = 0;
                continue;
            }
            let n = (piece.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&piece[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == piece.len() {
                self.pos = 0;
                self.done_reps += 1;
            }
            return Ok(n);
        }
        Ok(0)
    }
}

/// Raw deflate of `data` ending in a full flush: byte-aligned, referencing nothing before
/// it, so the piece can be repeated back to back.
fn deflate_full_flush(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 500 + 1024);
    let start_in = c.total_in();
    loop {
        let consumed = (c.total_in() - start_in) as usize;
        out.reserve(64 * 1024);
        c.compress_vec(&data[consumed..], &mut out, FlushCompress::Full)
            .expect("deflate");
        let consumed = (c.total_in() - start_in) as usize;
        if consumed == data.len() && out.len() < out.capacity() {
            return out;
        }
    }
}

/// A valid gzip'd layer tar: one regular file of `mib` MiB − 1 KiB of zeros, then the
/// end-of-archive marker (`512 + mib` MiB decompressed), as ~1 KB of gzip per MiB.
/// Returns the stream and its decompressed size.
pub fn gzip_bomb(mib: u64) -> (Pieces, u64) {
    let header = ustar_header(b"bomb", (mib << 20) - 1024, b'0', b"");
    (gzip_filled(&header, 0, mib), 512 + (mib << 20))
}

/// A gzip stream of one 512-byte `header` block followed by `mib` MiB of `fill` bytes,
/// valid to its end (CRC-32 and size trailer included).
pub fn gzip_filled(header: &[u8; 512], fill: u8, mib: u64) -> Pieces {
    let mut c = Compress::new(Compression::best(), false);
    let mut head = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
    head.extend(deflate_full_flush(&mut c, header));
    let block = vec![fill; 1 << 20];
    let chunk = deflate_full_flush(&mut c, &block);
    let mut crc = Crc::new();
    crc.update(header);
    let mut mib_crc = Crc::new();
    mib_crc.update(&block);
    for _ in 0..mib {
        crc.combine(&mib_crc);
    }
    let total = 512 + (mib << 20);
    let mut tail = vec![0x03, 0x00]; // a final, empty fixed-Huffman block
    tail.extend(crc.sum().to_le_bytes());
    tail.extend(((total & 0xffff_ffff) as u32).to_le_bytes());
    Pieces::new(vec![(head, 1), (chunk, mib), (tail, 1)])
}

/// A layer tar with `n` entries, generated while it is read: a directory every 1000
/// entries, 10 % symlinks, 10 % files with 64 bytes of data, the rest empty files, with
/// paths of 33–40 bytes like real package trees.
pub struct ManyEntries {
    n: u64,
    i: u64,
    buf: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl ManyEntries {
    pub fn new(n: u64) -> Self {
        ManyEntries {
            n,
            i: 0,
            buf: Vec::with_capacity(1024),
            pos: 0,
            ended: false,
        }
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        if self.i == self.n {
            if !self.ended {
                self.buf.resize(1024, 0);
                self.ended = true;
            }
            return;
        }
        let i = self.i;
        self.i += 1;
        let dir = format!("usr/share/pkg{:04}/", i / 1000);
        if i.is_multiple_of(1000) {
            self.buf
                .extend_from_slice(&ustar_header(dir.as_bytes(), 0, b'5', b""));
            return;
        }
        let name = format!("{dir}file-{i:07}.dat");
        match i % 10 {
            1 => self.buf.extend_from_slice(&ustar_header(
                name.as_bytes(),
                0,
                b'2',
                b"../lib/libexample.so.1",
            )),
            2 => {
                self.buf
                    .extend_from_slice(&ustar_header(name.as_bytes(), 64, b'0', b""));
                self.buf.extend_from_slice(&[b'x'; 64]);
                self.buf.resize(1024, 0);
            }
            _ => self
                .buf
                .extend_from_slice(&ustar_header(name.as_bytes(), 0, b'0', b"")),
        }
    }
}

impl Read for ManyEntries {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            self.refill();
        }
        let n = (self.buf.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A field of `/proc/self/status` in bytes (`VmHWM`, `VmRSS`).
pub fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} missing from /proc/self/status"));
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("bad line {line:?}"));
    kb * 1024
}

/// Resets the peak RSS (`VmHWM`) to the current RSS (Linux ≥ 4.0), so the next reading
/// is the peak of what runs in between.
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM via /proc/self/clear_refs");
}
