//! Resource limits applied while reading untrusted images: every byte, entry and header
//! count the engine accepts is bounded here, so hostile input fails with a clear
//! "limit exceeded" error instead of exhausting memory or time.

use serde::{Deserialize, Serialize};

/// Caps for one analysis. The defaults suit real images up to tens of GB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Decompressed bytes of one layer tar.
    pub max_layer_bytes: u64,
    /// Decompressed bytes over all layers of one image (one job).
    pub max_job_bytes: u64,
    /// Decompressed/compressed ratio beyond which a compressed layer is a bomb
    /// (checked once more than `ratio_grace` bytes have come out).
    pub max_compression_ratio: u64,
    /// Decompressed bytes allowed before the ratio check applies.
    pub ratio_grace: u64,
    /// Entries in one layer.
    pub max_entries_per_layer: u64,
    /// Entries over all layers of one image.
    pub max_entries_per_image: u64,
    /// Size of one GNU long-name/long-link or PAX extension header (Go uses 1 MiB).
    pub max_extension_header: u64,
    /// Size of one JSON document (manifest, config, index); containerd uses 20 MiB.
    pub max_json: u64,
    /// Bytes of one path; longer names fail the layer.
    pub max_path: usize,
    /// Directory depth; deeper entries are flagged.
    pub max_depth: usize,
    /// Regions in one sparse map.
    pub max_sparse_regions: usize,
    /// Layers in one image.
    pub max_layers: usize,
    /// Nesting of OCI image indexes.
    pub max_index_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 64 << 30,
            max_job_bytes: 256 << 30,
            max_compression_ratio: 200,
            ratio_grace: 256 << 20,
            max_entries_per_layer: 2_000_000,
            max_entries_per_image: 5_000_000,
            max_extension_header: 1 << 20,
            max_json: 16 << 20,
            max_path: 4096,
            max_depth: 1024,
            max_sparse_regions: 100_000,
            max_layers: 1000,
            max_index_depth: 8,
        }
    }
}
