//! `index_tar_split` on arbitrary JSON lines (gzip-wrapped when the first byte is odd):
//! never panics, and any index it returns satisfies the index invariants.
#![no_main]

use app::model::Digest;
use app::tarsplit::index_tar_split;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flag, lines)) = data.split_first() else {
        return;
    };
    let limits = strata_fuzz::limits();
    let diff_id = Digest::of(b"");
    let result = if flag & 1 == 1 {
        index_tar_split(&strata_fuzz::gzip(lines)[..], diff_id.clone(), &limits)
    } else {
        index_tar_split(lines, diff_id.clone(), &limits)
    };
    if let Ok(index) = result {
        strata_fuzz::check_index(&index, &limits);
        assert_eq!(index.diff_id, diff_id, "diff id not recorded as given");
    }
});
