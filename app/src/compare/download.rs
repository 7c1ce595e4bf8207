//! What a client downloads: the compressed size of an image (known when every layer's
//! blob is — registry images, compressed archives) and the update cost between two
//! images: the compressed bytes of B's layers that a client holding A does not have,
//! matched by blob digest, else by diff ID (the content is there either way).

use crate::model::{Digest, Image};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Compressed bytes of every distinct layer blob, when all of them are known.
pub fn download_size(image: &Image) -> Option<u64> {
    let mut seen = HashSet::new();
    let mut total = 0;
    for l in &image.layers {
        let (blob, size) = (l.blob_digest.as_ref()?, l.compressed_size?);
        if seen.insert(blob) {
            total += size;
        }
    }
    Some(total)
}

/// The download from A to B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateCost {
    /// Compressed bytes to fetch.
    pub bytes: u64,
    /// Layer blobs to fetch.
    pub layers: usize,
    /// B's whole download size, for scale.
    pub of_bytes: u64,
}

/// What a client holding `a` downloads to get `b`; `None` when `b`'s blobs are unknown.
pub fn update_cost(a: &Image, b: &Image) -> Option<UpdateCost> {
    let of_bytes = download_size(b)?;
    let held_blobs: HashSet<&Digest> = a
        .layers
        .iter()
        .filter_map(|l| l.blob_digest.as_ref())
        .collect();
    let held_diffs: HashSet<&Digest> = a.layers.iter().map(|l| &l.diff_id).collect();
    let mut fetched = HashSet::new();
    let mut cost = UpdateCost {
        bytes: 0,
        layers: 0,
        of_bytes,
    };
    for l in &b.layers {
        let (Some(blob), Some(size)) = (l.blob_digest.as_ref(), l.compressed_size) else {
            continue;
        };
        if held_blobs.contains(blob) || held_diffs.contains(&l.diff_id) || !fetched.insert(blob) {
            continue;
        }
        cost.bytes += size;
        cost.layers += 1;
    }
    Some(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Compression, LayerIndex};
    use std::sync::Arc;

    fn layer(n: u8, blob: Option<u8>, size: u64) -> Arc<LayerIndex> {
        Arc::new(LayerIndex {
            diff_id: Digest::of(&[n]),
            tar_size: size * 3,
            compression: Compression::Gzip,
            compressed_size: blob.map(|_| size),
            blob_digest: blob.map(|b| Digest::of(&[b, b])),
            entries: Vec::new(),
            warnings: Vec::new(),
        })
    }

    fn image(layers: Vec<Arc<LayerIndex>>) -> Image {
        Image {
            id: Digest::of(b"x"),
            tags: Vec::new(),
            repo_digests: Vec::new(),
            config: Default::default(),
            config_raw: Vec::new(),
            layers,
        }
    }

    #[test]
    fn the_update_cost_counts_only_blobs_the_client_lacks() {
        let a = image(vec![layer(1, Some(1), 100), layer(2, Some(2), 50)]);
        let b = image(vec![
            layer(1, Some(1), 100),
            layer(3, Some(3), 30),
            layer(3, Some(3), 30),
        ]);
        assert_eq!(download_size(&b), Some(130));
        assert_eq!(
            update_cost(&a, &b),
            Some(UpdateCost {
                bytes: 30,
                layers: 1,
                of_bytes: 130
            })
        );
        // Same content under another blob (recompressed) is already held.
        let c = image(vec![layer(2, Some(9), 70)]);
        assert_eq!(update_cost(&a, &c).map(|u| u.bytes), Some(0));
        // A local image with unknown blobs has no download size.
        let local = image(vec![layer(1, None, 100)]);
        assert_eq!(download_size(&local), None);
        assert_eq!(update_cost(&b, &local), None);
    }
}
