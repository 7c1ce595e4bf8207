//! A pass-through reader that SHA-256-hashes and counts what flows through it, optionally
//! reporting the running count. On native targets the hashing runs on a helper thread
//! (batched 256 KiB chunks through a bounded channel), so it overlaps with decompression,
//! tar parsing and the per-file CRC on the reading thread; wasm32 hashes inline.

use sha2::{Digest as _, Sha256};
use std::io::{self, Read};

use crate::model::Digest;

/// Hashes (when enabled) and counts every byte read through it.
pub struct Hashing<'p, R> {
    inner: R,
    sha: Hasher,
    pub(crate) hashing: bool,
    count: u64,
    progress: Option<&'p mut dyn FnMut(u64)>,
}

impl<'p, R: Read> Hashing<'p, R> {
    pub fn new(inner: R, progress: Option<&'p mut dyn FnMut(u64)>) -> Self {
        Hashing {
            inner,
            sha: Hasher::new(),
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
        (self.sha.finish(), self.count, self.inner)
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

/// SHA-256 inline (wasm32, or when no thread could be started).
#[cfg(target_arch = "wasm32")]
struct Hasher(Sha256);

#[cfg(target_arch = "wasm32")]
impl Hasher {
    fn new() -> Self {
        Hasher(Sha256::new())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finish(self) -> Digest {
        let out: [u8; 32] = self.0.finalize().into();
        Digest::from_sha256(&out)
    }
}

/// SHA-256 on a helper thread; falls back to inline hashing if the thread cannot start.
#[cfg(not(target_arch = "wasm32"))]
struct Hasher {
    pending: Vec<u8>,
    mode: Mode,
}

#[cfg(not(target_arch = "wasm32"))]
enum Mode {
    Thread {
        tx: std::sync::mpsc::SyncSender<Vec<u8>>,
        handle: std::thread::JoinHandle<[u8; 32]>,
    },
    Inline(Sha256),
}

#[cfg(not(target_arch = "wasm32"))]
const CHUNK: usize = 256 << 10;

#[cfg(not(target_arch = "wasm32"))]
impl Hasher {
    fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let spawned = std::thread::Builder::new()
            .name("strata-sha256".into())
            .spawn(move || {
                let mut sha = Sha256::new();
                for chunk in rx {
                    sha.update(&chunk);
                }
                sha.finalize().into()
            });
        let mode = match spawned {
            Ok(handle) => Mode::Thread { tx, handle },
            Err(_) => Mode::Inline(Sha256::new()),
        };
        Hasher {
            pending: Vec::new(),
            mode,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match &mut self.mode {
            Mode::Inline(sha) => sha.update(data),
            Mode::Thread { .. } => {
                self.pending.extend_from_slice(data);
                if self.pending.len() >= CHUNK {
                    self.flush();
                }
            }
        }
    }

    fn flush(&mut self) {
        if let Mode::Thread { tx, .. } = &self.mode {
            let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
            // The thread only stops when the sender is dropped, so a send cannot fail
            // unless it panicked; `finish` then reports the failure.
            let _ = tx.send(chunk);
        }
    }

    fn finish(mut self) -> Digest {
        self.flush();
        let out: [u8; 32] = match self.mode {
            Mode::Inline(sha) => sha.finalize().into(),
            Mode::Thread { tx, handle } => {
                drop(tx);
                // A hashing thread cannot panic on data; if it somehow did, an all-zero
                // digest fails every diff-ID check instead of passing one.
                handle.join().unwrap_or([0u8; 32])
            }
        };
        Digest::from_sha256(&out)
    }
}
