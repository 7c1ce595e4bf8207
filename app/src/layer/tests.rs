//! Layer indexing tests: BAD-INPUTS §2.2 B (through the whole pipeline), D and E4 rows,
//! digests, CRCs and limits.

use super::*;
use crate::compress::tests::gzip;
use crate::tar::testkit::{fix_checksum, header, ShortReads, TarBuilder};

fn index(blob: &[u8]) -> Result<LayerIndex, LayerError> {
    index_with(blob, None, &Limits::default())
}

fn index_with(
    blob: &[u8],
    expected: Option<&Digest>,
    limits: &Limits,
) -> Result<LayerIndex, LayerError> {
    index_layer(ShortReads::new(blob), expected, limits, &mut |_| {})
}

fn paths(ix: &LayerIndex) -> Vec<String> {
    ix.entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.path).into_owned())
        .collect()
}

fn entry<'a>(ix: &'a LayerIndex, path: &str) -> &'a Entry {
    ix.entries
        .iter()
        .rev()
        .find(|e| &*e.path == path.as_bytes())
        .unwrap_or_else(|| panic!("no entry {path}"))
}

fn sample() -> Vec<u8> {
    let mut b = TarBuilder::new();
    b.dir("bin/").file("bin/busybox", b"\x7fELF fake busybox");
    b.link("bin/sh", b'2', "busybox")
        .link("bin/ash", b'1', "/bin/busybox");
    b.file("etc/.wh.passwd", b"").end();
    b.bytes()
}

#[test]
fn indexes_entries_digests_and_crcs() {
    let tar = sample();
    let mut seen = 0u64;
    let ix = index_layer(tar.as_slice(), None, &Limits::default(), &mut |n| seen = n).unwrap();
    assert_eq!(ix.diff_id, Digest::of(&tar));
    assert_eq!(ix.tar_size, tar.len() as u64);
    assert_eq!(seen, tar.len() as u64);
    assert_eq!(
        (ix.compression, ix.compressed_size, ix.blob_digest.clone()),
        (Compression::None, None, None)
    );
    assert_eq!(
        paths(&ix),
        ["bin", "bin/busybox", "bin/sh", "bin/ash", "etc/.wh.passwd"]
    );
    let bb = entry(&ix, "bin/busybox");
    assert_eq!(bb.size, 17);
    assert_eq!(bb.crc64, Some(CRC64.checksum(b"\x7fELF fake busybox")));
    assert_eq!(bb.mode, 0o644);
    assert_eq!(entry(&ix, "bin/sh").link.as_deref(), Some(&b"busybox"[..]));
    assert_eq!(entry(&ix, "etc/.wh.passwd").crc64, Some(0));
    assert!(ix.warnings.is_empty(), "{:?}", ix.warnings);
    assert_eq!(ix.content_size(), 17);
}

#[test]
fn crc64_is_go_iso() {
    // hash/crc64 with crc64.MakeTable(crc64.ISO) over "123456789".
    assert_eq!(CRC64.checksum(b"123456789"), 0xb90956c775a41001);
    assert_eq!(CRC64.checksum(b""), 0);
}

#[test]
fn gzip_layer_records_blob_digest_and_size() {
    let tar = sample();
    let blob = gzip(&tar);
    let ix = index_with(&blob, Some(&Digest::of(&tar)), &Limits::default()).unwrap();
    assert_eq!(ix.compression, Compression::Gzip);
    assert_eq!(ix.compressed_size, Some(blob.len() as u64));
    assert_eq!(ix.blob_digest, Some(Digest::of(&blob)));
    assert_eq!(ix.diff_id, Digest::of(&tar));
    assert_eq!(ix.entries, index(&tar).unwrap().entries);
}

#[test]
fn a9_diff_id_mismatch_fails() {
    let tar = sample();
    let wrong = Digest::of(b"something else");
    let err = index_with(&tar, Some(&wrong), &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("diff id mismatch: expected sha256:"),
        "{err}"
    );
}

#[test]
fn b1_gzip_bomb_fails_through_layer() {
    let mut b = TarBuilder::new();
    b.file("zeros", &vec![0u8; 8 << 20]).end();
    let blob = gzip(&b.bytes());
    let limits = Limits {
        ratio_grace: 1 << 20,
        max_compression_ratio: 50,
        ..Limits::default()
    };
    let err = index_with(&blob, None, &limits).unwrap_err();
    assert!(
        matches!(err, LayerError::Compress(CompressError::LimitExceeded(_))),
        "{err}"
    );
    assert!(err.to_string().starts_with("limit exceeded"));
}

#[test]
fn b3_multi_member_gzip_lists_everything() {
    let tar = sample();
    let mut blob = gzip(&tar[..1024]);
    blob.extend(gzip(&tar[1024..]));
    let ix = index_with(&blob, Some(&Digest::of(&tar)), &Limits::default()).unwrap();
    assert_eq!(ix.entries.len(), 5);
}

#[test]
fn b4_trailing_garbage_after_gzip_fails() {
    let mut blob = gzip(&sample());
    blob.extend_from_slice(b"junk");
    assert!(index(&blob).is_err());
}

#[test]
fn b4_trailing_garbage_after_end_marker_changes_diff_id() {
    let tar = sample();
    let mut junk = tar.clone();
    junk.extend_from_slice(b"junk");
    let err = index_with(&junk, Some(&Digest::of(&tar)), &Limits::default()).unwrap_err();
    assert!(matches!(err, LayerError::DiffIdMismatch { .. }));
    // Without an expected digest it is read, hashed in full, and warned about.
    let ix = index(&junk).unwrap();
    assert_eq!(ix.diff_id, Digest::of(&junk));
    assert!(ix.warnings.iter().any(|w| w.message.contains("not zeros")));
    // Zeros after the end marker are normal and count toward the diff ID.
    let mut padded = tar.clone();
    padded.extend_from_slice(&[0u8; 8192]);
    let ix = index_with(&padded, Some(&Digest::of(&padded)), &Limits::default()).unwrap();
    assert_eq!(ix.tar_size, padded.len() as u64);
    assert!(ix.warnings.is_empty());
}

#[test]
fn b5_corrupt_gzip_fails() {
    let blob = gzip(&sample());
    let mut bad_crc = blob.clone();
    let at = bad_crc.len() - 7;
    bad_crc[at] ^= 0xff;
    assert!(index(&bad_crc).is_err());
    assert!(index(&blob[..blob.len() - 8]).is_err());
}

#[test]
fn b6_xz_layer_fails() {
    let err = index(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0]).unwrap_err();
    assert_eq!(err.to_string(), "unsupported compression (xz)");
}

#[test]
fn b7_empty_layers_are_valid() {
    let ix = index(b"").unwrap();
    assert!(ix.entries.is_empty() && ix.warnings.is_empty());
    assert_eq!(ix.diff_id, Digest::of(b""));
    let zeros = [0u8; 1024];
    let expected =
        Digest::parse("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")
            .unwrap();
    let ix = index_with(&zeros, Some(&expected), &Limits::default()).unwrap();
    assert!(ix.entries.is_empty() && ix.warnings.is_empty());
    assert_eq!(ix.tar_size, 1024);
    let ix = index(&gzip(&zeros)).unwrap();
    assert_eq!(ix.diff_id, expected);
}

#[test]
fn b8_gzip_of_gzip_fails_as_not_a_tar() {
    let err = index(&gzip(&gzip(&sample()))).unwrap_err();
    assert!(err.to_string().starts_with("not a tar archive"), "{err}");
}

#[test]
fn c2_truncation_fails_or_is_caught_by_diff_id() {
    let tar = sample();
    assert!(matches!(
        index(&tar[..700]),
        Err(LayerError::Tar(TarError::Truncated { .. }))
    ));
    // Cut on a block boundary: the reader ends cleanly, the warning and the diff ID catch it.
    let cut = &tar[..1536];
    let ix = index(cut).unwrap();
    assert!(ix.warnings[0].message.contains("no end-of-archive marker"));
    let err = index_with(cut, Some(&Digest::of(&tar)), &Limits::default()).unwrap_err();
    assert!(matches!(err, LayerError::DiffIdMismatch { .. }));
    let gz = gzip(&tar);
    assert!(index(&gz[..gz.len() / 2]).is_err());
}

#[test]
fn c7_global_header_warned() {
    let mut b = TarBuilder::new();
    b.pax(b'g', &[("comment", b"x")]).file("a", b"").end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(paths(&ix), ["a"]);
    assert!(ix.warnings[0].message.contains("global"));
}

#[test]
fn c12_unknown_types_flagged_devices_listed() {
    let mut b = TarBuilder::new();
    b.entry(b"dev/null", b'3', b"").entry(b"dev/sda", b'4', b"");
    b.entry(b"run/fifo", b'6', b"")
        .entry(b"vol", b'V', b"")
        .end();
    let ix = index(&b.bytes()).unwrap();
    let kinds: Vec<EntryKind> = ix.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::CharDevice,
            EntryKind::BlockDevice,
            EntryKind::Fifo,
            EntryKind::Other(b'V')
        ]
    );
    assert_eq!(ix.entries[3].flags, [EntryFlag::UnknownType]);
}

#[test]
fn d1_escaping_names_flagged_and_layer_warned() {
    let mut b = TarBuilder::new();
    b.file("../x", b"1")
        .file("a/../../y", b"2")
        .file("ok", b"3")
        .end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(paths(&ix), ["../x", "../y", "ok"]);
    assert_eq!(ix.entries[0].flags, [EntryFlag::EscapesRoot]);
    assert_eq!(ix.entries[1].flags, [EntryFlag::EscapesRoot]);
    assert!(ix.entries[2].flags.is_empty());
    assert!(ix
        .warnings
        .iter()
        .any(|w| w.message.contains("would refuse")));
}

#[test]
fn d2_names_normalised_like_moby() {
    let mut b = TarBuilder::new();
    b.dir("./")
        .dir("/")
        .file("/abs", b"")
        .file("//a", b"")
        .dir("./d/")
        .file("d/./f/", b"");
    b.end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(paths(&ix), ["abs", "a", "d", "d/f"]);
}

#[test]
fn d2_dot_slash_and_plain_name_are_one_path() {
    let mut b = TarBuilder::new();
    b.file("./a", b"1").file("a", b"2").end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(paths(&ix), ["a", "a"]);
    assert_eq!(ix.entries[1].flags, [EntryFlag::Duplicate]);
}

#[test]
fn d3_root_symlink_flagged() {
    let mut b = TarBuilder::new();
    b.link("./", b'2', "/etc").file("x", b"").end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(paths(&ix), [".", "x"]);
    assert_eq!(ix.entries[0].flags, [EntryFlag::RootIsSymlink]);
    assert!(ix.warnings.iter().any(|w| w.message.contains("root")));
}

#[test]
fn d4_long_names_components_and_paths() {
    let long_comp = "c".repeat(300);
    let deep = format!("a/{long_comp}/f");
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("path", deep.as_bytes())])
        .file("x", b"")
        .end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(paths(&ix), [deep.as_str()]);
    assert_eq!(ix.entries[0].flags, [EntryFlag::LongComponent]);
    let too_long = "p/".repeat(2100);
    let mut b = TarBuilder::new();
    b.gnu_long(b'L', too_long.as_bytes()).file("x", b"").end();
    let err = index(&b.bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            LayerError::PathTooLong {
                len: 4200,
                max: 4096,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn d5_deep_nesting_flagged() {
    let deep = "a/".repeat(1100) + "f";
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("path", deep.as_bytes())])
        .file("x", b"")
        .end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(ix.entries[0].flags, [EntryFlag::TooDeep]);
}

#[test]
fn d6_non_utf8_names_kept_raw() {
    let mut b = TarBuilder::new();
    b.entry(b"caf\xe9", b'0', b"")
        .entry(b"caf\xc3\xa9", b'0', b"")
        .end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(&*ix.entries[0].path, b"caf\xe9");
    assert_eq!(&*ix.entries[1].path, "café".as_bytes());
    assert!(ix.entries.iter().all(|e| e.flags.is_empty()));
}

#[test]
fn d8_windows_style_names_flagged() {
    let mut b = TarBuilder::new();
    b.file("a\\b", b"").file("C:x", b"").end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!(paths(&ix), ["a\\b", "C:x"]);
    assert!(ix
        .entries
        .iter()
        .all(|e| e.flags == [EntryFlag::WindowsStyleName]));
}

#[test]
fn d10_duplicates_flagged_after_first() {
    let mut b = TarBuilder::new();
    b.file("f", b"1")
        .dir("d/")
        .file("f", b"22")
        .dir("d")
        .file("d", b"")
        .end();
    let ix = index(&b.bytes()).unwrap();
    let dup: Vec<bool> = ix
        .entries
        .iter()
        .map(|e| e.flags.contains(&EntryFlag::Duplicate))
        .collect();
    assert_eq!(dup, [false, false, true, true, true]);
    assert_eq!(entry(&ix, "f").size, 2);
}

#[test]
fn e4_hardlink_targets_normalised() {
    let mut b = TarBuilder::new();
    b.file("bin/busybox", b"x");
    b.link("abs", b'1', "/bin/busybox")
        .link("rel", b'1', "./bin//busybox");
    b.link("esc", b'1', "../../etc/shadow")
        .link("self", b'1', "self")
        .end();
    let ix = index(&b.bytes()).unwrap();
    let link = |p: &str| entry(&ix, p).link.as_deref().map(<[u8]>::to_vec);
    assert_eq!(link("abs"), Some(b"bin/busybox".to_vec()));
    assert_eq!(link("rel"), Some(b"bin/busybox".to_vec()));
    assert_eq!(link("esc"), Some(b"../../etc/shadow".to_vec()));
    assert_eq!(entry(&ix, "esc").flags, [EntryFlag::HardlinkEscapes]);
    assert_eq!((entry(&ix, "abs").size, entry(&ix, "abs").crc64), (0, None));
    assert_eq!(link("self"), Some(b"self".to_vec()));
}

#[test]
fn sparse_file_flagged_with_real_size_and_no_crc() {
    let mut b = TarBuilder::new();
    b.pax(
        b'x',
        &[
            ("GNU.sparse.major", b"0"),
            ("GNU.sparse.minor", b"1"),
            ("GNU.sparse.name", b"big"),
            ("GNU.sparse.realsize", b"1000000"),
            ("GNU.sparse.numblocks", b"1"),
            ("GNU.sparse.map", b"0,4"),
        ],
    );
    b.entry(b"GNUSparseFile.0/big", b'0', b"data").end();
    let ix = index(&b.bytes()).unwrap();
    let e = entry(&ix, "big");
    assert_eq!((e.size, e.crc64), (1_000_000, None));
    assert_eq!(e.flags, [EntryFlag::Sparse]);
}

#[test]
fn g4_entry_count_capped() {
    let mut b = TarBuilder::new();
    for i in 0..20 {
        b.file(&format!("f{i}"), b"");
    }
    b.end();
    let limits = Limits {
        max_entries_per_layer: 10,
        ..Limits::default()
    };
    let err = index_with(&b.bytes(), None, &limits).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("limit exceeded: more than 10 entries"),
        "{err}"
    );
}

#[test]
fn absurd_ids_and_times_clamped() {
    let mut h = header(b"odd", b'0', 0);
    h[108..116].fill(0xff);
    h[136..148].fill(0);
    h[136] = 0x80;
    h[140..148].copy_from_slice(&(i64::MAX as u64 >> 8).to_be_bytes());
    fix_checksum(&mut h);
    let mut b = TarBuilder::new();
    b.block(&h).end();
    let ix = index(&b.bytes()).unwrap();
    assert_eq!((ix.entries[0].uid, ix.entries[0].mtime), (0, MAX_TIME));
}

#[test]
fn c3_gzipped_long_name_bomb_refused_before_reading() {
    // 256 MiB declared for a GNU long name; only its header is needed to refuse it.
    let mut b = TarBuilder::new();
    b.block(&header(b"././@LongLink", b'L', 256 << 20));
    b.data(&vec![b'a'; 1 << 20]);
    let blob = gzip(&b.bytes());
    let err = index(&blob).unwrap_err();
    assert!(
        matches!(err, LayerError::Tar(TarError::ExtensionTooLarge { .. })),
        "{err}"
    );
}

mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Damaged blobs, compressed or not, give errors, never panics.
        #[test]
        fn damaged_layers_never_panic(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<prop::sample::Index>(),
            compress in any::<bool>(),
        ) {
            let tar = sample();
            let mut blob = if compress { gzip(&tar) } else { tar.clone() };
            for (at, v) in flips {
                let i = at.index(blob.len());
                blob[i] = v;
            }
            let len = cut.index(blob.len() + 1);
            if let Ok(ix) = index(&blob[..len]) {
                prop_assert!(ix.entries.len() <= 5);
                prop_assert!(ix.tar_size <= tar.len() as u64 + blob.len() as u64);
            }
        }
    }
}

/// The threaded indexer against the one-thread one on the same blob: the same index,
/// or errors of the same kind.
fn both(blob: &[u8], diff_id: &Digest, limits: &Limits) -> (String, String) {
    let known = Digest::of(blob);
    let one = index_layer(ShortReads::new(blob), Some(diff_id), limits, &mut |_| {});
    let two = index_layer_prehashed_threaded(ShortReads::new(blob), diff_id, &known, limits);
    match (one, two) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            ("ok".into(), "ok".into())
        }
        (a, b) => (
            a.map(|_| "ok".to_owned()).unwrap_or_else(|e| e.to_string()),
            b.map(|_| "ok".to_owned()).unwrap_or_else(|e| e.to_string()),
        ),
    }
}

#[test]
fn threaded_indexing_matches_one_thread_on_good_and_bad_blobs() {
    let tar = sample();
    let id = Digest::of(&tar);
    let limits = Limits::default();
    // A gzip layer several chunks long, a multi-member one and a plain tar.
    let mut big = TarBuilder::new();
    for i in 0..40 {
        big.file(&format!("f{i}"), &vec![i as u8; 100_000]);
    }
    big.end();
    let big = big.bytes();
    assert_eq!(
        both(&gzip(&big), &Digest::of(&big), &limits),
        ("ok".into(), "ok".into())
    );
    let mut multi = gzip(&tar[..1024]);
    multi.extend(gzip(&tar[1024..]));
    assert_eq!(both(&multi, &id, &limits), ("ok".into(), "ok".into()));
    assert_eq!(both(&tar, &id, &limits), ("ok".into(), "ok".into()));

    let mut junk = gzip(&tar);
    junk.extend_from_slice(b"junk");
    let mut bad_crc = gzip(&tar);
    let at = bad_crc.len() - 7;
    bad_crc[at] ^= 0xff;
    let gz = gzip(&tar);
    let truncated = &gz[..gz.len() - 8];
    let mut zeros = TarBuilder::new();
    zeros.file("zeros", &vec![0u8; 8 << 20]).end();
    let bomb = gzip(&zeros.bytes());
    let tight = Limits {
        ratio_grace: 1 << 20,
        max_compression_ratio: 50,
        ..Limits::default()
    };
    let wrong = Digest::of(b"other");
    for (what, blob, diff_id, limits) in [
        ("trailing data", &junk[..], &id, &limits),
        ("bad crc", &bad_crc[..], &id, &limits),
        ("truncated", truncated, &id, &limits),
        ("bomb", &bomb[..], &Digest::of(&zeros.bytes()), &tight),
        ("wrong diff id", &gz[..], &wrong, &limits),
    ] {
        let (one, two) = both(blob, diff_id, limits);
        assert_ne!(one, "ok", "{what}");
        assert_eq!(one, two, "{what}");
    }
}
