//! The sharing map of many images, from light inputs (the daemon's inspect data: diff
//! IDs and per-layer sizes, no layer contents). Layers are keyed by chain ID, as
//! Docker's layer store keys them, so the figures match `docker system df -v`: an
//! image's shared size is the bytes of its layers used by more than one image, its
//! unique size the rest; bytes stored count each distinct layer once. The same diff ID
//! on different parents is stored twice by Docker; those bytes are reported apart.

use super::CompareError;
use crate::model::{chain_ids, Digest};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One image as the daemon describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingInput {
    pub id: Digest,
    pub tags: Vec<String>,
    /// `RootFS.Layers`, bottom first.
    pub diff_ids: Vec<Digest>,
    /// Content bytes of each layer, same order.
    pub layer_sizes: Vec<u64>,
}

/// One image in the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingImage {
    pub id: Digest,
    pub tags: Vec<String>,
    pub layers: usize,
    /// Sum of its layer sizes (`docker image ls` SIZE, the "virtual size").
    pub size: u64,
    /// Bytes of its layers that another image also uses (`docker system df -v`).
    pub shared_size: u64,
    /// `size - shared_size`.
    pub unique_size: u64,
    /// Images (indices) it shares at least one layer with.
    pub shares_with: Vec<usize>,
}

/// One distinct stored layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLayer {
    pub chain_id: Digest,
    pub diff_id: Digest,
    pub size: u64,
    /// Images (indices) using it, ascending.
    pub images: Vec<usize>,
}

/// Which images share which layers, and what sharing saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingMap {
    /// Distinct images (inputs with the same ID merged, tags joined), in input order.
    pub images: Vec<SharingImage>,
    /// Distinct layers by chain ID, in order of first use.
    pub layers: Vec<StoredLayer>,
    /// `[i][j]`: bytes of layers images i and j both use (`[i][i]` = image i's size).
    pub shared_bytes: Vec<Vec<u64>>,
    /// Sum of every image's size.
    pub total_virtual: u64,
    /// Bytes stored: each distinct layer once.
    pub total_stored: u64,
    /// `total_virtual - total_stored`.
    pub savings: u64,
    /// Bytes stored more than once because the same diff ID sits on different parents
    /// (each extra copy counted).
    pub duplicate_content: u64,
}

/// Builds the sharing map. Fails when an input's sizes do not match its diff IDs.
pub fn sharing_map(inputs: &[SharingInput]) -> Result<SharingMap, CompareError> {
    let mut merged: Vec<SharingInput> = Vec::new();
    let mut by_id: HashMap<&Digest, usize> = HashMap::new();
    for inp in inputs {
        if inp.diff_ids.len() != inp.layer_sizes.len() {
            return Err(CompareError::SizeCount {
                image: inp.id.short().to_owned(),
                diff_ids: inp.diff_ids.len(),
                sizes: inp.layer_sizes.len(),
            });
        }
        match by_id.get(&inp.id) {
            Some(&i) => {
                for t in &inp.tags {
                    if !merged[i].tags.contains(t) {
                        merged[i].tags.push(t.clone());
                    }
                }
            }
            None => {
                by_id.insert(&inp.id, merged.len());
                merged.push(inp.clone());
            }
        }
    }
    let mut layers: Vec<StoredLayer> = Vec::new();
    let mut by_chain: HashMap<Digest, usize> = HashMap::new();
    let mut per_image: Vec<Vec<usize>> = Vec::with_capacity(merged.len());
    for (x, img) in merged.iter().enumerate() {
        let mut mine = Vec::with_capacity(img.diff_ids.len());
        for ((chain, diff), size) in chain_ids(&img.diff_ids)
            .into_iter()
            .zip(&img.diff_ids)
            .zip(&img.layer_sizes)
        {
            let l = *by_chain.entry(chain.clone()).or_insert_with(|| {
                layers.push(StoredLayer {
                    chain_id: chain,
                    diff_id: diff.clone(),
                    size: *size,
                    images: Vec::new(),
                });
                layers.len() - 1
            });
            if layers[l].images.last() != Some(&x) {
                layers[l].images.push(x);
            }
            mine.push(l);
        }
        per_image.push(mine);
    }
    let n = merged.len();
    let mut shared_bytes = vec![vec![0u64; n]; n];
    let mut partners = vec![vec![false; n]; n];
    for l in &layers {
        for &i in &l.images {
            for &j in &l.images {
                shared_bytes[i][j] += l.size;
                partners[i][j] = true;
            }
        }
    }
    let images: Vec<SharingImage> = merged
        .iter()
        .enumerate()
        .map(|(x, img)| {
            let size: u64 = per_image[x].iter().map(|&l| layers[l].size).sum();
            let shared_size: u64 = per_image[x]
                .iter()
                .filter(|&&l| layers[l].images.len() > 1)
                .map(|&l| layers[l].size)
                .sum();
            SharingImage {
                id: img.id.clone(),
                tags: img.tags.clone(),
                layers: img.diff_ids.len(),
                size,
                shared_size,
                unique_size: size - shared_size,
                shares_with: (0..n).filter(|&y| y != x && partners[x][y]).collect(),
            }
        })
        .collect();
    let total_virtual: u64 = images.iter().map(|i| i.size).sum();
    let total_stored: u64 = layers.iter().map(|l| l.size).sum();
    let mut by_diff: HashMap<&Digest, u64> = HashMap::new();
    let mut duplicate_content = 0;
    for l in &layers {
        let seen = by_diff.entry(&l.diff_id).or_insert(0);
        if *seen > 0 {
            duplicate_content += l.size;
        }
        *seen += 1;
    }
    Ok(SharingMap {
        images,
        layers,
        shared_bytes,
        total_virtual,
        total_stored,
        savings: total_virtual.saturating_sub(total_stored),
        duplicate_content,
    })
}
