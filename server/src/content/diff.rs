//! Two versions of a file compared: identical by checksum without reading when the
//! layer index allows, a line diff when both are text under the cap, else size and
//! checksum only — the same answer for the API and `strata cat --diff`.

use super::{Contents, LayerBytes, ReadError};
use app::api::{etag, DiffSide, FileDiff};
use app::content::{is_binary, line_diff};
use app::fmt::display_path;
use app::model::{Digest, Entry};
use std::io::Read;

/// Largest file (each side) diffed line by line; larger ones compare by checksum.
pub const MAX_DIFF_BYTES: u64 = 1 << 20;

/// One version to compare.
pub struct Side<'a> {
    pub image: Digest,
    /// Layer whose tar holds the bytes.
    pub layer: u32,
    pub entry: &'a Entry,
    pub bytes: LayerBytes,
}

impl Side<'_> {
    fn wire(&self, binary: bool) -> DiffSide {
        DiffSide {
            image: self.image.clone(),
            layer: self.layer,
            path: display_path(&self.entry.path),
            size: self.entry.size,
            etag: self.entry.crc64.map(|c| etag(c, self.entry.size)),
            binary,
        }
    }

    fn read(&self, contents: &Contents) -> Result<Vec<u8>, ReadError> {
        let mut f = contents.open_file(&self.bytes, self.entry, 0)?;
        let mut out = Vec::new();
        f.reader.read_to_end(&mut out).map_err(|e| ReadError::Io {
            path: display_path(&self.entry.path).into(),
            source: std::sync::Arc::new(e),
        })?;
        Ok(out)
    }
}

/// Compares two versions (blocking: reads both when a line diff is possible).
pub fn diff(
    contents: &Contents,
    a: &Side<'_>,
    b: &Side<'_>,
    cap: u64,
) -> Result<FileDiff, ReadError> {
    let (ea, eb) = (a.entry, b.entry);
    let same_crc = ea.crc64.is_some() && ea.crc64 == eb.crc64 && ea.size == eb.size;
    if same_crc || ea.size.max(eb.size) > cap {
        let note = if same_crc {
            "identical content (same size and checksum)".to_owned()
        } else {
            format!(
                "larger than {}: compared by size and checksum only",
                app::fmt::size(cap)
            )
        };
        return Ok(FileDiff {
            a: a.wire(false),
            b: b.wire(false),
            identical: same_crc,
            hunks: None,
            note: Some(note),
        });
    }
    let (da, db) = (a.read(contents)?, b.read(contents)?);
    let identical = da == db;
    let (ba, bb) = (is_binary(&da), is_binary(&db));
    let texts = std::str::from_utf8(&da)
        .ok()
        .zip(std::str::from_utf8(&db).ok());
    let (hunks, note) = match texts {
        Some((ta, tb)) if !ba && !bb => (Some(line_diff(ta, tb)), None),
        _ => (
            None,
            Some("binary content: compared by size and checksum only".to_owned()),
        ),
    };
    Ok(FileDiff {
        a: a.wire(ba),
        b: b.wire(bb),
        identical,
        hunks,
        note,
    })
}
