//! `index_layer` on gzip-wrapped arbitrary bytes, differentially against the same bytes
//! as a plain tar: whenever the input would be read as plain tar, both reads must agree
//! on success, and on success give the same entries, warnings, diff ID and size.
#![no_main]

use app::compress::sniff;
use app::layer::index_layer;
use app::model::{Compression, Digest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = strata_fuzz::limits();
    let gz = strata_fuzz::gzip(data);
    let zipped = index_layer(&gz[..], None, &limits, &mut |_| {});
    if let Ok(index) = &zipped {
        strata_fuzz::check_index(index, &limits);
        assert_eq!(index.compression, Compression::Gzip);
        assert_eq!(index.diff_id, Digest::of(data), "diff id of the inner tar");
        assert_eq!(index.tar_size, data.len() as u64);
        assert_eq!(index.blob_digest, Some(Digest::of(&gz)));
        assert_eq!(index.compressed_size, Some(gz.len() as u64));
    }
    if !matches!(sniff(&data[..data.len().min(512)]), Ok(Compression::None)) {
        return;
    }
    let plain = index_layer(data, None, &limits, &mut |_| {});
    match (&plain, &zipped) {
        (Ok(p), Ok(z)) => {
            assert_eq!(p.entries, z.entries, "entries differ");
            assert_eq!(p.warnings, z.warnings, "warnings differ");
            assert_eq!(p.diff_id, z.diff_id);
            assert_eq!(p.tar_size, z.tar_size);
        }
        (Err(_), Err(_)) => {}
        (p, z) => panic!(
            "plain and gzip disagree: plain {:?}, gzip {:?}",
            p.as_ref().map(|i| i.entries.len()),
            z.as_ref().map(|i| i.entries.len())
        ),
    }
});
