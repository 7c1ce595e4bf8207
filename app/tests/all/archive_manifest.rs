//! BAD-INPUTS §2.2 rows A2 (manifest.json shape), A3 (layer count), A4 (missing blobs),
//! A6 (duplicate members) and A10 (layout preference) against `app::archive`.

use crate::archive_support::kit;

use app::archive::{ArchiveError, ArchiveFormat, Platform};
use app::model::Digest;
use kit::*;
use serde_json::json;

// ---------------------------------------------------------------- A2

#[test]
fn a2_null_manifest_fails() {
    let bytes = Outer::new().file("manifest.json", b"null").bytes();
    let err = read(&bytes).unwrap_err();
    assert!(matches!(err, ArchiveError::NullManifest), "{err}");
    assert!(err.to_string().contains("null"));
}

#[test]
fn a2_empty_manifest_has_no_images() {
    let bytes = Outer::new().file("manifest.json", b"[]").bytes();
    let err = read(&bytes).unwrap_err();
    assert!(matches!(err, ArchiveError::NoImages), "{err}");
    assert_eq!(err.to_string(), "archive holds no images");
}

#[test]
fn a2_missing_manifest_fails() {
    let a = l1();
    let bytes = Outer::new().file("x/layer.tar", &a).bytes();
    let err = read(&bytes).unwrap_err();
    assert!(matches!(err, ArchiveError::NotAnImageArchive), "{err}");
}

#[test]
fn a2_several_images_let_the_user_pick() {
    let (a, b) = (l1(), l2());
    let (outer, e1, cfg1) = classic_parts(&[&a], &["one:1"]);
    let config2 = config_for(&[&a, &b], "amd64");
    let name2 = format!("{}.json", Digest::of(&config2).hex());
    let p_a = format!("{}/layer.tar", Digest::of(&a).hex());
    let p_b = format!("{}/layer.tar", Digest::of(&b).hex());
    let e2 = json!({"Config": name2, "RepoTags": ["two:2", "docker.io/library/two:latest"], "Layers": [p_a, p_b]});
    let bytes = outer
        .file(&p_b, &b)
        .file(&name2, &config2)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([e1, e2])).unwrap(),
        )
        .bytes();
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.images().len(), 2);
    let err = archive.select(None, None).unwrap_err();
    match &err {
        ArchiveError::SeveralImages { choices } => {
            assert!(choices[0].starts_with("one:1"), "{choices:?}");
            assert!(choices[1].starts_with("two:2"), "{choices:?}");
        }
        other => panic!("expected several images, got {other}"),
    }
    // Choose by tag, by familiar name with default tag, by ID and ID prefix.
    assert_eq!(
        archive.select(Some("one:1"), None).unwrap().id,
        Digest::of(&cfg1)
    );
    let two = archive.select(Some("two"), None).unwrap();
    assert_eq!(two.id, Digest::of(&config2));
    assert_eq!(two.tags, vec!["two:2", "two:latest"]);
    assert_eq!(
        archive
            .select(Some(&Digest::of(&config2).hex()[..12]), None)
            .unwrap()
            .id,
        two.id
    );
    assert_eq!(
        archive.select(Some(two.id.as_str()), None).unwrap().id,
        two.id
    );
    // Both images share the first layer's index.
    let one = archive.select(Some("one:1"), None).unwrap();
    assert!(std::sync::Arc::ptr_eq(&one.layers[0], &two.layers[0]));
    let err = archive.select(Some("three"), None).unwrap_err();
    assert!(matches!(err, ArchiveError::NoMatch { .. }), "{err}");
}

// ---------------------------------------------------------------- A3

#[test]
fn a3_layers_count_mismatch_fails() {
    let (a, b) = (l1(), l2());
    // Manifest lists two layers, the config one diff ID.
    let config = config_for(&[&a], "amd64");
    let name = format!("{}.json", Digest::of(&config).hex());
    let pa = format!("{}/layer.tar", Digest::of(&a).hex());
    let pb = format!("{}/layer.tar", Digest::of(&b).hex());
    let entry = json!({"Config": name, "RepoTags": ["x:1"], "Layers": [pa, pb]});
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
    match &err {
        ArchiveError::LayerCountMismatch {
            layers, diff_ids, ..
        } => {
            assert_eq!((*layers, *diff_ids), (2, 1))
        }
        other => panic!("expected count mismatch, got {other}"),
    }
    assert!(err.to_string().contains("layers length mismatch"));
}

#[test]
fn a3_missing_diff_ids_fails() {
    let a = l1();
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
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
    assert!(
        matches!(
            err,
            ArchiveError::LayerCountMismatch {
                layers: 1,
                diff_ids: 0,
                ..
            }
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------- A4

#[test]
fn a4_missing_layer_blob_gives_a_partial_image() {
    let (a, b) = (l1(), l2());
    let mut oci = Oci::default();
    let m = oci.image(&[&a, &b], "amd64", false);
    let dropped = format!("blobs/sha256/{}", Digest::of(&b).hex());
    oci.blobs.retain(|(n, _)| *n != dropped);
    let bytes = oci.outer(vec![with_ref(m, "x:1")]).bytes();
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.images()[0].missing_layers().len(), 1);
    let err = archive.select(None, None).unwrap_err();
    assert!(matches!(err, ArchiveError::MissingLayers { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    let partial = archive.select_partial(None, None).unwrap();
    assert_eq!(partial.missing.len(), 1);
    assert_eq!(partial.missing[0].index, 1);
    assert_eq!(partial.missing[0].diff_id, Digest::of(&b));
    assert_eq!(partial.image.layers.len(), 2);
    assert_eq!(partial.image.layers[0].entries.len(), 1);
    let hole = &partial.image.layers[1];
    assert_eq!(hole.diff_id, Digest::of(&b));
    assert!(hole.entries.is_empty());
    assert!(hole.warnings[0].message.contains("missing"));
}

#[test]
fn a4_other_platforms_absent_are_skipped_not_fatal() {
    // A single-platform save of a multi-platform image: the index lists platforms whose
    // manifests are not in the archive.
    let a = l1();
    let mut oci = Oci::default();
    let amd = with_platform(oci.image(&[&a], "amd64", false), "linux", "amd64");
    let ghost = with_platform(
        json!({"mediaType": OCI_MANIFEST, "digest": Digest::of(b"absent").to_string(), "size": 6}),
        "linux",
        "arm64",
    );
    let list = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [amd, ghost]}),
    )
    .unwrap();
    let top = oci.blob(OCI_INDEX, &list);
    let bytes = oci.outer(vec![with_ref(top, "multi:1")]).bytes();
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.images().len(), 1);
    assert_eq!(archive.skipped.len(), 1);
    assert_eq!(
        archive.skipped[0].platform,
        Some(Platform::parse("linux/arm64").unwrap())
    );
    let img = archive
        .select(None, Some(&Platform::parse("linux/arm64").unwrap()))
        .unwrap();
    assert_eq!(img.tags, vec!["multi:1"]);
}

// ---------------------------------------------------------------- A6

#[test]
fn a6_duplicate_manifest_last_wins() {
    let a = l1();
    let (outer, entry, _) = classic_parts(&[&a], &["first:1"]);
    let mut second = entry.clone();
    second["RepoTags"] = json!(["second:2"]);
    let bytes = outer
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([second])).unwrap(),
        )
        .bytes();
    let img = read(&bytes).unwrap().select(None, None).unwrap();
    assert_eq!(img.tags, vec!["second:2"]);
}

#[test]
fn a6_duplicate_blob_last_wins_and_is_digest_checked() {
    let a = l1();
    let mut oci = Oci::default();
    let m = oci.image(&[&a], "amd64", false);
    let name = format!("blobs/sha256/{}", Digest::of(&a).hex());
    let mut bad = a.clone();
    bad[600] ^= 1;
    // Good copy then corrupted copy: the last one wins and fails its digest.
    let bytes = oci.outer(vec![m.clone()]).file(&name, &bad).bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    assert!(matches!(err, ArchiveError::DigestMismatch { .. }), "{err}");
    // Corrupted copy then good copy: the good one wins.
    let mut o = Outer::new().file(&name, &bad);
    o = oci.blobs.iter().fold(o, |o, (n, d)| o.file(n, d));
    let bytes = o
        .file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)
        .file("index.json", &Oci::index_doc(vec![m]))
        .bytes();
    let img = read(&bytes).unwrap().select(None, None).unwrap();
    assert_eq!(img.layers[0].diff_id, Digest::of(&a));
}

// ---------------------------------------------------------------- A10

#[test]
fn a10_docker25_layout_prefers_index_and_merges_repo_tags() {
    // Docker ≥ 25: index.json + oci-layout + blobs AND manifest.json pointing into blobs.
    let (a, b) = (l1(), l2());
    let mut oci = Oci::default();
    let m = oci.image(&[&a, &b], "amd64", false);
    let config = config_for(&[&a, &b], "amd64");
    let save = json!([{
        "Config": format!("blobs/sha256/{}", Digest::of(&config).hex()),
        "RepoTags": ["friendly:tag"],
        "Layers": [format!("blobs/sha256/{}", Digest::of(&a).hex()),
                   format!("blobs/sha256/{}", Digest::of(&b).hex())],
    }]);
    let bytes = oci
        .outer(vec![with_ref(m, "friendly:tag")])
        .file("manifest.json", &serde_json::to_vec(&save).unwrap())
        .bytes();
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.format, ArchiveFormat::Oci);
    let img = archive.select(Some("friendly:tag"), None).unwrap();
    assert_eq!(img.tags, vec!["friendly:tag"]);
    assert_eq!(img.id, Digest::of(&config));
    // manifest.json alone (index.json dropped) gives the same image.
    let mut o = Outer::new();
    for (n, d) in &oci.blobs {
        o = o.file(n, d);
    }
    let bytes = o
        .file("manifest.json", &serde_json::to_vec(&save).unwrap())
        .bytes();
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.format, ArchiveFormat::DockerSave);
    assert_eq!(archive.select(None, None).unwrap().id, Digest::of(&config));
}

#[test]
fn a10_containerd_store_gzip_layers_nested_index() {
    let (a, b) = (l1(), l2());
    let mut oci = Oci::default();
    let m = with_platform(oci.image(&[&a, &b], "amd64", true), "linux", "amd64");
    let list =
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [m]}))
            .unwrap();
    let top = oci.blob(OCI_INDEX, &list);
    let bytes = oci.outer(vec![with_ref(top, "gz:1")]).bytes();
    let img = read(&bytes).unwrap().select(Some("gz:1"), None).unwrap();
    assert_eq!(img.layers[0].diff_id, Digest::of(&a));
    assert_eq!(img.layers[1].diff_id, Digest::of(&b));
    assert_eq!(img.layers[1].compression, app::model::Compression::Gzip);
    assert_eq!(img.layers[1].blob_digest, Some(Digest::of(&gzip(&b))));
}
