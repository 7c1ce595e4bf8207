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
    /// The query-string spelling (the same as serde's).
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
    /// Conditions worth showing beside the entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<NodeFlag>,
}

/// Something notable about one tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeFlag {
    /// The same path appeared more than once in one layer; the last one wins.
    Duplicate,
    /// A whiteout named something that did not exist below.
    WhiteoutOfNothing,
    /// The path and its whiteout were in the same layer.
    SameLayerWhiteout,
    /// A whiteout that is not an empty regular file.
    OddWhiteout,
    /// Written through a symlinked directory.
    ThroughSymlink,
    /// The entry replaced a symlink.
    ReplacedSymlink,
    /// A hard link whose target does not exist.
    UnresolvedHardlink,
    /// A directory made opaque (`.wh..wh..opq`): everything below it in lower layers is gone.
    Opaque,
    /// A directory with no tar entry of its own (a deeper path needed it).
    Implicit,
    /// Only the attributes changed (chmod/chown/touch), yet the bytes are stored again.
    AttrsOnly,
    /// A directory this layer did not rewrite, with changes somewhere below it.
    ChangedBelow,
    /// A flag this build does not know (a newer server).
    #[serde(other)]
    Unknown,
}

impl NodeFlag {
    /// A short label for the UI.
    pub fn label(self) -> &'static str {
        match self {
            NodeFlag::Duplicate => "duplicate",
            NodeFlag::WhiteoutOfNothing => "whiteout of nothing",
            NodeFlag::SameLayerWhiteout => "same-layer whiteout",
            NodeFlag::OddWhiteout => "odd whiteout",
            NodeFlag::ThroughSymlink => "through symlink",
            NodeFlag::ReplacedSymlink => "replaced symlink",
            NodeFlag::UnresolvedHardlink => "unresolved hard link",
            NodeFlag::Opaque => "opaque",
            NodeFlag::Implicit => "implicit",
            NodeFlag::AttrsOnly => "attributes only",
            NodeFlag::ChangedBelow => "changed below",
            NodeFlag::Unknown => "unknown flag",
        }
    }
}

/// The order of a tree page's children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeSort {
    /// By raw name bytes.
    #[default]
    Name,
    /// Largest first (ties by name).
    Size,
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

impl SearchMode {
    /// The query-string spelling (the same as serde's).
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Substring => "substring",
            SearchMode::Glob => "glob",
        }
    }
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
