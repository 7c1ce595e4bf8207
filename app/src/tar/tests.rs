//! Reader tests: hand-built hostile headers (BAD-INPUTS §2.2 C rows) and a proptest
//! against tars written by the `tar` crate.

use super::testkit::{fix_checksum, header, pax_record, put_octal, ShortReads, TarBuilder};
use super::*;
use std::io::Cursor;

fn limits() -> Limits {
    Limits::default()
}

/// (path, typeflag, size, payload) of one entry.
type Listed = (Vec<u8>, u8, u64, Vec<u8>);

/// Lists every entry, reading payloads fully.
fn list(bytes: &[u8]) -> Result<Vec<Listed>, TarError> {
    let mut tr = TarReader::new(ShortReads::new(Cursor::new(bytes)), &limits());
    let mut out = Vec::new();
    while let Some(h) = tr.next_header()? {
        let mut data = Vec::new();
        let mut buf = [0u8; 100];
        loop {
            let n = tr.read_payload(&mut buf)?;
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buf[..n]);
        }
        out.push((h.path, h.typeflag, h.size, data));
    }
    Ok(out)
}

fn names(bytes: &[u8]) -> Vec<String> {
    list(bytes)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8_lossy(&e.0).into_owned())
        .collect()
}

#[test]
fn reads_basic_entries_with_short_reads() {
    let mut b = TarBuilder::new();
    b.dir("etc/").file("etc/hosts", b"127.0.0.1 localhost\n");
    b.link("etc/sh", b'2', "/bin/busybox").end();
    let got = list(&b.bytes()).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].0, b"etc/hosts");
    assert_eq!(got[1].3, b"127.0.0.1 localhost\n");
    assert_eq!(got[2].1, b'2');
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    while tr.next_header().unwrap().is_some() {}
    assert!(tr.end_marker_seen());
    assert_eq!(tr.offset(), b.bytes().len() as u64);
}

#[test]
fn unread_payload_is_skipped() {
    let mut b = TarBuilder::new();
    b.file("a", &[7u8; 3000]).file("b", b"x").end();
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    assert_eq!(tr.next_header().unwrap().unwrap().path, b"a");
    let mut two = [0u8; 2];
    assert_eq!(tr.read_payload(&mut two).unwrap(), 2);
    assert_eq!(tr.next_header().unwrap().unwrap().path, b"b");
    let mut s = String::new();
    tr.payload().read_to_string(&mut s).unwrap();
    assert_eq!(s, "x");
    assert!(tr.next_header().unwrap().is_none());
}

#[test]
fn ustar_prefix_joins_name() {
    let mut h = header(b"file.txt", b'0', 0);
    h[345..352].copy_from_slice(b"usr/lib");
    fix_checksum(&mut h);
    let mut b = TarBuilder::new();
    b.block(&h).end();
    assert_eq!(names(&b.bytes()), ["usr/lib/file.txt"]);
}

#[test]
fn v7_header_and_nul_typeflag() {
    let mut h = header(b"old/", 0, 0);
    h[257..265].fill(0);
    fix_checksum(&mut h);
    let mut b = TarBuilder::new();
    b.block(&h);
    let mut f = header(b"old/f", 0, 1);
    f[257..265].fill(0);
    fix_checksum(&mut f);
    b.block(&f).data(b"z").end();
    let got = list(&b.bytes()).unwrap();
    assert_eq!(got[0].1, b'5');
    assert_eq!(got[1].1, b'0');
    assert_eq!(got[1].3, b"z");
}

#[test]
fn c1_huge_declared_size_with_short_data_is_truncated() {
    for size in [0o77777777777u64, 1 << 62] {
        let mut h = header(b"big", b'0', 0);
        if size > 0o77777777777 {
            h[124..136].fill(0);
            h[124] = 0x80;
            h[128..136].copy_from_slice(&size.to_be_bytes());
        } else {
            put_octal(&mut h[124..136], size);
        }
        fix_checksum(&mut h);
        let mut b = TarBuilder::new();
        b.block(&h).data(b"short");
        let err = list(&b.bytes()).unwrap_err();
        assert!(matches!(err, TarError::Truncated { .. }), "{err}");
        assert!(err.to_string().contains("truncated"));
    }
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("size", b"1000000000000000000")])
        .file("p", b"tiny");
    let err = list(&b.bytes()).unwrap_err();
    assert!(matches!(err, TarError::Truncated { .. }), "{err}");
}

#[test]
fn c2_truncated_mid_entry_fails() {
    let mut b = TarBuilder::new();
    b.file("a", &[1u8; 1000]).end();
    let bytes = b.bytes();
    for cut in [100, 512 + 300, 1024 + 10] {
        assert!(list(&bytes[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn c2_boundary_without_end_marker_is_reported() {
    let mut b = TarBuilder::new();
    b.file("a", &[1u8; 512]);
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    assert!(tr.next_header().unwrap().is_some());
    assert!(tr.next_header().unwrap().is_none());
    assert!(!tr.end_marker_seen());
    // One zero block only: still no end marker.
    b.data(&[0u8; 512]);
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    while tr.next_header().unwrap().is_some() {}
    assert!(!tr.end_marker_seen());
}

#[test]
fn c3_oversized_extension_headers_rejected_before_reading() {
    for t in [b'L', b'K', b'x', b'g'] {
        let h = header(b"././@LongLink", t, 256 << 20);
        let mut b = TarBuilder::new();
        b.block(&h); // no payload at all: the size alone must be refused
        let err = list(&b.bytes()).unwrap_err();
        assert!(
            matches!(err, TarError::ExtensionTooLarge { size, .. } if size == 256 << 20),
            "{err}"
        );
        assert!(err.to_string().contains("limit exceeded"));
    }
}

#[test]
fn c4_pax_size_applies_to_next_entry_only() {
    // ustar size 0, PAX size 5: the payload is 5 bytes.
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("size", b"5")]);
    b.block(&header(b"f", b'0', 0)).data(b"hello");
    b.file("g", b"").end();
    let got = list(&b.bytes()).unwrap();
    assert_eq!(got[0].3, b"hello");
    assert_eq!(got[1].2, 0);
}

#[test]
fn c4_pax_size_never_applies_to_gnu_long_name() {
    // x(size=3) then L: the L header keeps its own size, the file gets the 3 bytes.
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("size", b"3")]);
    b.gnu_long(b'L', b"long/name/from/gnu");
    b.block(&header(b"short", b'0', 0)).data(b"abc").end();
    let got = list(&b.bytes()).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, b"long/name/from/gnu");
    assert_eq!(got[0].3, b"abc", "PAX size overrides the file's ustar size");
}

#[test]
fn c5_duplicate_pax_size_rejected() {
    let mut body = pax_record("size", b"0");
    body.extend(pax_record("size", b"512"));
    let mut b = TarBuilder::new();
    b.entry(b"././@PaxHeader", b'x', &body).file("f", b"").end();
    let err = list(&b.bytes()).unwrap_err();
    assert!(matches!(err, TarError::Pax { .. }), "{err}");
    assert!(err.to_string().contains("ambiguous"));
}

#[test]
fn c5_duplicate_pax_path_rejected() {
    let mut body = pax_record("path", b"a");
    body.extend(pax_record("path", b"b"));
    let mut b = TarBuilder::new();
    b.entry(b"././@PaxHeader", b'x', &body).file("f", b"").end();
    assert!(list(&b.bytes()).is_err());
}

#[test]
fn c6_malformed_pax_record_rejected() {
    let mut b = TarBuilder::new();
    b.entry(b"././@PaxHeader", b'x', b"5 x\n")
        .file("f", b"")
        .end();
    let err = list(&b.bytes()).unwrap_err();
    assert!(matches!(err, TarError::Pax { offset: 0, .. }), "{err}");
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("size", b"-1")]).file("f", b"").end();
    assert!(list(&b.bytes()).is_err());
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("mtime", b"yesterday")]).file("f", b"").end();
    assert!(list(&b.bytes()).is_err());
}

#[test]
fn c7_global_header_ignored_and_counted() {
    let mut b = TarBuilder::new();
    b.pax(b'g', &[("comment", b"git archive"), ("path", b"nope")]);
    b.file("a", b"1").end();
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    let h = tr.next_header().unwrap().unwrap();
    assert_eq!(h.path, b"a");
    assert!(!h.pax);
    assert!(tr.next_header().unwrap().is_none());
    assert_eq!(tr.global_headers(), 1);
}

#[test]
fn c8_gnu_long_name_wins_over_pax_path() {
    let mut b = TarBuilder::new();
    b.pax(b'x', &[("path", b"from/pax"), ("linkpath", b"pax/target")]);
    b.gnu_long(b'L', b"from/gnu");
    b.gnu_long(b'K', b"gnu/target");
    b.link("short", b'2', "t").end();
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    let h = tr.next_header().unwrap().unwrap();
    assert_eq!(h.path, b"from/gnu");
    assert_eq!(h.linkname, b"gnu/target");
    assert_eq!(h.offset, 0);
}

#[test]
fn pax_path_and_long_names_apply() {
    let long = "d/".repeat(200) + "f";
    let mut b = TarBuilder::new();
    b.pax(
        b'x',
        &[
            ("path", long.as_bytes()),
            ("uid", b"4294967296"),
            ("mtime", b"12.5"),
        ],
    );
    b.file("ignored", b"").end();
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    let h = tr.next_header().unwrap().unwrap();
    assert_eq!(h.path, long.as_bytes());
    assert_eq!(h.uid, 1 << 32);
    assert_eq!(h.mtime, 12);
    assert!(h.pax);
}

#[test]
fn extension_header_without_entry_fails() {
    let mut b = TarBuilder::new();
    b.gnu_long(b'L', b"orphan").end();
    assert!(list(&b.bytes()).is_err());
}

fn old_gnu_sparse(regions: &[(u64, u64)], real: u64, extended: bool) -> [u8; BLOCK] {
    let data: u64 = regions.iter().map(|r| r.1).sum();
    let mut h = header(b"sparse", b'S', data);
    h[257..263].copy_from_slice(b"ustar ");
    h[263..265].copy_from_slice(b" \0");
    for (i, (o, l)) in regions.iter().enumerate().take(4) {
        let at = 386 + 24 * i;
        put_octal(&mut h[at..at + 12], *o);
        put_octal(&mut h[at + 12..at + 24], *l);
    }
    h[482] = u8::from(extended);
    put_octal(&mut h[483..495], real);
    fix_checksum(&mut h);
    h
}

#[test]
fn c9_old_gnu_sparse_reports_real_size() {
    let mut b = TarBuilder::new();
    b.block(&old_gnu_sparse(
        &[(0, 512), (1 << 30, 512)],
        (1 << 30) + 512,
        false,
    ));
    b.data(&[1u8; 1024]).file("after", b"x").end();
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    let h = tr.next_header().unwrap().unwrap();
    assert_eq!(h.size, (1 << 30) + 512);
    assert_eq!(h.typeflag, b'S');
    let sp = h.sparse.unwrap();
    assert_eq!(
        (sp.format, sp.regions, sp.data_bytes),
        (SparseFormat::OldGnu, 2, 1024)
    );
    assert_eq!(tr.remaining_payload(), 1024);
    assert_eq!(tr.next_header().unwrap().unwrap().path, b"after");
}

#[test]
fn c9_old_gnu_sparse_extension_blocks_capped() {
    let mut b = TarBuilder::new();
    b.block(&old_gnu_sparse(
        &[(0, 1), (2, 1), (4, 1), (6, 1)],
        100,
        true,
    ));
    // Extension blocks that keep asking for more: the region cap stops them.
    let mut ext = [0u8; BLOCK];
    for i in 0..21 {
        let at = 24 * i;
        put_octal(&mut ext[at..at + 12], 10 + 2 * i as u64);
        put_octal(&mut ext[at + 12..at + 24], 1);
    }
    ext[504] = 1;
    for _ in 0..10 {
        b.block(&ext);
    }
    let mut small = limits();
    small.max_sparse_regions = 50;
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &small);
    let err = tr.next_header().unwrap_err();
    assert!(
        matches!(err, TarError::TooManySparseRegions { max: 50, .. }),
        "{err}"
    );
}

#[test]
fn c9_pax_sparse_0x1_and_1x0() {
    let mut b = TarBuilder::new();
    b.pax(
        b'x',
        &[
            ("GNU.sparse.major", b"0"),
            ("GNU.sparse.minor", b"1"),
            ("GNU.sparse.name", b"real/name"),
            ("GNU.sparse.realsize", b"100000"),
            ("GNU.sparse.numblocks", b"1"),
            ("GNU.sparse.map", b"99990,10"),
        ],
    );
    b.entry(b"GNUSparseFile.0/name", b'0', &[9u8; 10]);
    b.pax(
        b'x',
        &[
            ("GNU.sparse.major", b"1"),
            ("GNU.sparse.minor", b"0"),
            ("GNU.sparse.name", b"v1"),
            ("GNU.sparse.realsize", b"5000"),
        ],
    );
    let mut payload = b"2\n0\n3\n4000\n2\n".to_vec();
    payload.resize(512, 0);
    payload.extend_from_slice(b"abcde");
    b.entry(b"GNUSparseFile.0/v1", b'0', &payload).end();
    let mut tr = TarReader::new(ShortReads::new(Cursor::new(b.bytes())), &limits());
    let h = tr.next_header().unwrap().unwrap();
    assert_eq!((h.path.as_slice(), h.size), (&b"real/name"[..], 100_000));
    assert_eq!(h.sparse.unwrap().format, SparseFormat::Pax0);
    let h = tr.next_header().unwrap().unwrap();
    assert_eq!((h.path.as_slice(), h.size), (&b"v1"[..], 5000));
    assert_eq!(h.sparse.unwrap().regions, 2);
    let mut data = Vec::new();
    tr.payload().read_to_end(&mut data).unwrap();
    assert_eq!(data, b"abcde");
    assert!(tr.next_header().unwrap().is_none());
}

#[test]
fn c9_sparse_map_inconsistent_with_data_rejected() {
    let mut b = TarBuilder::new();
    b.pax(
        b'x',
        &[
            ("GNU.sparse.major", b"0"),
            ("GNU.sparse.minor", b"1"),
            ("GNU.sparse.realsize", b"100"),
            ("GNU.sparse.numblocks", b"1"),
            ("GNU.sparse.map", b"0,50"),
        ],
    );
    b.entry(b"s", b'0', &[1u8; 10]).end();
    assert!(list(&b.bytes()).is_err());
}

#[test]
fn c9_pax_sparse_region_count_capped() {
    let mut b = TarBuilder::new();
    b.pax(
        b'x',
        &[
            ("GNU.sparse.major", b"1"),
            ("GNU.sparse.minor", b"0"),
            ("GNU.sparse.realsize", b"10"),
        ],
    );
    let mut payload = b"99999999\n".to_vec();
    payload.resize(512, 0);
    b.entry(b"s", b'0', &payload).end();
    let err = list(&b.bytes()).unwrap_err();
    assert!(
        matches!(err, TarError::TooManySparseRegions { .. }),
        "{err}"
    );
}

#[test]
fn c10_bad_checksum_reports_offset() {
    let mut b = TarBuilder::new();
    b.file("a", b"12345").file("b", b"");
    let mut bytes = b.bytes();
    bytes[1024 + 3] ^= 0x20; // inside the second header's name
    let err = list(&bytes).unwrap_err();
    assert!(
        matches!(err, TarError::BadChecksum { offset: 1024 }),
        "{err}"
    );
    assert!(err.to_string().contains("byte 1024"));
    let random: Vec<u8> = (0..2048u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert!(matches!(
        list(&random),
        Err(TarError::BadChecksum { offset: 0 })
    ));
}

#[test]
fn c11_negative_base256_size_rejected() {
    let mut h = header(b"neg", b'0', 0);
    h[124..136].fill(0xff);
    fix_checksum(&mut h);
    let mut b = TarBuilder::new();
    b.block(&h).end();
    let err = list(&b.bytes()).unwrap_err();
    assert!(err.to_string().contains("negative size"), "{err}");
}

#[test]
fn c11_absurd_ids_and_times_are_read() {
    let mut h = header(b"odd", b'0', 0);
    h[108..116].fill(0xff); // uid -1 in base-256
    h[136..148].fill(0);
    h[136] = 0x80;
    h[140..148].copy_from_slice(&(i64::MAX as u64 >> 8).to_be_bytes());
    fix_checksum(&mut h);
    let mut b = TarBuilder::new();
    b.block(&h).end();
    let mut tr = TarReader::new(Cursor::new(b.bytes()), &limits());
    let hdr = tr.next_header().unwrap().unwrap();
    assert_eq!(hdr.uid, -1);
    assert_eq!(hdr.mtime, i64::MAX >> 8);
}

#[test]
fn c12_unusual_types_listed() {
    let mut b = TarBuilder::new();
    for t in [b'3', b'4', b'6', b'7', b'V', b'M', b'X', b'Z'] {
        b.entry(&[b'n', t], t, b"");
    }
    b.end();
    let got = list(&b.bytes()).unwrap();
    let types: Vec<u8> = got.iter().map(|e| e.1).collect();
    assert_eq!(types, b"3467VMXZ");
}

#[test]
fn zero_block_then_garbage_rejected() {
    let mut b = TarBuilder::new();
    b.file("a", b"").data(&[0u8; 512]).file("b", b"");
    assert!(matches!(
        list(&b.bytes()),
        Err(TarError::InvalidHeader { .. })
    ));
}

mod proptests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Item {
        File(String, Vec<u8>),
        Dir(String),
        Symlink(String, String),
        Hardlink(String, String),
        /// A file whose real name (long, non-ASCII) comes from a PAX `path` record.
        PaxFile(String, Vec<u8>),
    }

    fn name() -> impl Strategy<Value = String> {
        // Long names exercise GNU long-name headers from the `tar` crate.
        prop::collection::vec("[a-z0-9_][a-z0-9._-]{0,39}", 1..8).prop_map(|v| v.join("/"))
    }

    fn data() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..2000)
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            (name(), data()).prop_map(|(n, d)| Item::File(n, d)),
            name().prop_map(Item::Dir),
            (name(), name()).prop_map(|(n, t)| Item::Symlink(n, t)),
            (name(), name()).prop_map(|(n, t)| Item::Hardlink(n, t)),
            (name(), data()).prop_map(|(n, d)| Item::PaxFile(format!("{n}/\u{e9}t\u{e9}"), d)),
        ]
    }

    fn build(items: &[Item]) -> Vec<u8> {
        let mut b = ::tar::Builder::new(Vec::new());
        for it in items {
            let mut h = ::tar::Header::new_gnu();
            h.set_mode(0o755);
            h.set_mtime(1_600_000_000);
            h.set_size(0);
            match it {
                Item::File(n, d) => {
                    h.set_entry_type(::tar::EntryType::Regular);
                    h.set_size(d.len() as u64);
                    b.append_data(&mut h, n, d.as_slice()).unwrap();
                }
                Item::Dir(n) => {
                    h.set_entry_type(::tar::EntryType::Directory);
                    b.append_data(&mut h, n, std::io::empty()).unwrap();
                }
                Item::Symlink(n, t) => {
                    h.set_entry_type(::tar::EntryType::Symlink);
                    b.append_link(&mut h, n, t).unwrap();
                }
                Item::Hardlink(n, t) => {
                    h.set_entry_type(::tar::EntryType::Link);
                    b.append_link(&mut h, n, t).unwrap();
                }
                Item::PaxFile(n, d) => {
                    let recs = pax_record("path", n.as_bytes());
                    let mut x = ::tar::Header::new_ustar();
                    x.set_path("PaxHeaders/x").unwrap();
                    x.set_entry_type(::tar::EntryType::XHeader);
                    x.set_size(recs.len() as u64);
                    x.set_cksum();
                    b.append(&x, recs.as_slice()).unwrap();
                    let mut f = ::tar::Header::new_ustar();
                    f.set_path("placeholder").unwrap();
                    f.set_entry_type(::tar::EntryType::Regular);
                    f.set_size(d.len() as u64);
                    f.set_cksum();
                    b.append(&f, d.as_slice()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    proptest! {
        #[test]
        fn listing_equals_what_tar_crate_wrote(items in prop::collection::vec(item(), 0..12)) {
            let bytes = build(&items);
            let mut tr = TarReader::new(ShortReads::new(bytes.as_slice()), &limits());
            for it in &items {
                let h = tr.next_header().unwrap().unwrap();
                let mut payload = Vec::new();
                tr.payload().read_to_end(&mut payload).unwrap();
                let (n, t, d, link): (&String, u8, &[u8], Option<&String>) = match it {
                    Item::File(n, d) | Item::PaxFile(n, d) => (n, b'0', d, None),
                    Item::Dir(n) => (n, b'5', b"", None),
                    Item::Symlink(n, l) => (n, b'2', b"", Some(l)),
                    Item::Hardlink(n, l) => (n, b'1', b"", Some(l)),
                };
                prop_assert_eq!(&h.path, n.as_bytes());
                prop_assert_eq!(h.typeflag, t);
                prop_assert_eq!(h.size, d.len() as u64);
                prop_assert_eq!(payload.as_slice(), d);
                if let Some(l) = link {
                    prop_assert_eq!(&h.linkname, l.as_bytes());
                }
            }
            prop_assert!(tr.next_header().unwrap().is_none());
            prop_assert!(tr.end_marker_seen());
            prop_assert_eq!(tr.offset(), bytes.len() as u64);
        }

        /// Arbitrary damage gives errors, never panics or runaway reads.
        #[test]
        fn damaged_archives_never_panic(
            items in prop::collection::vec(item(), 1..6),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = build(&items);
            for (at, v) in flips {
                let i = at.index(bytes.len());
                bytes[i] = v;
            }
            let len = cut.index(bytes.len() + 1);
            let mut tr = TarReader::new(&bytes[..len], &limits());
            let mut n = 0;
            while let Ok(Some(_)) = tr.next_header() {
                n += 1;
                prop_assert!(n <= items.len() * 4 + 4);
            }
            prop_assert!(tr.offset() <= len as u64);
        }
    }
}
