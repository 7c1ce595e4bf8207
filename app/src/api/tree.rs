//! Layer tree DTOs: one directory's children per request, with diff marks and sizes.

use serde::{Deserialize, Serialize};

/// Which filesystem a tree request looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeView {
    /// Only the changes made by this layer.
    #[default]
    Layer,
    /// The merged filesystem as of this layer (layers 0..=n stacked).
    Stacked,
}

impl TreeView {
    /// The query-string spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TreeView::Layer => "layer",
            TreeView::Stacked => "stacked",
        }
    }
}

/// How a path compares with the layers below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffMark {
    Added,
    Modified,
    Removed,
    Unchanged,
}

impl DiffMark {
    pub const ALL: [DiffMark; 4] = [
        DiffMark::Added,
        DiffMark::Modified,
        DiffMark::Removed,
        DiffMark::Unchanged,
    ];

    /// Lowercase name (also the CSS class suffix and the wire spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            DiffMark::Added => "added",
            DiffMark::Modified => "modified",
            DiffMark::Removed => "removed",
            DiffMark::Unchanged => "unchanged",
        }
    }

    /// One-character text mark, so the mark never relies on colour alone.
    pub fn symbol(self) -> &'static str {
        match self {
            DiffMark::Added => "+",
            DiffMark::Modified => "~",
            DiffMark::Removed => "-",
            DiffMark::Unchanged => "=",
        }
    }
}

/// The kind of a node in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
    /// A whiteout (deletion marker) in a layer view.
    Whiteout,
    Other,
}

/// One child of the requested directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeNode {
    /// Escaped display name (control and bidi characters escaped).
    pub name: String,
    /// The raw name bytes, standard base64.
    pub name_raw: String,
    pub kind: NodeKind,
    /// File payload bytes, or the sum over a directory's subtree.
    pub size: u64,
    pub mark: DiffMark,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// Symlink or hard-link target, escaped for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Nodes anywhere below a directory (0 for non-directories).
    pub descendants: u64,
    /// Entry warnings (`escapes_root`, `duplicate`, ...), display only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

/// `GET /api/v1/images/{id}/layers/{n}/tree`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreePage {
    pub layer: u32,
    pub view: TreeView,
    /// The directory listed, escaped for display (`""` is the root).
    pub path: String,
    /// The same path as raw bytes, standard base64.
    pub path_raw: String,
    pub nodes: Vec<TreeNode>,
    /// Children in the directory before paging.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

/// How `GET /api/v1/images/{id}/layers/{n}/search` matches `q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// `q` occurs anywhere in the path (ASCII case-insensitive).
    #[default]
    Substring,
    /// Shell glob: `*` any run within one path segment, `**` any run across segments,
    /// `?` one character; without a `/` in `q` it matches the file name only.
    Glob,
}

/// One path found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// `/usr/bin/env`, escaped for display.
    pub path: String,
    /// The same path as raw bytes (no leading `/`), standard base64.
    pub path_raw: String,
    pub kind: NodeKind,
    /// File bytes, or a directory's bytes (as in the tree of the same view).
    pub size: u64,
    pub mark: DiffMark,
}
