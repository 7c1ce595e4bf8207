//! The treemap route: one directory of the filesystem as of layer n with its
//! descendants a few levels deep, largest first, capped at `limit` nodes (the smallest
//! folded), so even a 300k-file layer answers with a bounded body. The selection is
//! [`app::treemap::plan`]; rows reuse the tree route's marks and node conversion.

use super::error::ApiError;
use super::state::AppState;
use super::tree::{analysis_of, query, to_node};
use app::api::{decode_raw, encode_raw, DiffMark, NodeKind, Treemap, TreemapNode};
use app::fmt::display_path;
use app::model::EntryKind;
use app::treemap::{plan, PlanKind};
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

/// Default and maximum levels expanded below the directory.
const DEPTH: u32 = 2;
const DEPTH_MAX: u32 = 6;
/// Default and maximum nodes per answer.
const LIMIT: u64 = 300;
const LIMIT_MAX: u64 = 2000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/images/{id}/layers/{n}/treemap", get(layer_treemap))
}

#[derive(Debug, Default, Deserialize)]
struct TreemapQuery {
    /// Directory as UTF-8 text (`usr/bin`, leading `/` optional).
    path: Option<String>,
    /// Directory as raw bytes, standard base64 (wins over `path`).
    path_raw: Option<String>,
    depth: Option<u32>,
    limit: Option<u64>,
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    p.extend_from_slice(dir);
    if !dir.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

async fn layer_treemap(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
    raw_query: RawQuery,
) -> Result<Json<Treemap>, ApiError> {
    let q: TreemapQuery = query(raw_query.0.as_deref())?;
    let analysis = analysis_of(&state, &id)?;
    let tree = &analysis.tree;
    let k: u32 = n
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("layer index {n:?} is not a number")))?;
    if k >= tree.layer_count() {
        return Err(ApiError::NotFound(format!(
            "layer {k} does not exist (the image has {} layers)",
            tree.layer_count()
        )));
    }
    let path: Vec<u8> = match (&q.path_raw, &q.path) {
        (Some(raw), _) => decode_raw(raw)
            .map_err(|e| ApiError::BadRequest(format!("path_raw is not base64: {e}")))?,
        (None, Some(p)) => p.trim_matches('/').as_bytes().to_vec(),
        (None, None) => Vec::new(),
    };
    let shown = display_path(&path);
    let dir = tree
        .lookup(&path, k)
        .ok_or_else(|| ApiError::NotFound(format!("no path /{shown} in layer {k}")))?;
    let info = tree
        .info(dir, k)
        .ok_or_else(|| ApiError::NotFound(format!("no path /{shown} in layer {k}")))?;
    if info.kind != EntryKind::Dir {
        return Err(ApiError::BadRequest(format!("/{shown} is not a directory")));
    }
    let depth = q.depth.unwrap_or(DEPTH).clamp(1, DEPTH_MAX);
    let limit = q.limit.unwrap_or(LIMIT).clamp(1, LIMIT_MAX);
    let chosen = plan(
        tree,
        k,
        dir,
        depth,
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    let changed = analysis.changed_dirs(k);
    // raw path of every item, so children can be joined onto their parent
    let mut raw_paths: Vec<Vec<u8>> = Vec::with_capacity(chosen.items.len());
    let mut nodes: Vec<TreemapNode> = Vec::with_capacity(chosen.items.len());
    for item in &chosen.items {
        let parent_path = item
            .parent
            .and_then(|p| raw_paths.get(p as usize))
            .map_or_else(|| path.clone(), Vec::clone);
        let node = match item.kind {
            PlanKind::Entry(node_id) => {
                let Some(info) = tree.info(node_id, k) else {
                    return Err(ApiError::Internal(format!(
                        "treemap of layer {k}: node {} vanished",
                        node_id.0
                    )));
                };
                let row = to_node(
                    &info,
                    info.kind == EntryKind::Dir && changed.contains_key(&node_id),
                );
                let raw = join(&parent_path, info.name);
                let node = TreemapNode {
                    parent: item.parent,
                    depth: item.depth,
                    name: row.name,
                    path: format!("/{}", display_path(&raw)),
                    path_raw: encode_raw(&raw),
                    kind: row.kind,
                    size: item.size,
                    mark: row.mark,
                    descendants: row.descendants,
                    folded: 0,
                };
                raw_paths.push(raw);
                node
            }
            PlanKind::Folded { count } => {
                let node = TreemapNode {
                    parent: item.parent,
                    depth: item.depth,
                    name: format!("({count} smaller entries)"),
                    path: format!("/{}", display_path(&parent_path)),
                    path_raw: String::new(),
                    kind: NodeKind::Other,
                    size: item.size,
                    mark: DiffMark::Unchanged,
                    descendants: 0,
                    folded: count,
                };
                raw_paths.push(parent_path);
                node
            }
        };
        nodes.push(node);
    }
    Ok(Json(Treemap {
        layer: k,
        path: shown,
        path_raw: encode_raw(&path),
        size: info.size,
        depth,
        limit,
        nodes,
        removed: chosen.removed,
    }))
}
