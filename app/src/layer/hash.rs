//! A pass-through reader that SHA-256-hashes and counts what flows through it, optionally
//! reporting the running count.

use sha2::{Digest as _, Sha256};
use std::io::{self, Read};

use crate::model::Digest;

/// Hashes (when enabled) and counts every byte read through it.
pub struct Hashing<'p, R> {
    inner: R,
    sha: Sha256,
    pub(crate) hashing: bool,
    count: u64,
    progress: Option<&'p mut dyn FnMut(u64)>,
}

impl<'p, R: Read> Hashing<'p, R> {
    pub fn new(inner: R, progress: Option<&'p mut dyn FnMut(u64)>) -> Self {
        Hashing {
            inner,
            sha: Sha256::new(),
            hashing: true,
            count: 0,
            progress,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of everything read, and the reader.
    pub fn finish(self) -> (Digest, u64, R) {
        let out: [u8; 32] = self.sha.finalize().into();
        (Digest::from_sha256(&out), self.count, self.inner)
    }
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.hashing {
            self.sha.update(&buf[..n]);
        }
        self.count += n as u64;
        if n > 0 {
            if let Some(p) = self.progress.as_mut() {
                p(self.count);
            }
        }
        Ok(n)
    }
}

impl<R: Read> crate::tar::TarSource for Hashing<'_, R> {}
