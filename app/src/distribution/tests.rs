use super::*;
use crate::model::Compression;
use serde_json::json;

fn d(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn bytes(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn decodes_a_docker_schema_2_manifest() {
    let m = bytes(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": d('c'), "size": 10},
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": d('1'), "size": 100},
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": d('2'), "size": 50}
        ]
    }));
    let Manifest::Image(img) = decode(None, &m).unwrap() else {
        panic!("not an image")
    };
    assert_eq!(img.layers.len(), 2);
    assert_eq!(img.layers[1].digest.as_str(), d('2'));
    assert_eq!(
        img.layers[0].media_type,
        MediaType::DockerLayer(Compression::Gzip)
    );
    assert_eq!(img.compressed_size(), 160);
}

#[test]
fn an_oci_manifest_without_media_type_is_told_by_its_content_type() {
    let m = bytes(json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d('c'), "size": 2},
        "layers": []
    }));
    assert!(matches!(
        decode(Some("application/vnd.oci.image.manifest.v1+json"), &m),
        Ok(Manifest::Image(_))
    ));
}

#[test]
fn an_index_keeps_images_and_drops_attestations() {
    let m = bytes(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d('a'), "size": 1,
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d('b'), "size": 1,
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d('e'), "size": 1,
             "platform": {"os": "unknown", "architecture": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
        ]
    }));
    let Manifest::Index(entries) = decode(None, &m).unwrap() else {
        panic!("not an index")
    };
    assert_eq!(entries.len(), 2);
    let arm = choose(&entries, &Platform::parse("linux/arm64").unwrap()).unwrap();
    assert_eq!(arm.digest.as_str(), d('b'));
    let err = choose(&entries, &Platform::parse("linux/s390x").unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no image for platform linux/s390x; the index has linux/amd64, linux/arm64"
    );
}

#[test]
fn schema_1_and_artifacts_are_named() {
    let s1 = bytes(json!({"schemaVersion": 1, "name": "x", "tag": "1", "fsLayers": []}));
    assert_eq!(decode(None, &s1), Err(DistributionError::SchemaOne));
    assert!(decode(None, &s1)
        .unwrap_err()
        .to_string()
        .contains("schema 1"));
    let helm = bytes(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": d('c'), "size": 2},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": d('1'), "size": 3}]
    }));
    let e = decode(None, &helm).unwrap_err();
    assert_eq!(
        e,
        DistributionError::NotAnImage("application/vnd.cncf.helm.config.v1+json".into())
    );
    assert!(e.to_string().starts_with("not a container image"));
    let foreign = bytes(json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": d('c'), "size": 2},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": d('1'), "size": 3}]
    }));
    assert!(matches!(
        decode(None, &foreign),
        Err(DistributionError::ForeignLayer { index: 0, .. })
    ));
}

#[test]
fn junk_is_refused_with_a_reason() {
    assert!(matches!(
        decode(None, b"not json"),
        Err(DistributionError::Json(_))
    ));
    let both = bytes(json!({"manifests": [], "layers": [], "config": {"digest": d('c')}}));
    assert_eq!(decode(None, &both), Err(DistributionError::Ambiguous));
    let bad = bytes(json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:../../etc", "size": 2}
    }));
    assert!(matches!(
        decode(None, &bad),
        Err(DistributionError::BadDigest { .. })
    ));
    let empty =
        bytes(json!({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}));
    assert_eq!(decode(None, &empty), Err(DistributionError::EmptyIndex));
}

#[test]
fn assemble_checks_every_diff_id() {
    use crate::testkit::{ImageBuilder, LayerBuilder};
    let built = ImageBuilder::new()
        .layer("ADD a", &LayerBuilder::new().file("a", b"1"))
        .layer("ADD b", &LayerBuilder::new().file("b", b"2"));
    let saved = crate::archive::read_archive(
        std::io::Cursor::new(built.docker_save()),
        &crate::limits::Limits::default(),
        &mut |_| {},
    )
    .unwrap()
    .select(None, None)
    .unwrap();
    let origin = Origin {
        name: "127.0.0.1:5000/team/api".into(),
        tag: Some("1.4".into()),
        manifest_digest: Digest::parse(&d('f')).unwrap(),
    };
    let image = assemble(&origin, saved.config_raw.clone(), saved.layers.clone()).unwrap();
    assert_eq!(image.id, saved.id);
    assert_eq!(image.tags, vec!["127.0.0.1:5000/team/api:1.4"]);
    assert_eq!(
        image.repo_digests,
        vec![format!("127.0.0.1:5000/team/api@{}", d('f'))]
    );
    let swapped: Vec<_> = saved.layers.iter().rev().cloned().collect();
    assert!(matches!(
        assemble(&origin, saved.config_raw.clone(), swapped),
        Err(DistributionError::DiffIdMismatch { index: 0, .. })
    ));
    assert!(matches!(
        assemble(
            &origin,
            saved.config_raw.clone(),
            saved.layers[..1].to_vec()
        ),
        Err(DistributionError::LayerCountMismatch { .. })
    ));
}
