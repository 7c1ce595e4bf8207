//! Finding where the bytes of one layer live: the member of an archive file that holds
//! its blob (found by a header-only pass that seeks over payloads), the blob file of an
//! OCI layout directory, or the daemon's unpacked overlay2 layer directory.
//!
//! Invariants: blob paths are built from validated digests only (`blobs/sha256/<hex>`);
//! an archive's `manifest.json` names legacy layer members (`<id>/layer.tar`), and those
//! names are only compared with member names, never joined onto a host path; in-archive
//! symlink members are followed at most [`MAX_MEMBER_HOPS`] times.

use super::LayerBytes;
use crate::source::archive_file::{self, FileKind, Seeking};
use crate::source::storage::LayerStore;
use crate::source::Source;
use app::limits::Limits;
use app::model::{chain_ids, Digest, Image};
use app::tar::TarReader;
use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Symlink members followed when resolving one member name.
pub const MAX_MEMBER_HOPS: usize = 8;

/// Why the bytes of a layer cannot be found.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    /// No such layer in the image.
    #[error("the image has {count} layers; there is no layer {layer}")]
    NoLayer { layer: usize, count: usize },
    /// The source file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The archive does not hold the layer's blob (it changed since it was read?).
    #[error("{} holds no blob for layer {layer} ({diff_id}); was the file replaced since it was opened?", path.display())]
    NotInArchive {
        path: PathBuf,
        layer: usize,
        diff_id: Digest,
    },
    /// A compressed archive cannot be read from the middle.
    #[error("{} is compressed as a whole; decompress it (gunzip) to read file contents", path.display())]
    Compressed { path: PathBuf },
    /// The daemon's layer store cannot serve the layer.
    #[error("{0}")]
    Store(String),
    /// The source keeps no bytes (an uploaded archive, once loaded).
    #[error("{0}")]
    Unavailable(String),
}

/// Where layer `layer` of `image` (read from `source`) lives. Daemon images need the
/// daemon's layer store (`store`); file sources are read from their files. Blocking.
pub fn locate(
    source: &Source,
    store: Option<&LayerStore>,
    image: &Image,
    layer: usize,
    limits: &Limits,
) -> Result<LayerBytes, LocateError> {
    let index = image.layers.get(layer).ok_or(LocateError::NoLayer {
        layer,
        count: image.layers.len(),
    })?;
    match source {
        Source::Registry(_) => Err(LocateError::Store(
            "registry blobs are located by the engine (Engine::registry_layer_bytes)".into(),
        )),
        Source::Docker(_) => {
            let store = store.ok_or_else(|| {
                LocateError::Store(
                    "file contents of daemon images are read from Docker's layer store, which \
                     this process cannot read: run strata as root on the daemon's host, or \
                     open `docker save` output instead"
                        .to_owned(),
                )
            })?;
            let chains = chain_ids(&image.config.rootfs.diff_ids);
            let chain = chains.get(layer).ok_or(LocateError::NoLayer {
                layer,
                count: chains.len(),
            })?;
            let dir = store
                .diff_dir(chain, &index.diff_id)
                .map_err(|e| LocateError::Store(format!("layer store: {e}")))?;
            Ok(LayerBytes::Unpacked { dir })
        }
        Source::OciDir { path, .. } => {
            let blob = index.blob_digest.as_ref().unwrap_or(&index.diff_id);
            let file = path.join("blobs").join("sha256").join(blob.hex());
            let len = std::fs::metadata(&file)
                .map_err(|e| LocateError::Io {
                    path: file.clone(),
                    source: Arc::new(e),
                })?
                .len();
            Ok(LayerBytes::Blob {
                path: file,
                start: 0,
                len,
                compression: index.compression,
                blob_digest: Some(blob.clone()),
            })
        }
        Source::DockerArchive { path, .. }
        | Source::OciArchive { path, .. }
        | Source::ArchiveFile { path, .. } => {
            let members = Members::scan(path)?;
            let blob = index.blob_digest.as_ref().unwrap_or(&index.diff_id);
            let by_digest = format!("blobs/sha256/{}", blob.hex());
            let legacy = || {
                archive_file::layer_members(path, &image.id, limits.max_json)
                    .and_then(|names| names.get(layer).cloned())
            };
            let found = members
                .find(&by_digest)
                .or_else(|| legacy().and_then(|name| members.find(&name)));
            let (start, len) = found.ok_or_else(|| LocateError::NotInArchive {
                path: path.clone(),
                layer,
                diff_id: index.diff_id.clone(),
            })?;
            Ok(LayerBytes::Blob {
                path: path.clone(),
                start,
                len,
                compression: index.compression,
                blob_digest: Some(blob.clone()),
            })
        }
    }
}

/// The regular-file and symlink members of an archive, by cleaned name.
struct Members {
    files: HashMap<String, (u64, u64)>,
    links: HashMap<String, String>,
}

impl Members {
    fn scan(path: &Path) -> Result<Members, LocateError> {
        let io = |e: std::io::Error| LocateError::Io {
            path: path.to_owned(),
            source: Arc::new(e),
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 512];
        let n = file.read(&mut head).map_err(io)?;
        if archive_file::sniff(&head[..n]) != FileKind::Tar {
            return Err(LocateError::Compressed {
                path: path.to_owned(),
            });
        }
        file.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
        let mut tar = TarReader::with_source(Seeking { file, len }, &Limits::default());
        let mut members = Members {
            files: HashMap::new(),
            links: HashMap::new(),
        };
        while let Some(h) = tar
            .next_header()
            .map_err(|e| io(std::io::Error::other(e)))?
        {
            let Ok(name) = app::archive::path::clean(&String::from_utf8_lossy(&h.path)) else {
                continue;
            };
            match h.typeflag {
                // the last member of a name wins, as in the archive reader
                b'0' | b'7' => {
                    members.files.insert(name.clone(), (tar.offset(), h.size));
                    members.links.remove(&name);
                }
                b'2' => {
                    let target = String::from_utf8_lossy(&h.linkname).into_owned();
                    members.links.insert(name.clone(), target);
                    members.files.remove(&name);
                }
                _ => {}
            }
        }
        Ok(members)
    }

    /// The payload range of the member `name`, following symlink members.
    fn find(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = app::archive::path::clean(name).ok()?;
        for _ in 0..=MAX_MEMBER_HOPS {
            if let Some(r) = self.files.get(&name) {
                return Some(*r);
            }
            let target = self.links.get(&name)?;
            let base = name.rsplit_once('/').map_or("", |(dir, _)| dir);
            let joined = if target.starts_with('/') {
                target.clone()
            } else {
                format!("{base}/{target}")
            };
            name = app::archive::path::clean(&joined).ok()?;
        }
        None
    }
}
