//! `read_archive` on arbitrary outer tars (docker save / OCI layout): never panics, and
//! whatever it returns can be listed and selected, with a selected image's layers
//! matching its config's diff IDs.
#![no_main]

use app::archive::read_archive;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = strata_fuzz::limits();
    let mut seen = 0u64;
    let result = read_archive(data, &limits, &mut |n| {
        assert!(n >= seen, "progress went backwards");
        seen = n;
    });
    if let Ok(archive) = result {
        strata_fuzz::archive::exercise(&archive);
    }
});
