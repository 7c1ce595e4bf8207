//! BAD-INPUTS §2.2 B rows for the decoder.

use super::*;
use crate::tar::testkit::{ShortReads, TarBuilder};
use std::io::Write;

fn small_tar() -> Vec<u8> {
    let mut b = TarBuilder::new();
    b.file("a", b"hello").end();
    b.bytes()
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn decode_all(blob: &[u8], limits: &Limits) -> Result<(Compression, Vec<u8>), CompressError> {
    let mut d = Decoder::new(ShortReads::new(blob), limits)?;
    let mut out = Vec::new();
    d.read_to_end(&mut out).map_err(|e| d.io_error(e))?;
    Ok((d.compression(), out))
}

#[test]
fn b1_gzip_bomb_fails_with_bounded_output() {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 200 << 10);
    let limits = Limits {
        ratio_grace: 1 << 20,
        max_compression_ratio: 100,
        ..Limits::default()
    };
    let mut d = Decoder::new(bomb.as_slice(), &limits).unwrap();
    let mut buf = vec![0u8; 64 << 10];
    let err = loop {
        match d.read(&mut buf) {
            Ok(0) => panic!("bomb decoded to the end"),
            Ok(_) => {}
            Err(e) => break d.io_error(e),
        }
    };
    assert!(matches!(err, CompressError::LimitExceeded(_)), "{err}");
    assert!(err
        .to_string()
        .starts_with("limit exceeded: compression ratio"));
    // Stopped soon after the grace, far from the 64 MiB the bomb holds.
    assert!(
        d.decompressed_bytes() < 8 << 20,
        "{}",
        d.decompressed_bytes()
    );
}

#[test]
fn b1_absolute_layer_budget() {
    let tar = small_tar();
    let limits = Limits {
        max_layer_bytes: 1000,
        ..Limits::default()
    };
    let err = decode_all(&tar, &limits).unwrap_err();
    assert!(err.to_string().contains("limit exceeded"), "{err}");
    let err = decode_all(&gzip(&tar), &limits).unwrap_err();
    assert!(err.to_string().contains("limit exceeded"), "{err}");
}

#[cfg(feature = "zstd")]
#[test]
fn b2_zstd_window_over_2_27_rejected() {
    let data = small_tar();
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.window_log(30).unwrap();
    e.long_distance_matching(true).unwrap();
    e.write_all(&data).unwrap();
    let blob = e.finish().unwrap();
    let err = decode_all(&blob, &Limits::default()).unwrap_err();
    assert!(matches!(err, CompressError::Io { .. }), "{err}");
    // A normal window decodes fine.
    let ok = zstd::encode_all(data.as_slice(), 19).unwrap();
    assert_eq!(decode_all(&ok, &Limits::default()).unwrap().1, data);
}

#[test]
fn b3_multi_member_gzip_decodes_all_members() {
    let tar = small_tar();
    let (a, b) = tar.split_at(700);
    let mut blob = gzip(a);
    blob.extend(gzip(b));
    let (c, out) = decode_all(&blob, &Limits::default()).unwrap();
    assert_eq!(c, Compression::Gzip);
    assert_eq!(out, tar);
}

#[cfg(feature = "zstd")]
#[test]
fn b3_multi_frame_zstd_and_skippable_frames() {
    let tar = small_tar();
    let (a, b) = tar.split_at(700);
    // A skippable frame first (as zstd:chunked writes metadata), then two frames.
    let mut blob = vec![0x5e, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
    blob.extend(zstd::encode_all(a, 3).unwrap());
    blob.extend(zstd::encode_all(b, 3).unwrap());
    assert_eq!(sniff(&blob).unwrap(), Compression::Zstd);
    let (c, out) = decode_all(&blob, &Limits::default()).unwrap();
    assert_eq!(c, Compression::Zstd);
    assert_eq!(out, tar);
}

#[test]
fn b4_trailing_garbage_after_gzip_fails() {
    let mut blob = gzip(&small_tar());
    blob.extend_from_slice(b"junk");
    assert!(decode_all(&blob, &Limits::default()).is_err());
}

#[test]
fn b5_corrupt_gzip_fails() {
    let blob = gzip(&small_tar());
    let mut flipped = blob.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    assert!(decode_all(&flipped, &Limits::default()).is_err());
    let mut bad_crc = blob.clone();
    let at = bad_crc.len() - 6;
    bad_crc[at] ^= 1;
    assert!(decode_all(&bad_crc, &Limits::default()).is_err());
    let truncated = &blob[..blob.len() - 8];
    assert!(decode_all(truncated, &Limits::default()).is_err());
}

#[test]
fn b6_unsupported_compression_by_magic() {
    let cases: [(&[u8], &str); 4] = [
        (
            &[0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2],
            "unsupported compression (xz)",
        ),
        (b"BZh91AY&SY", "unsupported compression (bzip2)"),
        (
            &[0x04, 0x22, 0x4d, 0x18, 0, 0],
            "unsupported compression (lz4)",
        ),
        (
            b"PK\x03\x04 zip file",
            "unsupported compression (unknown format)",
        ),
    ];
    for (blob, msg) in cases {
        let err = decode_all(blob, &Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), msg);
    }
}

#[test]
fn b6_gzip_media_type_with_plain_tar_bytes_reads_as_tar() {
    let tar = small_tar();
    let (c, out) = decode_all(&tar, &Limits::default()).unwrap();
    assert_eq!((c, out), (Compression::None, tar));
}

#[test]
fn b7_empty_blob_and_empty_tar_are_raw() {
    let (c, out) = decode_all(b"", &Limits::default()).unwrap();
    assert_eq!((c, out.len()), (Compression::None, 0));
    let (c, out) = decode_all(&[0u8; 1024], &Limits::default()).unwrap();
    assert_eq!((c, out.len()), (Compression::None, 1024));
}

#[test]
fn b8_gzip_of_gzip_is_not_a_tar() {
    let blob = gzip(&gzip(&small_tar()));
    let err = decode_all(&blob, &Limits::default()).unwrap_err();
    assert!(matches!(err, CompressError::NotTar(_)), "{err}");
    assert!(err.to_string().contains("gzip magic"), "{err}");
}

#[cfg(not(feature = "zstd"))]
#[test]
fn zstd_without_feature_is_a_clear_error() {
    let blob = [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0];
    let err = decode_all(&blob, &Limits::default()).unwrap_err();
    assert_eq!(err.to_string(), "zstd support not built in");
}

#[cfg(feature = "zstd")]
#[test]
fn b4_b5_zstd_trailing_garbage_and_truncation_fail() {
    let blob = zstd::encode_all(small_tar().as_slice(), 3).unwrap();
    let mut junk = blob.clone();
    junk.extend_from_slice(b"junk");
    assert!(decode_all(&junk, &Limits::default()).is_err());
    assert!(decode_all(&blob[..blob.len() - 3], &Limits::default()).is_err());
}
