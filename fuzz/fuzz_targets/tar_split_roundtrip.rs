//! Differential: for any tar that `index_layer` accepts, the tar-split metadata written
//! for it (see `strata_fuzz::tarsplit`) must index to exactly the same entries, warnings
//! and size through `index_tar_split` (gzip'd metadata for odd-length inputs).
#![no_main]

use app::layer::index_layer;
use app::model::Compression;
use app::tarsplit::index_tar_split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = strata_fuzz::limits();
    let Ok(lines) = strata_fuzz::tarsplit::tar_split_of(data, &limits) else {
        return;
    };
    let Ok(layer) = index_layer(data, None, &limits, &mut |_| {}) else {
        return;
    };
    if layer.compression != Compression::None {
        return;
    }
    let lines = if data.len() % 2 == 1 {
        strata_fuzz::gzip(&lines)
    } else {
        lines
    };
    let split = index_tar_split(&lines[..], layer.diff_id.clone(), &limits)
        .unwrap_or_else(|e| panic!("tar-split of an accepted tar failed: {e}"));
    strata_fuzz::check_index(&split, &limits);
    assert_eq!(split.entries, layer.entries, "entries differ");
    assert_eq!(split.warnings, layer.warnings, "warnings differ");
    assert_eq!(split.tar_size, layer.tar_size, "tar size differs");
    assert_eq!(split.diff_id, layer.diff_id);
});
