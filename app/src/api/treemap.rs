//! Treemap DTOs: one directory of the stacked filesystem as of a layer, with its
//! descendants nested a few levels deep, as a flat, bounded list of sized nodes.

use super::{DiffMark, NodeKind};
use serde::{Deserialize, Serialize};

/// One rectangle-to-be: an entry, or the fold of a directory's smallest entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreemapNode {
    /// Index in [`Treemap::nodes`] of the enclosing directory; `None` for the
    /// requested directory's own children. Parents always come before children.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    /// 1 for a child of the requested directory, 2 for a grandchild, ...
    pub depth: u32,
    /// Escaped display name; `(N smaller entries)` for a fold node.
    pub name: String,
    /// Full path, escaped for display (`/usr/bin`); the parent's path for a fold node.
    pub path: String,
    /// The same path as raw bytes (no leading `/`), standard base64; empty for a fold.
    pub path_raw: String,
    pub kind: NodeKind,
    /// File bytes, or the regular-file bytes below a directory, as of the layer.
    pub size: u64,
    /// Diff mark in this layer (a directory with changes below is `modified`).
    pub mark: DiffMark,
    /// Nodes anywhere below a directory (0 otherwise).
    pub descendants: u64,
    /// Entries this node stands for when it folds the smallest ones (0 = a real entry).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub folded: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `GET /api/v1/images/{id}/layers/{n}/treemap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Treemap {
    pub layer: u32,
    /// The directory shown, escaped for display (`""` is the root).
    pub path: String,
    /// The same path as raw bytes, standard base64.
    pub path_raw: String,
    /// The directory's regular-file bytes as of the layer (the whole map's area).
    pub size: u64,
    /// Levels below the directory that were expanded.
    pub depth: u32,
    /// The node cap that applied.
    pub limit: u64,
    /// Largest first within each directory; at most `limit` nodes.
    pub nodes: Vec<TreemapNode>,
    /// Entries this layer removed inside the expanded directories (not drawn: they
    /// take no space in the filesystem as of the layer).
    #[serde(default)]
    pub removed: u64,
}
