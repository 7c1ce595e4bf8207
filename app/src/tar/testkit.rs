//! Test kit: hand-built tar streams (including hostile ones the `tar` crate refuses to
//! write) and a reader that returns data in tiny pieces, shared by the tar, layer and
//! tar-split tests.

use super::block::BLOCK;
use std::io::{self, Read};

/// One PAX record with its self-describing length.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut n = body_len + 1;
    while n.to_string().len() + body_len != n {
        n = n.to_string().len() + body_len;
    }
    let mut out = format!("{n} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// Writes `v` as zero-padded octal filling `field` minus a trailing NUL.
pub fn put_octal(field: &mut [u8], v: u64) {
    let w = field.len() - 1;
    let s = format!("{v:0w$o}");
    field[..w].copy_from_slice(s.as_bytes());
    field[w] = 0;
}

/// Recomputes the (unsigned) checksum of a header block.
pub fn fix_checksum(h: &mut [u8; BLOCK]) {
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
}

/// A ustar header with a valid checksum.
pub fn header(name: &[u8], typeflag: u8, size: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    put_octal(&mut h[100..108], 0o644);
    put_octal(&mut h[108..116], 1000);
    put_octal(&mut h[116..124], 1000);
    put_octal(&mut h[124..136], size);
    put_octal(&mut h[136..148], 1_700_000_000);
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    fix_checksum(&mut h);
    h
}

/// Builds tar streams block by block.
#[derive(Default)]
pub struct TarBuilder {
    pub buf: Vec<u8>,
}

impl TarBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `data` padded to a block boundary.
    pub fn data(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn block(&mut self, h: &[u8; BLOCK]) -> &mut Self {
        self.buf.extend_from_slice(h);
        self
    }

    pub fn entry(&mut self, name: &[u8], typeflag: u8, data: &[u8]) -> &mut Self {
        let h = header(name, typeflag, data.len() as u64);
        self.block(&h).data(data)
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(name.as_bytes(), b'0', data)
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(name.as_bytes(), b'5', b"")
    }

    pub fn link(&mut self, name: &str, typeflag: u8, target: &str) -> &mut Self {
        let mut h = header(name.as_bytes(), typeflag, 0);
        h[157..157 + target.len()].copy_from_slice(target.as_bytes());
        fix_checksum(&mut h);
        self.block(&h)
    }

    /// A PAX `x` (or `g`) header with the given records.
    pub fn pax(&mut self, typeflag: u8, records: &[(&str, &[u8])]) -> &mut Self {
        let body: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
        self.entry(b"././@PaxHeader", typeflag, &body)
    }

    /// A GNU `L` or `K` header holding `name` (NUL-terminated as GNU tar writes it).
    pub fn gnu_long(&mut self, typeflag: u8, name: &[u8]) -> &mut Self {
        let mut body = name.to_vec();
        body.push(0);
        let mut h = header(b"././@LongLink", typeflag, body.len() as u64);
        h[257..263].copy_from_slice(b"ustar ");
        h[263..265].copy_from_slice(b" \0");
        fix_checksum(&mut h);
        self.block(&h).data(&body)
    }

    /// Two zero blocks.
    pub fn end(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[0u8; 2 * BLOCK]);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.buf.clone()
    }
}

/// Returns at most a few bytes per `read`, to exercise every partial-read path.
pub struct ShortReads<R> {
    inner: R,
    step: usize,
}

impl<R> ShortReads<R> {
    pub fn new(inner: R) -> Self {
        ShortReads { inner, step: 0 }
    }
}

impl<R: Read> Read for ShortReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = buf.len().min(self.step);
        self.inner.read(&mut buf[..n])
    }
}
