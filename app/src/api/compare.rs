//! Comparison and sharing-map DTOs: `GET /api/v1/compare` answers with a
//! [`CompareReport`] once every image is loaded, or with [`ComparePending`] (202) while
//! their load jobs run; `GET /api/v1/sharing` answers with [`SharingReport`]. The
//! report is also what `strata compare --format json` prints.
//!
//! The report is built from the domain's [`Comparison`] at the edge: the sizes, layer
//! rows, file diffs and config diffs are the domain's plain-data values; the pair's
//! typed [`Fact`]s travel together with their sentences, worded here once for every
//! client.

use super::JobInfo;
use crate::compare::{
    Comparison, ConfigDiff, Fact, FileDiff, ImageSide, LayerAlignment, MovedLayer, PairComparison,
    SharedPrefix, SharingMap,
};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/compare`: 2–4 images, the first the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    pub images: Vec<ImageSide>,
    pub layers: LayerAlignment,
    /// Baseline vs each other image, in order.
    pub pairs: Vec<PairReport>,
}

/// The baseline against one other image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairReport {
    /// Index of the baseline in [`CompareReport::images`] (always 0).
    pub baseline: usize,
    /// Index of the other image.
    pub other: usize,
    /// Layers equal by chain ID from the bottom: the common base of the two.
    pub shared_prefix: SharedPrefix,
    /// Layers with the same diff ID at a different position (or on a different parent).
    pub moved: Vec<MovedLayer>,
    /// Final filesystems; absent when the comparison skipped files.
    pub files: Option<FileDiff>,
    pub config: ConfigDiff,
    /// Compressed bytes a client holding the baseline downloads to get the other image
    /// (known for registry images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_cost: Option<crate::compare::download::UpdateCost>,
    /// Plain-language sentences, most important first: `facts` worded.
    pub summary: Vec<String>,
    /// What the sentences say, typed (`kind` names the fact), in the same order.
    pub facts: Vec<Fact>,
}

impl PairReport {
    fn new(p: &PairComparison, images: &[ImageSide]) -> PairReport {
        PairReport {
            baseline: p.baseline,
            other: p.other,
            shared_prefix: p.shared_prefix,
            moved: p.moved.clone(),
            files: p.files.clone(),
            config: p.config.clone(),
            update_cost: p.update_cost,
            summary: p.sentences(images),
            facts: p.facts.clone(),
        }
    }
}

impl From<&Comparison> for CompareReport {
    fn from(c: &Comparison) -> CompareReport {
        CompareReport {
            images: c.images.clone(),
            layers: c.layers.clone(),
            pairs: c
                .pairs
                .iter()
                .map(|p| PairReport::new(p, &c.images))
                .collect(),
        }
    }
}

impl CompareReport {
    /// Every pair's sentences, in order.
    pub fn summary(&self) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .flat_map(|p| p.summary.iter().map(String::as_str))
    }
}

/// `GET /api/v1/compare` while some images are still being read (HTTP 202): the load
/// jobs to follow (`/api/v1/jobs/{id}/events`) before asking again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparePending {
    /// One job per compared image, in the order asked (finished ones included).
    pub jobs: Vec<JobInfo>,
}

/// `GET /api/v1/sharing`: the sharing map of every local daemon image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingReport {
    pub map: SharingMap,
    /// Images left out, one sentence each (history that cannot be matched to layers).
    pub skipped: Vec<String>,
}
