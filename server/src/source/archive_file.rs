//! Image archives on disk (`docker save` output, classic or OCI-style, and `oci-archive`
//! tars, optionally gzip-compressed as a whole): read in one streaming pass through
//! `app::archive::read_archive`, which tells the layouts apart by their members.
//!
//! Invariants: the file is read front to back once; nothing is extracted to disk; tar
//! streams are read only with app's Go-compatible [`TarReader`] (tar-rs builds test
//! fixtures only).

use crate::progress::ChunkProgress;
use app::archive::{read_archive, Archive, ArchiveError};
use app::limits::Limits;
use app::tar::{TarReader, TarSource};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Why an archive file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveFileError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The contents are not a readable image archive.
    #[error("{path}: {source}")]
    Archive { path: PathBuf, source: ArchiveError },
}

/// What kind of file this is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A tar (`ustar` magic at offset 257).
    Tar,
    /// A gzip stream (a `.tar.gz` of an archive).
    Gzip,
    /// Anything else.
    Unknown,
}

/// Sniffs the first bytes of an archive file.
pub fn sniff(head: &[u8]) -> FileKind {
    if head.starts_with(&[0x1f, 0x8b]) {
        FileKind::Gzip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        FileKind::Tar
    } else {
        FileKind::Unknown
    }
}

/// Reads every image in the archive at `path`; `progress` counts the file bytes
/// consumed (of the file size) and stops the read when its token is cancelled.
pub fn read_file(
    path: &Path,
    limits: &Limits,
    progress: &mut ChunkProgress<'_>,
) -> Result<Archive, ArchiveFileError> {
    let io = |source| ArchiveFileError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let total = file.metadata().map(|m| m.len()).ok();
    progress.set_total(total);
    let mut reader = BufReader::with_capacity(1 << 20, progress.wrap(file));
    let kind = sniff(reader.fill_buf().map_err(io)?);
    let result = match kind {
        FileKind::Gzip => read_archive(
            flate2::bufread::MultiGzDecoder::new(reader),
            limits,
            &mut |_| {},
        ),
        FileKind::Tar | FileKind::Unknown => {
            read_archive(&mut reader as &mut dyn Read, limits, &mut |_| {})
        }
    };
    result.map_err(|source| ArchiveFileError::Archive {
        path: path.to_owned(),
        source,
    })
}

/// The archive member names of the layers of image `id` as `manifest.json` lists them
/// (`<hex>/layer.tar`, `blobs/sha256/<hex>`): dive shows their first component as the
/// layer ID. A second, seeking pass over the file reads only `manifest.json` (capped at
/// `max_json`); `None` when the file has none, is compressed, or lists no such image.
pub fn layer_members(path: &Path, id: &app::model::Digest, max_json: u64) -> Option<Vec<String>> {
    let file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut tar = TarReader::with_source(Seeking { file, len }, &Limits::default());
    find_layers(&last_manifest(&mut tar, max_json)?, id)
}

/// [`layer_members`] over a stream (a daemon export), read through to its end.
pub fn layer_members_in_stream(
    r: impl Read,
    id: &app::model::Digest,
    max_json: u64,
) -> Option<Vec<String>> {
    let mut tar = TarReader::new(r, &Limits::default());
    let manifest = last_manifest(&mut tar, max_json);
    // Drain what follows the end marker so the sender sees the whole stream consumed.
    let _ = std::io::copy(&mut tar.into_inner(), &mut std::io::sink());
    find_layers(&manifest?, id)
}

/// A file read by app's tar reader that seeks over payloads instead of reading them.
pub(crate) struct Seeking {
    pub(crate) file: std::fs::File,
    pub(crate) len: u64,
}

impl Read for Seeking {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl TarSource for Seeking {
    fn skip(&mut self, n: u64) -> std::io::Result<u64> {
        let pos = self.file.stream_position()?;
        let to = pos.saturating_add(n).min(self.len.max(pos));
        self.file.seek(SeekFrom::Start(to))?;
        Ok(to - pos)
    }
}

/// The last `manifest.json` member (at most `max_json` bytes); `None` on a tar error.
fn last_manifest<S: TarSource>(tar: &mut TarReader<S>, max_json: u64) -> Option<Vec<u8>> {
    let mut manifest = None;
    while let Some(h) = tar.next_header().ok()? {
        let p = h.path.strip_prefix(b"./").unwrap_or(&h.path);
        if p == b"manifest.json" && matches!(h.typeflag, b'0' | b'7') && h.size <= max_json {
            let mut bytes = Vec::new();
            tar.payload().read_to_end(&mut bytes).ok()?;
            // The last member of a name wins, as in the archive reader.
            manifest = Some(bytes);
        }
    }
    manifest
}

fn find_layers(manifest: &[u8], id: &app::model::Digest) -> Option<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Config")]
        config: String,
        #[serde(rename = "Layers", default)]
        layers: Option<Vec<String>>,
    }
    let entries: Vec<Entry> = serde_json::from_slice(manifest).ok()?;
    entries
        .into_iter()
        .find(|e| {
            let name = e.config.rsplit('/').next().unwrap_or_default();
            name.strip_suffix(".json").unwrap_or(name) == id.hex()
        })
        .and_then(|e| e.layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_layer_members_in_manifest() {
        let id = app::model::Digest::of(b"config");
        let manifest = format!(
            r#"[{{"Config":"other.json","Layers":["x/layer.tar"]}},{{"Config":"{}.json","Layers":["aa/layer.tar","bb/layer.tar"]}}]"#,
            id.hex()
        );
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("aa/layer.tar", &b"x"[..]),
            ("manifest.json", manifest.as_bytes()),
        ] {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();
        assert_eq!(
            layer_members(&path, &id, 1 << 20),
            Some(vec!["aa/layer.tar".to_owned(), "bb/layer.tar".to_owned()])
        );
        assert_eq!(
            layer_members(&path, &app::model::Digest::of(b"x"), 1 << 20),
            None
        );
        assert_eq!(layer_members(&path, &id, 10), None);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            layer_members_in_stream(&bytes[..], &id, 1 << 20).map(|v| v.len()),
            Some(2)
        );
    }

    /// A tar with a 1 MiB member before `./manifest.json`.
    fn big_archive(id: &app::model::Digest) -> Vec<u8> {
        let manifest = format!(
            r#"[{{"Config":"{}.json","Layers":["big/layer.tar"]}}]"#,
            id.hex()
        );
        let mut b = tar::Builder::new(Vec::new());
        let big = vec![7u8; 1 << 20];
        for (name, data) in [
            ("big/layer.tar", &big[..]),
            ("./manifest.json", manifest.as_bytes()),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn seeks_over_members_and_refuses_truncated_files() {
        let id = app::model::Digest::of(b"config");
        let bytes = big_archive(&id);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.tar");
        std::fs::write(&path, &bytes).unwrap();
        let want = Some(vec!["big/layer.tar".to_owned()]);
        assert_eq!(layer_members(&path, &id, 1 << 20), want);
        assert_eq!(layer_members_in_stream(&bytes[..], &id, 1 << 20), want);
        // Cut inside the big member: the skip comes up short, nothing is guessed.
        std::fs::write(&path, &bytes[..600_000]).unwrap();
        assert_eq!(layer_members(&path, &id, 1 << 20), None);
        assert_eq!(
            layer_members_in_stream(&bytes[..600_000], &id, 1 << 20),
            None
        );
    }

    #[test]
    fn sniffs_tar_and_gzip() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(sniff(&tar), FileKind::Tar);
        assert_eq!(sniff(&[0x1f, 0x8b, 8]), FileKind::Gzip);
        assert_eq!(sniff(b"hello"), FileKind::Unknown);
    }
}
