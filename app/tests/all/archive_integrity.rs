//! BAD-INPUTS §2.2 rows A8 (oversized JSON), A9 (digest and diff ID mismatches) and A11
//! (daemon error tail in an export stream) against `app::archive`.

use crate::archive_support::kit;

use app::archive::{ArchiveError, Assembler};
use app::limits::Limits;
use app::model::Digest;
use kit::*;
use serde_json::{json, Value};
use std::io::Read;

// ---------------------------------------------------------------- A8

/// A reader that fails the test if more than `allowed` bytes are read from it.
struct Tripwire {
    allowed: u64,
    read: u64,
}

impl Read for Tripwire {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(4096);
        self.read += n as u64;
        assert!(
            self.read <= self.allowed,
            "read {} bytes of an oversized member",
            self.read
        );
        buf[..n].fill(b'[');
        Ok(n)
    }
}

#[test]
fn a8_oversized_json_is_refused_before_reading() {
    let limits = Limits {
        max_json: 1 << 20,
        ..Limits::default()
    };
    let mut progress = |_| {};
    let mut asm = Assembler::new(&limits, &mut progress);
    // A "1 GiB" manifest.json: not one byte is read.
    let mut wire = Tripwire {
        allowed: 0,
        read: 0,
    };
    asm.add_file("manifest.json", 1 << 30, &mut wire).unwrap();
    let err = asm.finish().unwrap_err();
    assert!(
        matches!(
            err,
            ArchiveError::JsonTooLarge {
                size: 1073741824,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("exceeds"), "{err}");
}

#[test]
fn a8_oversized_json_blob_read_only_to_the_sniff() {
    let limits = Limits {
        max_json: 1 << 20,
        ..Limits::default()
    };
    let mut progress = |_| {};
    let mut asm = Assembler::new(&limits, &mut progress);
    let desc_digest = Digest::of(b"some config");
    let mut wire = Tripwire {
        allowed: 4096,
        read: 0,
    };
    asm.add_file(
        &format!("blobs/sha256/{}", desc_digest.hex()),
        1 << 30,
        &mut wire,
    )
    .unwrap();
    let index = Oci::index_doc(vec![json!({"mediaType": OCI_MANIFEST,
        "digest": desc_digest.to_string(), "size": 1u64 << 30})]);
    asm.add_file("index.json", index.len() as u64, &mut &index[..])
        .unwrap();
    let err = asm.finish().unwrap_err();
    assert!(matches!(err, ArchiveError::JsonTooLarge { .. }), "{err}");
}

#[test]
fn a8_deeply_nested_json_fails_cleanly() {
    // A free-form config field parsed as a JSON value: serde_json's recursion limit (128)
    // must stop 100 000 levels before the stack does.
    let a = l1();
    let mut config = config_for(&[&a], "amd64");
    let deep = format!(
        r#"{{"Healthcheck":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let text = String::from_utf8(config)
        .unwrap()
        .replace(r#"{"Env":["PATH=/bin"]}"#, &deep);
    config = text.into_bytes();
    let name = format!("{}.json", Digest::of(&config).hex());
    let pa = format!("{}/layer.tar", Digest::of(&a).hex());
    let entry = json!({"Config": name, "Layers": [pa]});
    let bytes = Outer::new()
        .file(&pa, &a)
        .file(&name, &config)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    assert!(matches!(err, ArchiveError::Json { .. }), "{err}");
    assert!(err.to_string().contains("recursion limit"), "{err}");
}

// ---------------------------------------------------------------- A9

#[test]
fn a9_layer_diff_id_mismatch_fails() {
    let (a, b) = (l1(), l2());
    let mut config: Value = serde_json::from_slice(&config_for(&[&a, &b], "amd64")).unwrap();
    config["rootfs"]["diff_ids"][1] = json!(Digest::of(b"something else").to_string());
    let config = serde_json::to_vec(&config).unwrap();
    let name = format!("{}.json", Digest::of(&config).hex());
    let pa = format!("{}/layer.tar", Digest::of(&a).hex());
    let pb = format!("{}/layer.tar", Digest::of(&b).hex());
    let entry = json!({"Config": name, "Layers": [pa, pb]});
    let bytes = Outer::new()
        .file(&pa, &a)
        .file(&pb, &b)
        .file(&name, &config)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    assert!(
        matches!(err, ArchiveError::DiffIdMismatch { index: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("layer 1: diff id mismatch"),
        "{err}"
    );
}

#[test]
fn a9_blob_digest_mismatch_fails() {
    let a = l1();
    let mut oci = Oci::default();
    let m = oci.image(&[&a], "amd64", true);
    // Flip one byte of the gzip layer blob.
    let layer_name = format!("blobs/sha256/{}", Digest::of(&gzip(&a)).hex());
    for (n, d) in &mut oci.blobs {
        if *n == layer_name {
            let last = d.len() - 5;
            d[last] ^= 0x40;
        }
    }
    let bytes = oci.outer(vec![m]).bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    // A corrupted gzip fails its CRC or its digest; either way the layer is refused.
    assert!(
        matches!(
            err,
            ArchiveError::DigestMismatch { .. } | ArchiveError::Layer { .. }
        ),
        "{err}"
    );
}

#[test]
fn a9_config_and_manifest_digests_are_verified() {
    let a = l1();
    // Classic: `<hex>.json` must hash to <hex>.
    let config = config_for(&[&a], "amd64");
    let wrong = format!("{}.json", Digest::of(b"other").hex());
    let pa = format!("{}/layer.tar", Digest::of(&a).hex());
    let entry = json!({"Config": wrong, "Layers": [pa]});
    let bytes = Outer::new()
        .file(&pa, &a)
        .file(&wrong, &config)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    assert!(matches!(err, ArchiveError::DigestMismatch { .. }), "{err}");
    // OCI: a descriptor whose size disagrees with the blob.
    let mut oci = Oci::default();
    let mut m = oci.image(&[&a], "amd64", false);
    m["size"] = json!(3);
    let err = read(&oci.outer(vec![m]).bytes()).unwrap_err();
    assert!(
        matches!(err, ArchiveError::SizeMismatch { expected: 3, .. }),
        "{err}"
    );
}

// ---------------------------------------------------------------- A11

#[test]
fn a11_daemon_error_tail_is_reported() {
    let (a, b) = (l1(), l2());
    let full = classic(&[&a, &b], &["x:1"]);
    // The stream stops mid-member and the daemon appends its JSON error.
    let mut cut = full[..1536 + 100].to_vec();
    cut.extend_from_slice(br#"{"errorDetail":{"message":"image deleted during export"},"error":"image deleted during export"}"#);
    cut.extend_from_slice(b"\n");
    let err = read(&cut).unwrap_err();
    assert!(matches!(err, ArchiveError::ExportAborted(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "export aborted by daemon: image deleted during export"
    );
    // Error after a complete tar (after the end marker) is still an abort.
    let mut after = full.clone();
    after.extend_from_slice(br#"{"errorDetail":{"message":"late failure"}}"#);
    let err = read(&after).unwrap_err();
    assert_eq!(err.to_string(), "export aborted by daemon: late failure");
}

#[test]
fn a11_truncated_stream_without_tail_fails() {
    let a = l1();
    let full = classic(&[&a], &["x:1"]);
    let err = read(&full[..1536 + 100]).unwrap_err();
    assert!(
        matches!(err, ArchiveError::Tar(_) | ArchiveError::Read { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");
    // Cut on a block boundary with no end marker.
    let err = read(&full[..full.len() - 1024]).unwrap_err();
    assert!(matches!(err, ArchiveError::Truncated { .. }), "{err}");
    assert!(
        err.to_string().contains("without an end-of-archive marker"),
        "{err}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Hostile bytes anywhere in an archive give errors, never panics or hangs.
    #[test]
    fn mutated_archives_never_panic(
        flips in proptest::collection::vec((0usize..1 << 16, 1u8..=255), 1..8),
        cut in 0usize..1 << 16,
    ) {
        let (a, b) = (l1(), l2());
        let mut oci = Oci::default();
        let m = oci.image(&[&a, &b], "amd64", true);
        let mut bytes = oci.outer(vec![with_ref(m, "x:1")]).bytes();
        for (at, x) in flips {
            let i = at % bytes.len();
            bytes[i] ^= x;
        }
        bytes.truncate(bytes.len() - cut % 2048);
        if let Ok(archive) = read(&bytes) {
            for img in archive.images() {
                let _ = img.describe();
            }
            // Whatever survives keeps the invariants: one layer per diff ID, and every
            // layer of a complete image verified against its diff ID.
            if let Ok(p) = archive.select_partial(None, None) {
                proptest::prop_assert_eq!(p.image.layers.len(), p.image.config.rootfs.diff_ids.len());
                if p.missing.is_empty() {
                    for (l, d) in p.image.layers.iter().zip(&p.image.config.rootfs.diff_ids) {
                        proptest::prop_assert_eq!(&l.diff_id, d);
                    }
                }
            }
        }
    }
}
