//! Analysis job DTOs: job state, SSE progress events, the analysis summary and the
//! ranked, paged lists (largest files, wasted paths).

use super::Digest;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
    /// Stopped on purpose (a user's cancel, nobody waiting, the time limit, shutdown);
    /// a new `POST .../analysis` starts it again.
    Cancelled,
}

impl JobState {
    /// Failed or cancelled: the job will not produce a result.
    pub fn is_ended_without_result(self) -> bool {
        matches!(self, JobState::Failed | JobState::Cancelled)
    }
}

/// A job's identifier, as the server issued it (opaque to clients).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl JobId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for JobId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a load is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LoadStage {
    /// Resolving the reference and inspecting the image in the daemon.
    Resolving,
    /// Reading layer indexes from the daemon's own storage (tar-split metadata).
    ReadingStorage,
    /// Streaming `GET /images/{id}/get` from the daemon.
    Exporting,
    /// Reading an archive file or an OCI layout directory.
    ReadingArchive,
    /// Downloading layer blobs from a registry (and indexing them as they arrive).
    Downloading,
    /// Done: the image is complete.
    Done,
    /// A stage this build does not know (a newer server).
    #[serde(other)]
    Unknown,
}

impl LoadStage {
    /// A few words for a progress line.
    pub fn label(self) -> &'static str {
        match self {
            LoadStage::Resolving => "resolving",
            LoadStage::ReadingStorage => "reading the daemon's layer store",
            LoadStage::Exporting => "exporting from the daemon",
            LoadStage::ReadingArchive => "reading the archive",
            LoadStage::Downloading => "downloading from the registry",
            LoadStage::Done => "done",
            LoadStage::Unknown => "working",
        }
    }
}

/// Bytes read and layers finished so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// What the engine is doing, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<LoadStage>,
    /// Bytes read from the source.
    pub bytes: u64,
    /// Total bytes expected, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Layers finished.
    pub layer: u32,
    /// Layers in the image.
    pub layers: u32,
    /// While the job waits for one of the server's export slots: its place in line
    /// (1 = next). `None` when not waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<u32>,
    /// Layers being downloaded from a registry right now, in layer order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downloads: Vec<LayerDownload>,
}

/// One layer blob on its way from a registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerDownload {
    /// The layer's position in the image (0 = base).
    pub index: u32,
    /// Compressed bytes received.
    pub done: u64,
    /// The blob's compressed size.
    pub total: u64,
}

/// `POST /api/v1/images/{id}/analysis` and `GET /api/v1/jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub id: JobId,
    pub image_id: Digest,
    pub state: JobState,
    pub progress: Progress,
    /// Why the job failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One server-sent event on `GET /api/v1/jobs/{id}/events` (the SSE `data:` field;
/// the SSE `event:` field repeats `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    Progress(Progress),
    Done,
    Failed {
        message: String,
    },
    /// The job was stopped on purpose (see [`JobState::Cancelled`]).
    Cancelled {
        message: String,
    },
}

/// Per-layer figures once an image has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStats {
    pub index: u32,
    pub diff_id: Digest,
    /// Regular-file payload bytes (dive's and `docker history`'s layer size).
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_size: Option<u64>,
    pub entries: u64,
    pub warnings: Vec<String>,
}

/// `GET /api/v1/images/{id}/analysis`: the finished analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisSummary {
    pub image_id: Digest,
    pub layers: Vec<LayerStats>,
    /// Σ layer sizes.
    pub total_size: u64,
    /// Entries over all layers.
    pub entries: u64,
    /// Regular-file bytes stored over all layers (Strata's count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<u64>,
    /// Regular-file bytes visible in the final image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_bytes: Option<u64>,
    /// Bytes a perfect layering would not store (every overwritten or deleted copy,
    /// N−1 copies, not N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaimable_bytes: Option<u64>,
    /// `1 - reclaimable / stored`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<f64>,
    /// Bytes stored again only to change attributes (chmod/chown/touch copies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attrs_only_bytes: Option<u64>,
    /// Bytes of identical content stored at different paths in the final image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_bytes: Option<u64>,
    /// dive-compatible figures, when computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dive: Option<DiveFigures>,
}

/// The numbers `dive --json` reports for the same image (non-finite ratios become 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiveFigures {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// A ratio (0.1 = 10%), as dive's `userWastedPercent`.
    pub user_wasted_percent: f64,
}

impl DiveFigures {
    /// One sentence on why dive's wasted bytes differ from Strata's reclaimable bytes
    /// (see dive's known errors in ARCHITECTURE.md).
    pub fn why_different(&self, reclaimable: Option<u64>) -> &'static str {
        match reclaimable {
            None => "dive's figures are shown for comparison; Strata's own were not computed.",
            Some(r) if r == self.wasted_bytes => {
                "Both agree here: every wasted byte is an overwritten or deleted file copy."
            }
            Some(r) if self.wasted_bytes > r => {
                "dive counts every copy of a path changed in several layers, including the copy the final image keeps; Strata counts only the copies nobody can see."
            }
            Some(_) => {
                "dive misses bytes hidden by deleting a whole directory (`rm -rf`) or by an opaque directory; Strata counts them."
            }
        }
    }
}

/// A paged slice of a ranked list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

/// One entry of the largest-files list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedFile {
    pub path: String,
    pub path_raw: String,
    pub size: u64,
    /// The layer whose copy is the one visible in the final image.
    pub layer: u32,
}

/// One entry of the wasted-paths list, with blame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WastedPath {
    pub path: String,
    pub path_raw: String,
    /// Bytes a perfect layering would not store for this path.
    pub wasted: u64,
    /// Layers holding a copy (or a deletion) of the path, bottom first.
    pub layers: Vec<u32>,
    /// The layer that added the (largest) wasted copy and the layer that hid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_by: Option<u32>,
    /// Every hidden copy, with blame.
    #[serde(default)]
    pub copies: Vec<WastedCopy>,
}

/// One stored copy of a path that the final image does not show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WastedCopy {
    pub bytes: u64,
    /// Layer whose tar stores the copy.
    pub added_layer: u32,
    /// Layer that hid it.
    pub hidden_layer: u32,
    pub cause: CopyCause,
}

/// How a stored copy came to be hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CopyCause {
    /// A later layer wrote the same path.
    Overwritten,
    /// A later layer rewrote the file only to change its attributes.
    AttrsOnly,
    /// A later layer deleted the file (`.wh.NAME`).
    Whiteout,
    /// A later layer deleted a directory above it.
    DirWhiteout,
    /// A later layer made a directory above it opaque.
    Opaque,
    /// A later layer replaced a directory above it with a file or link.
    ParentReplaced,
    /// The same layer stored the path twice.
    DuplicateInLayer,
    /// A cause this build does not know (a newer server).
    #[serde(other)]
    Unknown,
}

impl CopyCause {
    /// A few words for the UI ("… by layer 3").
    pub fn label(self) -> &'static str {
        match self {
            CopyCause::Overwritten => "overwritten",
            CopyCause::AttrsOnly => "rewritten for attributes only",
            CopyCause::Whiteout => "deleted",
            CopyCause::DirWhiteout => "deleted with its directory",
            CopyCause::Opaque => "hidden by an opaque directory",
            CopyCause::ParentReplaced => "parent replaced",
            CopyCause::DuplicateInLayer => "written twice in one layer",
            CopyCause::Unknown => "hidden",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DiveFigures;

    fn dive(wasted: u64) -> DiveFigures {
        DiveFigures {
            efficiency: 0.9,
            wasted_bytes: wasted,
            user_wasted_percent: 0.1,
        }
    }

    #[test]
    fn explains_which_way_dive_differs() {
        assert!(dive(200)
            .why_different(Some(100))
            .contains("including the copy"));
        assert!(dive(100).why_different(Some(200)).contains("rm -rf"));
        assert!(dive(100).why_different(Some(100)).starts_with("Both agree"));
        assert!(dive(100).why_different(None).contains("not computed"));
    }
}
