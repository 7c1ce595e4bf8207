//! Shared pieces of Strata's fuzz targets: the limits they run under, the invariants every
//! successful result must satisfy, a tar → tar-split converter (the oracle of
//! `tar_split_roundtrip`) and the in-memory builders that wrap fuzz input into otherwise
//! valid image archives (`json_docs`).
//!
//! A target fails (panics) only on a broken invariant or on a panic inside `app`: an
//! `Err` from a parser is the expected answer to hostile input.

pub mod archive;
pub mod tarsplit;

use app::limits::Limits;
use app::model::{EntryFlag, EntryKind, LayerIndex};
use std::io::Write;

/// Limits small enough that every input finishes in milliseconds (a 4 KB gzip input can
/// still inflate to megabytes), yet large enough for every seed.
pub fn limits() -> Limits {
    Limits {
        max_layer_bytes: 64 << 20,
        max_job_bytes: 128 << 20,
        ratio_grace: 1 << 20,
        max_entries_per_layer: 100_000,
        max_entries_per_image: 200_000,
        max_json: 1 << 20,
        ..Limits::default()
    }
}

/// Gzip with the fastest level (what the targets wrap their input in).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Checks what must hold for any index `index_layer` or `index_tar_split` returns.
pub fn check_index(index: &LayerIndex, limits: &Limits) {
    assert!(
        index.tar_size <= limits.max_layer_bytes,
        "tar_size over cap"
    );
    assert!(
        index.entries.len() as u64 <= limits.max_entries_per_layer,
        "entry count over cap"
    );
    // Must not panic (sizes of sparse files are logical and may be huge).
    let _ = index.content_size();
    for e in &index.entries {
        let path = &e.path[..];
        assert!(
            path.len() <= limits.max_path,
            "cleaned path longer than the cap"
        );
        assert!(!path.is_empty(), "empty entry path");
        if e.flags.contains(&EntryFlag::RootIsSymlink) {
            assert_eq!(path, b".", "root symlink not named '.'");
            assert_eq!(e.kind, EntryKind::Symlink);
        } else {
            assert!(path[0] != b'/', "cleaned path is absolute: {path:?}");
            for comp in path.split(|&b| b == b'/') {
                assert!(!comp.is_empty(), "empty component in {path:?}");
                assert!(comp != b".", "'.' component in {path:?}");
                if comp == b".." {
                    assert!(
                        e.flags.contains(&EntryFlag::EscapesRoot),
                        "'..' in {path:?} without EscapesRoot"
                    );
                }
            }
        }
        if e.kind != EntryKind::File {
            assert_eq!(e.size, 0, "non-file with a size");
            assert!(e.crc64.is_none(), "non-file with a crc");
        } else {
            assert_eq!(
                e.crc64.is_some(),
                !e.flags.contains(&EntryFlag::Sparse),
                "crc present iff a non-sparse file"
            );
        }
        assert_eq!(
            e.link.is_some(),
            matches!(e.kind, EntryKind::Symlink | EntryKind::Hardlink),
            "link target present iff a link"
        );
    }
}
