//! Path search in one layer's tree: `GET /images/{id}/layers/{n}/search?q=&mode=&view=`
//! walks the layer's own changes (`view=layer`) or the whole filesystem as of the layer
//! (`view=stacked`, iteratively, parents first) and returns the matching paths, paged.
//! Matching is a substring (ASCII case-insensitive) or a glob ([`globset`]: `*` and `?`
//! stay within one path segment, `**` crosses them; case-sensitive).

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, ImagePath};
use super::state::AppState;
use super::tree::{analysis_of, kind, layer_index, mark, page_bounds};
use app::api::{encode_raw, Page, SearchHit, SearchMode, TreeView};
use app::filetree;
use app::fmt::display_path;
use app::model::EntryKind;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use globset::{Candidate, GlobBuilder, GlobMatcher};
use serde::Deserialize;

/// Default and maximum hits per page.
const SEARCH_LIMIT: u64 = 200;
const SEARCH_MAX: u64 = 2000;
/// Longest accepted query.
const MAX_QUERY: usize = 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route("/images/{id}/layers/{n}/search", get(search))
}

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    mode: Option<SearchMode>,
    view: Option<TreeView>,
    offset: Option<u64>,
    limit: Option<u64>,
}

/// Whether `hay` contains `needle`, ASCII case-insensitively (`needle` lower-case).
fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The glob matcher for `pattern`: `*` and `?` never match a `/`, `**` does.
fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()?
        .compile_matcher())
}

/// The matcher for one query, called with a node's path (`a/b/c`) and name (`c`). A
/// pattern without `/` is matched against the name only. Fails on a malformed glob.
fn matcher(
    q: &str,
    mode: SearchMode,
) -> Result<impl Fn(&[u8], &[u8]) -> bool + Send, globset::Error> {
    let needle = q.trim_start_matches('/');
    let lower = needle.as_bytes().to_ascii_lowercase();
    let whole_path = needle.contains('/');
    let glob = match mode {
        SearchMode::Substring => None,
        SearchMode::Glob => Some(glob(needle)?),
    };
    Ok(move |path: &[u8], name: &[u8]| match &glob {
        None => contains_ignore_case(path, &lower),
        Some(g) => {
            g.is_match_candidate(&Candidate::from_bytes(if whole_path { path } else { name }))
        }
    })
}

async fn search(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
    ApiPath((_, n)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Page<SearchHit>>, ApiError> {
    let text = q.q.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "q is empty: give a part of a path or a glob such as *.so or usr/**/*.py".into(),
        ));
    }
    if text.len() > MAX_QUERY {
        return Err(ApiError::BadRequest(format!(
            "q is {} bytes long; at most {MAX_QUERY}",
            text.len()
        )));
    }
    let analysis = analysis_of(&state, &id)?;
    let k = layer_index(&analysis.tree, &n)?;
    let mode = q.mode.unwrap_or_default();
    let view = q.view.unwrap_or_default();
    let (offset, limit) = page_bounds(q.offset, q.limit, SEARCH_LIMIT, SEARCH_MAX);
    let matches = matcher(&text, mode)
        .map_err(|e| ApiError::BadRequest(format!("q is not a valid glob: {e}")))?;
    let page = tokio::task::spawn_blocking(move || {
        let tree = &analysis.tree;
        let changed = (view == TreeView::Layer).then(|| analysis.changed_dirs(k));
        let mut total = 0u64;
        let mut items = Vec::new();
        tree.for_each_path_at(k, |node, path| {
            if !matches(path, tree.name(node)) {
                return;
            }
            if view == TreeView::Layer && tree.changes(k).binary_search(&node).is_err() {
                return;
            }
            let Some(info) = tree.info(node, k) else {
                return;
            };
            if view == TreeView::Stacked && info.mark == filetree::DiffMark::Removed {
                return;
            }
            total += 1;
            if total > offset && (items.len() as u64) < limit {
                let size = match (&changed, info.kind) {
                    (Some(c), EntryKind::Dir) => c.get(&node).copied().unwrap_or(0),
                    _ => info.size,
                };
                items.push(SearchHit {
                    path: format!("/{}", display_path(path)),
                    path_raw: encode_raw(path),
                    kind: kind(info.kind),
                    size,
                    mark: mark(info.mark),
                });
            }
        });
        Page {
            items,
            total,
            offset,
            limit,
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("search task failed: {e}")))?;
    Ok(Json(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob_match(pattern: &str, text: &[u8]) -> bool {
        glob(pattern)
            .unwrap()
            .is_match_candidate(&Candidate::from_bytes(text))
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.so", b"libc.so"));
        assert!(!glob_match("*.so", b"lib/libc.so"));
        assert!(glob_match("usr/**/*.py", b"usr/lib/python3/x.py"));
        assert!(glob_match("usr/*/x.py", b"usr/lib/x.py"));
        assert!(!glob_match("usr/*/x.py", b"usr/lib/a/x.py"));
        assert!(glob_match("?bc", b"abc"));
        assert!(!glob_match("a?c", b"a/c"));
        assert!(glob_match("**", b""));
        assert!(!glob_match("abc", b"abcd"));
    }

    #[test]
    fn matchers() {
        let m = matcher("BIN/E", SearchMode::Substring).unwrap();
        assert!(m(b"usr/bin/env", b"env"));
        assert!(!m(b"usr/lib/env", b"env"));
        let g = matcher("*.txt", SearchMode::Glob).unwrap();
        assert!(g(b"data/sub/deep.txt", b"deep.txt"));
        assert!(!g(b"data/sub/deep.md", b"deep.md"));
        let p = matcher("/data/*.txt", SearchMode::Glob).unwrap();
        assert!(p(b"data/keep.txt", b"keep.txt"));
        assert!(!p(b"data/sub/deep.txt", b"deep.txt"));
        assert!(matcher("[a", SearchMode::Glob).is_err(), "malformed glob");
        assert!(matcher("[a", SearchMode::Substring).is_ok());
    }
}
