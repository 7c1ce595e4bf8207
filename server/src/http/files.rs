//! File-content routes over a finished analysis: the versions of one path
//! (`/files/versions`), the bytes of one version (`/layers/{n}/file`, with Range, ETag and
//! `If-None-Match`), and the diff of two versions (`/files/diff`).
//!
//! Image content is attacker-controlled and is never rendered in Strata's origin: every
//! byte answer is `application/octet-stream` (or `text/plain; charset=utf-8` for the
//! viewer), `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox`, and
//! downloads are attachments. Paths are looked up in the layer index by raw bytes
//! (`path_raw`, base64) or text, never joined onto a host path. At most
//! [`slots::MAX_CONCURRENT_READS`] reads run at once, [`slots::MAX_READS_PER_USER`] of
//! them for one user (429 beyond); a text view answers at most [`MAX_VIEW_BYTES`] per request
//! (page with Range).

use super::analysis::AnalysedImage;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, ImagePath};
use super::jobs::Owner;
use super::state::AppState;
use super::tree::{analysis_of, kind, layer_index};
use crate::content::{self, FileBytes, ReadError, Side, MAX_DIFF_BYTES};
use app::api::{decode_raw, encode_raw, etag, FileDiff, FileVersion, FileVersions, VersionChange};
use app::filetree::{self, Follow, OpenError, OpenedFile};
use app::fmt::display_path;
use app::model::{Digest, EntryKind};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::io::Read;

mod range;
mod slots;

use range::ByteRange;
pub use slots::{ReadSlot, ReadSlots, MAX_CONCURRENT_READS, MAX_READS_PER_USER};
/// Largest answer of the text view (`as=text`); larger files are paged with Range.
pub const MAX_VIEW_BYTES: u64 = 1 << 20;
/// Bytes per chunk streamed to the client.
const CHUNK: usize = 64 << 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/files/versions", get(versions))
        .route("/images/{id}/layers/{n}/file", get(file))
        .route("/images/{id}/files/diff", get(diff))
}

#[derive(Debug, Default, Deserialize)]
struct PathQuery {
    /// The path as UTF-8 text (leading `/` optional).
    path: Option<String>,
    /// The path as raw bytes, standard base64 (wins over `path`).
    path_raw: Option<String>,
}

impl PathQuery {
    fn bytes(&self) -> Result<Vec<u8>, ApiError> {
        raw_path(self.path_raw.as_deref(), self.path.as_deref())
    }
}

fn raw_path(path_raw: Option<&str>, path: Option<&str>) -> Result<Vec<u8>, ApiError> {
    let p = match (path_raw, path) {
        (Some(raw), _) => decode_raw(raw)
            .map_err(|e| ApiError::BadRequest(format!("path_raw is not base64: {e}")))?,
        (None, Some(p)) => p.as_bytes().to_vec(),
        (None, None) => return Err(ApiError::BadRequest("give path= or path_raw=".into())),
    };
    Ok(p.strip_prefix(b"/").map(<[u8]>::to_vec).unwrap_or(p))
}

fn open_error(path: &[u8], e: OpenError) -> ApiError {
    let shown = format!("/{}: {e}", display_path(path));
    match e {
        OpenError::Absent { .. } | OpenError::NoLayer { .. } | OpenError::Dangling { .. } => {
            ApiError::NotFound(shown)
        }
        _ => ApiError::BadRequest(shown),
    }
}

fn read_error(e: ReadError) -> ApiError {
    match e {
        ReadError::NotAFile(_) => ApiError::BadRequest(e.to_string()),
        other => ApiError::SourceFailed(other.to_string()),
    }
}

async fn versions(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> Result<Json<FileVersions>, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let path = q.bytes()?;
    let commands = layer_commands(&analysis);
    let tree = &analysis.tree;
    let rows: Vec<FileVersion> = tree
        .versions_of(&path)
        .iter()
        .map(|v| {
            let entry = v.entry;
            let readable = tree.open_in_layer(&path, v.layer, Follow::Yes).is_ok();
            FileVersion {
                layer: v.layer,
                change: change(v.change),
                kind: entry.map(|e| kind(e.kind)),
                size: entry.map_or(0, |e| e.size),
                mode: entry.map_or(0, |e| e.mode),
                link: entry.and_then(|e| e.link.as_deref()).map(display_path),
                replaced_at: v.replaced_at,
                readable,
                etag: entry.and_then(|e| e.crc64.map(|c| etag(c, e.size))),
                command: commands.get(v.layer as usize).cloned().flatten(),
            }
        })
        .collect();
    if rows.is_empty() {
        return Err(ApiError::NotFound(format!(
            "/{}: no layer of this image has this path",
            display_path(&path)
        )));
    }
    Ok(Json(FileVersions {
        path: display_path(&path),
        path_raw: encode_raw(&path),
        versions: rows,
    }))
}

fn change(c: filetree::VersionChange) -> VersionChange {
    match c {
        filetree::VersionChange::Added => VersionChange::Added,
        filetree::VersionChange::Modified => VersionChange::Modified,
        filetree::VersionChange::AttrsOnly => VersionChange::AttrsOnly,
        filetree::VersionChange::Deleted => VersionChange::Deleted,
    }
}

/// The Dockerfile step of each layer, from the config's history.
fn layer_commands(analysis: &AnalysedImage) -> Vec<Option<String>> {
    let config = &analysis.image.config;
    config
        .layer_history()
        .iter()
        .map(|h| {
            h.and_then(|i| config.history.get(i))
                .and_then(|h| h.created_by.clone())
        })
        .collect()
}

/// Which version of the path a read returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scope {
    /// The version stored in layer n's own tar (even if a later layer hides it).
    #[default]
    Layer,
    /// The path as the merged filesystem at layer n shows it.
    Stacked,
}

/// How the bytes are labelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum View {
    #[default]
    Raw,
    Text,
}

#[derive(Debug, Default, Deserialize)]
struct FileQuery {
    path: Option<String>,
    path_raw: Option<String>,
    scope: Option<Scope>,
    follow: Option<bool>,
    #[serde(rename = "as")]
    view: Option<View>,
    download: Option<bool>,
}

fn open_version<'a>(
    analysis: &'a AnalysedImage,
    path: &[u8],
    k: u32,
    scope: Scope,
    follow: Follow,
) -> Result<OpenedFile<'a>, ApiError> {
    let tree = &analysis.tree;
    match scope {
        Scope::Layer => tree.open_in_layer(path, k, follow),
        Scope::Stacked => tree.open_at(path, k, follow),
    }
    .map_err(|e| open_error(path, e))
}

async fn file(
    State(state): State<AppState>,
    owner: Owner,
    ImagePath(id): ImagePath,
    ApiPath((_, n)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<FileQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let k = layer_index(&analysis.tree, &n)?;
    let path = raw_path(q.path_raw.as_deref(), q.path.as_deref())?;
    let follow = if q.follow.unwrap_or(true) {
        Follow::Yes
    } else {
        Follow::No
    };
    let view = q.view.unwrap_or_default();
    let opened = open_version(&analysis, &path, k, q.scope.unwrap_or_default(), follow)?;
    let entry = opened.entry.clone();
    let layer = opened.layer;
    let name = display_path(opened.path.rsplit(|b| *b == b'/').next().unwrap_or(b"file"));
    let tag = match entry.kind {
        EntryKind::Symlink => None,
        _ => entry.crc64.map(|c| etag(c, entry.size)),
    };
    let mut out = HeaderMap::new();
    decorate(&mut out, view, q.download.unwrap_or(false), &name, layer);
    if let Some(t) = &tag {
        if let Ok(v) = HeaderValue::from_str(t) {
            out.insert(header::ETAG, v);
        }
        let matches = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|x| x.trim() == t || x.trim() == "*"));
        if matches {
            return Ok((StatusCode::NOT_MODIFIED, out).into_response());
        }
    }
    if entry.kind == EntryKind::Symlink {
        // Not followed: the body is the link's target.
        let target = entry.link.as_deref().unwrap_or_default().to_vec();
        set_num(&mut out, "x-strata-file-size", target.len() as u64);
        return Ok((StatusCode::OK, out, target).into_response());
    }
    let size = entry.size;
    set_num(&mut out, "x-strata-file-size", size);
    let requested = ByteRange::parse(headers.get(header::RANGE), size);
    let (range, partial) = match requested {
        Ok(Some(r)) => (r, true),
        Ok(None) => (
            ByteRange {
                start: 0,
                end: size,
            },
            false,
        ),
        Err(()) => {
            out.insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, out).into_response());
        }
    };
    // The text view pages: one answer holds at most MAX_VIEW_BYTES.
    let range = match view {
        View::Text if range.len() > MAX_VIEW_BYTES => ByteRange {
            start: range.start,
            end: range.start + MAX_VIEW_BYTES,
        },
        _ => range,
    };
    let partial = partial || range.len() < size;
    let permit = read_slot(&state, &owner)?;
    let bytes = state
        .backend
        .layer_bytes(analysis.image.clone(), layer)
        .await?;
    let start = range.start;
    let contents = state.contents.clone();
    let FileBytes { reader, .. } =
        tokio::task::spawn_blocking(move || contents.open_file(&bytes, &entry, start))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(read_error)?;
    out.insert(
        header::CONTENT_LENGTH,
        header_value(&range.len().to_string()),
    );
    let status = if partial {
        out.insert(
            header::CONTENT_RANGE,
            header_value(&format!(
                "bytes {}-{}/{size}",
                range.start,
                range.end.saturating_sub(1)
            )),
        );
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let body = stream(Box::new(reader.take(range.len())), permit);
    Ok((status, out, body).into_response())
}

/// A file-read slot for `owner`, or 429.
fn read_slot(state: &AppState, owner: &Owner) -> Result<ReadSlot, ApiError> {
    state.content_reads.acquire(owner.0.clone())
}

/// The headers every byte answer carries.
fn decorate(out: &mut HeaderMap, view: View, download: bool, name: &str, layer: u32) {
    let content_type = match view {
        View::Raw => "application/octet-stream",
        View::Text => "text/plain; charset=utf-8",
    };
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    let disposition = if download { "attachment" } else { "inline" };
    out.insert(
        header::CONTENT_DISPOSITION,
        header_value(&format!(
            "{disposition}; filename=\"{}\"; filename*=UTF-8''{}",
            ascii_name(name),
            percent(name)
        )),
    );
    set_num(out, "x-strata-layer", u64::from(layer));
}

fn set_num(out: &mut HeaderMap, name: &'static str, n: u64) {
    out.insert(name, header_value(&n.to_string()));
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// The file name for the plain `filename=` parameter: printable ASCII without quotes.
fn ascii_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "file".into()
    } else {
        s
    }
}

/// RFC 5987 percent-encoding for `filename*`.
fn percent(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Streams a blocking reader as the response body (the permit is held until the end).
fn stream(mut reader: Box<dyn Read + Send>, permit: ReadSlot) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        loop {
            let mut buf = vec![0u8; CHUNK];
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break; // the client went away
                    }
                }
                Err(e) => {
                    tracing::warn!("file read failed mid-stream: {e}");
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

#[derive(Debug, Default, Deserialize)]
struct DiffQuery {
    path: Option<String>,
    path_raw: Option<String>,
    /// Layer of the first version (stored in that layer's tar).
    from: Option<u32>,
    /// Layer of the second version.
    to: Option<u32>,
    /// Another image: compare the path in both images' final filesystems.
    other: Option<String>,
    /// The path in `other` (default: the same path).
    other_path: Option<String>,
}

async fn diff(
    State(state): State<AppState>,
    owner: Owner,
    ImagePath(id): ImagePath,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<FileDiff>, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let path = raw_path(q.path_raw.as_deref(), q.path.as_deref())?;
    let (b_analysis, b_path) = match &q.other {
        Some(other) => {
            let other: Digest = super::extract::parse_image_id(other)?;
            let b_path = match &q.other_path {
                Some(p) => raw_path(None, Some(p))?,
                None => path.clone(),
            };
            (analysis_of(&state, &other)?, b_path)
        }
        None => (analysis.clone(), path.clone()),
    };
    let last = |a: &AnalysedImage| a.tree.layer_count().saturating_sub(1);
    let (fa, fb) = match (&q.other, q.from, q.to) {
        (Some(_), _, _) => (
            open_version(
                &analysis,
                &path,
                last(&analysis),
                Scope::Stacked,
                Follow::Yes,
            )?,
            open_version(
                &b_analysis,
                &b_path,
                last(&b_analysis),
                Scope::Stacked,
                Follow::Yes,
            )?,
        ),
        (None, Some(a), Some(b)) => (
            open_version(&analysis, &path, a, Scope::Layer, Follow::Yes)?,
            open_version(&analysis, &path, b, Scope::Layer, Follow::Yes)?,
        ),
        (None, _, _) => {
            return Err(ApiError::BadRequest(
                "give from= and to= (two layers), or other= (another image)".into(),
            ))
        }
    };
    for f in [&fa, &fb] {
        if f.entry.kind != EntryKind::File {
            return Err(ApiError::BadRequest(format!(
                "/{} is not a regular file",
                display_path(&f.path)
            )));
        }
    }
    let _permit = read_slot(&state, &owner)?;
    let bytes_a = state
        .backend
        .layer_bytes(analysis.image.clone(), fa.layer)
        .await?;
    let bytes_b = state
        .backend
        .layer_bytes(b_analysis.image.clone(), fb.layer)
        .await?;
    let (ea, eb) = (fa.entry.clone(), fb.entry.clone());
    let (la, lb) = (fa.layer, fb.layer);
    let (ia, ib) = (analysis.image.id.clone(), b_analysis.image.id.clone());
    let contents = state.contents.clone();
    let result = tokio::task::spawn_blocking(move || {
        let a = Side {
            image: ia,
            layer: la,
            entry: &ea,
            bytes: bytes_a,
        };
        let b = Side {
            image: ib,
            layer: lb,
            entry: &eb,
            bytes: bytes_b,
        };
        content::diff(&contents, &a, &b, MAX_DIFF_BYTES)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(read_error)?;
    Ok(Json(result))
}
