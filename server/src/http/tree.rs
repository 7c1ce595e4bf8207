//! Layer tree and ranked-list routes over a finished analysis: the children of ONE
//! directory per request (per-layer changes or the stacked view, sorted, paged), the
//! largest files and the wasted paths with blame (paged).

use super::analysis::AnalysedImage;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, ImagePath};
use super::state::AppState;
use app::api::{
    decode_raw, encode_raw, CopyCause, DiffMark, NodeFlag, NodeKind, Page, RankedFile, TreeNode,
    TreePage, TreeSort, TreeView, WastedCopy, WastedPath,
};
use app::filetree::{self, HideCause, NodeId, NodeInfo, StackedTree, TreeFlag};
use app::fmt::display_path;
use app::model::{Digest, EntryKind};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

/// Default and maximum children per tree page.
const TREE_LIMIT: u64 = 1000;
const TREE_MAX: u64 = 5000;
/// Default and maximum rows per ranked page.
const RANK_LIMIT: u64 = 100;
const RANK_MAX: u64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/layers/{n}/tree", get(layer_tree))
        .route("/images/{id}/files/largest", get(largest_files))
        .route("/images/{id}/wasted", get(wasted_paths))
}

#[derive(Debug, Default, Deserialize)]
struct TreeQuery {
    /// Directory as UTF-8 text (`usr/bin`, leading `/` optional).
    path: Option<String>,
    /// Directory as raw bytes, standard base64 (wins over `path`).
    path_raw: Option<String>,
    view: Option<TreeView>,
    offset: Option<u64>,
    limit: Option<u64>,
    sort: Option<TreeSort>,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    offset: Option<u64>,
    limit: Option<u64>,
}

pub(super) fn page_bounds(
    offset: Option<u64>,
    limit: Option<u64>,
    default: u64,
    max: u64,
) -> (u64, u64) {
    (offset.unwrap_or(0), limit.unwrap_or(default).clamp(1, max))
}

fn slice<T: Clone>(all: &[T], offset: u64, limit: u64) -> Vec<T> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(all.len());
    all[start..end].to_vec()
}

pub(super) fn analysis_of(state: &AppState, id: &Digest) -> Result<Arc<AnalysedImage>, ApiError> {
    state.jobs.analysis(id)
}

pub(super) fn mark(m: filetree::DiffMark) -> DiffMark {
    match m {
        filetree::DiffMark::Added => DiffMark::Added,
        filetree::DiffMark::Modified | filetree::DiffMark::AttrsOnly => DiffMark::Modified,
        filetree::DiffMark::Removed => DiffMark::Removed,
        filetree::DiffMark::Unchanged => DiffMark::Unchanged,
    }
}

pub(super) fn kind(k: EntryKind) -> NodeKind {
    match k {
        EntryKind::File => NodeKind::File,
        EntryKind::Dir => NodeKind::Dir,
        EntryKind::Symlink => NodeKind::Symlink,
        EntryKind::Hardlink => NodeKind::Hardlink,
        EntryKind::CharDevice => NodeKind::CharDevice,
        EntryKind::BlockDevice => NodeKind::BlockDevice,
        EntryKind::Fifo => NodeKind::Fifo,
        EntryKind::Other(_) => NodeKind::Other,
    }
}

fn node_flag(f: TreeFlag) -> NodeFlag {
    match f {
        TreeFlag::Duplicate => NodeFlag::Duplicate,
        TreeFlag::WhiteoutOfNothing => NodeFlag::WhiteoutOfNothing,
        TreeFlag::SameLayerWhiteout => NodeFlag::SameLayerWhiteout,
        TreeFlag::OddWhiteout => NodeFlag::OddWhiteout,
        TreeFlag::ThroughSymlink => NodeFlag::ThroughSymlink,
        TreeFlag::ReplacedSymlink => NodeFlag::ReplacedSymlink,
        TreeFlag::UnresolvedHardlink => NodeFlag::UnresolvedHardlink,
        TreeFlag::Opaque => NodeFlag::Opaque,
        TreeFlag::Implicit => NodeFlag::Implicit,
    }
}

fn copy_cause(c: HideCause) -> CopyCause {
    match c {
        HideCause::Overwritten => CopyCause::Overwritten,
        HideCause::AttrsOnly => CopyCause::AttrsOnly,
        HideCause::Whiteout => CopyCause::Whiteout,
        HideCause::DirWhiteout => CopyCause::DirWhiteout,
        HideCause::Opaque => CopyCause::Opaque,
        HideCause::ParentReplaced => CopyCause::ParentReplaced,
        HideCause::DuplicateInLayer => CopyCause::DuplicateInLayer,
    }
}

/// One row. A directory the layer did not rewrite itself but changed something below is
/// marked `modified` with the flag `changed_below` (as dive marks such directories).
pub(super) fn to_node(info: &NodeInfo<'_>, changed_below: bool) -> TreeNode {
    let mut flags: Vec<NodeFlag> = info.flags.iter().map(node_flag).collect();
    if info.mark == filetree::DiffMark::AttrsOnly {
        flags.push(NodeFlag::AttrsOnly);
    }
    let mut shown = mark(info.mark);
    if shown == DiffMark::Unchanged && changed_below {
        shown = DiffMark::Modified;
        flags.push(NodeFlag::ChangedBelow);
    }
    TreeNode {
        name: display_path(info.name),
        name_raw: encode_raw(info.name),
        kind: kind(info.kind),
        size: info.size,
        mark: shown,
        mode: info.mode,
        uid: info.uid,
        gid: info.gid,
        mtime: info.mtime,
        link: info.link.map(display_path),
        descendants: info.descendants,
        flags,
    }
}

/// Layer `n` (as written in the URL) of a tree, checked against its layer count.
pub(super) fn layer_index(tree: &StackedTree, n: &str) -> Result<u32, ApiError> {
    let k: u32 = n
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("layer index {n:?} is not a number")))?;
    if k >= tree.layer_count() {
        return Err(ApiError::NotFound(format!(
            "layer {k} does not exist (the image has {} layers)",
            tree.layer_count()
        )));
    }
    Ok(k)
}

/// The directory shown at layer `k` named by `path_raw` (standard base64, wins) or
/// `path` (UTF-8, leading `/` optional; neither = the root), with its raw path.
pub(super) fn dir_at(
    tree: &StackedTree,
    k: u32,
    path_raw: Option<&str>,
    path: Option<&str>,
) -> Result<(NodeId, Vec<u8>), ApiError> {
    let path: Vec<u8> = match (path_raw, path) {
        (Some(raw), _) => decode_raw(raw)
            .map_err(|e| ApiError::BadRequest(format!("path_raw is not base64: {e}")))?,
        (None, Some(p)) => p.trim_matches('/').as_bytes().to_vec(),
        (None, None) => Vec::new(),
    };
    let shown = display_path(&path);
    let dir = tree
        .lookup(&path, k)
        .ok_or_else(|| ApiError::NotFound(format!("no path /{shown} in layer {k}")))?;
    if tree.info(dir, k).is_some_and(|i| i.kind != EntryKind::Dir) {
        return Err(ApiError::BadRequest(format!("/{shown} is not a directory")));
    }
    Ok((dir, path))
}

async fn layer_tree(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
    ApiPath((_, n)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<TreeQuery>,
) -> Result<Json<TreePage>, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let tree = &analysis.tree;
    let k = layer_index(tree, &n)?;
    let (dir, path) = dir_at(tree, k, q.path_raw.as_deref(), q.path.as_deref())?;
    let view = q.view.unwrap_or_default();
    let mut children = tree.children(dir, k);
    let changed = analysis.changed_dirs(k);
    if view == TreeView::Layer {
        children.retain(|c| c.mark != filetree::DiffMark::Unchanged || changed.contains_key(&c.id));
    }
    let mut all: Vec<TreeNode> = children
        .iter()
        .map(|c| {
            let mut node = to_node(c, c.kind == EntryKind::Dir && changed.contains_key(&c.id));
            if view == TreeView::Layer && c.kind == EntryKind::Dir {
                // The layer's own bytes below the directory, not the stacked total.
                node.size = changed.get(&c.id).copied().unwrap_or(0);
            }
            node
        })
        .collect();
    if q.sort.unwrap_or_default() == TreeSort::Size {
        all.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    }
    let (offset, limit) = page_bounds(q.offset, q.limit, TREE_LIMIT, TREE_MAX);
    let total = all.len() as u64;
    let nodes: Vec<TreeNode> = all
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Ok(Json(TreePage {
        layer: k,
        view,
        path: display_path(&path),
        path_raw: encode_raw(&path),
        nodes,
        total,
        offset,
        limit,
    }))
}

async fn largest_files(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<RankedFile>>, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let (offset, limit) = page_bounds(q.offset, q.limit, RANK_LIMIT, RANK_MAX);
    let all = &analysis.report.largest;
    let items = slice(all, offset, limit)
        .into_iter()
        .map(|f| RankedFile {
            path: f.path,
            path_raw: encode_raw(&analysis.tree.path_of(f.node)),
            size: f.bytes,
            layer: f.layer,
        })
        .collect();
    Ok(Json(Page {
        items,
        total: all.len() as u64,
        offset,
        limit,
    }))
}

async fn wasted_paths(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<WastedPath>>, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let (offset, limit) = page_bounds(q.offset, q.limit, RANK_LIMIT, RANK_MAX);
    let all = &analysis.report.wasted;
    let items = slice(all, offset, limit)
        .into_iter()
        .map(|w| {
            let mut layers: Vec<u32> = w
                .copies
                .iter()
                .flat_map(|c| [c.added_layer, c.hidden_layer])
                .collect();
            layers.sort_unstable();
            layers.dedup();
            let biggest = w.copies.iter().max_by_key(|c| c.bytes);
            WastedPath {
                path: w.path.clone(),
                path_raw: encode_raw(&analysis.tree.path_of(w.node)),
                wasted: w.bytes,
                layers,
                added_by: biggest.map(|c| c.added_layer),
                hidden_by: biggest.map(|c| c.hidden_layer),
                copies: w
                    .copies
                    .iter()
                    .map(|c| WastedCopy {
                        bytes: c.bytes,
                        added_layer: c.added_layer,
                        hidden_layer: c.hidden_layer,
                        cause: copy_cause(c.cause),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(Json(Page {
        items,
        total: all.len() as u64,
        offset,
        limit,
    }))
}
