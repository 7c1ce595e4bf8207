//! File-content DTOs: the versions of one path across layers (the viewer's version
//! picker), and the text diff of two versions. The bytes themselves travel raw, not as
//! JSON: `GET /api/v1/images/{id}/layers/{n}/file` (Range, ETag = [`etag`]).

use super::NodeKind;
use crate::model::Digest;
use serde::{Deserialize, Serialize};

/// What a layer did to the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionChange {
    Added,
    Modified,
    AttrsOnly,
    Deleted,
    /// A value this client does not know (a newer server).
    #[serde(other)]
    Unknown,
}

/// `GET /api/v1/images/{id}/files/versions?path=…`: every state of one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersions {
    /// The path as display text (escaped where not UTF-8).
    pub path: String,
    /// The raw path bytes, standard base64.
    pub path_raw: String,
    /// Bottom layer first.
    pub versions: Vec<FileVersion>,
}

/// One state of a path: written or deleted by `layer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    pub layer: u32,
    pub change: VersionChange,
    /// `None` for a deletion.
    pub kind: Option<NodeKind>,
    /// Regular-file bytes (0 for other kinds).
    pub size: u64,
    pub mode: u32,
    /// Symlink or hard-link target, as display text.
    pub link: Option<String>,
    /// The layer that replaced or deleted this version; `None` while it is visible.
    pub replaced_at: Option<u32>,
    /// Whether this version's bytes can be read (a regular file or a link to one).
    pub readable: bool,
    /// [`etag`] of the bytes, when known.
    pub etag: Option<String>,
    /// The Dockerfile step that made the layer.
    pub command: Option<String>,
}

/// The ETag of a file version: its tar-split checksum and size (quoted, strong).
pub fn etag(crc64: u64, size: u64) -> String {
    format!("\"crc64-{crc64:016x}-{size}\"")
}

/// One side of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffSide {
    pub image: Digest,
    /// Layer whose tar holds the bytes compared.
    pub layer: u32,
    pub path: String,
    pub size: u64,
    pub etag: Option<String>,
    /// Not valid UTF-8 text (or holds NUL bytes).
    pub binary: bool,
}

/// `GET /api/v1/images/{id}/files/diff?…`: two versions of a path compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiff {
    pub a: DiffSide,
    pub b: DiffSide,
    /// Same bytes.
    pub identical: bool,
    /// The line diff, when both sides are text under the diff size cap.
    pub hunks: Option<Vec<DiffHunk>>,
    /// Why there is no line diff (binary, too large), for the UI to say.
    pub note: Option<String>,
}

/// A unified-diff hunk: `@@ -a_start,a_len +b_start,b_len @@` (1-based line numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffHunk {
    pub a_start: u32,
    pub a_len: u32,
    pub b_start: u32,
    pub b_len: u32,
    pub lines: Vec<DiffLine>,
}

/// How a diff line reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffLineKind {
    Context,
    Added,
    Removed,
    #[serde(other)]
    Unknown,
}

/// One line of a hunk, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: DiffLineKind,
    pub text: String,
}
