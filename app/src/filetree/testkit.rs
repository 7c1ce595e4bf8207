//! Test kit: builds [`LayerIndex`] values directly (files, dirs, symlinks, hard links,
//! whiteouts, opaque markers) so tree and analysis tests need no tar bytes.

use crate::model::{Compression, Digest, Entry, EntryFlag, EntryKind, LayerIndex};
use std::sync::Arc;

/// CRC-64/GO-ISO of `data`, as tar-split stores it.
pub(crate) fn crc64(data: &[u8]) -> u64 {
    crc::Crc::<u64>::new(&crc::CRC_64_GO_ISO).checksum(data)
}

/// Builds one layer entry by entry, in tar order.
#[derive(Default)]
pub(crate) struct LayerBuilder {
    entries: Vec<Entry>,
}

fn entry(path: &str, kind: EntryKind) -> Entry {
    Entry {
        path: path.as_bytes().into(),
        kind,
        size: 0,
        mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
        link: None,
        crc64: None,
        flags: Vec::new(),
        offset: 0,
    }
}

impl LayerBuilder {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A regular file with this content.
    pub(crate) fn file(mut self, path: &str, content: &[u8]) -> Self {
        let mut e = entry(path, EntryKind::File);
        e.size = content.len() as u64;
        e.crc64 = Some(crc64(content));
        self.entries.push(e);
        self
    }

    /// A regular file of `size` bytes of one repeated byte.
    pub(crate) fn file_n(self, path: &str, size: usize, byte: u8) -> Self {
        self.file(path, &vec![byte; size])
    }

    pub(crate) fn dir(mut self, path: &str) -> Self {
        self.entries.push(entry(path, EntryKind::Dir));
        self
    }

    pub(crate) fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut e = entry(path, EntryKind::Symlink);
        e.mode = 0o777;
        e.link = Some(target.as_bytes().into());
        self.entries.push(e);
        self
    }

    pub(crate) fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut e = entry(path, EntryKind::Hardlink);
        e.link = Some(target.as_bytes().into());
        self.entries.push(e);
        self
    }

    /// `dir/.wh.name` for `dir/name`.
    pub(crate) fn whiteout(mut self, path: &str) -> Self {
        let (dir, name) = match path.rfind('/') {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => ("", path),
        };
        let mut e = entry(&format!("{dir}.wh.{name}"), EntryKind::File);
        e.mode = 0o600;
        e.crc64 = Some(crc64(b""));
        self.entries.push(e);
        self
    }

    /// `dir/.wh..wh..opq`.
    pub(crate) fn opaque(mut self, dir: &str) -> Self {
        let mut e = entry(&format!("{dir}/.wh..wh..opq"), EntryKind::File);
        e.crc64 = Some(crc64(b""));
        self.entries.push(e);
        self
    }

    /// Any entry as given.
    pub(crate) fn raw(mut self, e: Entry) -> Self {
        self.entries.push(e);
        self
    }

    /// Changes the mode of the last entry.
    pub(crate) fn mode(mut self, mode: u32) -> Self {
        if let Some(e) = self.entries.last_mut() {
            e.mode = mode;
        }
        self
    }

    /// Adds a flag to the last entry.
    pub(crate) fn flag(mut self, flag: EntryFlag) -> Self {
        if let Some(e) = self.entries.last_mut() {
            e.flags.push(flag);
        }
        self
    }

    pub(crate) fn build(self) -> LayerIndex {
        let mut seed = Vec::new();
        for e in &self.entries {
            seed.extend_from_slice(&e.path);
            seed.push(0);
            seed.extend_from_slice(&e.size.to_le_bytes());
            seed.extend_from_slice(&e.mode.to_le_bytes());
        }
        LayerIndex {
            diff_id: Digest::of(&seed),
            tar_size: 1024 + 512 * self.entries.len() as u64,
            compression: Compression::None,
            compressed_size: None,
            blob_digest: None,
            entries: self.entries,
            warnings: Vec::new(),
        }
    }

    pub(crate) fn arc(self) -> Arc<LayerIndex> {
        Arc::new(self.build())
    }
}
