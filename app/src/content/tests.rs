use super::*;
use crate::layer::index_layer;
use crate::model::LayerIndex;
use crate::testkit::LayerBuilder;
use std::io::Cursor;

fn indexed(tar: &[u8]) -> LayerIndex {
    index_layer(Cursor::new(tar), None, &Limits::default(), &mut |_| {}).unwrap()
}

fn entry<'a>(ix: &'a LayerIndex, path: &str) -> &'a Entry {
    ix.entries
        .iter()
        .find(|e| e.path.as_ref() == path.as_bytes())
        .unwrap()
}

/// The bytes of `e` read the way the server does: header at `e.offset`, then payload.
fn read(tar: &[u8], e: &Entry) -> Vec<u8> {
    let at = e.offset as usize;
    let start = payload_start(&tar[at..], e, &Limits::default()).unwrap() as usize;
    let body = &tar[at + start..at + start + e.size as usize];
    let mut out = Vec::new();
    Checked::new(body, e.crc64.unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn entries_are_found_at_their_recorded_offsets() {
    let long = format!("deep/{}/file.txt", "d".repeat(150));
    let layer = LayerBuilder::new()
        .dir("etc")
        .file("etc/hostname", b"box\n")
        .file(&long, b"long name, GNU or PAX header first")
        .file("empty", b"")
        .file("big.bin", vec![7u8; 70_000]);
    let tar = layer.tar();
    let ix = indexed(&tar);
    assert_eq!(read(&tar, entry(&ix, "etc/hostname")), b"box\n");
    assert_eq!(
        read(&tar, entry(&ix, &long)),
        b"long name, GNU or PAX header first"
    );
    assert_eq!(read(&tar, entry(&ix, "empty")), b"");
    assert_eq!(read(&tar, entry(&ix, "big.bin")), vec![7u8; 70_000]);
}

#[test]
fn a_stale_offset_is_refused_not_misread() {
    let tar = LayerBuilder::new()
        .file("a.txt", b"aaa")
        .file("b.txt", b"bbb")
        .tar();
    let ix = indexed(&tar);
    let mut wrong = entry(&ix, "a.txt").clone();
    wrong.offset = entry(&ix, "b.txt").offset;
    let e = payload_start(&tar[wrong.offset as usize..], &wrong, &Limits::default()).unwrap_err();
    assert!(matches!(e, ContentError::Stale { .. }), "{e}");
    assert!(e.to_string().contains("reload the image"), "{e}");
    let mut sparse = entry(&ix, "a.txt").clone();
    sparse.flags.push(EntryFlag::Sparse);
    assert!(matches!(
        payload_start(&tar[..], &sparse, &Limits::default()),
        Err(ContentError::Sparse)
    ));
}

#[test]
fn corrupt_bytes_fail_the_checksum_at_the_end() {
    let mut out = Vec::new();
    let e = Checked::new(&b"tampered"[..], 42)
        .read_to_end(&mut out)
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("corrupt"), "{e}");
}

#[test]
fn binary_detection() {
    assert!(!is_binary(b"plain text\n"));
    assert!(!is_binary("na\u{ef}ve \u{2713}".as_bytes()));
    assert!(is_binary(b"\x7fELF\x02\x01\x01\x00"));
    assert!(is_binary(b"caf\xe9 latin-1"));
    // a UTF-8 sequence cut by the end of the prefix is still text
    let s = "\u{2713}".as_bytes();
    assert!(!is_binary(&s[..2]));
}

#[test]
fn line_diff_numbers_hunks_like_gnu_diff() {
    let a: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let b = a.replace("line 5\n", "LINE FIVE\n") + "line 21\n";
    let (a, b) = (a.as_str(), b.as_str());
    let hunks = line_diff(a, b);
    assert_eq!(hunks.len(), 2, "{hunks:?}");
    assert_eq!(
        (
            hunks[0].a_start,
            hunks[0].a_len,
            hunks[0].b_start,
            hunks[0].b_len
        ),
        (2, 7, 2, 7)
    );
    let text = unified("a/etc/conf", "b/etc/conf", &hunks);
    assert!(
        text.starts_with("--- a/etc/conf\n+++ b/etc/conf\n@@ -2,7 +2,7 @@\n"),
        "{text}"
    );
    assert!(text.contains("\n-line 5\n+LINE FIVE\n"), "{text}");
    assert!(
        text.ends_with("@@ -18,3 +18,4 @@\n line 18\n line 19\n line 20\n+line 21\n"),
        "{text}"
    );
    assert!(line_diff(a, a).is_empty());
    // from nothing: GNU diff writes -0,0
    let new = line_diff("", "x\n");
    assert_eq!((new[0].a_start, new[0].a_len, new[0].b_start), (0, 0, 1));
}
