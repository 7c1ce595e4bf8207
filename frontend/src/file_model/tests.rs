use super::*;
use app::api::{DiffLine, DiffSide, Digest};

fn version(layer: u32, change: VersionChange, replaced_at: Option<u32>) -> FileVersion {
    let deleted = change == VersionChange::Deleted;
    FileVersion {
        layer,
        change,
        kind: (!deleted).then_some(NodeKind::File),
        size: if deleted { 0 } else { 1500 },
        mode: 0o644,
        link: None,
        replaced_at,
        readable: !deleted,
        etag: None,
        command: Some("COPY a /a".into()),
    }
}

/// Written in 0, rewritten in 1, deleted in 2.
fn history() -> Vec<FileVersion> {
    vec![
        version(0, VersionChange::Added, Some(1)),
        version(1, VersionChange::Modified, Some(2)),
        version(2, VersionChange::Deleted, None),
    ]
}

#[test]
fn pictures_are_told_by_magic_bytes_and_svg_is_text() {
    assert_eq!(
        picture_mime(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
        Some("image/png")
    );
    assert_eq!(picture_mime(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
    assert_eq!(picture_mime(b"GIF89a\x01\x00"), Some("image/gif"));
    assert_eq!(picture_mime(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
    assert_eq!(picture_mime(b"RIFF\x10\0\0\0WAVEfmt "), None);
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="x()"></svg>"#;
    assert_eq!(sniff(svg), ContentKind::Text);
    assert_eq!(
        sniff(b"\x89PNG\r\n\x1a\nrest"),
        ContentKind::Picture("image/png")
    );
    assert_eq!(sniff(b"ELF\0\x01\x02"), ContentKind::Hex);
    assert_eq!(
        sniff(b"caf\xC3"),
        ContentKind::Text,
        "a cut character at the end"
    );
    assert_eq!(
        sniff(b"\xFF\xFEh\0i\0"),
        ContentKind::Hex,
        "UTF-16 is not UTF-8"
    );
}

#[test]
fn pages_cover_the_file_without_overlap() {
    let total = PAGE_SIZE * 2 + 10;
    let first = Page::at(0, total);
    assert_eq!((first.start, first.end), (0, PAGE_SIZE));
    assert_eq!(first.previous(), None);
    let second = Page::at(first.next().unwrap(), total);
    let third = Page::at(second.next().unwrap(), total);
    assert_eq!((third.start, third.end), (PAGE_SIZE * 2, total));
    assert_eq!(third.next(), None);
    assert_eq!(third.previous(), Some(PAGE_SIZE));
    assert!(!first.is_whole());
    assert!(Page::at(0, 10).is_whole());
    assert_eq!(
        Page::at(500, 10),
        Page {
            start: 10,
            end: 10,
            total: 10
        }
    );
    assert_eq!(third.describe(), "showing bytes 524,288–524,298 of 524,298");
    assert_eq!(fetch_end(0), PAGE_SIZE + 3);
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_000), "1,000");
    assert_eq!(thousands(12_345_678), "12,345,678");
}

#[test]
fn a_character_cut_by_a_page_edge_shows_once_on_the_page_where_it_starts() {
    // "aé" + "b": é is C3 A9; a page of 2 bytes ends inside it.
    let file = "aéb".as_bytes();
    let first = decode_page(&file[..file.len().min(2 + 3)], 2, true);
    assert_eq!(first.as_deref(), Some("aé"));
    let second = decode_page(&file[2..], 2, false);
    assert_eq!(second.as_deref(), Some("b"), "the tail of é is skipped");
    // A 4-byte character cut after its first byte is finished from the slack.
    let emoji = "x😀y".as_bytes();
    assert_eq!(decode_page(emoji, 2, true).as_deref(), Some("x😀"));
    assert_eq!(decode_page(&emoji[2..], 4, false).as_deref(), Some("y"));
}

#[test]
fn pages_with_nul_or_bad_utf8_are_not_text() {
    assert_eq!(decode_page(b"ab\0cd", 5, true), None);
    assert_eq!(decode_page(b"ab\xFFcd", 5, true), None);
    // A bad byte in the slack belongs to the next page.
    assert_eq!(decode_page(b"abc\xFF", 3, true).as_deref(), Some("abc"));
    // A character cut by the end of the file is not text.
    assert_eq!(decode_page(b"ab\xC3", 3, true), None);
}

#[test]
fn lines_are_numbered_across_pages() {
    let (gutter, lines) = numbered_lines("one\r\ntwo\n\nfour\n", 1);
    assert_eq!(gutter, "1\n2\n3\n4");
    assert_eq!(lines, "one\ntwo\n\nfour");
    assert_eq!(next_first_line(1, "one\ntwo\n"), 3);
    // A page that starts mid-line continues the previous page's last line number.
    let (gutter, _) = numbered_lines("tail\nnext", next_first_line(1, "a\nhead"));
    assert_eq!(gutter, "2\n3");
    assert_eq!(numbered_lines("", 1), ("1".to_owned(), String::new()));
}

#[test]
fn hex_dump_has_offsets_bytes_and_ascii() {
    let bytes: Vec<u8> = (0x41u8..0x41 + 18).chain([0, 0x7F, b' ']).collect();
    let d = hex_dump(&bytes, 0x100);
    assert_eq!(d.offsets, "00000100\n00000110");
    let rows: Vec<&str> = d.hex.lines().collect();
    assert_eq!(rows[0], "41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50");
    assert_eq!(rows[1], "51 52 00 7f 20");
    assert_eq!(d.ascii, "ABCDEFGHIJKLMNOP\nQR.. ");
    assert_eq!(hex_dump(&[], 0).offsets, "");
}

#[test]
fn versions_say_what_became_of_them() {
    let vs = history();
    assert_eq!(
        replaced_note(&vs, &vs[0]).as_deref(),
        Some("hidden by layer 1")
    );
    assert_eq!(
        replaced_note(&vs, &vs[1]).as_deref(),
        Some("deleted in layer 2")
    );
    assert_eq!(replaced_note(&vs, &vs[2]), None);
    assert_eq!(version_label(&vs[1]), "layer 1 · modified · 1.5 kB");
    assert_eq!(version_label(&vs[2]), "layer 2 · deleted");
    assert!(has_content(&vs[1]));
    assert!(!has_content(&vs[2]));
    let mut link = version(3, VersionChange::Added, None);
    link.kind = Some(NodeKind::Symlink);
    assert!(!has_content(&link), "a symlink shows its target instead");
    assert_eq!(change_word(VersionChange::AttrsOnly), "attributes only");
    assert_eq!(change_class(VersionChange::Deleted), "removed");
}

#[test]
fn the_version_opened_first_is_the_rows_own() {
    let vs = history();
    assert_eq!(initial_version(&vs, 1, TreeView::Layer), Some(1));
    assert_eq!(initial_version(&vs, 2, TreeView::Layer), Some(2));
    assert_eq!(initial_version(&vs, 1, TreeView::Stacked), Some(1));
    // Layer 5 did not touch the path: the stacked view shows the last state below it.
    assert_eq!(initial_version(&vs, 5, TreeView::Stacked), Some(2));
    assert_eq!(initial_version(&vs, 5, TreeView::Layer), Some(2));
    assert_eq!(initial_version(&[], 0, TreeView::Layer), None);
}

#[test]
fn links_are_followed_as_of_the_explorer_layer_when_visible_there() {
    let vs = history();
    assert_eq!(follow_layer(&vs, 1, 1), 1);
    assert_eq!(
        follow_layer(&vs, 0, 1),
        0,
        "a hidden version: as of its own layer"
    );
    assert_eq!(follow_layer(&vs, 1, 7), 1, "hidden by the deletion at 2");
    assert_eq!(follow_layer(&vs[..2], 1, 7), 7);
    assert_eq!(diff_layers(3, 1), (1, 3));
}

#[test]
fn diffs_read_like_unified_diffs() {
    let hunk = DiffHunk {
        a_start: 1,
        a_len: 2,
        b_start: 1,
        b_len: 3,
        lines: vec![DiffLine {
            kind: DiffLineKind::Added,
            text: "x".into(),
        }],
    };
    assert_eq!(hunk_header(&hunk), "@@ -1,2 +1,3 @@");
    assert_eq!(line_mark(DiffLineKind::Added), ("+", "added"));
    assert_eq!(line_mark(DiffLineKind::Removed), ("-", "removed"));
    assert_eq!(line_mark(DiffLineKind::Context), (" ", "context"));
    let id = Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
    let side = |layer, size| DiffSide {
        image: id.clone(),
        layer,
        path: "/a".into(),
        size,
        etag: None,
        binary: true,
    };
    let d = FileDiff {
        a: side(0, 12),
        b: side(2, 2048),
        identical: false,
        hunks: None,
        note: Some("binary".into()),
    };
    assert_eq!(
        diff_summary(&d),
        ("different", "layer 0 (12 B) → layer 2 (2.0 kB)".to_owned())
    );
}
