//! The app crate's integration tests, one module per area, linked into one binary
//! (one link of the crate instead of one per file). Run one area with
//! `cargo test -p app --test all -- limits_layers::`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../testsupport/system_docker.rs"]
mod system_docker;
mod archive_support {
    pub mod kit;
}
mod limits_support {
    pub mod gen;
}

mod archive_docker;
mod archive_integrity;
mod archive_manifest;
mod archive_oci_index;
mod archive_paths;
mod compare_docker;
mod compare_sharing;
mod limits_entries;
mod limits_gzip_bomb;
mod limits_layers;
mod limits_rss_bomb;
mod limits_rss_entries;
mod regress_sparse_size_overflow;
mod tarsplit_vs_export;
