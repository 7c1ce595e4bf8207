//! The checkpoint index against flate2-written gzip: reads from any offset equal the data,
//! multi-member and padded streams, every framing failure, the serialised form and limits.

use super::*;
use crate::tar::testkit::ShortReads;
use std::io::{Cursor as IoCursor, Write};

/// xorshift64*: deterministic test data without a rand crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random bytes, word salad, zero runs and repeats of earlier data, in random segments.
fn sample(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "layer",
        "blob",
        "tar",
        "gzip",
        "usr/",
        "bin/",
        "lib/",
        "etc/",
        "\n",
        " ",
        "0644 ",
        "root ",
        "sha256:",
        "checkpoint",
        "window",
    ];
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let seg = (rng.below(48 << 10) + 1) as usize;
        match rng.below(4) {
            0 => (0..seg).for_each(|_| out.push(rng.next() as u8)),
            1 => {
                while out.len() < len && seg > 0 && out.len() % seg != 0 {
                    out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
                }
                for _ in 0..seg / 8 {
                    out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
                }
            }
            2 => out.resize(out.len() + seg, 0),
            _ if out.len() > 1 => {
                let from = rng.below(out.len() as u64) as usize;
                let n = seg.min(out.len() - from);
                out.extend_from_within(from..from + n);
            }
            _ => {}
        }
    }
    out.truncate(len);
    out
}

fn gz(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn build(blob: &[u8], spacing: u64) -> Result<GzipIndex, GzipIndexError> {
    GzipIndex::build(blob, spacing, u64::MAX, &mut |_| {})
}

/// Up to `n` bytes from `at` through the index.
fn read_at(idx: &GzipIndex, blob: &[u8], at: u64, n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    idx.reader_at(IoCursor::new(blob), at)
        .unwrap()
        .take(n)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn read_tail(idx: &GzipIndex, blob: &[u8], at: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    idx.reader_at(IoCursor::new(blob), at)
        .map_err(GzipIndexError::into_io)?
        .read_to_end(&mut out)?;
    Ok(out)
}

/// 0, 1, the last byte, the end, every checkpoint boundary ±1 and random offsets.
fn interesting_offsets(idx: &GzipIndex, extra: &[u64], seed: u64) -> Vec<u64> {
    let len = idx.uncompressed_len();
    let mut v = vec![0, 1, len.saturating_sub(1), len];
    for c in &idx.checkpoints {
        v.extend([c.out_offset - 1, c.out_offset, c.out_offset + 1]);
    }
    for &e in extra {
        v.extend([e.saturating_sub(1), e, e + 1]);
    }
    let mut rng = Rng(seed);
    v.extend((0..40).map(|_| rng.below(len + 1)));
    v.retain(|&o| o <= len);
    v.sort_unstable();
    v.dedup();
    v
}

fn assert_reads(idx: &GzipIndex, blob: &[u8], data: &[u8], offsets: &[u64]) {
    for &at in offsets {
        let got = read_at(idx, blob, at, 4096);
        let end = data.len().min(at as usize + 4096);
        assert!(got == data[at as usize..end], "bytes at {at} differ");
    }
}

#[test]
fn reads_from_any_offset_equal_the_data_at_every_level() {
    let data = sample(2 << 20, 7);
    for level in [0, 1, 6, 9] {
        let blob = gz(&data, level);
        let spacing = 64 << 10;
        let idx = build(&blob, spacing).unwrap();
        assert_eq!(idx.uncompressed_len(), data.len() as u64, "level {level}");
        assert_eq!(idx.compressed_len(), blob.len() as u64);
        assert_eq!(idx.members(), 1);
        assert_eq!(idx.spacing(), spacing);
        // One member: every checkpoint lands exactly on a multiple of the spacing.
        let offsets: Vec<u64> = idx.checkpoints.iter().map(|c| c.out_offset).collect();
        let expected: Vec<u64> = (1..=(data.len() as u64 - 1) / spacing)
            .map(|k| k * spacing)
            .collect();
        assert_eq!(offsets, expected, "level {level}");
        assert!(idx
            .checkpoints
            .windows(2)
            .all(|w| w[0].in_offset < w[1].in_offset));

        assert_reads(
            &idx,
            &blob,
            &data,
            &interesting_offsets(&idx, &[], level.into()),
        );
        for at in [
            0,
            idx.checkpoints[7].out_offset,
            data.len() as u64 / 2 + 12345,
        ] {
            let tail = read_tail(&idx, &blob, at).unwrap();
            assert!(
                tail == data[at as usize..],
                "tail from {at} differs, level {level}"
            );
        }
    }
}

#[test]
fn reader_resumes_at_the_nearest_checkpoint_and_reports_its_position() {
    /// Records where it was seeked to.
    struct Seeks<'a>(IoCursor<&'a [u8]>, Vec<u64>);
    impl Read for Seeks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Seek for Seeks<'_> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            let p = self.0.seek(pos)?;
            self.1.push(p);
            Ok(p)
        }
    }
    let data = sample(1 << 20, 3);
    let blob = gz(&data, 6);
    let idx = build(&blob, 64 << 10).unwrap();
    let c = &idx.checkpoints[10];
    let at = c.out_offset + 1000;
    let mut r = idx
        .reader_at(Seeks(IoCursor::new(&blob), Vec::new()), at)
        .unwrap();
    assert_eq!(r.position(), at);
    let mut buf = vec![0; 100];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(r.position(), at + 100);
    assert_eq!(buf, data[at as usize..at as usize + 100]);
    assert_eq!(r.into_inner().1, vec![c.in_offset]);
    // Before the first checkpoint: from the start.
    let r = idx
        .reader_at(Seeks(IoCursor::new(&blob), Vec::new()), 5)
        .unwrap();
    assert_eq!(r.into_inner().1, vec![0]);
}

#[test]
fn checkpoints_taken_at_arbitrary_call_boundaries_resume() {
    // Reads of 1..7 bytes put every checkpoint at a different input position and decoder
    // state than a buffered build; both must resume to the same bytes.
    let data = sample(400 << 10, 11);
    for level in [0, 6] {
        let blob = gz(&data, level);
        let short =
            GzipIndex::build(ShortReads::new(blob.as_slice()), 1, u64::MAX, &mut |_| {}).unwrap();
        let long = build(&blob, 1).unwrap();
        assert_eq!(short.spacing(), MIN_SPACING);
        assert_eq!(short.checkpoints(), long.checkpoints());
        assert!(short.checkpoints() >= 11);
        for idx in [&short, &long] {
            assert_reads(idx, &blob, &data, &interesting_offsets(idx, &[], 5));
        }
    }
}

#[test]
fn multi_member_streams_decode_as_the_concatenation() {
    let a = sample(300 << 10, 1);
    let b = sample(200 << 10, 2);
    let c = sample(500 << 10, 3);
    let mut blob = gz(&a, 6);
    blob.extend(gz(b"", 1));
    blob.extend(gz(&b, 0));
    blob.extend(gz(&c, 9));
    let data = [a.as_slice(), &b, &c].concat();
    let idx = build(&blob, 64 << 10).unwrap();
    assert_eq!(idx.members(), 4);
    assert_eq!(idx.uncompressed_len(), data.len() as u64);
    assert!(idx.checkpoints.iter().any(|c| c.member == 2));
    assert!(idx.checkpoints.iter().any(|c| c.member == 3));
    let bounds = [a.len() as u64, (a.len() + b.len()) as u64];
    assert_reads(&idx, &blob, &data, &interesting_offsets(&idx, &bounds, 9));
    assert!(read_tail(&idx, &blob, 0).unwrap() == data);
    assert!(read_tail(&idx, &blob, bounds[0] - 10).unwrap() == data[bounds[0] as usize - 10..]);
}

#[test]
fn many_tiny_members_like_estargz() {
    let mut rng = Rng(99);
    let mut blob = Vec::new();
    let mut data = Vec::new();
    let mut bounds = Vec::new();
    for i in 0..300 {
        let part = sample(rng.below(3000) as usize, i + 1);
        blob.extend(gz(&part, (i % 10) as u32));
        data.extend_from_slice(&part);
        bounds.push(data.len() as u64);
    }
    let idx = build(&blob, MIN_SPACING).unwrap();
    assert_eq!(idx.members(), 300);
    assert_eq!(idx.uncompressed_len(), data.len() as u64);
    assert!(idx.checkpoints() > 5);
    assert_reads(
        &idx,
        &blob,
        &data,
        &interesting_offsets(&idx, &bounds[..40], 4),
    );
    assert!(read_tail(&idx, &blob, 1).unwrap() == data[1..]);
}

/// A member with a hand-written header: `flags` fields filled in, FHCRC computed or `bad_hcrc`.
fn custom_member(data: &[u8], cm: u8, flags: u8, name_len: usize, bad_hcrc: bool) -> Vec<u8> {
    let mut h = vec![0x1f, 0x8b, cm, flags, 1, 2, 3, 4, 0, 3];
    if flags & FEXTRA != 0 {
        h.extend([6, 0, b'A', b'B', 2, 0, 9, 9]);
    }
    if flags & FNAME != 0 {
        h.extend(std::iter::repeat_n(b'n', name_len));
        h.push(0);
    }
    if flags & FCOMMENT != 0 {
        h.extend(b"a comment\0");
    }
    if flags & FHCRC != 0 {
        let crc = (crc32fast::hash(&h) & 0xffff) as u16 ^ u16::from(bad_hcrc);
        h.extend(crc.to_le_bytes());
    }
    let mut e = flate2::write::DeflateEncoder::new(h, flate2::Compression::default());
    e.write_all(data).unwrap();
    let mut m = e.finish().unwrap();
    m.extend(crc32fast::hash(data).to_le_bytes());
    m.extend((data.len() as u32).to_le_bytes());
    m
}

#[test]
fn header_fields_are_parsed_and_checked() {
    let data = sample(100 << 10, 5);
    let all = 0x01 | FHCRC | FEXTRA | FNAME | FCOMMENT;
    let good = custom_member(&data, 8, all, 12, false);
    let idx = build(&good, MIN_SPACING).unwrap();
    assert!(read_tail(&idx, &good, 777).unwrap() == data[777..]);
    // A long but allowed name, then header failures.
    build(
        &custom_member(&data, 8, FNAME, MAX_HEADER_STRING, false),
        MIN_SPACING,
    )
    .unwrap();
    let cases: [(Vec<u8>, &str); 6] = [
        (custom_member(&data, 8, all, 3, true), "CRC16"),
        (custom_member(&data, 8, 0x20, 0, false), "reserved"),
        (custom_member(&data, 7, 0, 0, false), "not deflate"),
        (
            custom_member(&data, 8, FNAME, MAX_HEADER_STRING + 1, false),
            "64 KiB",
        ),
        (b"PK\x03\x04 not gzip".to_vec(), "magic"),
        (Vec::new(), "empty"),
    ];
    for (blob, needle) in cases {
        let err = build(&blob, MIN_SPACING).unwrap_err();
        assert!(
            matches!(err, GzipIndexError::BadHeader { offset: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains(needle), "{err}");
    }
    // A bad second header is reported at its offset.
    let mut two = gz(b"first", 6);
    let second = two.len() as u64;
    two.extend(custom_member(b"x", 8, 0x40, 0, false));
    let err = build(&two, MIN_SPACING).unwrap_err();
    assert!(
        matches!(err, GzipIndexError::BadHeader { offset, .. } if offset == second),
        "{err}"
    );
}

#[test]
fn a_corrupted_byte_fails_the_build() {
    let data = sample(1 << 20, 8);
    for level in [0, 6, 9] {
        let mut blob = gz(&data, level);
        let mid = blob.len() / 2;
        blob[mid] ^= 0x55;
        let err = build(&blob, 64 << 10).unwrap_err();
        assert!(
            matches!(
                err,
                GzipIndexError::CorruptDeflate { member: 0, .. }
                    | GzipIndexError::CrcMismatch { member: 0, .. }
                    | GzipIndexError::SizeMismatch { member: 0, .. }
            ),
            "level {level}: {err}"
        );
        assert!(err.to_string().contains("fetch it again"), "{err}");
        if let GzipIndexError::CorruptDeflate { offset, .. } = err {
            assert!(offset >= mid as u64 - (64 << 10) && offset <= blob.len() as u64);
        }
    }
    // Stored blocks have no redundancy: only the CRC can catch it.
    let mut blob = gz(&data, 0);
    // A byte of block payload (not a stored block's LEN/NLEN header, which is checked).
    let probe = &data[data.len() / 2..data.len() / 2 + 64];
    let at = blob
        .windows(probe.len())
        .position(|w| w == probe)
        .expect("stored payload");
    blob[at + 10] ^= 1;
    let err = build(&blob, 64 << 10).unwrap_err();
    assert!(
        matches!(err, GzipIndexError::CrcMismatch { member: 0, .. }),
        "{err}"
    );
}

#[test]
fn truncated_input_fails_wherever_it_is_cut() {
    let data = sample(200 << 10, 4);
    for level in [0, 6] {
        let blob = gz(&data, level);
        let n = blob.len();
        for cut in [1, 2, 5, 9, 10, 11, n / 3, n / 2, n - 9, n - 8, n - 4, n - 1] {
            let err = build(&blob[..cut], MIN_SPACING).unwrap_err();
            assert!(
                matches!(err, GzipIndexError::Truncated { offset } if offset <= cut as u64),
                "level {level}, cut {cut}: {err}"
            );
        }
    }
}

#[test]
fn trailer_mismatches_name_the_member() {
    let data = sample(50 << 10, 6);
    let one = gz(&data, 6);
    let n = one.len();
    let mut bad_crc = one.clone();
    bad_crc[n - 8] ^= 1;
    assert!(matches!(
        build(&bad_crc, MIN_SPACING).unwrap_err(),
        GzipIndexError::CrcMismatch { member: 0, .. }
    ));
    let mut bad_size = one.clone();
    bad_size[n - 1] ^= 1;
    let err = build(&bad_size, MIN_SPACING).unwrap_err();
    assert!(
        matches!(err, GzipIndexError::SizeMismatch { member: 0, .. }),
        "{err}"
    );
    let mut three = [one.as_slice(), &bad_crc, &one].concat();
    let err = build(&three, MIN_SPACING).unwrap_err();
    assert!(
        matches!(err, GzipIndexError::CrcMismatch { member: 1, .. }),
        "{err}"
    );
    three.truncate(2 * n - 3);
    let err = build(&three, MIN_SPACING).unwrap_err();
    assert!(matches!(err, GzipIndexError::Truncated { .. }), "{err}");
}

#[test]
fn trailing_zeros_are_padding_and_anything_else_is_garbage() {
    let data = sample(300 << 10, 12);
    let blob = gz(&data, 6);
    let mut padded = blob.clone();
    padded.resize(blob.len() + 100_000, 0);
    let idx = build(&padded, 64 << 10).unwrap();
    assert_eq!(idx.compressed_len(), padded.len() as u64);
    assert_eq!(idx.uncompressed_len(), data.len() as u64);
    assert!(read_tail(&idx, &padded, 250_000).unwrap() == data[250_000..]);
    // Without the padding the blob no longer matches the index.
    let err = read_tail(&idx, &blob, 250_000).unwrap_err();
    let inner = err
        .into_inner()
        .unwrap()
        .downcast::<GzipIndexError>()
        .unwrap();
    assert!(
        matches!(*inner, GzipIndexError::IndexMismatch(_)),
        "{inner}"
    );

    let garbage_at = |tail: &[u8]| {
        let blob = [blob.as_slice(), tail].concat();
        match build(&blob, 64 << 10) {
            Err(GzipIndexError::TrailingGarbage { offset }) => offset,
            other => panic!("{other:?}"),
        }
    };
    let end = blob.len() as u64;
    assert_eq!(garbage_at(b"garbage"), end);
    assert_eq!(garbage_at(&[0x1f]), end);
    assert_eq!(garbage_at(&[0x1f, 0x8c, 8, 0]), end);
    let mut zeros_then_junk = vec![0u8; 70_000];
    zeros_then_junk.push(7);
    assert_eq!(garbage_at(&zeros_then_junk), end + 70_000);
}

#[test]
fn offsets_past_the_end_fail_and_the_end_reads_empty() {
    let data = sample(100 << 10, 13);
    let blob = gz(&data, 6);
    let idx = build(&blob, MIN_SPACING).unwrap();
    let len = data.len() as u64;
    let err = idx.reader_at(IoCursor::new(&blob), len + 1).err().unwrap();
    assert!(
        matches!(err, GzipIndexError::OffsetBeyondEnd { at, len: l } if at == len + 1 && l == len)
    );
    assert!(read_tail(&idx, &blob, len).unwrap().is_empty());
    let empty = gz(b"", 6);
    let idx = build(&empty, MIN_SPACING).unwrap();
    assert_eq!((idx.uncompressed_len(), idx.checkpoints()), (0, 0));
    assert!(read_tail(&idx, &empty, 0).unwrap().is_empty());
}

#[test]
fn serialised_index_round_trips_and_reads_the_same() {
    let a = sample(700 << 10, 21);
    let b = sample(300 << 10, 22);
    let blob = [gz(&a, 9), gz(&b, 1)].concat();
    let data = [a.as_slice(), &b].concat();
    let idx = build(&blob, 64 << 10).unwrap();
    let bytes = idx.to_bytes();
    let per = (bytes.len() - HEADER_LEN - 4) / idx.checkpoints();
    assert!(
        per > WINDOW && per < WINDOW + 16 * 1024,
        "{per} bytes per checkpoint"
    );
    let back = GzipIndex::from_bytes(&bytes).unwrap();
    assert_eq!(back, idx);
    assert_eq!(format!("{back:?}"), format!("{idx:?}"));
    assert_eq!(back.to_bytes(), bytes);
    let offsets = interesting_offsets(&back, &[a.len() as u64], 2);
    assert_reads(&back, &blob, &data, &offsets);
    for at in [0, a.len() as u64 - 3, back.checkpoints[3].out_offset] {
        assert!(read_tail(&back, &blob, at).unwrap() == read_tail(&idx, &blob, at).unwrap());
    }
    // No checkpoints at all.
    let small = build(&gz(b"tiny", 6), DEFAULT_SPACING).unwrap();
    assert_eq!(GzipIndex::from_bytes(&small.to_bytes()).unwrap(), small);
}

/// Recomputes the trailing checksum after an edit.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn from_bytes_refuses_damage_without_panicking() {
    let data = sample(200 << 10, 31);
    let blob = gz(&data, 6);
    let idx = build(&blob, MIN_SPACING).unwrap();
    let bytes = idx.to_bytes();
    let bad = |b: &[u8]| match GzipIndex::from_bytes(b) {
        Err(GzipIndexError::BadIndex(why)) => why,
        other => panic!("accepted: {other:?}"),
    };
    // Every truncation near the edges and a stride through the middle.
    let n = bytes.len();
    for cut in (0..200).chain((200..n).step_by(997)).chain(n - 200..n) {
        bad(&bytes[..cut]);
    }
    assert!(bad(&bytes[..n - 1]).contains("checksum"));
    let mut longer = bytes.clone();
    longer.push(0);
    bad(&longer);
    // Garbage of assorted lengths, with and without a valid magic.
    let mut rng = Rng(5);
    for len in [0, 1, 8, 13, 60, 1000, 40_000, 100_000] {
        let mut g: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        bad(&g);
        if len >= 14 {
            g[..8].copy_from_slice(MAGIC);
            g[8..10].copy_from_slice(&VERSION.to_le_bytes());
            bad(&g);
            if len >= 18 {
                reseal(&mut g);
                bad(&g);
            }
        }
    }
    // Another version is named as such.
    let mut v2 = bytes.clone();
    v2[8] = 2;
    assert!(bad(&v2).contains("version 2"), "{}", bad(&v2));
    // A flipped window byte breaks the checksum.
    let mut flipped = bytes.clone();
    flipped[n - 100] ^= 1;
    assert!(bad(&flipped).contains("checksum"));
    // Sealed but inconsistent: another decoder, a huge count, a ring position out of range,
    // checkpoints out of order, a broken decoder state.
    let mut other = bytes.clone();
    other[10] ^= 1;
    reseal(&mut other);
    assert!(bad(&other).contains("decoder"));
    let mut count = bytes.clone();
    count[HEADER_LEN - 4..HEADER_LEN].copy_from_slice(&u32::MAX.to_le_bytes());
    reseal(&mut count);
    assert!(bad(&count).contains("more checkpoints"));
    let first = HEADER_LEN;
    let ring_pos_at = first + 8 + 8 + 8 + 4 + 8;
    let mut ring = bytes.clone();
    ring[ring_pos_at..ring_pos_at + 2].copy_from_slice(&40_000u16.to_le_bytes());
    reseal(&mut ring);
    assert!(bad(&ring).contains("inconsistent"));
    let mut order = bytes.clone();
    order[first + 8..first + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    reseal(&mut order);
    assert!(bad(&order).contains("inconsistent"));
    let mut state = bytes.clone();
    let state_at = first + CHECKPOINT_FIXED_LEN;
    for b in &mut state[state_at..state_at + 64] {
        *b = 0xff;
    }
    reseal(&mut state);
    bad(&state);
    let mut short_state = bytes.clone();
    let len_at = first + CHECKPOINT_FIXED_LEN - 4;
    let len = u32::from_le_bytes(short_state[len_at..len_at + 4].try_into().unwrap());
    short_state[len_at..len_at + 4].copy_from_slice(&(len - 1).to_le_bytes());
    reseal(&mut short_state);
    bad(&short_state);
}

#[test]
fn the_output_limit_stops_bombs() {
    let data = sample(300 << 10, 41);
    let blob = gz(&data, 6);
    let len = data.len() as u64;
    GzipIndex::build(blob.as_slice(), MIN_SPACING, len, &mut |_| {}).unwrap();
    let err = GzipIndex::build(blob.as_slice(), MIN_SPACING, len - 1, &mut |_| {}).unwrap_err();
    assert!(matches!(err, GzipIndexError::LimitExceeded { limit } if limit == len - 1));
    assert!(err.to_string().contains("raise the limit"));
    // 64 MiB of zeros stop after about 1 MiB of work.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    let mut seen = 0;
    let err =
        GzipIndex::build(bomb.as_slice(), DEFAULT_SPACING, 1 << 20, &mut |c| seen = c).unwrap_err();
    assert!(matches!(err, GzipIndexError::LimitExceeded { .. }));
    assert!(seen < bomb.len() as u64 / 8, "{seen} of {}", bomb.len());
}

#[test]
fn progress_is_reported_per_checkpoint_and_at_the_end() {
    let data = sample(1 << 20, 51);
    let blob = gz(&data, 1);
    let mut calls = Vec::new();
    let idx =
        GzipIndex::build(blob.as_slice(), 64 << 10, u64::MAX, &mut |c| calls.push(c)).unwrap();
    assert!(calls.len() > idx.checkpoints(), "{} calls", calls.len());
    assert!(calls.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(calls.last(), Some(&(blob.len() as u64)));
}

#[test]
fn reads_through_the_index_verify_the_data() {
    let data = sample(1 << 20, 61);
    let blob = gz(&data, 0);
    let idx = build(&blob, 64 << 10).unwrap();
    let c = &idx.checkpoints[5];
    // Change a stored byte after the checkpoint: the member's running CRC catches it.
    let mut changed = blob.clone();
    let at = c.in_offset as usize + 5000;
    changed[at] ^= 0x20;
    let err = read_tail(&idx, &changed, c.out_offset).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let inner = err
        .into_inner()
        .unwrap()
        .downcast::<GzipIndexError>()
        .unwrap();
    assert!(
        matches!(*inner, GzipIndexError::CrcMismatch { member: 0, .. }),
        "{inner}"
    );
    // A short prefix read does not reach the trailer and returns the (changed) bytes.
    assert_eq!(read_at(&idx, &changed, c.out_offset, 100).len(), 100);
    // A different, shorter blob.
    let other = gz(&data[..600 << 10], 0);
    let err = read_tail(&idx, &other, 0).unwrap_err();
    let inner = err
        .into_inner()
        .unwrap()
        .downcast::<GzipIndexError>()
        .unwrap();
    assert!(
        matches!(*inner, GzipIndexError::IndexMismatch(_)),
        "{inner}"
    );
    // A truncated blob.
    let err = read_tail(&idx, &blob[..blob.len() - 100], c.out_offset).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    // After an error the reader stays failed.
    let mut r = idx
        .reader_at(IoCursor::new(&changed), c.out_offset)
        .unwrap();
    let mut sink = Vec::new();
    assert!(r.read_to_end(&mut sink).is_err());
    assert!(r.read(&mut [0; 10]).is_err());
}

#[test]
fn io_errors_keep_their_source_and_offset() {
    /// Fails after `ok` bytes (and interrupts once first, which must be retried).
    struct Failing<'a> {
        data: &'a [u8],
        ok: usize,
        interrupted: bool,
    }
    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.ok == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "peer went away",
                ));
            }
            let n = buf.len().min(self.ok).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.ok -= n;
            Ok(n)
        }
    }
    let blob = gz(&sample(300 << 10, 71), 6);
    let half = blob.len() / 2;
    let r = Failing {
        data: &blob,
        ok: half,
        interrupted: false,
    };
    let err = GzipIndex::build(r, MIN_SPACING, u64::MAX, &mut |_| {}).unwrap_err();
    let GzipIndexError::Io { offset, source } = &err else {
        panic!("{err}")
    };
    assert_eq!(*offset, half as u64);
    assert_eq!(source.kind(), io::ErrorKind::ConnectionReset);
    assert!(std::error::Error::source(&err).is_some());
    assert!(err.to_string().contains("peer went away"));
}
