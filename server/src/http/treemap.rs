//! The treemap route: one directory of the filesystem as of layer n with its
//! descendants a few levels deep, largest first, capped at `limit` nodes (the smallest
//! folded), so even a 300k-file layer answers with a bounded body. The selection is
//! [`app::treemap::plan`]; rows reuse the tree route's marks and node conversion.

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, ImagePath};
use super::state::AppState;
use super::tree::{analysis_of, dir_at, layer_index, to_node};
use app::api::{encode_raw, DiffMark, NodeKind, Treemap, TreemapNode};
use app::fmt::display_path;
use app::model::EntryKind;
use app::treemap::{plan, PlanKind};
use axum::extract::State;
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
    ImagePath(id): ImagePath,
    ApiPath((_, n)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<TreemapQuery>,
) -> Result<Json<Treemap>, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let tree = &analysis.tree;
    let k = layer_index(tree, &n)?;
    let (dir, path) = dir_at(tree, k, q.path_raw.as_deref(), q.path.as_deref())?;
    let size = tree.info(dir, k).map_or(0, |i| i.size);
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
        path: display_path(&path),
        path_raw: encode_raw(&path),
        size,
        depth,
        limit,
        nodes,
        removed: chosen.removed,
    }))
}
