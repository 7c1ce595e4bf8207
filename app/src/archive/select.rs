//! Choosing one image from an archive by reference and platform, the way the docker CLI
//! resolves `name[:tag]`, digests and image-ID prefixes, and building the resulting
//! [`Image`] (with placeholders for missing layers in the partial form).

use super::build::familiar;
use super::platform::Platform;
use super::{Archive, ArchiveError, ArchiveImage, PartialImage};
use crate::model::{Compression, Digest, Image, LayerIndex, LayerWarning};
use std::sync::Arc;

/// The warning carried by a placeholder for a missing layer.
pub const MISSING_LAYER_WARNING: &str = "layer blob missing from the archive; contents unknown";

pub(crate) fn choose<'a>(
    archive: &'a Archive,
    reference: Option<&str>,
    platform: Option<&Platform>,
) -> Result<&'a ArchiveImage, ArchiveError> {
    let all: Vec<&ArchiveImage> = archive.images.iter().collect();
    if all.is_empty() {
        return Err(ArchiveError::NoImages);
    }
    let mut cands = match reference {
        None => all.clone(),
        Some(r) => {
            let m = matching(&all, r);
            if m.is_empty() {
                return Err(ArchiveError::NoMatch {
                    reference: r.chars().take(200).collect(),
                    choices: all.iter().map(|i| i.describe()).collect(),
                });
            }
            m
        }
    };
    if cands.len() > 1 {
        if let Some(wanted) = platform {
            let m: Vec<&ArchiveImage> = cands
                .iter()
                .copied()
                .filter(|i| i.platform.as_ref().is_some_and(|p| p.satisfies(wanted)))
                .collect();
            if m.is_empty() {
                return Err(ArchiveError::NoPlatformMatch {
                    wanted: wanted.clone(),
                    present: platforms_present(archive, &cands),
                });
            }
            cands = m;
        }
    }
    match cands.as_slice() {
        [one] => Ok(one),
        [first, ..] if cands.iter().all(|c| c.group == first.group) => {
            Err(ArchiveError::PlatformRequired {
                image: first.name(),
                platforms: platforms_present(archive, &cands),
            })
        }
        _ => Err(ArchiveError::SeveralImages {
            choices: cands.iter().map(|i| i.describe()).collect(),
        }),
    }
}

/// Platforms of the candidates, then of skipped manifests (marked as not in the archive).
fn platforms_present(archive: &Archive, cands: &[&ArchiveImage]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in cands.iter().filter_map(|c| c.platform.as_ref()) {
        let s = p.to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    for p in archive.skipped.iter().filter_map(|s| s.platform.as_ref()) {
        if p.is_unknown() {
            continue;
        }
        let s = format!("{p} (not in the archive)");
        if !out.contains(&s) && !out.contains(&p.to_string()) {
            out.push(s);
        }
    }
    out
}

/// `busybox` → `busybox:latest`; digests and tagged names unchanged.
fn with_default_tag(r: &str) -> String {
    let f = familiar(r);
    let last = f.rsplit('/').next().unwrap_or(&f);
    if f.contains('@') || last.contains(':') {
        f
    } else {
        format!("{f}:latest")
    }
}

fn matching<'a>(all: &[&'a ArchiveImage], r: &str) -> Vec<&'a ArchiveImage> {
    let tagged = with_default_tag(r);
    let by_name: Vec<&ArchiveImage> = all
        .iter()
        .copied()
        .filter(|i| {
            i.tags.contains(&tagged)
                || i.ref_names.iter().any(|n| n == r)
                || i.repo_digests.iter().any(|d| *d == familiar(r))
        })
        .collect();
    if !by_name.is_empty() {
        return by_name;
    }
    if let Ok(d) = Digest::parse(r) {
        return all
            .iter()
            .copied()
            .filter(|i| {
                i.manifest_digest.as_ref() == Some(&d) || i.config_digest.as_ref() == Some(&d)
            })
            .collect();
    }
    let hex = r.strip_prefix("sha256:").unwrap_or(r);
    if !hex.is_empty()
        && hex.len() <= 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return all
            .iter()
            .copied()
            .filter(|i| {
                i.config_digest
                    .as_ref()
                    .is_some_and(|d| d.hex().starts_with(hex))
            })
            .collect();
    }
    Vec::new()
}

pub(crate) fn to_partial(chosen: &ArchiveImage) -> Result<PartialImage, ArchiveError> {
    let loaded = chosen.state.as_ref().map_err(Clone::clone)?;
    let id = Digest::of(&loaded.config_raw);
    let layers = loaded
        .layers
        .iter()
        .zip(&loaded.config.rootfs.diff_ids)
        .map(|(l, diff_id)| match l {
            Some(l) => l.clone(),
            None => Arc::new(placeholder(diff_id)),
        })
        .collect();
    Ok(PartialImage {
        image: Image {
            id,
            tags: chosen.tags.clone(),
            repo_digests: chosen.repo_digests.clone(),
            config: loaded.config.clone(),
            config_raw: loaded.config_raw.to_vec(),
            layers,
        },
        missing: loaded.missing.clone(),
    })
}

fn placeholder(diff_id: &Digest) -> LayerIndex {
    LayerIndex {
        diff_id: diff_id.clone(),
        tar_size: 0,
        compression: Compression::None,
        compressed_size: None,
        blob_digest: None,
        entries: Vec::new(),
        warnings: vec![LayerWarning {
            message: MISSING_LAYER_WARNING.into(),
            path: None,
        }],
    }
}
