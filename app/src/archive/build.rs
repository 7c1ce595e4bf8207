//! The join at the end of an archive: picks the layout (`index.json` before
//! `manifest.json`, A10), then for every image manifest verifies and parses the config,
//! resolves each layer member, and checks the layer count and every diff ID against
//! `config.rootfs.diff_ids` (A3, A9). Per-image failures are kept on that image, so one
//! corrupt image does not hide its healthy siblings; `select` reports them.

use super::assembler::{blob_size_of, Assembler, Member};
use super::docker_save::{self, SaveEntry};
use super::oci::{self, check_size, parse_json, Descriptor, FoundManifest};
use super::platform::Platform;
use super::{
    path, Archive, ArchiveError, ArchiveFormat, ArchiveImage, Loaded, MissingLayer, Skipped,
};
use crate::model::{Digest, ImageConfig, LayerIndex};
use std::sync::Arc;

/// Where a manifest says a layer is.
enum LayerRef {
    /// An OCI descriptor (blob by digest, size checked).
    Blob(Descriptor),
    /// A `manifest.json` member path.
    Path(String),
}

pub(crate) fn finish(mut asm: Assembler<'_>) -> Result<Archive, ArchiveError> {
    let index = json_member(&asm, "index.json")?;
    let manifest = json_member(&asm, "manifest.json")?;
    if index.is_none() && manifest.is_none() {
        return Err(ArchiveError::NotAnImageArchive);
    }
    if let Some(layout) = json_member(&asm, "oci-layout")? {
        check_layout(&layout)?;
    }
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    let mut format = ArchiveFormat::Oci;
    if let Some(index) = &index {
        let (found, sk) = oci::walk(&asm, index)?;
        skipped = sk;
        for f in found {
            match load_oci(&mut asm, f) {
                Ok(img) => images.push(img),
                Err(s) => skipped.push(s),
            }
        }
    }
    match &manifest {
        Some(bytes) if images.is_empty() => {
            format = ArchiveFormat::DockerSave;
            let entries = docker_save::parse(bytes)?;
            for (group, entry) in entries.into_iter().enumerate() {
                images.push(load_save(&mut asm, group, entry));
            }
        }
        Some(bytes) => merge_repo_tags(&asm, bytes, &mut images),
        None => {}
    }
    let images = dedup(images);
    if images.is_empty() {
        return Err(ArchiveError::NoImages);
    }
    Ok(Archive {
        format,
        images,
        skipped,
        ignored_members: asm.ignored,
    })
}

/// A top-level JSON member by name (`index.json`, `manifest.json`, `oci-layout`).
fn json_member(asm: &Assembler<'_>, name: &str) -> Result<Option<Arc<[u8]>>, ArchiveError> {
    match asm.lookup(name, name)? {
        None => Ok(None),
        Some((_, Member::Json { bytes, .. })) => Ok(Some(bytes.clone())),
        Some((_, Member::Oversized { size })) => Err(ArchiveError::JsonTooLarge {
            what: name.to_owned(),
            size: *size,
            cap: asm.limits.max_json,
        }),
        Some((_, Member::Broken(e))) => Err(e.clone()),
        Some(_) => Err(ArchiveError::Invalid {
            what: name.to_owned(),
            message: "not a json document".into(),
        }),
    }
}

fn check_layout(bytes: &[u8]) -> Result<(), ArchiveError> {
    #[derive(serde::Deserialize)]
    struct Layout {
        #[serde(rename = "imageLayoutVersion")]
        version: String,
    }
    let layout: Layout = parse_json("oci-layout", bytes)?;
    if layout.version.starts_with("1.") {
        Ok(())
    } else {
        Err(ArchiveError::Invalid {
            what: "oci-layout".into(),
            message: format!("unsupported imageLayoutVersion {:?}", layout.version),
        })
    }
}

/// Turns `docker.io/library/busybox:latest` into `busybox:latest`, as the docker CLI shows.
pub(crate) fn familiar(name: &str) -> String {
    let n = name.strip_prefix("docker.io/").unwrap_or(name);
    let n = n.strip_prefix("index.docker.io/").unwrap_or(n);
    n.strip_prefix("library/").unwrap_or(n).to_owned()
}

fn split_names(names: &[String]) -> (Vec<String>, Vec<String>) {
    let mut tags = Vec::new();
    let mut digests = Vec::new();
    for n in names {
        let f = familiar(n);
        let list = if f.contains('@') {
            &mut digests
        } else {
            &mut tags
        };
        if !list.contains(&f) {
            list.push(f);
        }
    }
    (tags, digests)
}

/// Loads an image manifest found through `index.json`. `Ok(Err(skipped))` when its
/// config blob is absent (another platform's manifest in a single-platform save).
fn load_oci(asm: &mut Assembler<'_>, f: FoundManifest) -> Result<ArchiveImage, Skipped> {
    let (tags, repo_digests) = split_names(&f.names.full_names);
    let what = format!("manifest {}", f.digest);
    let mut image = ArchiveImage {
        tags,
        repo_digests,
        ref_names: f.names.ref_names.clone(),
        platform: f.platform.clone(),
        manifest_digest: Some(f.digest.clone()),
        config_digest: None,
        group: f.group,
        state: Err(ArchiveError::NoImages),
    };
    let Some(config_desc) = f.document.config.clone() else {
        image.state = Err(ArchiveError::Invalid {
            what,
            message: "manifest has no config".into(),
        });
        return Ok(image);
    };
    let config = match oci::json_blob(asm, &format!("config of {what}"), &config_desc) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(Skipped {
                digest: f.digest.to_string(),
                platform: f.platform,
                reason: "config blob not in the archive".into(),
            })
        }
        Err(e) => {
            image.state = Err(e);
            return Ok(image);
        }
    };
    let config_digest = Digest::of(&config);
    image.config_digest = Some(config_digest.clone());
    let refs: Vec<LayerRef> = f
        .document
        .layers
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(LayerRef::Blob)
        .collect();
    image.state = load_body(asm, &image.name(), config, &refs);
    fill_platform(&mut image);
    Ok(image)
}

/// Loads one `manifest.json` entry.
fn load_save(asm: &mut Assembler<'_>, group: usize, entry: SaveEntry) -> ArchiveImage {
    let (tags, repo_digests) = split_names(entry.repo_tags.as_deref().unwrap_or_default());
    let mut image = ArchiveImage {
        tags,
        repo_digests,
        ref_names: Vec::new(),
        platform: None,
        manifest_digest: None,
        config_digest: None,
        group,
        state: Err(ArchiveError::NoImages),
    };
    let what = format!("config {:?}", entry.config);
    let config = match save_config(asm, &what, &entry.config) {
        Ok(c) => c,
        Err(e) => {
            image.state = Err(e);
            return image;
        }
    };
    image.config_digest = Some(Digest::of(&config));
    let refs: Vec<LayerRef> = entry
        .layers
        .unwrap_or_default()
        .into_iter()
        .map(LayerRef::Path)
        .collect();
    image.state = load_body(asm, &image.name(), config, &refs);
    fill_platform(&mut image);
    image
}

/// The config a `manifest.json` entry names; a `<64 hex>.json` or `blobs/sha256/<hex>`
/// name must be the digest of its bytes (the image ID).
fn save_config(asm: &Assembler<'_>, what: &str, raw: &str) -> Result<Arc<[u8]>, ArchiveError> {
    let Some((key, member)) = asm.lookup(what, raw)? else {
        return Err(ArchiveError::NotFound {
            what: what.to_owned(),
            path: raw.to_owned(),
        });
    };
    let (bytes, digest) = match member {
        Member::Json { bytes, digest } => (bytes.clone(), digest.clone()),
        Member::Oversized { size } => {
            return Err(ArchiveError::JsonTooLarge {
                what: what.to_owned(),
                size: *size,
                cap: asm.limits.max_json,
            })
        }
        Member::Broken(e) => return Err(e.clone()),
        _ => {
            return Err(ArchiveError::Invalid {
                what: what.to_owned(),
                message: "not a json document".into(),
            })
        }
    };
    let last = key.rsplit('/').next().unwrap_or(&key);
    let hex = last.strip_suffix(".json").unwrap_or(last);
    if let Ok(named) = Digest::parse(&format!("sha256:{hex}")) {
        if named != digest {
            return Err(ArchiveError::DigestMismatch {
                what: what.to_owned(),
                expected: named,
                actual: digest,
            });
        }
    }
    Ok(bytes)
}

fn fill_platform(image: &mut ArchiveImage) {
    if image.platform.is_some() {
        return;
    }
    if let Ok(l) = &image.state {
        if !l.config.os.is_empty() && !l.config.architecture.is_empty() {
            image.platform = Some(Platform::new(
                &l.config.os,
                &l.config.architecture,
                l.config.variant.as_deref(),
            ));
        }
    }
}

/// Parses the (already verified) config and resolves its layers.
fn load_body(
    asm: &mut Assembler<'_>,
    image: &str,
    config_raw: Arc<[u8]>,
    refs: &[LayerRef],
) -> Result<Loaded, ArchiveError> {
    let config: ImageConfig = parse_json(&format!("config of {image}"), &config_raw)?;
    let diff_ids = config.rootfs.diff_ids.clone();
    if refs.len() > asm.limits.max_layers {
        return Err(ArchiveError::LimitExceeded(format!(
            "image {image} has {} layers (cap {})",
            refs.len(),
            asm.limits.max_layers
        )));
    }
    if refs.len() != diff_ids.len() {
        return Err(ArchiveError::LayerCountMismatch {
            image: image.to_owned(),
            layers: refs.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let mut layers = Vec::with_capacity(refs.len());
    let mut missing = Vec::new();
    for (index, (r, expected)) in refs.iter().zip(&diff_ids).enumerate() {
        let what = format!("image {image}: layer {index}");
        match resolve_layer(asm, &what, r)? {
            Some(layer) => {
                if layer.diff_id != *expected {
                    return Err(ArchiveError::DiffIdMismatch {
                        image: image.to_owned(),
                        index,
                        expected: expected.clone(),
                        actual: layer.diff_id.clone(),
                    });
                }
                layers.push(Some(layer));
            }
            None => {
                missing.push(MissingLayer {
                    index,
                    diff_id: expected.clone(),
                    source: match r {
                        LayerRef::Blob(d) => d.digest.clone(),
                        LayerRef::Path(p) => p.clone(),
                    },
                });
                layers.push(None);
            }
        }
    }
    Ok(Loaded {
        config,
        config_raw,
        layers,
        missing,
    })
}

/// The indexed layer a manifest entry points at; `Ok(None)` when absent (A4).
fn resolve_layer(
    asm: &mut Assembler<'_>,
    what: &str,
    r: &LayerRef,
) -> Result<Option<Arc<LayerIndex>>, ArchiveError> {
    let (raw, declared) = match r {
        LayerRef::Blob(d) => (path::blob_path(&d.digest(what)?), d.size),
        LayerRef::Path(p) => (p.clone(), None),
    };
    let (key, in_memory) = match asm.lookup(what, &raw)? {
        None => return Ok(None),
        Some((_, Member::Layer(index))) => {
            check_size(what, declared, blob_size_of(index))?;
            return Ok(Some(index.clone()));
        }
        Some((key, Member::Json { bytes, .. })) => (key, bytes.clone()),
        Some((_, Member::Broken(e))) => return Err(e.clone()),
        Some((_, Member::Oversized { size })) => {
            return Err(ArchiveError::Invalid {
                what: what.to_owned(),
                message: format!("member of {size} bytes looks like json, not a layer"),
            })
        }
        Some((_, Member::Symlink(_))) => {
            return Err(ArchiveError::Invalid {
                what: what.to_owned(),
                message: "unresolved symlink".into(),
            })
        }
    };
    check_size(what, declared, in_memory.len() as u64)?;
    let index = asm.index_bytes(&key, &in_memory)?;
    // Cache it so a second image sharing the member does not index it again.
    asm.members.insert(key, Member::Layer(index.clone()));
    Ok(Some(index))
}

/// Adds `manifest.json` `RepoTags` to images found through `index.json` (Docker ≥ 25
/// writes both; the index names may be less friendly). A broken `manifest.json` is
/// ignored here: the index already decided.
fn merge_repo_tags(asm: &Assembler<'_>, bytes: &[u8], images: &mut [ArchiveImage]) {
    let Ok(entries) = docker_save::parse(bytes) else {
        return;
    };
    for entry in entries {
        let Ok(Some((_, Member::Json { digest, .. }))) = asm.lookup("manifest.json", &entry.config)
        else {
            continue;
        };
        let (tags, digests) = split_names(entry.repo_tags.as_deref().unwrap_or_default());
        for img in images
            .iter_mut()
            .filter(|i| i.config_digest.as_ref() == Some(digest))
        {
            for t in &tags {
                if !img.tags.contains(t) {
                    img.tags.push(t.clone());
                }
            }
            for d in &digests {
                if !img.repo_digests.contains(d) {
                    img.repo_digests.push(d.clone());
                }
            }
        }
    }
}

/// Merges entries for the same image (same config digest and platform): names are
/// united, a complete entry is preferred over one with missing layers.
fn dedup(images: Vec<ArchiveImage>) -> Vec<ArchiveImage> {
    let mut out: Vec<ArchiveImage> = Vec::with_capacity(images.len());
    for img in images {
        let same = out.iter_mut().find(|o| {
            o.config_digest.is_some()
                && o.config_digest == img.config_digest
                && o.platform == img.platform
        });
        let Some(existing) = same else {
            out.push(img);
            continue;
        };
        for t in &img.tags {
            if !existing.tags.contains(t) {
                existing.tags.push(t.clone());
            }
        }
        for r in &img.ref_names {
            if !existing.ref_names.contains(r) {
                existing.ref_names.push(r.clone());
            }
        }
        for d in &img.repo_digests {
            if !existing.repo_digests.contains(d) {
                existing.repo_digests.push(d.clone());
            }
        }
        let better = match (&existing.state, &img.state) {
            (Err(_), Ok(_)) => true,
            (Ok(a), Ok(b)) => !a.missing.is_empty() && b.missing.is_empty(),
            _ => false,
        };
        if better {
            existing.state = img.state;
            existing.manifest_digest = img.manifest_digest;
        }
    }
    out
}
