//! OCI image layout documents (`index.json`, image indexes, image manifests, as well as
//! their Docker distribution equivalents) and the walk from `index.json` down to the
//! image manifests it reaches.
//!
//! The walk is iterative (an explicit stack), bounded by `Limits::max_index_depth`, keeps
//! a visited set of indexes (an index reached again through its own descendants is a
//! cycle and fails; one reached again through a sibling is walked once), verifies every
//! blob's digest and size before parsing it, refuses documents with both `manifests` and
//! `layers`, ignores unknown media types without parsing them, and skips attestation
//! manifests (BuildKit's `vnd.docker.reference.type: attestation-manifest` annotation or
//! the `unknown/unknown` platform).

use super::assembler::{Assembler, Member};
use super::media_type::{MediaKind, MediaType};
use super::platform::Platform;
use super::{path, ArchiveError, Skipped};
use crate::model::Digest;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// `org.opencontainers.image.ref.name`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The full image name containerd and Docker ≥ 25 put on `index.json` entries.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// A content descriptor.
#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<MediaType>,
    pub digest: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
}

/// `platform` of an index entry.
#[derive(Debug, Clone, Deserialize)]
pub struct DescriptorPlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// The fields of an index or manifest that decide what it is.
#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    #[serde(rename = "mediaType", default)]
    pub media_type: Option<MediaType>,
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub config: Option<Descriptor>,
}

impl Descriptor {
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    fn platform(&self) -> Option<Platform> {
        let p = self.platform.as_ref()?;
        if p.os.is_empty() || p.architecture.is_empty() {
            return None;
        }
        Some(Platform::new(&p.os, &p.architecture, p.variant.as_deref()))
    }

    fn is_attestation(&self) -> bool {
        self.annotation(REFERENCE_TYPE) == Some("attestation-manifest")
            || self.platform().is_some_and(|p| p.is_unknown())
    }

    /// The verified-shape digest of this descriptor.
    pub fn digest(&self, what: &str) -> Result<Digest, ArchiveError> {
        Digest::parse(&self.digest).map_err(|_| ArchiveError::UnsupportedDigest {
            what: what.to_owned(),
            digest: self.digest.chars().take(100).collect(),
        })
    }
}

/// Names carried by a top-level `index.json` entry.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub full_names: Vec<String>,
    pub ref_names: Vec<String>,
}

/// An image manifest reached from `index.json`.
#[derive(Debug, Clone)]
pub struct FoundManifest {
    pub digest: Digest,
    pub document: Document,
    pub platform: Option<Platform>,
    pub names: Names,
    /// Index of the top-level `index.json` entry it came from.
    pub group: usize,
}

/// Parses a JSON document into `T`, mapping errors to [`ArchiveError::Json`].
pub fn parse_json<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|e| ArchiveError::Json {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// Fetches a JSON blob by descriptor, verifying digest and size first. `Ok(None)` when the
/// blob is absent from the archive.
pub fn json_blob(
    asm: &Assembler<'_>,
    what: &str,
    desc: &Descriptor,
) -> Result<Option<Arc<[u8]>>, ArchiveError> {
    let digest = desc.digest(what)?;
    let key = path::blob_path(&digest);
    match asm.members.get(&key) {
        None => Ok(None),
        Some(Member::Json { bytes, digest: got }) => {
            if *got != digest {
                return Err(ArchiveError::DigestMismatch {
                    what: what.to_owned(),
                    expected: digest,
                    actual: got.clone(),
                });
            }
            check_size(what, desc.size, bytes.len() as u64)?;
            Ok(Some(bytes.clone()))
        }
        Some(Member::Oversized { size }) => Err(ArchiveError::JsonTooLarge {
            what: what.to_owned(),
            size: *size,
            cap: asm.limits.max_json,
        }),
        Some(Member::Broken(e)) => Err(e.clone()),
        Some(Member::Layer(_)) => Err(ArchiveError::Invalid {
            what: what.to_owned(),
            message: format!("blob {digest} is not a json document"),
        }),
        Some(Member::Symlink(_)) => Err(ArchiveError::Invalid {
            what: what.to_owned(),
            message: format!("blob {digest} is a symlink"),
        }),
    }
}

/// Checks a descriptor's declared size against the blob's.
pub fn check_size(what: &str, declared: Option<u64>, actual: u64) -> Result<(), ArchiveError> {
    match declared {
        Some(expected) if expected != actual => Err(ArchiveError::SizeMismatch {
            what: what.to_owned(),
            expected,
            actual,
        }),
        _ => Ok(()),
    }
}

enum Kind {
    Index,
    Manifest,
    Unknown,
}

fn kind_of(media_type: Option<&MediaType>) -> Kind {
    match media_type.map(MediaType::kind) {
        Some(MediaKind::Index) => Kind::Index,
        Some(MediaKind::Manifest) => Kind::Manifest,
        _ => Kind::Unknown,
    }
}

/// Validates a parsed document: not both `manifests` and `layers`, and a `mediaType`
/// field (if any) that agrees with the kind the descriptor announced.
fn check_document(what: &str, doc: &Document, announced: &Kind) -> Result<(), ArchiveError> {
    if doc.manifests.is_some() && (doc.layers.is_some() || doc.config.is_some()) {
        return Err(ArchiveError::AmbiguousDocument {
            what: what.to_owned(),
        });
    }
    let own = doc.media_type.as_ref();
    let agrees = match (announced, kind_of(own)) {
        (_, Kind::Unknown) if own.is_none() => true,
        (Kind::Index, Kind::Index) | (Kind::Manifest, Kind::Manifest) => true,
        (Kind::Unknown, _) => true,
        _ => false,
    };
    if !agrees {
        return Err(ArchiveError::Invalid {
            what: what.to_owned(),
            message: format!(
                "document mediaType {:?} contradicts its descriptor",
                own.map_or("", MediaType::as_str)
            ),
        });
    }
    Ok(())
}

struct Pending {
    desc: Descriptor,
    depth: usize,
    group: usize,
    names: Arc<Names>,
    /// Index digests on the way down (cycle detection).
    ancestors: Arc<Vec<Digest>>,
}

/// Walks `index.json` to every image manifest it reaches.
pub fn walk(
    asm: &Assembler<'_>,
    root: &[u8],
) -> Result<(Vec<FoundManifest>, Vec<Skipped>), ArchiveError> {
    let doc: Document = parse_json("index.json", root)?;
    check_document("index.json", &doc, &Kind::Index)?;
    let Some(top) = doc.manifests else {
        return Err(ArchiveError::Invalid {
            what: "index.json".into(),
            message: "no manifests list".into(),
        });
    };
    let mut stack: Vec<Pending> = top
        .into_iter()
        .enumerate()
        .map(|(group, desc)| {
            let names = Names {
                full_names: desc
                    .annotation(CONTAINERD_NAME)
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
                ref_names: desc
                    .annotation(REF_NAME)
                    .map(str::to_owned)
                    .into_iter()
                    .collect(),
            };
            Pending {
                desc,
                depth: 1,
                group,
                names: Arc::new(names),
                ancestors: Arc::new(Vec::new()),
            }
        })
        .collect();
    stack.reverse();
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    let mut walked_indexes: HashSet<Digest> = HashSet::new();
    let max_depth = asm.limits.max_index_depth;
    while let Some(item) = stack.pop() {
        let desc = &item.desc;
        let skip = |reason: &str| Skipped {
            digest: desc.digest.chars().take(100).collect(),
            platform: desc.platform(),
            reason: reason.to_owned(),
        };
        if desc.is_attestation() {
            skipped.push(skip("attestation manifest"));
            continue;
        }
        let kind = kind_of(desc.media_type.as_ref());
        if let (Kind::Unknown, Some(t)) = (&kind, &desc.media_type) {
            skipped.push(skip(&format!("unknown media type {:?}", t.as_str())));
            continue;
        }
        let Ok(digest) = desc.digest("index entry") else {
            skipped.push(skip("unsupported digest algorithm"));
            continue;
        };
        let what = format!("manifest {digest}");
        let Some(bytes) = json_blob(asm, &what, desc)? else {
            skipped.push(skip("blob not in the archive"));
            continue;
        };
        let document: Document = parse_json(&what, &bytes)?;
        check_document(&what, &document, &kind)?;
        if document.manifests.is_some() {
            if item.ancestors.contains(&digest) {
                return Err(ArchiveError::IndexCycle { digest });
            }
            if !walked_indexes.insert(digest.clone()) {
                continue;
            }
            if item.depth > max_depth {
                return Err(ArchiveError::IndexTooDeep { max: max_depth });
            }
            let mut ancestors = (*item.ancestors).clone();
            ancestors.push(digest.clone());
            let ancestors = Arc::new(ancestors);
            let children = document.manifests.unwrap_or_default();
            for child in children.into_iter().rev() {
                stack.push(Pending {
                    desc: child,
                    depth: item.depth + 1,
                    group: item.group,
                    names: item.names.clone(),
                    ancestors: ancestors.clone(),
                });
            }
        } else if document.layers.is_some() || document.config.is_some() {
            let config_type = document.config.as_ref().and_then(|c| c.media_type.as_ref());
            if let Some(t) = config_type.filter(|t| t.kind() != MediaKind::Config) {
                skipped.push(skip(&format!(
                    "not an image (config media type {:?})",
                    t.as_str()
                )));
                continue;
            }
            found.push(FoundManifest {
                platform: desc.platform(),
                digest,
                document,
                names: (*item.names).clone(),
                group: item.group,
            });
        } else {
            skipped.push(skip("neither an index nor a manifest"));
        }
    }
    Ok((found, skipped))
}
