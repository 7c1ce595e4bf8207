//! dive 0.13.1, reproduced: its per-layer trees, efficiency score, wasted bytes, the
//! `dive --json` document (same field names, order, number formats and escaping) and its
//! CI rules. Quirks are kept on purpose, so the numbers match dive on the same image:
//! every copy of a path seen in two or more layers counts as waste (the kept one too); a
//! whiteout of a directory counts the lower subtree only when that directory had its own
//! tar entry; opaque markers are ignored; a whiteout of a path missing below stops the
//! scoring of the rest of that layer; only layer 0 is "base". Strata's own figures
//! ([`super::analyze`]) explain where these numbers go wrong.
//!
//! Inputs beyond the layer indexes: [`DiveLayerMeta`] (archive member name, history) and,
//! for byte-exact `fileList`s, `Entry::link` kept for every entry that has a tar link name
//! (Docker writes whiteouts as regular files that keep one).

mod ci;
mod gojson;
mod gosort;
mod tree;

pub use ci::{
    evaluate_ci, parse_dive_ci, parse_size, CiError, CiOutcome, DiveCiFile, DiveCiRules,
    RuleResult, RuleStatus,
};

use crate::model::{EntryKind, ImageConfig, LayerIndex};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tree::DiveTree;

/// What dive shows for a layer besides its files: from the archive member name and the
/// image config (see [`layer_metas`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiveLayerMeta {
    /// First `/`-separated part of the layer's archive member name (`<hex>` for
    /// `<hex>/layer.tar`, `blobs` for `blobs/sha256/<hex>`).
    pub id: String,
    /// The diff ID dive pairs with the layer's history entry, or `""` without one.
    pub digest_id: String,
    /// `created_by` without a leading `/bin/sh -c `, or `(missing)` without history.
    pub command: String,
}

/// dive's `ToImage` pairing of layers with history, given each layer's member name in
/// the archive (in manifest order).
pub fn layer_metas(config: &ImageConfig, member_names: &[String]) -> Vec<DiveLayerMeta> {
    let history = &config.history;
    let diff_ids = &config.rootfs.diff_ids;
    let mut hist_idx = 0usize;
    member_names
        .iter()
        .map(|name| {
            let mut chosen = None;
            if let Some(j) = (hist_idx..history.len()).find(|j| !history[*j].empty_layer) {
                hist_idx = j;
            }
            if hist_idx < history.len() && !history[hist_idx].empty_layer {
                chosen = Some(hist_idx);
                hist_idx += 1;
            }
            let id = name.split('/').next().unwrap_or_default().to_owned();
            match chosen {
                Some(h) => {
                    let nth = history[..h].iter().filter(|e| !e.empty_layer).count();
                    let created_by = history[h].created_by.clone().unwrap_or_default();
                    DiveLayerMeta {
                        id,
                        digest_id: diff_ids.get(nth).map(|d| d.to_string()).unwrap_or_default(),
                        command: created_by
                            .strip_prefix("/bin/sh -c ")
                            .unwrap_or(&created_by)
                            .to_owned(),
                    }
                }
                None => DiveLayerMeta {
                    id,
                    digest_id: String::new(),
                    command: "(missing)".to_owned(),
                },
            }
        })
        .collect()
}

/// A path dive counts as inefficient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiveInefficiency {
    /// dive's path: `/`-rooted, whiteout prefix stripped.
    pub path: String,
    /// Layers (tree nodes) that had the path as a leaf.
    pub count: usize,
    /// Sum of those nodes' sizes (whiteouts of directories count the lower subtree).
    pub cumulative_size: u64,
}

/// dive's figures for one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiveAnalysis {
    /// dive's layer sizes: the sum of the tar header sizes of every entry.
    pub layer_sizes: Vec<u64>,
    pub size_bytes: u64,
    /// All layers except layer 0.
    pub user_size_bytes: u64,
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// `wasted_bytes / user_size_bytes` (NaN or infinite when there are no user bytes, as in dive).
    pub wasted_user_percent: f64,
    /// In `fileReference` order: largest cumulative size first.
    pub inefficiencies: Vec<DiveInefficiency>,
}

/// Computes dive's figures.
pub fn analyze(layers: &[Arc<LayerIndex>]) -> DiveAnalysis {
    let trees: Vec<DiveTree> = layers
        .iter()
        .enumerate()
        .map(|(k, l)| DiveTree::from_layer(k as u32, l))
        .collect();
    analyze_trees(layers, &trees)
}

fn analyze_trees(layers: &[Arc<LayerIndex>], trees: &[DiveTree]) -> DiveAnalysis {
    let (efficiency, matches) = tree::efficiency(layers, trees);
    let layer_sizes: Vec<u64> = layers
        .iter()
        .map(|l| l.entries.iter().map(|e| e.size).sum())
        .collect();
    let size_bytes: u64 = layer_sizes.iter().sum();
    let user_size_bytes: u64 = layer_sizes.iter().skip(1).sum();
    let wasted_bytes: u64 = matches.iter().map(|m| m.cumulative as u64).sum();
    let inefficiencies = matches
        .iter()
        .rev()
        .map(|m| DiveInefficiency {
            path: gojson::go_string(&m.path),
            count: m.count,
            cumulative_size: m.cumulative as u64,
        })
        .collect();
    DiveAnalysis {
        layer_sizes,
        size_bytes,
        user_size_bytes,
        efficiency,
        wasted_bytes,
        wasted_user_percent: wasted_bytes as f64 / user_size_bytes as f64,
        inefficiencies,
    }
}

/// The `dive --json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiveExport {
    pub layer: Vec<DiveLayer>,
    pub image: DiveImage,
}

/// One entry of `layer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiveLayer {
    pub index: usize,
    pub id: String,
    #[serde(rename = "digestId")]
    pub digest_id: String,
    #[serde(rename = "sizeBytes")]
    pub size_bytes: u64,
    pub command: String,
    #[serde(rename = "fileList")]
    pub file_list: Vec<DiveFileInfo>,
}

/// dive's `FileInfo` (tar metadata of one tree node; implicit parents are all zero).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiveFileInfo {
    pub path: String,
    #[serde(rename = "typeFlag")]
    pub type_flag: u8,
    #[serde(rename = "linkName")]
    pub link_name: String,
    pub size: i64,
    /// Go's `os.FileMode`: permission bits plus type and special-bit flags.
    #[serde(rename = "fileMode")]
    pub file_mode: u32,
    pub uid: u64,
    pub gid: u64,
    #[serde(rename = "isDir")]
    pub is_dir: bool,
}

/// `image` in the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiveImage {
    #[serde(rename = "sizeBytes")]
    pub size_bytes: u64,
    #[serde(rename = "inefficientBytes")]
    pub inefficient_bytes: u64,
    #[serde(rename = "efficiencyScore")]
    pub efficiency_score: f64,
    #[serde(rename = "fileReference")]
    pub file_reference: Vec<DiveFileReference>,
}

/// One inefficient path in `fileReference`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiveFileReference {
    pub count: usize,
    #[serde(rename = "sizeBytes")]
    pub size_bytes: u64,
    pub file: String,
}

/// Builds the whole `dive --json` document; `metas` pairs with `layers` by index (missing
/// ones read as dive's "(missing)" history).
pub fn export(layers: &[Arc<LayerIndex>], metas: &[DiveLayerMeta]) -> (DiveExport, DiveAnalysis) {
    let trees: Vec<DiveTree> = layers
        .iter()
        .enumerate()
        .map(|(k, l)| DiveTree::from_layer(k as u32, l))
        .collect();
    let analysis = analyze_trees(layers, &trees);
    let layer = trees
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let meta = metas.get(k).cloned().unwrap_or(DiveLayerMeta {
                id: String::new(),
                digest_id: String::new(),
                command: "(missing)".to_owned(),
            });
            DiveLayer {
                index: k,
                id: meta.id,
                digest_id: meta.digest_id,
                size_bytes: analysis.layer_sizes[k],
                command: meta.command,
                file_list: t
                    .post_order()
                    .into_iter()
                    .map(|n| file_info(layers, t.info(n)))
                    .collect(),
            }
        })
        .collect();
    let image = DiveImage {
        size_bytes: analysis.size_bytes,
        inefficient_bytes: analysis.wasted_bytes,
        efficiency_score: analysis.efficiency,
        file_reference: analysis
            .inefficiencies
            .iter()
            .map(|i| DiveFileReference {
                count: i.count,
                size_bytes: i.cumulative_size,
                file: i.path.clone(),
            })
            .collect(),
    };
    (DiveExport { layer, image }, analysis)
}

/// The document as `dive --json` writes it (Go's `MarshalIndent`, no trailing newline).
pub fn to_json(doc: &DiveExport) -> Result<Vec<u8>, serde_json::Error> {
    gojson::marshal_indent(doc)
}

fn file_info(layers: &[Arc<LayerIndex>], info: Option<(u32, u32)>) -> DiveFileInfo {
    let Some(e) = info.and_then(|(l, i)| layers.get(l as usize)?.entries.get(i as usize)) else {
        return DiveFileInfo::default();
    };
    let (type_flag, type_bits) = match e.kind {
        EntryKind::File => (b'0', 0),
        EntryKind::Hardlink => (b'1', 0),
        EntryKind::Symlink => (b'2', 1 << 27),
        EntryKind::CharDevice => (b'3', (1 << 26) | (1 << 21)),
        EntryKind::BlockDevice => (b'4', 1 << 26),
        EntryKind::Dir => (b'5', 1u32 << 31),
        EntryKind::Fifo => (b'6', 1 << 25),
        EntryKind::Other(t) => (t, 0),
    };
    let mut mode = (e.mode & 0o777) | type_bits;
    if e.mode & 0o4000 != 0 {
        mode |= 1 << 23;
    }
    if e.mode & 0o2000 != 0 {
        mode |= 1 << 22;
    }
    if e.mode & 0o1000 != 0 {
        mode |= 1 << 20;
    }
    DiveFileInfo {
        path: gojson::go_string(&e.path),
        type_flag,
        link_name: e.link.as_deref().map(gojson::go_string).unwrap_or_default(),
        size: e.size as i64,
        file_mode: mode,
        uid: e.uid,
        gid: e.gid,
        is_dir: e.kind == EntryKind::Dir,
    }
}

#[cfg(test)]
mod tests;
