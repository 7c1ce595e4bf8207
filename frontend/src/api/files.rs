//! File contents: the versions of a path, byte ranges of one version (never a whole
//! file: every read names its range), the download URL, and the line diff of two
//! versions. Bytes are fetched as raw bytes and decoded by the viewer, never rendered by
//! the browser from the server's URL.

use super::{decode, enc, fetch_json, server_error, AbortOnDrop, ApiError, BASE};
use app::api::{Digest, ErrorBody, FileDiff, FileVersions};
use gloo_net::http::{Request, Response};

/// Which copy of a path a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileScope {
    /// The version stored in the layer's own tar (even if a later layer deleted it).
    Layer,
    /// The path as seen in the merged filesystem as of the layer.
    Stacked,
}

impl FileScope {
    fn as_str(self) -> &'static str {
        match self {
            FileScope::Layer => "layer",
            FileScope::Stacked => "stacked",
        }
    }
}

/// Where a read finds a path's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSource {
    pub layer: u32,
    pub scope: FileScope,
    /// Follow links inside the image (else a symlink's own entry: its target text).
    pub follow: bool,
}

/// One range of a file's bytes as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChunk {
    pub bytes: Vec<u8>,
    /// File offset of `bytes[0]`.
    pub start: u64,
    /// The file's whole size (`X-Strata-File-Size`).
    pub total: u64,
    /// The layer whose tar holds the bytes (`X-Strata-Layer`).
    pub layer: Option<u32>,
}

/// `GET /images/{id}/files/versions?path_raw=…`: every state of the path.
pub async fn file_versions(id: &Digest, path_raw: &str) -> Result<FileVersions, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/files/versions?path_raw={}",
        enc(path_raw)
    )))
    .await
}

/// The URL of `GET /images/{id}/layers/{n}/file` for a path; `download` asks for an
/// attachment (what the Download link opens).
pub fn file_url(id: &Digest, path_raw: &str, source: FileSource, download: bool) -> String {
    let mut url = format!(
        "{BASE}/images/{id}/layers/{}/file?path_raw={}&scope={}&follow={}",
        source.layer,
        enc(path_raw),
        source.scope.as_str(),
        source.follow
    );
    if download {
        url.push_str("&download=true");
    }
    url
}

/// The bytes `start..end` of a path (fewer at the end of the file; none when `start` is
/// past it), with the file's size and the layer holding it.
pub async fn file_range(
    id: &Digest,
    path_raw: &str,
    source: FileSource,
    start: u64,
    end: u64,
) -> Result<FileChunk, ApiError> {
    let url = file_url(id, path_raw, source, false);
    let range = format!("bytes={start}-{}", end.max(start + 1) - 1);
    let guard = AbortOnDrop::new();
    let signal = guard.signal();
    let response = Request::get(&url)
        .header("Range", &range)
        .abort_signal(signal.as_ref())
        .send()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    let status = response.status();
    let total = header_u64(&response, "x-strata-file-size");
    let layer = header_u64(&response, "x-strata-layer").and_then(|l| u32::try_from(l).ok());
    if status == 416 {
        // The range starts at or past the end (an empty file): nothing to read.
        let total = total.or_else(|| content_range(&response).map(|r| r.2));
        guard.disarm();
        return Ok(FileChunk {
            bytes: Vec::new(),
            start,
            total: total.unwrap_or(0),
            layer,
        });
    }
    if !response.ok() {
        let body = response.text().await.ok();
        guard.disarm();
        let body = body.and_then(|t| decode::<ErrorBody>(&t).ok());
        return Err(server_error(status, body));
    }
    let range = content_range(&response);
    let bytes = response
        .binary()
        .await
        .map_err(|e| ApiError::Network(e.to_string()));
    guard.disarm();
    let bytes = bytes?;
    let (first, total) = match range {
        Some((first, _, total)) if status == 206 => (first, total),
        _ => (0, total.unwrap_or(bytes.len() as u64)),
    };
    Ok(FileChunk {
        bytes,
        start: first,
        total,
        layer,
    })
}

fn header_u64(response: &Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.trim().parse().ok()
}

/// `Content-Range: bytes A-B/N` (or `bytes */N`) as `(A, B, N)`.
fn content_range(response: &Response) -> Option<(u64, u64, u64)> {
    parse_content_range(&response.headers().get("content-range")?)
}

fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let total = total.trim().parse().ok()?;
    if span.trim() == "*" {
        return Some((0, 0, total));
    }
    let (a, b) = span.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?, total))
}

/// `GET /images/{id}/files/diff?path_raw=…&from=A&to=B`: the versions stored in layers
/// `from` and `to` compared.
pub async fn file_diff(
    id: &Digest,
    path_raw: &str,
    from: u32,
    to: u32,
) -> Result<FileDiff, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/files/diff?path_raw={}&from={from}&to={to}",
        enc(path_raw)
    )))
    .await
}

/// `GET /images/{id}/files/diff?other=`: the path in two images' final filesystems.
pub async fn file_diff_images(
    id: &Digest,
    path_raw: &str,
    other: &Digest,
) -> Result<FileDiff, ApiError> {
    fetch_json(Request::get(&format!(
        "{BASE}/images/{id}/files/diff?path_raw={}&other={}",
        enc(path_raw),
        enc(other.as_str())
    )))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 0-99/1000"), Some((0, 99, 1000)));
        assert_eq!(parse_content_range("bytes */42"), Some((0, 0, 42)));
        assert_eq!(parse_content_range("items 0-1/2"), None);
        assert_eq!(parse_content_range("bytes 5-x/9"), None);
    }

    #[test]
    fn file_urls_name_scope_follow_and_download() {
        let id = Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        let src = FileSource {
            layer: 2,
            scope: FileScope::Stacked,
            follow: false,
        };
        assert_eq!(
            file_url(&id, "ZXRjL2E=", src, true),
            format!(
                "/api/v1/images/{id}/layers/2/file?path_raw=ZXRjL2E%3D&scope=stacked&follow=false&download=true"
            )
        );
    }
}
