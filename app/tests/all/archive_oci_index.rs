//! BAD-INPUTS §2.2 row A7 (OCI indexes: nesting, depth, cycles, ambiguous documents,
//! unknown media types, attestations) and platform choice against `app::archive`.

use crate::archive_support::kit;

use app::archive::{ArchiveError, Platform};
use app::limits::Limits;
use app::model::Digest;
use kit::*;
use serde_json::json;

// ---------------------------------------------------------------- A7

#[test]
fn a7_nested_index_and_platform_choice() {
    let (a, b) = (l1(), l2());
    let mut oci = Oci::default();
    let amd = with_platform(oci.image(&[&a], "amd64", false), "linux", "amd64");
    let arm = with_platform(oci.image(&[&b], "arm64", true), "linux", "arm64");
    let list = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [amd, arm]}),
    )
    .unwrap();
    let top = oci.blob(OCI_INDEX, &list);
    let bytes = oci.outer(vec![with_ref(top, "multi:1")]).bytes();
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.images().len(), 2);
    let err = archive.select(None, None).unwrap_err();
    match &err {
        ArchiveError::PlatformRequired { platforms, .. } => {
            assert_eq!(
                platforms,
                &vec!["linux/amd64".to_string(), "linux/arm64".to_string()]
            )
        }
        other => panic!("expected platform choice, got {other}"),
    }
    let arm64 = Platform::parse("linux/arm64/v8").unwrap();
    let img = archive.select(Some("multi:1"), Some(&arm64)).unwrap();
    assert_eq!(img.config.architecture, "arm64");
    assert_eq!(img.layers[0].diff_id, Digest::of(&b));
    let err = archive
        .select(None, Some(&Platform::parse("linux/s390x").unwrap()))
        .unwrap_err();
    assert!(matches!(err, ArchiveError::NoPlatformMatch { .. }), "{err}");
    assert!(
        err.to_string().contains("linux/amd64, linux/arm64"),
        "{err}"
    );
    // The ref name annotation works as a reference too (`oci:DIR:REF`).
    assert_eq!(archive.images()[0].ref_names, vec!["1"]);
}

#[test]
fn a7_index_depth_over_the_limit_fails() {
    let a = l1();
    let mut oci = Oci::default();
    let mut desc = oci.image(&[&a], "amd64", false);
    for _ in 0..10 {
        let list = serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]}),
        )
        .unwrap();
        desc = oci.blob(OCI_INDEX, &list);
    }
    let bytes = oci.outer(vec![desc]).bytes();
    let err = read(&bytes).unwrap_err();
    assert!(
        matches!(err, ArchiveError::IndexTooDeep { max: 8 }),
        "{err}"
    );
    let deep_ok = Limits {
        max_index_depth: 10,
        ..Limits::default()
    };
    assert!(read_with(&bytes, &deep_ok)
        .unwrap()
        .select(None, None)
        .is_ok());
}

#[test]
fn a7_index_cycle_is_stopped_by_digest_verification() {
    // An index that claims to be stored under a digest and lists that digest: its bytes
    // cannot hash to the name, so it fails before it is parsed (no loop).
    let claimed = Digest::of(b"claimed");
    let selfref = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_INDEX, "digest": claimed.to_string(), "size": 10}]}))
    .unwrap();
    let desc =
        json!({"mediaType": OCI_INDEX, "digest": claimed.to_string(), "size": selfref.len()});
    let bytes = Outer::new()
        .file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)
        .file(&format!("blobs/sha256/{}", claimed.hex()), &selfref)
        .file("index.json", &Oci::index_doc(vec![desc]))
        .bytes();
    let err = read(&bytes).unwrap_err();
    assert!(matches!(err, ArchiveError::DigestMismatch { .. }), "{err}");
}

#[test]
fn a7_manifests_and_layers_document_fails() {
    let a = l1();
    let mut oci = Oci::default();
    let cfg = oci.blob(OCI_CONFIG, &config_for(&[&a], "amd64"));
    let la = oci.blob(LAYER_TAR, &a);
    let doc = serde_json::to_vec(&json!({"schemaVersion": 2, "config": cfg, "layers": [la],
        "manifests": [la]}))
    .unwrap();
    let desc = oci.blob(OCI_MANIFEST, &doc);
    let bytes = oci.outer(vec![desc]).bytes();
    let err = read(&bytes).unwrap_err();
    assert!(
        matches!(err, ArchiveError::AmbiguousDocument { .. }),
        "{err}"
    );
}

#[test]
fn a7_unknown_media_types_and_attestations_are_skipped() {
    let a = l1();
    let mut oci = Oci::default();
    let img = with_platform(oci.image(&[&a], "amd64", false), "linux", "amd64");
    // An attestation manifest (BuildKit) and an unknown artifact; the latter's blob is
    // not even valid JSON, proving it is never parsed.
    let mut att = oci.image(&[&a], "amd64", false);
    att["platform"] = json!({"os": "unknown", "architecture": "unknown"});
    att["annotations"] = json!({"vnd.docker.reference.type": "attestation-manifest"});
    let weird = oci.blob("application/vnd.example.thing", b"{not json");
    let list = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [img, att, weird]}),
    )
    .unwrap();
    let top = oci.blob(OCI_INDEX, &list);
    let bytes = oci.outer(vec![with_ref(top, "x:1")]).bytes();
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.images().len(), 1);
    assert_eq!(archive.skipped.len(), 2);
    assert!(archive.select(None, None).is_ok());
}
