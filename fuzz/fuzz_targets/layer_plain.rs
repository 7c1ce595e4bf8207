//! `index_layer` on arbitrary blob bytes (sniffed as plain tar, gzip or zstd): never
//! panics; a returned index satisfies the index invariants, its digests describe the
//! input, progress is monotone and complete, and verifying against the diff ID it
//! reported succeeds with the same index.
#![no_main]

use app::layer::index_layer;
use app::model::{Compression, Digest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = strata_fuzz::limits();
    let mut seen = 0u64;
    let result = index_layer(data, None, &limits, &mut |n| {
        assert!(n >= seen, "progress went backwards");
        seen = n;
    });
    let Ok(index) = result else { return };
    strata_fuzz::check_index(&index, &limits);
    assert_eq!(
        seen,
        data.len() as u64,
        "progress did not reach the blob size"
    );
    if index.compression == Compression::None {
        assert_eq!(index.diff_id, Digest::of(data), "diff id of a plain tar");
        assert_eq!(index.tar_size, data.len() as u64);
        assert!(index.compressed_size.is_none() && index.blob_digest.is_none());
    } else {
        assert_eq!(index.blob_digest, Some(Digest::of(data)), "blob digest");
        assert_eq!(index.compressed_size, Some(data.len() as u64));
    }
    let again = index_layer(data, Some(&index.diff_id), &limits, &mut |_| {})
        .unwrap_or_else(|e| panic!("verifying against its own diff id failed: {e}"));
    assert_eq!(again, index, "indexing is not deterministic");
});
