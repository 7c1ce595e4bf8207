//! Layer alignment of the compared images: rows by position with each layer's sizes (for
//! bars), the common base (equal chain IDs from the bottom, so position matters), layers
//! shared out of position (same diff ID elsewhere), and bytes shared or unique per image
//! (distinct diff IDs, each counted once per image).

use super::{display_name, label, ImageSide, SizeDelta};
use crate::model::{chain_ids, Digest, Image};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// How a layer relates to the other compared images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayerSharing {
    /// Below the common prefix of every compared image.
    CommonBase,
    /// Same chain ID (same position, same parents) as in some other image.
    SharedInPosition,
    /// Same diff ID as a layer of another image, but on different parents.
    SharedOutOfPosition,
    /// No other compared image has this diff ID.
    Unique,
}

/// One layer of one image in the side-by-side table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerCell {
    /// Position in its image, bottom first.
    pub index: usize,
    pub diff_id: Digest,
    pub chain_id: Digest,
    pub content_bytes: u64,
    pub tar_bytes: u64,
    /// The history command that made it, when history aligns.
    pub created_by: Option<String>,
    pub sharing: LayerSharing,
    /// Other images (indices) that hold the same diff ID anywhere.
    pub shared_with: Vec<usize>,
}

/// Position `position` across every image (`None` where an image has fewer layers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    pub position: usize,
    pub cells: Vec<Option<LayerCell>>,
}

/// Layers of every compared image, aligned by position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerAlignment {
    /// Layers equal by chain ID in every image, from the bottom.
    pub common_prefix: usize,
    /// Content bytes of those layers.
    pub common_prefix_bytes: u64,
    pub rows: Vec<LayerRow>,
    /// `[i][j]`: content bytes of distinct diff IDs that images i and j both hold
    /// (`[i][i]`: image i's distinct layers).
    pub shared_bytes: Vec<Vec<u64>>,
    /// The largest layer content size of all images (scale for bars).
    pub max_layer_bytes: u64,
}

/// The common base of two images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedPrefix {
    pub layers: usize,
    pub content_bytes: u64,
    pub tar_bytes: u64,
}

/// A layer both images hold, at different positions or on different parents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedLayer {
    pub diff_id: Digest,
    pub baseline_index: usize,
    pub other_index: usize,
    pub content_bytes: u64,
}

fn content(image: &Image, i: usize) -> u64 {
    image.layers.get(i).map_or(0, |l| l.content_size())
}

fn tar(image: &Image, i: usize) -> u64 {
    image.layers.get(i).map_or(0, |l| l.tar_size)
}

/// The diff IDs of an image: its layers' verified IDs (the config's list may disagree on
/// a damaged image; the layers are what is compared).
fn diff_ids(image: &Image) -> Vec<Digest> {
    image.layers.iter().map(|l| l.diff_id.clone()).collect()
}

/// Length of the common chain-ID prefix of two chains.
fn prefix_len(a: &[Digest], b: &[Digest]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

pub(super) fn shared_prefix(a: &Image, b: &Image) -> SharedPrefix {
    let n = prefix_len(&chain_ids(&diff_ids(a)), &chain_ids(&diff_ids(b)));
    SharedPrefix {
        layers: n,
        content_bytes: (0..n).map(|i| content(a, i)).sum(),
        tar_bytes: (0..n).map(|i| tar(a, i)).sum(),
    }
}

pub(super) fn moved(a: &Image, b: &Image) -> Vec<MovedLayer> {
    let ca = chain_ids(&diff_ids(a));
    let cb = chain_ids(&diff_ids(b));
    let in_a: HashMap<&Digest, usize> = a
        .layers
        .iter()
        .enumerate()
        .rev()
        .map(|(i, l)| (&l.diff_id, i))
        .collect();
    let chains_a: BTreeSet<&Digest> = ca.iter().collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (j, l) in b.layers.iter().enumerate() {
        if chains_a.contains(&cb[j]) || !seen.insert(&l.diff_id) {
            continue;
        }
        if let Some(&i) = in_a.get(&l.diff_id) {
            out.push(MovedLayer {
                diff_id: l.diff_id.clone(),
                baseline_index: i,
                other_index: j,
                content_bytes: l.content_size(),
            });
        }
    }
    out
}

/// Distinct diff IDs of an image with their content sizes.
fn distinct(image: &Image) -> HashMap<&Digest, u64> {
    image
        .layers
        .iter()
        .map(|l| (&l.diff_id, l.content_size()))
        .collect()
}

pub(super) fn align(images: &[&Image]) -> LayerAlignment {
    let chains: Vec<Vec<Digest>> = images.iter().map(|i| chain_ids(&diff_ids(i))).collect();
    let common_prefix = chains
        .iter()
        .skip(1)
        .map(|c| prefix_len(&chains[0], c))
        .min()
        .unwrap_or(0);
    let common_prefix_bytes = (0..common_prefix).map(|i| content(images[0], i)).sum();
    let sets: Vec<HashMap<&Digest, u64>> = images.iter().map(|i| distinct(i)).collect();
    let chain_sets: Vec<BTreeSet<&Digest>> = chains.iter().map(|c| c.iter().collect()).collect();
    let depth = images.iter().map(|i| i.layers.len()).max().unwrap_or(0);
    let mut rows = Vec::with_capacity(depth);
    let mut max_layer_bytes = 0;
    for position in 0..depth {
        let mut cells = Vec::with_capacity(images.len());
        for (x, image) in images.iter().enumerate() {
            let (Some(layer), Some(chain)) = (image.layers.get(position), chains[x].get(position))
            else {
                cells.push(None);
                continue;
            };
            let shared_with: Vec<usize> = (0..images.len())
                .filter(|&y| y != x && sets[y].contains_key(&layer.diff_id))
                .collect();
            let in_position = (0..images.len()).any(|y| y != x && chain_sets[y].contains(chain));
            let sharing = if position < common_prefix {
                LayerSharing::CommonBase
            } else if in_position {
                LayerSharing::SharedInPosition
            } else if !shared_with.is_empty() {
                LayerSharing::SharedOutOfPosition
            } else {
                LayerSharing::Unique
            };
            let created_by = image
                .config
                .layer_history()
                .get(position)
                .copied()
                .flatten()
                .and_then(|h| image.config.history.get(h))
                .and_then(|h| h.created_by.clone());
            max_layer_bytes = max_layer_bytes.max(layer.content_size());
            cells.push(Some(LayerCell {
                index: position,
                diff_id: layer.diff_id.clone(),
                chain_id: chain.clone(),
                content_bytes: layer.content_size(),
                tar_bytes: layer.tar_size,
                created_by,
                sharing,
                shared_with,
            }));
        }
        rows.push(LayerRow { position, cells });
    }
    let shared_bytes = sets
        .iter()
        .map(|si| {
            sets.iter()
                .map(|sj| {
                    si.iter()
                        .filter(|(d, _)| sj.contains_key(*d))
                        .map(|(_, s)| *s)
                        .sum()
                })
                .collect()
        })
        .collect();
    LayerAlignment {
        common_prefix,
        common_prefix_bytes,
        rows,
        shared_bytes,
        max_layer_bytes,
    }
}

pub(super) fn sides(images: &[&Image], alignment: &LayerAlignment) -> Vec<ImageSide> {
    let sets: Vec<HashMap<&Digest, u64>> = images.iter().map(|i| distinct(i)).collect();
    let totals: Vec<(u64, u64)> = images
        .iter()
        .map(|i| {
            (
                i.layers.iter().map(|l| l.content_size()).sum(),
                i.layers.iter().map(|l| l.tar_size).sum(),
            )
        })
        .collect();
    images
        .iter()
        .enumerate()
        .map(|(x, image)| {
            let mut shared_bytes = 0;
            let mut unique_bytes = 0;
            let mut unique_layers = 0;
            for (d, s) in &sets[x] {
                if (0..images.len()).any(|y| y != x && sets[y].contains_key(*d)) {
                    shared_bytes += s;
                } else {
                    unique_bytes += s;
                    unique_layers += 1;
                }
            }
            debug_assert_eq!(
                alignment.shared_bytes[x][x],
                shared_bytes + unique_bytes,
                "diagonal = distinct layers"
            );
            ImageSide {
                label: label(x),
                id: image.id.clone(),
                tags: image.tags.clone(),
                name: display_name(image),
                layer_count: image.layers.len(),
                content_bytes: totals[x].0,
                tar_bytes: totals[x].1,
                content_delta: SizeDelta::between(totals[0].0, totals[x].0),
                tar_delta: SizeDelta::between(totals[0].1, totals[x].1),
                shared_bytes,
                unique_bytes,
                unique_layers,
                download_bytes: super::download::download_size(image),
            }
        })
        .collect()
}
