//! The tar test kit of the integration tests: layer tars, outer archives with hand-made
//! headers (any name, symlinks), classic `docker save` and OCI layouts, all in memory.
//! (Streaming generators too big to hold in memory are in `crate::limits_support::gen`.)

use app::archive::{read_archive, Archive, ArchiveError};
use app::limits::Limits;
use app::model::Digest;
use serde_json::{json, Value};
use std::io::Write;

pub fn header(name: &str, size: u64, kind: tar::EntryType, link: &str) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

/// A layer tar with the given regular files.
pub fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let h = header(path, data.len() as u64, tar::EntryType::Regular, "");
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The outer archive, members in the order added.
pub struct Outer(pub tar::Builder<Vec<u8>>);

impl Outer {
    pub fn new() -> Self {
        Outer(tar::Builder::new(Vec::new()))
    }
    pub fn file(mut self, name: &str, data: &[u8]) -> Self {
        let h = header(name, data.len() as u64, tar::EntryType::Regular, "");
        self.0.append(&h, data).unwrap();
        self
    }
    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        let h = header(name, 0, tar::EntryType::Symlink, target);
        self.0.append(&h, &[][..]).unwrap();
        self
    }
    pub fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

pub fn config_for(layers: &[&[u8]], arch: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| Digest::of(l).to_string()).collect();
    let history: Vec<Value> = layers
        .iter()
        .enumerate()
        .map(|(i, _)| json!({"created_by": format!("step {i}")}))
        .collect();
    serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

/// A classic (Docker ≤ 24) save of one image; returns the outer builder before
/// `manifest.json` so tests can add members, plus the manifest entry.
pub fn classic_parts(layers: &[&[u8]], tags: &[&str]) -> (Outer, Value, Vec<u8>) {
    let config = config_for(layers, "amd64");
    let config_name = format!("{}.json", Digest::of(&config).hex());
    let mut outer = Outer::new();
    let mut paths = Vec::new();
    for l in layers {
        let p = format!("{}/layer.tar", Digest::of(l).hex());
        if !paths.contains(&p) {
            outer = outer.file(&p, l);
        }
        paths.push(p);
    }
    outer = outer.file(&config_name, &config);
    let entry = json!({"Config": config_name, "RepoTags": tags, "Layers": paths});
    (outer, entry, config)
}

pub fn classic(layers: &[&[u8]], tags: &[&str]) -> Vec<u8> {
    let (outer, entry, _) = classic_parts(layers, tags);
    outer
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes()
}

/// Blobs for an OCI layout, written before `index.json` (the daemon's order).
#[derive(Default)]
pub struct Oci {
    pub blobs: Vec<(String, Vec<u8>)>,
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

impl Oci {
    pub fn blob(&mut self, media_type: &str, bytes: &[u8]) -> Value {
        let d = Digest::of(bytes);
        self.blobs
            .push((format!("blobs/sha256/{}", d.hex()), bytes.to_vec()));
        json!({"mediaType": media_type, "digest": d.to_string(), "size": bytes.len()})
    }
    /// An image manifest for `layers` (tars), stored gzip-compressed when `gz`.
    pub fn image(&mut self, layers: &[&[u8]], arch: &str, gz: bool) -> Value {
        let config = config_for(layers, arch);
        let cfg = self.blob(OCI_CONFIG, &config);
        let descs: Vec<Value> = layers
            .iter()
            .map(|l| {
                if gz {
                    self.blob(LAYER_GZIP, &gzip(l))
                } else {
                    self.blob(LAYER_TAR, l)
                }
            })
            .collect();
        let m =
            json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cfg, "layers": descs});
        self.blob(OCI_MANIFEST, &serde_json::to_vec(&m).unwrap())
    }
    pub fn index_doc(entries: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
        )
        .unwrap()
    }
    pub fn outer(&self, index_entries: Vec<Value>) -> Outer {
        let mut o = Outer::new().file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
        for (name, bytes) in &self.blobs {
            o = o.file(name, bytes);
        }
        o.file("index.json", &Self::index_doc(index_entries))
    }
}

pub fn with_ref(mut desc: Value, name: &str) -> Value {
    desc["annotations"] = json!({
        "io.containerd.image.name": format!("docker.io/library/{name}"),
        "org.opencontainers.image.ref.name": name.rsplit(':').next().unwrap(),
    });
    desc
}

pub fn with_platform(mut desc: Value, os: &str, arch: &str) -> Value {
    desc["platform"] = json!({"os": os, "architecture": arch});
    desc
}

pub fn read(bytes: &[u8]) -> Result<Archive, ArchiveError> {
    read_with(bytes, &Limits::default())
}

pub fn read_with(bytes: &[u8], limits: &Limits) -> Result<Archive, ArchiveError> {
    read_archive(bytes, limits, &mut |_| {})
}

pub fn l1() -> Vec<u8> {
    layer(&[("bin/a", b"first layer")])
}
pub fn l2() -> Vec<u8> {
    layer(&[("etc/b", b"second layer, different bytes")])
}

/// A classic `docker save` archive of one image (tag `many:latest`) with these layers.
pub fn docker_save(layers: &[Vec<u8>]) -> Vec<u8> {
    let layers: Vec<&[u8]> = layers.iter().map(Vec::as_slice).collect();
    classic(&layers, &["many:latest"])
}

/// An OCI image layout (as a tar) of one image with these (uncompressed) layers.
pub fn oci_layout(layers: &[Vec<u8>]) -> Vec<u8> {
    let layers: Vec<&[u8]> = layers.iter().map(Vec::as_slice).collect();
    let mut oci = Oci::default();
    let image = oci.image(&layers, "amd64", false);
    oci.outer(vec![image]).bytes()
}
