//! What an OCI distribution registry answers, decoded without IO: image manifests and
//! indexes (Docker schema 2, OCI manifest, Docker manifest list, OCI index), the platform
//! chosen from an index, the refusals (Docker schema 1, artifacts that are not images,
//! foreign layers), and the [`Image`] assembled from a verified config and its layer
//! indexes. The server's registry client does the HTTP and hands the bytes here.
//!
//! Invariants: a document's kind is decided by its own `mediaType` field when present,
//! else by the `Content-Type` it was served with, else by its shape; digests are parsed
//! (never used as strings); an assembled image has exactly one layer per diff ID, each
//! with the diff ID the config names.

#[cfg(test)]
mod tests;

use crate::archive::oci::{Descriptor, Document};
use crate::archive::{MediaKind, MediaType, Platform};
use crate::model::{Digest, Image, ImageConfig, LayerIndex};
use std::fmt;
use std::sync::Arc;

/// The `Accept` header a manifest request sends: every type Strata reads, plus schema 1
/// so that an old image is named as such instead of answered with "not found".
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.1";

/// Largest manifest or index read (distribution's own limit is 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// A blob a manifest points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub digest: Digest,
    /// Declared size in bytes (compressed, as stored).
    pub size: u64,
    pub media_type: MediaType,
}

/// One manifest an index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub digest: Digest,
    pub size: u64,
    pub media_type: MediaType,
    pub platform: Option<Platform>,
}

/// A single-platform image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    pub config: BlobRef,
    /// Bottom first, as `rootfs.diff_ids`.
    pub layers: Vec<BlobRef>,
}

impl ImageManifest {
    /// Bytes a client downloads for this image: config plus every layer blob.
    pub fn compressed_size(&self) -> u64 {
        self.config.size + self.layers.iter().map(|l| l.size).sum::<u64>()
    }
}

/// A decoded manifest document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// An index or manifest list: image manifests by platform (attestations and
    /// entries that are not image manifests are left out).
    Index(Vec<IndexEntry>),
    Image(ImageManifest),
}

/// Why a registry's answer is not an image Strata can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DistributionError {
    #[error("this is a Docker schema 1 manifest, which is deprecated and not supported: push the image again with a current docker or skopeo")]
    SchemaOne,
    #[error("not a container image: its config has media type {0:?} (an OCI artifact such as a chart, signature or SBOM)")]
    NotAnImage(String),
    #[error("layer {index} has media type {media_type:?}, which is not an image layer")]
    NotALayer { index: usize, media_type: String },
    #[error("layer {index} is a foreign layer ({media_type}) that is not stored in the registry")]
    ForeignLayer { index: usize, media_type: String },
    #[error("unsupported manifest media type {0:?}")]
    UnknownMediaType(String),
    #[error("manifest is not valid JSON: {0}")]
    Json(String),
    #[error("{what}: bad digest {digest:?}")]
    BadDigest { what: String, digest: String },
    #[error("document has both `manifests` and `layers`")]
    Ambiguous,
    #[error("the index lists no image manifests")]
    EmptyIndex,
    #[error("no image for platform {wanted}; the index has {}", list(available))]
    NoPlatform {
        wanted: Platform,
        available: Vec<Platform>,
    },
    #[error("the manifest lists {layers} layers but the config has {diff_ids} diff IDs")]
    LayerCountMismatch { layers: usize, diff_ids: usize },
    #[error("config is not valid JSON: {0}")]
    BadConfig(String),
    #[error("layer {index}: diff ID {actual} does not match the config's {expected}")]
    DiffIdMismatch {
        index: usize,
        expected: Digest,
        actual: Digest,
    },
}

fn list(platforms: &[Platform]) -> String {
    if platforms.is_empty() {
        return "none with a platform".into();
    }
    let names: Vec<String> = platforms.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// Decodes a manifest or index served with `content_type`.
pub fn decode(content_type: Option<&str>, bytes: &[u8]) -> Result<Manifest, DistributionError> {
    let doc: Document =
        serde_json::from_slice(bytes).map_err(|e| DistributionError::Json(e.to_string()))?;
    let served = content_type
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .filter(|t| !t.is_empty() && *t != "application/json")
        .map(MediaType::parse);
    let schema_one =
        serde_json::from_slice::<SchemaVersion>(bytes).is_ok_and(|v| v.schema_version == Some(1));
    let kind = doc
        .media_type
        .as_ref()
        .or(served.as_ref())
        .map(MediaType::kind);
    if schema_one || kind == Some(MediaKind::Schema1) {
        return Err(DistributionError::SchemaOne);
    }
    if doc.manifests.is_some() && (doc.layers.is_some() || doc.config.is_some()) {
        return Err(DistributionError::Ambiguous);
    }
    match kind {
        Some(MediaKind::Index) => index(doc),
        Some(MediaKind::Manifest) => image(doc),
        None if doc.manifests.is_some() => index(doc),
        None if doc.config.is_some() => image(doc),
        _ => Err(DistributionError::UnknownMediaType(
            doc.media_type
                .or(served)
                .map_or_else(String::new, |t| t.as_str().to_owned()),
        )),
    }
}

#[derive(serde::Deserialize)]
struct SchemaVersion {
    #[serde(rename = "schemaVersion", default)]
    schema_version: Option<u32>,
}

fn digest_of(what: &str, d: &Descriptor) -> Result<Digest, DistributionError> {
    Digest::parse(&d.digest).map_err(|_| DistributionError::BadDigest {
        what: what.to_owned(),
        digest: d.digest.chars().take(100).collect(),
    })
}

fn index(doc: Document) -> Result<Manifest, DistributionError> {
    let mut out = Vec::new();
    for d in doc.manifests.unwrap_or_default() {
        let is_image = d
            .media_type
            .as_ref()
            .is_none_or(|t| t.kind() == MediaKind::Manifest);
        let platform = d
            .platform
            .as_ref()
            .filter(|p| !p.os.is_empty() && !p.architecture.is_empty())
            .map(|p| Platform::new(&p.os, &p.architecture, p.variant.as_deref()));
        let attestation = platform.as_ref().is_some_and(Platform::is_unknown)
            || d.annotations.as_ref().is_some_and(|a| {
                a.get("vnd.docker.reference.type").map(String::as_str)
                    == Some("attestation-manifest")
            });
        if !is_image || attestation {
            continue;
        }
        out.push(IndexEntry {
            digest: digest_of("index entry", &d)?,
            size: d.size.unwrap_or(0),
            media_type: d.media_type.unwrap_or(MediaType::OciManifest),
            platform,
        });
    }
    if out.is_empty() {
        return Err(DistributionError::EmptyIndex);
    }
    Ok(Manifest::Index(out))
}

fn blob(what: &str, d: Descriptor, default: MediaType) -> Result<BlobRef, DistributionError> {
    Ok(BlobRef {
        digest: digest_of(what, &d)?,
        size: d.size.unwrap_or(0),
        media_type: d.media_type.unwrap_or(default),
    })
}

fn image(doc: Document) -> Result<Manifest, DistributionError> {
    let config = doc
        .config
        .ok_or_else(|| DistributionError::Json("image manifest without a config".into()))?;
    let config = blob("config", config, MediaType::OciConfig)?;
    if config.media_type.kind() != MediaKind::Config {
        return Err(DistributionError::NotAnImage(
            config.media_type.as_str().to_owned(),
        ));
    }
    let mut layers = Vec::new();
    for (index, d) in doc.layers.unwrap_or_default().into_iter().enumerate() {
        let l = blob(
            &format!("layer {index}"),
            d,
            MediaType::OciLayer(crate::model::Compression::Gzip),
        )?;
        match &l.media_type {
            MediaType::ForeignLayer(t) => {
                return Err(DistributionError::ForeignLayer {
                    index,
                    media_type: t.clone(),
                })
            }
            t if t.kind() != MediaKind::Layer => {
                return Err(DistributionError::NotALayer {
                    index,
                    media_type: t.as_str().to_owned(),
                })
            }
            _ => layers.push(l),
        }
    }
    Ok(Manifest::Image(ImageManifest { config, layers }))
}

/// The index entry for `wanted` (an entry without a variant satisfies a wanted variant
/// only when no entry has it exactly; see [`Platform::satisfies`]).
pub fn choose<'a>(
    entries: &'a [IndexEntry],
    wanted: &Platform,
) -> Result<&'a IndexEntry, DistributionError> {
    let fits = |e: &&IndexEntry| e.platform.as_ref().is_some_and(|p| p.satisfies(wanted));
    let exact = |e: &&IndexEntry| e.platform.as_ref() == Some(wanted);
    entries
        .iter()
        .find(exact)
        .or_else(|| entries.iter().find(fits))
        .ok_or_else(|| DistributionError::NoPlatform {
            wanted: wanted.clone(),
            available: entries.iter().filter_map(|e| e.platform.clone()).collect(),
        })
}

/// Where an image came from in a registry, for its tags and repo digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `host[:port]/repository`.
    pub name: String,
    pub tag: Option<String>,
    /// The digest the user asked for: the index's, when the image came through one.
    pub manifest_digest: Digest,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(t) => write!(f, "{}:{t}", self.name),
            None => write!(f, "{}@{}", self.name, self.manifest_digest),
        }
    }
}

/// Parses a config blob (already verified against its digest).
pub fn parse_config(config_raw: &[u8]) -> Result<ImageConfig, DistributionError> {
    serde_json::from_slice(config_raw).map_err(|e| DistributionError::BadConfig(e.to_string()))
}

/// Joins a verified config and its layers (bottom first) into an image.
pub fn assemble(
    origin: &Origin,
    config_raw: Vec<u8>,
    layers: Vec<Arc<LayerIndex>>,
) -> Result<Image, DistributionError> {
    let config = parse_config(&config_raw)?;
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != layers.len() {
        return Err(DistributionError::LayerCountMismatch {
            layers: layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    for (index, (l, expected)) in layers.iter().zip(diff_ids).enumerate() {
        if l.diff_id != *expected {
            return Err(DistributionError::DiffIdMismatch {
                index,
                expected: expected.clone(),
                actual: l.diff_id.clone(),
            });
        }
    }
    Ok(Image {
        id: Digest::of(&config_raw),
        tags: origin
            .tag
            .iter()
            .map(|t| format!("{}:{t}", origin.name))
            .collect(),
        repo_digests: vec![format!("{}@{}", origin.name, origin.manifest_digest)],
        config,
        config_raw,
        layers,
    })
}
