//! Drives an [`Assembler`] over a tar stream (`docker save` output, a daemon export, an
//! `oci-archive`), member by member, without seeking.
//!
//! A daemon export can fail after HTTP 200: moby then writes a JSON error
//! (`{"errorDetail":{"message":…},"error":…}`) into the stream after the tar bytes already
//! sent (A11). The reader keeps the last [`TAIL`] bytes it consumed, and when the tar
//! stream breaks (or carries bytes after its end marker) and those bytes hold such a
//! document, it reports [`ArchiveError::ExportAborted`] with the daemon's message.

use super::{Archive, ArchiveError, Assembler};
use crate::limits::Limits;
use crate::tar::TarReader;
use std::io::{self, Read};
use std::sync::Arc;

/// Bytes of stream history kept to recognise a daemon error tail.
pub const TAIL: usize = 64 << 10;

/// Reads a whole image archive from a tar stream. `progress` receives the running total
/// of member bytes consumed (see [`Assembler::new`]).
pub fn read_archive(
    r: impl Read,
    limits: &Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<Archive, ArchiveError> {
    let mut tr = TarReader::new(Recorder::new(r), limits);
    let mut asm = Assembler::new(limits, progress);
    loop {
        let header = match tr.next_header() {
            Ok(Some(h)) => h,
            Ok(None) => break,
            Err(e) => return Err(aborted_or(tr.into_inner(), ArchiveError::Tar(Arc::new(e)))),
        };
        let Ok(name) = std::str::from_utf8(&header.path) else {
            // Manifests name members with JSON strings: a non-UTF-8 name is unreachable.
            asm.ignore(&String::from_utf8_lossy(&header.path));
            continue;
        };
        match header.typeflag {
            b'0' | b'7' => {
                let result = {
                    let mut payload = tr.payload();
                    asm.add_file(name, header.size, &mut payload)
                };
                if let Err(e) = result {
                    return Err(aborted_or(tr.into_inner(), e));
                }
            }
            b'2' => asm.add_symlink(name, &String::from_utf8_lossy(&header.linkname)),
            // A hard link names another member from the archive root.
            b'1' => asm.add_symlink(
                name,
                &format!("/{}", String::from_utf8_lossy(&header.linkname)),
            ),
            _ => {}
        }
    }
    let offset = tr.offset();
    let marker = tr.end_marker_seen();
    let mut rec = tr.into_inner();
    let mut after = Vec::new();
    // Whatever follows the end marker: zero padding is normal, a JSON error is not.
    if let Err(e) = (&mut rec).take(TAIL as u64).read_to_end(&mut after) {
        return Err(ArchiveError::Read {
            member: "<after end of archive>".into(),
            message: e.to_string(),
        });
    }
    if let Some(msg) = daemon_error(&after) {
        return Err(ArchiveError::ExportAborted(msg));
    }
    if !marker {
        return Err(ArchiveError::Truncated { offset });
    }
    asm.finish()
}

/// On a broken stream, prefers the daemon's own error message if the tail carries one.
fn aborted_or<R: Read>(mut rec: Recorder<R>, err: ArchiveError) -> ArchiveError {
    let mut more = Vec::new();
    // The JSON may continue past what the tar reader consumed; a failing source just
    // leaves what was recorded.
    let _ = (&mut rec.inner).take(TAIL as u64).read_to_end(&mut more);
    let mut tail = rec.tail;
    tail.extend_from_slice(&more);
    match daemon_error(&tail) {
        Some(msg) => ArchiveError::ExportAborted(msg),
        None => err,
    }
}

/// Finds the last daemon error document in `tail` and returns its message.
pub fn daemon_error(tail: &[u8]) -> Option<String> {
    const STARTS: [&[u8]; 2] = [b"{\"errorDetail\"", b"{\"error\""];
    let start = STARTS
        .iter()
        .filter_map(|pat| tail.windows(pat.len()).rposition(|w| w == *pat))
        .min()?;
    let mut docs =
        serde_json::Deserializer::from_slice(&tail[start..]).into_iter::<serde_json::Value>();
    let doc = docs.next()?.ok()?;
    // Only a document that ends the stream is the daemon's tail; a JSON file inside a
    // layer is not.
    let rest = &tail[start + docs.byte_offset()..];
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let detail = doc
        .get("errorDetail")
        .and_then(|d| d.get("message"))
        .and_then(|m| m.as_str());
    let plain = doc.get("error").and_then(|m| m.as_str());
    detail.or(plain).map(|m| m.chars().take(1000).collect())
}

/// A reader that remembers the last [`TAIL`] bytes read through it.
struct Recorder<R> {
    inner: R,
    tail: Vec<u8>,
}

impl<R> Recorder<R> {
    fn new(inner: R) -> Self {
        Recorder {
            inner,
            tail: Vec::new(),
        }
    }
}

impl<R: Read> Read for Recorder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tail.extend_from_slice(&buf[..n]);
        if self.tail.len() > 2 * TAIL {
            let cut = self.tail.len() - TAIL;
            self.tail.drain(..cut);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_daemon_error() {
        let mut tail = vec![0u8; 100];
        tail.extend_from_slice(br#"{"errorDetail":{"message":"reference does not exist"},"error":"reference does not exist"}"#);
        tail.extend_from_slice(b"\r\n");
        assert_eq!(
            daemon_error(&tail).as_deref(),
            Some("reference does not exist")
        );
        assert_eq!(
            daemon_error(br#"xx{"error":"boom"}"#).as_deref(),
            Some("boom")
        );
        assert_eq!(daemon_error(b"\0\0\0 plain garbage"), None);
        assert_eq!(daemon_error(br#"{"errorDetail": 5"#), None);
        assert_eq!(
            daemon_error(br#"{"error":"in a layer"} more tar bytes"#),
            None
        );
    }
}
