//! In-memory image archives around one fuzzed JSON document: a fixed, valid image (one
//! small layer, its config, an OCI manifest) in which exactly one document is replaced
//! by the fuzz input, so the fuzzer explores the parsers and the join logic behind a
//! document instead of failing at the outer tar. Also the checks run on any `Archive`.

use app::archive::Archive;
use app::model::Digest;
use serde_json::json;

/// Media types written by the fixture.
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// The valid image every wrapper starts from.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

/// A tar of regular-file members, in order (ustar, GNU long names when needed).
pub fn outer_tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        // Building into a Vec only fails for names tar cannot encode; the fixture's are fine.
        let _ = b.append_data(&mut h, name, *data);
    }
    b.into_inner().unwrap_or_default()
}

fn blob_name(data: &[u8]) -> String {
    format!("blobs/sha256/{}", Digest::of(data).hex())
}

fn descriptor(media_type: &str, data: &[u8]) -> serde_json::Value {
    json!({"mediaType": media_type, "digest": Digest::of(data).as_str(), "size": data.len()})
}

/// The fixed image: a two-file layer, its config and an OCI manifest (built once).
pub fn fixture() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let layer = outer_tar(&[("etc/hostname", b"fuzz\n"), ("bin/sh", b"#!shell\n")]);
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).as_str()]},
        "history": [{"created_by": "ADD rootfs /"}, {"created_by": "CMD", "empty_layer": true}]
    })
    .to_string()
    .into_bytes();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &config),
        "layers": [descriptor(OCI_LAYER, &layer)]
    })
    .to_string()
    .into_bytes();
    Fixture {
        layer,
        config,
        manifest,
    }
}

/// An OCI `index.json` pointing at `manifest`.
pub fn index_for(manifest: &[u8]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": Digest::of(manifest).as_str(),
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": "fuzz:latest"},
            "platform": {"os": "linux", "architecture": "amd64"}
        }]
    })
    .to_string()
    .into_bytes()
}

/// A classic `docker save` `manifest.json` for the fixture.
pub fn docker_manifest() -> Vec<u8> {
    json!([{"Config": "config.json", "RepoTags": ["fuzz:latest"], "Layers": ["l1/layer.tar"]}])
        .to_string()
        .into_bytes()
}

/// A classic `docker save` archive whose `manifest.json` is `manifest`.
pub fn docker_save_with_manifest(f: &Fixture, manifest: &[u8]) -> Vec<u8> {
    outer_tar(&[
        ("config.json", &f.config),
        ("l1/layer.tar", &f.layer),
        ("manifest.json", manifest),
    ])
}

/// An OCI layout tar holding the fixture's blobs and `index` as `index.json`.
pub fn oci_with_index(f: &Fixture, index: &[u8]) -> Vec<u8> {
    outer_tar(&[
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        (&blob_name(&f.layer), &f.layer),
        (&blob_name(&f.config), &f.config),
        (&blob_name(&f.manifest), &f.manifest),
        ("index.json", index),
    ])
}

/// An OCI layout tar whose image manifest blob is `manifest` (index.json points at it).
pub fn oci_with_manifest(f: &Fixture, manifest: &[u8]) -> Vec<u8> {
    outer_tar(&[
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        (&blob_name(&f.layer), &f.layer),
        (&blob_name(&f.config), &f.config),
        (&blob_name(manifest), manifest),
        ("index.json", &index_for(manifest)),
    ])
}

/// An OCI layout tar whose config blob is `config` (a manifest and index point at it).
pub fn oci_with_config(f: &Fixture, config: &[u8]) -> Vec<u8> {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, &f.layer)]
    })
    .to_string()
    .into_bytes();
    outer_tar(&[
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        (&blob_name(&f.layer), &f.layer),
        (&blob_name(config), config),
        (&blob_name(&manifest), &manifest),
        ("index.json", &index_for(&manifest)),
    ])
}

/// Calls everything a caller would on an `Archive` and checks what must hold for a
/// selected image: one layer per diff ID, each with that diff ID, the ID is the config's
/// digest.
pub fn exercise(archive: &Archive) {
    let _ = archive.skipped.len() + archive.ignored_members.len();
    for img in archive.images() {
        let _ = (img.describe(), img.name(), img.error(), img.layer_count());
        let _ = img.missing_layers().len();
        if let Some(cfg) = img.config() {
            let _ = (cfg.layer_history(), cfg.history_mismatch());
        }
    }
    let mut refs: Vec<Option<String>> = vec![None];
    refs.extend(
        archive
            .images()
            .iter()
            .flat_map(|i| i.tags.iter().chain(&i.ref_names).cloned().map(Some)),
    );
    for reference in refs.iter().take(4) {
        if let Ok(image) = archive.select(reference.as_deref(), None) {
            assert_eq!(image.id, Digest::of(&image.config_raw), "image id");
            assert_eq!(image.layers.len(), image.config.rootfs.diff_ids.len());
            for (layer, diff_id) in image.layers.iter().zip(&image.config.rootfs.diff_ids) {
                assert_eq!(&layer.diff_id, diff_id, "layer diff id");
            }
        }
        if let Ok(partial) = archive.select_partial(reference.as_deref(), None) {
            assert_eq!(
                partial.image.layers.len(),
                partial.image.config.rootfs.diff_ids.len()
            );
            for m in &partial.missing {
                assert!(
                    m.index < partial.image.layers.len(),
                    "missing index in range"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::archive::read_archive;

    #[test]
    fn fixtures_are_valid_archives() {
        let f = fixture();
        let limits = crate::limits();
        let cases = [
            docker_save_with_manifest(f, &docker_manifest()),
            oci_with_index(f, &index_for(&f.manifest)),
            oci_with_manifest(f, &f.manifest),
            oci_with_config(f, &f.config),
        ];
        for (i, tar) in cases.iter().enumerate() {
            let archive = read_archive(&tar[..], &limits, &mut |_| {})
                .unwrap_or_else(|e| panic!("case {i}: {e}"));
            let image = archive
                .select(None, None)
                .unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(image.layers.len(), 1, "case {i}");
            assert_eq!(image.layers[0].entries.len(), 2, "case {i}");
            assert_eq!(image.id, Digest::of(&f.config), "case {i}");
        }
    }
}
