//! File trees built from layer indexes: the per-layer change set ([`LayerTree`]) and the
//! stacked view of the whole image ([`StackedTree`]), with Docker's overlay rules, diff
//! marks, directory sizes and the hidden copies that the analysis turns into waste.
//!
//! Invariants: trees are arenas (`Vec<Node>` indexed by [`NodeId`]); names are raw bytes,
//! children are sorted by raw name bytes; every walk is iterative (no recursion over
//! untrusted depth). Sizes are `u64` bytes and count regular-file payloads only, so a hard
//! link's bytes are counted once (at its target). Entries flagged
//! [`EntryFlag::EscapesRoot`](crate::model::EntryFlag) never enter a tree.

mod flags;
mod layer;
mod marks;
mod query;
mod resolve;
mod stacked;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
mod versions;

pub use flags::{TreeFlag, TreeFlags};
pub use layer::{LayerNode, LayerTree, LayerWarningKind, TreeWarning};
pub use stacked::{HiddenCopy, HideCause, LayerStats, NodeInfo, StackedTree};
pub use versions::{Follow, OpenError, OpenedFile, PathVersion, VersionChange, MAX_HOPS};

use serde::{Deserialize, Serialize};

/// Index of a node in one tree's arena. `NodeId::ROOT` is the root directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The root directory of every tree.
    pub const ROOT: NodeId = NodeId(0);

    pub(crate) fn idx(self) -> usize {
        self.0 as usize
    }
}

/// How a node of the stacked tree at layer k differs from layer k-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiffMark {
    /// Not present at k-1.
    Added,
    /// Rewritten at k with different content (size, crc64, kind or link target).
    Modified,
    /// Rewritten at k with the same content; only mode/uid/gid/mtime differ (or nothing
    /// at all): the bytes are stored again (chmod/chown/touch copy).
    AttrsOnly,
    /// Present at k-1, deleted at k (shown so the user sees what went away).
    Removed,
    /// Not touched by layer k.
    Unchanged,
}

/// Errors from building trees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// More nodes than a `u32` arena index can address.
    #[error("file tree: more than {0} nodes")]
    TooManyNodes(u32),
    /// More layers than a `u32` can count.
    #[error("file tree: too many layers")]
    TooManyLayers,
}

/// Splits a normalised path into its components (empty components and `.` skipped).
pub(crate) fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// `.wh.` — the whiteout prefix of the OCI layer spec.
pub(crate) const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// `.wh..wh.` — AUFS metadata prefix; only `.wh..wh..opq` has meaning.
pub(crate) const META_PREFIX: &[u8] = b".wh..wh.";
/// `.wh..wh..opq` — the opaque-directory marker.
pub(crate) const OPAQUE: &[u8] = b".wh..wh..opq";
