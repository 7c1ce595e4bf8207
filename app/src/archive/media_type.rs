//! Media types of image documents and blobs (OCI image spec and Docker distribution), as
//! one enum: what a descriptor points at decides how it is read, and naming the types
//! once keeps the OCI layout walk and the registry client from matching strings.
//!
//! Serialised as the media-type string itself; a type this enum does not name is kept
//! verbatim in [`MediaType::Other`], so nothing read from a manifest is lost.

use crate::model::Compression;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A media type from a descriptor or a document's `mediaType` field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum MediaType {
    /// `application/vnd.oci.image.index.v1+json`.
    OciIndex,
    /// `application/vnd.docker.distribution.manifest.list.v2+json`.
    DockerManifestList,
    /// `application/vnd.oci.image.manifest.v1+json`.
    OciManifest,
    /// `application/vnd.docker.distribution.manifest.v2+json`.
    DockerManifest,
    /// Docker schema 1 (`…manifest.v1+json` or its signed `+prettyjws` form).
    DockerSchema1,
    /// `application/vnd.oci.image.config.v1+json`.
    OciConfig,
    /// `application/vnd.docker.container.image.v1+json`.
    DockerConfig,
    /// An OCI layer (`…layer.v1.tar`, `+gzip`, `+zstd`).
    OciLayer(Compression),
    /// `application/vnd.docker.image.rootfs.diff.tar` or `….tar.gzip`.
    DockerLayer(Compression),
    /// A non-distributable (OCI) or foreign (Docker) layer, verbatim: its blob may live
    /// outside the registry.
    ForeignLayer(String),
    /// Any other type (artifacts, signatures, SBOMs), verbatim.
    Other(String),
}

/// What a media type describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// An image index or manifest list: points at manifests.
    Index,
    /// An image manifest: points at a config and layers.
    Manifest,
    /// A Docker schema 1 manifest, which Strata does not read.
    Schema1,
    /// An image config.
    Config,
    /// A filesystem layer.
    Layer,
    /// Something else.
    Other,
}

const TABLE: [(&str, MediaType); 6] = [
    (
        "application/vnd.oci.image.index.v1+json",
        MediaType::OciIndex,
    ),
    (
        "application/vnd.docker.distribution.manifest.list.v2+json",
        MediaType::DockerManifestList,
    ),
    (
        "application/vnd.oci.image.manifest.v1+json",
        MediaType::OciManifest,
    ),
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        MediaType::DockerManifest,
    ),
    (
        "application/vnd.oci.image.config.v1+json",
        MediaType::OciConfig,
    ),
    (
        "application/vnd.docker.container.image.v1+json",
        MediaType::DockerConfig,
    ),
];

const SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_FOREIGN: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

const DOCKER_LAYERS: [(&str, Compression); 2] = [
    (
        "application/vnd.docker.image.rootfs.diff.tar",
        Compression::None,
    ),
    (
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        Compression::Gzip,
    ),
];

/// The compression an OCI layer type's suffix names (`""`, `+gzip`, `+zstd`).
fn oci_suffix(rest: &str) -> Option<Compression> {
    match rest {
        "" => Some(Compression::None),
        "+gzip" => Some(Compression::Gzip),
        "+zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

impl MediaType {
    /// Reads a media type string; never fails (unknown types become [`MediaType::Other`]).
    pub fn parse(s: &str) -> MediaType {
        if let Some((_, t)) = TABLE.iter().find(|(name, _)| *name == s) {
            return t.clone();
        }
        if SCHEMA1.contains(&s) {
            return MediaType::DockerSchema1;
        }
        if let Some((_, c)) = DOCKER_LAYERS.iter().find(|(name, _)| *name == s) {
            return MediaType::DockerLayer(*c);
        }
        if let Some(c) = s.strip_prefix(OCI_LAYER).and_then(oci_suffix) {
            return MediaType::OciLayer(c);
        }
        let foreign =
            s == DOCKER_FOREIGN || s.strip_prefix(OCI_FOREIGN).and_then(oci_suffix).is_some();
        if foreign {
            return MediaType::ForeignLayer(s.to_owned());
        }
        MediaType::Other(s.to_owned())
    }

    /// The media type string.
    pub fn as_str(&self) -> &str {
        match self {
            MediaType::OciLayer(c) => match c {
                Compression::None => OCI_LAYER,
                Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
                Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            },
            MediaType::DockerLayer(c) => match c {
                Compression::None => DOCKER_LAYERS[0].0,
                Compression::Gzip | Compression::Zstd => DOCKER_LAYERS[1].0,
            },
            MediaType::DockerSchema1 => SCHEMA1[1],
            MediaType::ForeignLayer(s) | MediaType::Other(s) => s,
            known => TABLE
                .iter()
                .find(|(_, t)| t == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// What the type describes.
    pub fn kind(&self) -> MediaKind {
        match self {
            MediaType::OciIndex | MediaType::DockerManifestList => MediaKind::Index,
            MediaType::OciManifest | MediaType::DockerManifest => MediaKind::Manifest,
            MediaType::DockerSchema1 => MediaKind::Schema1,
            MediaType::OciConfig | MediaType::DockerConfig => MediaKind::Config,
            MediaType::OciLayer(_) | MediaType::DockerLayer(_) | MediaType::ForeignLayer(_) => {
                MediaKind::Layer
            }
            MediaType::Other(_) => MediaKind::Other,
        }
    }

    /// The compression a layer type announces (`None` for other kinds). Readers still
    /// sniff the bytes: the announcement is a hint, not a promise.
    pub fn compression(&self) -> Option<Compression> {
        match self {
            MediaType::OciLayer(c) | MediaType::DockerLayer(c) => Some(*c),
            MediaType::ForeignLayer(s) if s.ends_with("zstd") => Some(Compression::Zstd),
            MediaType::ForeignLayer(s) if s.ends_with("gzip") => Some(Compression::Gzip),
            MediaType::ForeignLayer(_) => Some(Compression::None),
            _ => None,
        }
    }
}

impl From<String> for MediaType {
    fn from(s: String) -> Self {
        MediaType::parse(&s)
    }
}

impl From<MediaType> for String {
    fn from(t: MediaType) -> Self {
        match t {
            MediaType::ForeignLayer(s) | MediaType::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_type_round_trips_through_its_string() {
        let all = [
            MediaType::OciIndex,
            MediaType::DockerManifestList,
            MediaType::OciManifest,
            MediaType::DockerManifest,
            MediaType::DockerSchema1,
            MediaType::OciConfig,
            MediaType::DockerConfig,
            MediaType::OciLayer(Compression::None),
            MediaType::OciLayer(Compression::Gzip),
            MediaType::OciLayer(Compression::Zstd),
            MediaType::DockerLayer(Compression::None),
            MediaType::DockerLayer(Compression::Gzip),
        ];
        for t in all {
            assert_eq!(MediaType::parse(t.as_str()), t, "{t}");
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<MediaType>(&json).unwrap(), t);
        }
    }

    #[test]
    fn unknown_types_are_kept_verbatim() {
        let sbom = "application/spdx+json";
        let t: MediaType = serde_json::from_str(&format!("\"{sbom}\"")).unwrap();
        assert_eq!(t, MediaType::Other(sbom.into()));
        assert_eq!(t.kind(), MediaKind::Other);
        assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{sbom}\""));
        // A layer type with an unknown compression suffix is not a layer Strata reads.
        let odd = MediaType::parse("application/vnd.oci.image.layer.v1.tar+lz4");
        assert_eq!(odd.kind(), MediaKind::Other);
    }

    #[test]
    fn kinds_and_compression() {
        assert_eq!(MediaType::DockerManifestList.kind(), MediaKind::Index);
        assert_eq!(
            MediaType::parse("application/vnd.docker.distribution.manifest.v1+prettyjws").kind(),
            MediaKind::Schema1
        );
        let nd_name = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
        let nd = MediaType::parse(nd_name);
        assert_eq!(nd.compression(), Some(Compression::Gzip));
        assert_eq!(nd.as_str(), nd_name, "kept verbatim");
        let foreign = MediaType::parse("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
        assert_eq!(foreign.kind(), MediaKind::Layer);
        assert_eq!(MediaType::OciConfig.compression(), None);
    }
}
