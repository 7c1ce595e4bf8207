//! The domain model shared by every part of the engine: content digests, the image
//! config (as Docker and OCI write it), and the per-layer entry index that the layer
//! reader produces and every tree, analysis and cache consumes.
//!
//! Invariants: a [`Digest`] is always `sha256:` followed by 64 lowercase hex digits;
//! an [`Entry`] path is already normalised (moby `Clean`, no leading `/`, never empty,
//! never containing a `..` component) and kept as raw bytes (names need not be UTF-8).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A validated `sha256:<64 lowercase hex>` content digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sha256 digest: {0:?} (expected sha256:<64 hex digits>)")]
pub struct BadDigest(pub String);

impl Digest {
    /// Parses `sha256:<64 hex>`; uppercase hex is rejected, as the OCI spec requires.
    pub fn parse(s: &str) -> Result<Self, BadDigest> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| BadDigest(truncate_for_error(s)))?;
        if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Digest(s.to_owned()))
        } else {
            Err(BadDigest(truncate_for_error(s)))
        }
    }

    /// Builds a digest from a finished SHA-256 state.
    pub fn from_sha256(bytes: &[u8; 32]) -> Self {
        Digest(format!("sha256:{}", hex::encode(bytes)))
    }

    /// The SHA-256 of `data`.
    pub fn of(data: &[u8]) -> Self {
        use sha2::Digest as _;
        let out: [u8; 32] = sha2::Sha256::digest(data).into();
        Self::from_sha256(&out)
    }

    /// `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }

    /// The first 12 hex digits, as `docker image ls` shows IDs.
    pub fn short(&self) -> &str {
        &self.0[7..19]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", &self.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = BadDigest;
    fn try_from(s: String) -> Result<Self, BadDigest> {
        Digest::parse(&s)
    }
}

impl std::str::FromStr for Digest {
    type Err = BadDigest;
    fn from_str(s: &str) -> Result<Self, BadDigest> {
        Digest::parse(s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

fn truncate_for_error(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The chain ID of a stack of diff IDs: `chain(0) = diff(0)`,
/// `chain(n) = sha256(chain(n-1) + " " + diff(n))`. Identifies a layer in its position.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => Digest::of(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// The kind of a tar entry, as Docker's extraction would create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A hard link to another path (its `link`); its bytes are counted once.
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// A type flag Docker does not create; listed, flagged, never crashes.
    Other(u8),
}

/// Entry-level warnings: the layer is still read, the entry is shown with this flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryFlag {
    /// The raw name escaped the root (`../x`); the entry is quarantined, not in the tree.
    EscapesRoot,
    /// The same path appeared twice in one layer (the OCI spec forbids it); last wins.
    Duplicate,
    /// A whiteout named something that does not exist below.
    WhiteoutOfNothing,
    /// An invalid whiteout name (`.wh.`, `.wh..`, `.wh...`, unknown `.wh..wh.*`).
    InvalidWhiteout,
    /// A whiteout that is not an empty regular file (treated as a whiteout by name).
    OddWhiteout,
    /// The entry path passes through a symlink in the merged view.
    ThroughSymlink,
    /// A hard link whose target could not be resolved.
    UnresolvedHardlink,
    /// A hard link target that escapes the root.
    HardlinkEscapes,
    /// A sparse file (size shown is the real size).
    Sparse,
    /// Unusual type flag (see [`EntryKind::Other`]).
    UnknownType,
    /// A path component longer than 255 bytes.
    LongComponent,
    /// Backslash or drive-letter style name, literal on Linux.
    WindowsStyleName,
    /// The root itself given as a symlink; ignored.
    RootIsSymlink,
    /// Nested deeper than the depth cap.
    TooDeep,
}

/// One entry of a layer tar, after header parsing and name normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Normalised path, raw bytes, no leading `/`, e.g. `usr/bin/sh`.
    /// Whiteouts keep their `.wh.` name here; trees interpret them.
    pub path: Box<[u8]>,
    pub kind: EntryKind,
    /// Payload bytes of a regular file (the real size for sparse files); 0 otherwise.
    pub size: u64,
    /// Permission and special bits (`0o7777` part of the tar mode).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch (clamped when absurd).
    pub mtime: i64,
    /// Symlink target verbatim, or normalised hard-link target.
    pub link: Option<Box<[u8]>>,
    /// CRC-64/GO-ISO of the file content (what tar-split stores), regular files only.
    pub crc64: Option<u64>,
    pub flags: Vec<EntryFlag>,
    /// Byte offset of the entry's first header block (extension headers included) in the
    /// uncompressed layer tar: where a content read starts. 0 when unknown.
    #[serde(default)]
    pub offset: u64,
}

/// How a layer blob was compressed, detected by magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Layer-level warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerWarning {
    pub message: String,
    /// The raw path concerned, if any.
    pub path: Option<Box<[u8]>>,
}

/// Everything Strata knows about one layer's contents, computed in one streaming pass.
/// Keyed (in caches) by its verified `diff_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerIndex {
    /// sha256 of the uncompressed tar stream, verified while reading.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    /// Compression of the blob as read, and its size and digest when compressed.
    pub compression: Compression,
    pub compressed_size: Option<u64>,
    pub blob_digest: Option<Digest>,
    /// Entries in tar order (after moby name normalisation; quarantined ones flagged).
    pub entries: Vec<Entry>,
    pub warnings: Vec<LayerWarning>,
}

impl LayerIndex {
    /// dive's and `docker history`'s layer size: regular-file payload bytes, links,
    /// dirs and whiteouts counting 0; a hard link's bytes are counted once (at its target).
    pub fn content_size(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.size)
            .sum()
    }
}

/// The parts of an image config (Docker image JSON / OCI image config) Strata shows.
/// Unknown fields are ignored; every field is optional because real configs omit them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub config: ContainerConfig,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
}

/// `config` inside the image config: what a container starts with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
}

/// `rootfs`: the ordered diff IDs of the image's layers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

/// One build step. `empty_layer` steps (ENV, CMD, LABEL, ...) made no layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

impl ImageConfig {
    /// For each layer (by index into `rootfs.diff_ids`), the index of the history entry
    /// that made it: history entries are aligned by skipping `empty_layer` ones. `None`
    /// where history runs short (a mismatch is a flag, never a panic).
    pub fn layer_history(&self) -> Vec<Option<usize>> {
        let mut made = self
            .history
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.empty_layer)
            .map(|(i, _)| i);
        self.rootfs.diff_ids.iter().map(|_| made.next()).collect()
    }

    /// True when the number of non-empty history steps differs from the layer count.
    pub fn history_mismatch(&self) -> bool {
        self.history.iter().filter(|h| !h.empty_layer).count() != self.rootfs.diff_ids.len()
    }
}

/// An image as the engine sees it once read from any source: its identity, config and
/// the contents of each layer (in order, bottom first).
#[derive(Debug, Clone)]
pub struct Image {
    /// Image ID: the digest of the config JSON.
    pub id: Digest,
    /// Tags (`name:tag`) known for it; may be empty (dangling).
    pub tags: Vec<String>,
    /// Manifest digests (`name@sha256:...`) known for it.
    pub repo_digests: Vec<String>,
    pub config: ImageConfig,
    /// The config JSON exactly as stored (its digest is `id`).
    pub config_raw: Vec<u8>,
    /// One per `config.rootfs.diff_ids`, in order.
    pub layers: Vec<std::sync::Arc<LayerIndex>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_validates() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Digest::parse(&ok).unwrap().short(), "aaaaaaaaaaaa");
        for bad in [
            "sha256:",
            "md5:abc",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha256:{}", "a".repeat(63)),
            &format!("sha256:{}/../x", "a".repeat(64)),
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_tar_digest_is_known() {
        // 1024 zero bytes: the empty layer every tool agrees on.
        assert_eq!(
            Digest::of(&[0u8; 1024]).as_str(),
            "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
        );
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        let chain = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chain[0], a);
        assert_eq!(chain[1], Digest::of(format!("{a} {b}").as_bytes()));
    }

    #[test]
    fn history_aligns_by_skipping_empty_steps() {
        let cfg = ImageConfig {
            rootfs: RootFs {
                kind: "layers".into(),
                diff_ids: vec![Digest::of(b"1"), Digest::of(b"2")],
            },
            history: vec![
                HistoryEntry {
                    created_by: Some("ADD".into()),
                    ..Default::default()
                },
                HistoryEntry {
                    created_by: Some("ENV".into()),
                    empty_layer: true,
                    ..Default::default()
                },
                HistoryEntry {
                    created_by: Some("RUN".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(cfg.layer_history(), vec![Some(0), Some(2)]);
        assert!(!cfg.history_mismatch());
    }
}
