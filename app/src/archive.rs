//! Reads images out of `docker save` archives (classic Docker ≤ 24 and the OCI-style
//! output of Docker ≥ 25, containerd-store saves included), OCI image layouts and
//! `oci-archive` tars, without any IO of its own.
//!
//! One design serves every source. An [`Assembler`] accepts the members of an archive in
//! any order (blobs often precede `index.json`, and a daemon export cannot seek): small
//! JSON members are kept in memory (capped by [`Limits::max_json`]), every other member is
//! indexed as a candidate layer while it streams past, keyed by its cleaned member name.
//! [`Assembler::finish`] then joins index → manifests → configs → layers into an
//! [`Archive`], from which [`Archive::select`] returns one [`model::Image`].
//! [`read_archive`] drives an assembler over a tar stream; a directory walk (OCI layout
//! on disk) drives the same assembler from the server.
//!
//! Invariants and decisions (rows of BAD-INPUTS §2.2):
//! - Paths in manifests resolve only against member names after a moby-style clean;
//!   climbing above the archive root fails, absolute paths are rooted in the archive (A1).
//! - Symlink members are followed inside the archive namespace only, ≤ 8 hops, a cycle
//!   fails (A5). Duplicate members: the last one wins, as with moby and containerd (A6).
//! - Every blob is checked against its `blobs/sha256/<hex>` name and its descriptor
//!   (digest and size); JSON is verified before it is parsed (A7, A9), and JSON over
//!   the cap is refused before it is read (A8).
//! - `index.json` (OCI) is preferred over `manifest.json` when both exist (A10); tags from
//!   `manifest.json` `RepoTags` are merged into the images found through the index.
//! - A layer's computed diff ID must equal `rootfs.diff_ids[i]`, and the counts must agree
//!   (A3, A9). A missing layer blob (A4) never yields a complete image:
//!   [`Archive::select`] fails with [`ArchiveError::MissingLayers`], and
//!   [`Archive::select_partial`] returns a [`PartialImage`] that lists the missing layers
//!   next to an image whose missing slots hold empty placeholder indexes.

mod assembler;
mod build;
mod docker_save;
pub mod media_type;
pub(crate) mod oci;
pub mod path;
pub mod platform;
mod select;
mod stream;

pub use assembler::Assembler;
pub use media_type::{MediaKind, MediaType};
pub use path::PathError;
pub use platform::{BadPlatform, Platform};
pub use select::MISSING_LAYER_WARNING;
pub use stream::{daemon_error, read_archive};

use crate::model::{Digest, Image, ImageConfig, LayerIndex};
use std::sync::Arc;

#[cfg(doc)]
use crate::{limits::Limits, model};

/// Which layout the images were found through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `oci-layout` + `index.json` (OCI layout, oci-archive, Docker ≥ 25 save).
    Oci,
    /// `manifest.json` only (classic `docker save`).
    DockerSave,
}

/// A layer the manifest names but the archive does not hold (A4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingLayer {
    /// Position in the image, bottom first.
    pub index: usize,
    /// The diff ID the config expects there.
    pub diff_id: Digest,
    /// What the manifest pointed at: a member path or a blob digest.
    pub source: String,
}

/// An image whose layer blobs are partly absent: `image.layers[i]` for every
/// `missing[..].index == i` is an empty placeholder carrying only the expected diff ID
/// and a warning. Never cache or present it as complete.
#[derive(Debug, Clone)]
pub struct PartialImage {
    pub image: Image,
    pub missing: Vec<MissingLayer>,
}

/// One image an archive holds, as listed by [`Archive::images`].
#[derive(Debug, Clone)]
pub struct ArchiveImage {
    /// `name:tag` references in docker's familiar form (`busybox:latest`).
    pub tags: Vec<String>,
    /// `name@sha256:…` references.
    pub repo_digests: Vec<String>,
    /// `org.opencontainers.image.ref.name` annotations (the `REF` of `oci:DIR:REF`).
    pub ref_names: Vec<String>,
    /// From the index descriptor, else from the config.
    pub platform: Option<Platform>,
    /// The manifest's digest when found through an OCI index.
    pub manifest_digest: Option<Digest>,
    /// The image ID, when the config could be read.
    pub config_digest: Option<Digest>,
    /// Images from one top-level index entry share a group (a multi-platform image).
    pub(crate) group: usize,
    pub(crate) state: Result<Loaded, ArchiveError>,
}

/// A fully resolved image body.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub config: ImageConfig,
    pub config_raw: Arc<[u8]>,
    /// One per diff ID; `None` where the blob is missing.
    pub layers: Vec<Option<Arc<LayerIndex>>>,
    pub missing: Vec<MissingLayer>,
}

impl ArchiveImage {
    /// Why this image cannot be read, if it cannot.
    pub fn error(&self) -> Option<&ArchiveError> {
        self.state.as_ref().err()
    }

    /// Layers whose blobs are absent from the archive.
    pub fn missing_layers(&self) -> &[MissingLayer] {
        match &self.state {
            Ok(l) => &l.missing,
            Err(_) => &[],
        }
    }

    /// The parsed config, when it could be read.
    pub fn config(&self) -> Option<&ImageConfig> {
        self.state.as_ref().ok().map(|l| &l.config)
    }

    /// Number of layers (diff IDs), when the config could be read.
    pub fn layer_count(&self) -> Option<usize> {
        self.state.as_ref().ok().map(|l| l.layers.len())
    }

    /// The first tag, ref name or repo digest, else the short image ID.
    pub fn name(&self) -> String {
        self.tags
            .first()
            .or(self.ref_names.first())
            .or(self.repo_digests.first())
            .cloned()
            .or_else(|| self.config_digest.as_ref().map(|d| d.short().to_owned()))
            .unwrap_or_else(|| "<untagged>".into())
    }

    /// One line naming this image for "choose one of" messages.
    pub fn describe(&self) -> String {
        let name = self.name();
        let mut extra = Vec::new();
        if let Some(p) = &self.platform {
            extra.push(p.to_string());
        }
        if let Some(d) = &self.config_digest {
            if !name.starts_with(d.short()) {
                extra.push(format!("id {}", d.short()));
            }
        }
        if self.state.is_err() {
            extra.push("unreadable".into());
        } else if !self.missing_layers().is_empty() {
            extra.push("incomplete".into());
        }
        if extra.is_empty() {
            name
        } else {
            format!("{name} ({})", extra.join(", "))
        }
    }
}

/// A manifest or index entry that was listed but not usable (blob absent, attestation,
/// unknown media type), kept so errors can say what else the archive mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub digest: String,
    pub platform: Option<Platform>,
    pub reason: String,
}

/// The images an archive holds.
#[derive(Debug, Clone)]
pub struct Archive {
    pub format: ArchiveFormat,
    pub(crate) images: Vec<ArchiveImage>,
    pub skipped: Vec<Skipped>,
    /// Member names ignored because they are unusable (escaping names such as `../x`).
    pub ignored_members: Vec<String>,
}

impl Archive {
    /// Every image found, readable or not, in archive order.
    pub fn images(&self) -> &[ArchiveImage] {
        &self.images
    }

    /// Chooses one image and returns it complete. `reference` is a tag (`name[:tag]`), an
    /// `org.opencontainers.image.ref.name`, a manifest digest, or an image ID (prefix).
    /// `platform` picks among several images (the caller passes the host platform by
    /// default); a lone image is returned whatever its platform.
    /// Fails with [`ArchiveError::MissingLayers`] when any layer blob is absent.
    pub fn select(
        &self,
        reference: Option<&str>,
        platform: Option<&Platform>,
    ) -> Result<Image, ArchiveError> {
        let chosen = select::choose(self, reference, platform)?;
        let partial = select::to_partial(chosen)?;
        if partial.missing.is_empty() {
            Ok(partial.image)
        } else {
            Err(ArchiveError::MissingLayers {
                image: chosen.describe(),
                missing: partial.missing,
            })
        }
    }

    /// Like [`Archive::select`] but returns images with absent layer blobs too, with the
    /// missing layers listed (A4).
    pub fn select_partial(
        &self,
        reference: Option<&str>,
        platform: Option<&Platform>,
    ) -> Result<PartialImage, ArchiveError> {
        select::to_partial(select::choose(self, reference, platform)?)
    }
}

/// Why an archive or one of its images could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Neither `index.json` nor `manifest.json` is present.
    #[error("not an image archive: no index.json or manifest.json found")]
    NotAnImageArchive,
    /// `manifest.json` is the JSON literal `null` (moby: "manifest cannot be null").
    #[error("manifest.json is null (expected a list of images)")]
    NullManifest,
    /// The archive lists no images (`[]`, or an index with no usable manifest).
    #[error("archive holds no images")]
    NoImages,
    /// A JSON document failed to parse.
    #[error("{what}: invalid json: {message}")]
    Json { what: String, message: String },
    /// A JSON document over [`Limits::max_json`]; refused before it was read (A8).
    #[error("{what}: json document of {size} bytes exceeds the {cap} byte cap")]
    JsonTooLarge { what: String, size: u64, cap: u64 },
    /// A document that is valid JSON but not a valid manifest, index or config.
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// A path in a manifest that is refused (A1).
    #[error("{what}: {source}")]
    Path {
        what: String,
        #[source]
        source: PathError,
    },
    /// A referenced member that is not in the archive.
    #[error("{what}: {path:?} not found in the archive")]
    NotFound { what: String, path: String },
    /// A symlink member that loops, chains too far or leaves the archive (A5).
    #[error("{what}: symlink {path:?}: {reason}")]
    Symlink {
        what: String,
        path: String,
        reason: String,
    },
    /// Content that does not hash to the digest naming it (A9).
    #[error("{what}: digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    /// A blob whose size differs from its descriptor's.
    #[error("{what}: size mismatch: descriptor says {expected} bytes, blob has {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    /// A digest that is not `sha256:<64 hex>`.
    #[error("{what}: unsupported or malformed digest {digest:?} (only sha256 is supported)")]
    UnsupportedDigest { what: String, digest: String },
    /// The manifest's layer count differs from `rootfs.diff_ids` (A3).
    #[error(
        "image {image}: layers length mismatch: manifest lists {layers}, \
         config rootfs.diff_ids has {diff_ids}"
    )]
    LayerCountMismatch {
        image: String,
        layers: usize,
        diff_ids: usize,
    },
    /// A layer's content does not hash to the config's diff ID (A9).
    #[error("image {image}: layer {index}: diff id mismatch: config says {expected}, content hashes to {actual}")]
    DiffIdMismatch {
        image: String,
        index: usize,
        expected: Digest,
        actual: Digest,
    },
    /// Image indexes nested deeper than [`Limits::max_index_depth`] (A7).
    #[error("image index nested deeper than {max} levels")]
    IndexTooDeep { max: usize },
    /// An image index that contains itself (A7).
    #[error("image index {digest} contains itself (cycle)")]
    IndexCycle { digest: Digest },
    /// A document with both `manifests` and `layers` (CVE-2021-41190) (A7).
    #[error("{what}: ambiguous document with both manifests and layers")]
    AmbiguousDocument { what: String },
    /// A layer member that could not be indexed.
    #[error("layer {member}: {source}")]
    Layer {
        member: String,
        #[source]
        source: Arc<crate::layer::LayerError>,
    },
    /// Layer blobs named by the manifest are absent (A4); see [`Archive::select_partial`].
    #[error(
        "image {image}: {} layer blob(s) missing from the archive (first: layer {} {})",
        missing.len(),
        missing.first().map_or(0, |m| m.index),
        missing.first().map_or("", |m| m.source.as_str())
    )]
    MissingLayers {
        image: String,
        missing: Vec<MissingLayer>,
    },
    /// Several images and no reference (A2): the user picks.
    #[error("archive holds several images; choose one of: {}", choices.join("; "))]
    SeveralImages { choices: Vec<String> },
    /// The reference matches nothing.
    #[error("no image matching {reference:?} in the archive; it holds: {}", choices.join("; "))]
    NoMatch {
        reference: String,
        choices: Vec<String>,
    },
    /// A multi-platform image and no platform to choose with.
    #[error("image {image} exists for several platforms; choose one of: {}", platforms.join(", "))]
    PlatformRequired {
        image: String,
        platforms: Vec<String>,
    },
    /// A platform was given and no image matches it.
    #[error("no image for platform {wanted} in the archive; platforms present: {}", present.join(", "))]
    NoPlatformMatch {
        wanted: Platform,
        present: Vec<String>,
    },
    /// The outer tar stream is malformed or truncated.
    #[error("archive tar stream: {0}")]
    Tar(Arc<crate::tar::TarError>),
    /// The tar stream stopped on a block boundary without its end-of-archive marker.
    #[error(
        "archive tar stream ends at byte {offset} without an end-of-archive marker (truncated)"
    )]
    Truncated { offset: u64 },
    /// Reading a member's bytes failed.
    #[error("reading member {member:?}: {message}")]
    Read { member: String, message: String },
    /// The daemon ended an export with a JSON error after HTTP 200 (A11).
    #[error("export aborted by daemon: {0}")]
    ExportAborted(String),
    /// A job-wide cap was hit (JSON memory, decompressed bytes, entries, layers).
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
}
