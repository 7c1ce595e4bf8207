//! Strata's own analysis: reclaimable bytes (every stored copy a perfect layering would
//! not store: overwritten, rewritten for attributes only, deleted by whiteouts of files or
//! directories, hidden by opaque directories, written twice in one layer), each blamed on
//! the layer that added it and the layer that hid it; attribute-only rewrites; identical
//! content at different paths; the largest files; per-layer figures; a base/user split.

use crate::filetree::{HideCause, LayerStats, NodeId, StackedTree};
use crate::fmt::display_path;
use crate::model::Digest;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Parameters of [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisOptions {
    /// Layers `0..base_layers` are the base image (default 1: only layer 0).
    pub base_layers: u32,
    /// Length of the largest-files list.
    pub top_files: usize,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            base_layers: 1,
            top_files: 50,
        }
    }
}

/// Figures of one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerFigures {
    pub index: u32,
    pub diff_id: Digest,
    /// Regular-file payload bytes in the layer's tar (dive's and `docker history`'s size).
    pub content_bytes: u64,
    pub tar_bytes: u64,
    pub compressed_bytes: Option<u64>,
    pub entries: u64,
    /// Added/modified/attribute-only/removed counts and bytes in the merged view.
    pub changes: LayerStats,
    /// Bytes stored by this layer that a later entry hid.
    pub wasted_added: u64,
    /// Bytes of lower (or own) copies this layer hid.
    pub wasted_caused: u64,
}

/// One hidden copy of a wasted path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WastedCopy {
    pub bytes: u64,
    /// Layer that stored the copy.
    pub added_layer: u32,
    /// Layer that hid it.
    pub hidden_layer: u32,
    pub cause: HideCause,
}

/// A path whose stored copies are (partly) invisible in the final image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WastedPath {
    pub node: NodeId,
    /// Display form of the path (`/`-rooted); the raw bytes come from the tree via `node`.
    pub path: String,
    pub bytes: u64,
    pub copies: Vec<WastedCopy>,
}

/// A file stored again only to change its attributes (or with nothing changed at all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrRewrite {
    pub node: NodeId,
    pub path: String,
    pub bytes: u64,
    pub original_layer: u32,
    pub rewritten_layer: u32,
}

/// Files of the final image with identical content (same crc64 and size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    pub size: u64,
    pub crc64: u64,
    pub paths: Vec<String>,
    /// `(copies - 1) × size`.
    pub wasted_bytes: u64,
}

/// One of the largest files of the final image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeFile {
    pub node: NodeId,
    pub path: String,
    pub bytes: u64,
    pub layer: u32,
}

/// Base vs user layers at a boundary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseUserSplit {
    pub base_layers: u32,
    pub base_bytes: u64,
    pub user_bytes: u64,
    /// Waste hidden by base layers.
    pub base_wasted: u64,
    /// Waste hidden by user layers (what the user's own Dockerfile steps cost).
    pub user_wasted: u64,
}

/// Strata's analysis of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub layers: Vec<LayerFigures>,
    /// Regular-file bytes stored over all layers.
    pub stored_bytes: u64,
    /// Regular-file bytes visible in the final image.
    pub final_bytes: u64,
    /// `stored_bytes - final_bytes`: what a perfect layering would not store.
    pub reclaimable_bytes: u64,
    /// Part of `reclaimable_bytes` not tied to a visible path (entries Docker would not
    /// place, odd whiteout payloads, AUFS metadata).
    pub unattributed_bytes: u64,
    /// `1 - reclaimable / stored` (1 when nothing is stored).
    pub efficiency: f64,
    /// Largest first.
    pub wasted: Vec<WastedPath>,
    pub attrs_only: Vec<AttrRewrite>,
    /// Largest waste first.
    pub duplicates: Vec<DuplicateGroup>,
    pub largest: Vec<LargeFile>,
    pub split: BaseUserSplit,
}

fn rooted(tree: &StackedTree, n: NodeId) -> String {
    let mut p = b"/".to_vec();
    p.extend_from_slice(&tree.path_of(n));
    display_path(&p)
}

/// Analyses the final view of a stacked image.
pub fn analyze(tree: &StackedTree, opts: &AnalysisOptions) -> Analysis {
    let count = tree.layer_count();
    let mut layers: Vec<LayerFigures> = (0..count)
        .filter_map(|k| {
            let l = tree.layer(k)?;
            Some(LayerFigures {
                index: k,
                diff_id: l.diff_id.clone(),
                content_bytes: l.content_size(),
                tar_bytes: l.tar_size,
                compressed_bytes: l.compressed_size,
                entries: l.entries.len() as u64,
                changes: tree.stats(k).cloned().unwrap_or_default(),
                wasted_added: 0,
                wasted_caused: 0,
            })
        })
        .collect();
    let stored_bytes: u64 = layers.iter().map(|l| l.content_bytes).sum();
    let top = count.checked_sub(1);
    let files: Vec<(NodeId, u64, u32, Option<u64>)> = match top {
        Some(t) => tree
            .files_at(t)
            .filter_map(|(n, e)| {
                let info = tree.info(n, t)?;
                (info.mark != crate::filetree::DiffMark::Removed)
                    .then_some((n, e.size, info.layer, e.crc64))
            })
            .collect(),
        None => Vec::new(),
    };
    let final_bytes: u64 = files.iter().map(|f| f.1).sum();
    let reclaimable_bytes = stored_bytes.saturating_sub(final_bytes);

    let mut by_node: BTreeMap<NodeId, Vec<WastedCopy>> = BTreeMap::new();
    let mut attrs_only = Vec::new();
    let (mut base_wasted, mut user_wasted) = (0u64, 0u64);
    for h in tree.hidden_copies() {
        by_node.entry(h.node).or_default().push(WastedCopy {
            bytes: h.bytes,
            added_layer: h.added_layer,
            hidden_layer: h.hidden_layer,
            cause: h.cause,
        });
        if let Some(l) = layers.get_mut(h.added_layer as usize) {
            l.wasted_added += h.bytes;
        }
        if let Some(l) = layers.get_mut(h.hidden_layer as usize) {
            l.wasted_caused += h.bytes;
        }
        if h.hidden_layer < opts.base_layers {
            base_wasted += h.bytes;
        } else {
            user_wasted += h.bytes;
        }
        if h.cause == HideCause::AttrsOnly {
            attrs_only.push(AttrRewrite {
                node: h.node,
                path: rooted(tree, h.node),
                bytes: h.bytes,
                original_layer: h.added_layer,
                rewritten_layer: h.hidden_layer,
            });
        }
    }
    let attributed: u64 = tree.hidden_copies().iter().map(|h| h.bytes).sum();
    let mut wasted: Vec<WastedPath> = by_node
        .into_iter()
        .map(|(node, copies)| WastedPath {
            node,
            path: rooted(tree, node),
            bytes: copies.iter().map(|c| c.bytes).sum(),
            copies,
        })
        .collect();
    wasted.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    attrs_only.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));

    let mut groups: HashMap<(u64, u64), Vec<NodeId>> = HashMap::new();
    for (n, size, _, crc) in &files {
        if let (Some(c), true) = (crc, *size > 0) {
            groups.entry((*c, *size)).or_default().push(*n);
        }
    }
    let mut duplicates: Vec<DuplicateGroup> = groups
        .into_iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|((crc64, size), nodes)| {
            let mut paths: Vec<String> = nodes.iter().map(|n| rooted(tree, *n)).collect();
            paths.sort();
            DuplicateGroup {
                size,
                crc64,
                wasted_bytes: (paths.len() as u64 - 1) * size,
                paths,
            }
        })
        .collect();
    duplicates.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.paths.cmp(&b.paths))
    });

    let mut largest: Vec<(NodeId, u64, u32)> = files.iter().map(|f| (f.0, f.1, f.2)).collect();
    largest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    largest.truncate(opts.top_files);
    let largest = largest
        .into_iter()
        .map(|(node, bytes, layer)| LargeFile {
            node,
            path: rooted(tree, node),
            bytes,
            layer,
        })
        .collect();

    let base_bytes: u64 = layers
        .iter()
        .filter(|l| l.index < opts.base_layers)
        .map(|l| l.content_bytes)
        .sum();
    let efficiency = if stored_bytes == 0 {
        1.0
    } else {
        1.0 - reclaimable_bytes as f64 / stored_bytes as f64
    };
    Analysis {
        layers,
        stored_bytes,
        final_bytes,
        reclaimable_bytes,
        unattributed_bytes: reclaimable_bytes.saturating_sub(attributed),
        efficiency,
        wasted,
        attrs_only,
        duplicates,
        largest,
        split: BaseUserSplit {
            base_layers: opts.base_layers,
            base_bytes,
            user_bytes: stored_bytes - base_bytes,
            base_wasted,
            user_wasted,
        },
    }
}
