//! Side-by-side comparison of 2–4 images (the first is the baseline): sizes and deltas,
//! layer alignment by diff ID and chain ID (common base, layers shared out of position,
//! bytes unique to each image), a file-level diff of two filesystems grouped by the
//! directories that explain most bytes, config and history differences, a plain-language
//! summary, the sharing map of many local images, and text/JSON/Markdown renderers.
//!
//! Invariants: IO-free and serde-serialisable; sizes are `u64` bytes (deltas `i64`);
//! raw paths are kept as bytes beside a display string from [`crate::fmt::display_path`];
//! every walk over a tree is iterative. Content bytes follow dive and `docker history`
//! (regular-file payloads, [`crate::model::LayerIndex::content_size`]).

mod check;
mod config;
pub mod download;
mod facts;
mod files;
mod group;
mod layers;
mod render;
mod sentences;
mod sharing;
#[cfg(test)]
mod tests;
mod totals;

pub use check::{fail_if_larger, SizeCheck};
pub use config::{
    diff_config, Change, ConfigDiff, HistoryDiff, HistoryRow, MapDiff, SetDiff, StepStatus,
};
pub use facts::{Fact, Setting};
pub use files::{
    diff_images, diff_trees, AttrChange, ChangeKind, DiffGroup, DiffOptions, DiffTotals,
    FileChange, FileDiff, Relocated, TreeSide,
};
pub use layers::{LayerAlignment, LayerCell, LayerRow, LayerSharing, MovedLayer, SharedPrefix};
pub use render::{render_json, render_markdown, render_sharing_text, render_text};
pub use sentences::sentence;
pub use sharing::{sharing_map, SharingImage, SharingInput, SharingMap, StoredLayer};

use crate::filetree::{StackedTree, TreeError};
use crate::model::{Digest, Image};
use serde::{Deserialize, Serialize};

/// Fewest and most images one comparison takes.
pub const MIN_IMAGES: usize = 2;
/// See [`MIN_IMAGES`].
pub const MAX_IMAGES: usize = 4;

/// Why a comparison could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// Fewer than 2 or more than 4 images were given.
    #[error("compare: {0} images given (compare takes 2 to 4)")]
    ImageCount(usize),
    /// A layer index beyond the image's layers was asked for.
    #[error("compare: layer {layer} asked of {image}, which has {count} layers")]
    NoSuchLayer {
        image: String,
        layer: u32,
        count: u32,
    },
    /// Stacking an image's layers failed.
    #[error("compare: stacking the layers of {image}: {source}")]
    Tree { image: String, source: TreeError },
    /// A sharing-map input lists a different number of sizes than diff IDs.
    #[error("sharing map: image {image} has {diff_ids} diff IDs but {sizes} layer sizes")]
    SizeCount {
        image: String,
        diff_ids: usize,
        sizes: usize,
    },
}

/// What [`compare`] computes beyond sizes and layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareOptions {
    /// Diff the final filesystems of the baseline and each other image (stacks every
    /// image's layers; the most expensive part).
    pub files: bool,
    /// Grouping and listing caps of the file diffs.
    pub diff: DiffOptions,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            files: true,
            diff: DiffOptions::default(),
        }
    }
}

/// A size change against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SizeDelta {
    /// `other - baseline`, bytes.
    pub bytes: i64,
    /// The change in percent of the baseline; `None` when the baseline is 0 bytes.
    pub pct: Option<f64>,
}

impl SizeDelta {
    /// The delta from `base` to `other`.
    pub fn between(base: u64, other: u64) -> SizeDelta {
        let bytes = clamp_i64(i128::from(other) - i128::from(base));
        let pct = (base > 0).then(|| (other as f64 - base as f64) / base as f64 * 100.0);
        SizeDelta { bytes, pct }
    }
}

pub(crate) fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// One compared image with its totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSide {
    /// `A`, `B`, `C`, `D` in the order given (A is the baseline).
    pub label: String,
    pub id: Digest,
    pub tags: Vec<String>,
    /// The first tag, else the short image ID.
    pub name: String,
    pub layer_count: usize,
    /// Sum of the layers' content sizes (regular-file payloads).
    pub content_bytes: u64,
    /// Sum of the layers' uncompressed tar sizes.
    pub tar_bytes: u64,
    /// Against the baseline (zero for the baseline itself).
    pub content_delta: SizeDelta,
    pub tar_delta: SizeDelta,
    /// Content bytes of this image's distinct layers (by diff ID) that another compared
    /// image also has, anywhere in its stack.
    pub shared_bytes: u64,
    /// Content bytes of this image's distinct layers no other compared image has.
    pub unique_bytes: u64,
    pub unique_layers: usize,
    /// Compressed bytes a client downloads for this image, when every blob is known
    /// (registry images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_bytes: Option<u64>,
}

/// The baseline against one other image.
#[derive(Debug, Clone, PartialEq)]
pub struct PairComparison {
    /// Index of the baseline in [`Comparison::images`] (always 0).
    pub baseline: usize,
    /// Index of the other image.
    pub other: usize,
    /// Layers equal by chain ID from the bottom: the common base of the two.
    pub shared_prefix: SharedPrefix,
    /// Layers with the same diff ID at a different position (or on a different parent).
    pub moved: Vec<MovedLayer>,
    /// Final filesystems, when [`CompareOptions::files`] is set.
    pub files: Option<FileDiff>,
    pub config: ConfigDiff,
    /// Compressed bytes a client holding the baseline downloads to get the other image,
    /// when its blobs are known.
    pub update_cost: Option<download::UpdateCost>,
    /// What is worth saying, most important first ([`sentence`] words each).
    pub facts: Vec<Fact>,
}

impl PairComparison {
    /// The facts as sentences, given the compared images' labels.
    pub fn sentences(&self, images: &[ImageSide]) -> Vec<String> {
        let label = |i: usize| images.get(i).map_or("?", |s| s.label.as_str());
        let (a, b) = (label(self.baseline), label(self.other));
        self.facts.iter().map(|f| sentence(f, a, b)).collect()
    }
}

/// The result of [`compare`]: domain data; the API and `--format json` send
/// [`crate::api::CompareReport`], which adds the sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub images: Vec<ImageSide>,
    pub layers: LayerAlignment,
    /// Baseline vs each other image, in order.
    pub pairs: Vec<PairComparison>,
}

impl Comparison {
    /// Every pair's summary sentences, in order.
    pub fn summary(&self) -> Vec<String> {
        self.pairs
            .iter()
            .flat_map(|p| p.sentences(&self.images))
            .collect()
    }
}

/// Compares 2–4 images; the first is the baseline.
pub fn compare(images: &[&Image], opts: &CompareOptions) -> Result<Comparison, CompareError> {
    if !(MIN_IMAGES..=MAX_IMAGES).contains(&images.len()) {
        return Err(CompareError::ImageCount(images.len()));
    }
    let alignment = layers::align(images);
    let sides = layers::sides(images, &alignment);
    let trees = if opts.files {
        images
            .iter()
            .map(|img| stack(img).map(Some))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        images.iter().map(|_| None).collect()
    };
    let mut pairs = Vec::with_capacity(images.len() - 1);
    for other in 1..images.len() {
        let (a, b) = (images[0], images[other]);
        let files = match (&trees[0], &trees[other]) {
            (Some(ta), Some(tb)) => Some(files::diff_final(
                ta,
                &sides[0].label,
                tb,
                &sides[other].label,
                &opts.diff,
            )),
            _ => None,
        };
        let mut pair = PairComparison {
            baseline: 0,
            other,
            shared_prefix: layers::shared_prefix(a, b),
            moved: layers::moved(a, b),
            files,
            config: diff_config(&a.config, &b.config),
            update_cost: download::update_cost(a, b),
            facts: Vec::new(),
        };
        pair.facts = facts::facts(&sides[0], &sides[other], &pair, b);
        pairs.push(pair);
    }
    Ok(Comparison {
        images: sides,
        layers: alignment,
        pairs,
    })
}

/// Stacks every layer of an image.
pub fn stack(image: &Image) -> Result<StackedTree, CompareError> {
    StackedTree::from_layers(image.layers.iter().cloned()).map_err(|source| CompareError::Tree {
        image: display_name(image),
        source,
    })
}

/// The first tag of an image, else its short ID.
pub fn display_name(image: &Image) -> String {
    image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| image.id.short().to_owned())
}

/// `A`, `B`, ... for image `i`.
pub(crate) fn label(i: usize) -> String {
    char::from(b'A' + (i % 26) as u8).to_string()
}
