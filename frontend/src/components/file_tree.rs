//! The lazily loaded file tree of one layer (its own changes, or the stacked filesystem
//! as of it): a directory's children are fetched when it is first expanded. Marks show
//! by colour and by a text symbol; filters and sort apply client-side to loaded rows.

use crate::api;
use crate::view_model::{flatten_tree, mode_string, Row, TreeRow, TreeSort};
use app::api::{DiffMark, NodeKind, TreeNode, TreeView};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet};

/// Children fetched per directory request.
const DIR_LIMIT: u64 = 2000;

/// Tree state shared by the rows' handlers.
#[derive(Clone, Copy)]
struct TreeState {
    children: RwSignal<HashMap<String, Vec<TreeNode>>>,
    truncated: RwSignal<HashMap<String, u64>>,
    expanded: RwSignal<HashSet<String>>,
    error: RwSignal<Option<String>>,
}

/// Fetches one page of `dir`'s children (from `offset`) and appends it.
fn load_dir(
    state: TreeState,
    image_id: String,
    layer: u32,
    view: TreeView,
    dir: String,
    offset: u64,
) {
    leptos::task::spawn_local(async move {
        match api::tree(&image_id, layer, view, &dir, offset, DIR_LIMIT).await {
            Ok(page) => {
                let loaded = offset + page.nodes.len() as u64;
                state.truncated.update(|t| {
                    if page.total > loaded {
                        t.insert(dir.clone(), page.total - loaded);
                    } else {
                        t.remove(&dir);
                    }
                });
                state.children.update(|c| {
                    c.entry(dir).or_default().extend(page.nodes);
                });
            }
            Err(e) => state.error.set(Some(e.to_string())),
        }
    });
}

/// One file or directory row; clicking a directory toggles it.
fn node_row(row: TreeRow, on_toggle: impl Fn(&TreeRow) + 'static) -> impl IntoView {
    let mark = row.node.mark;
    let is_dir = row.node.kind == NodeKind::Dir;
    let twisty = match (is_dir, row.expanded) {
        (false, _) => " ",
        (true, true) => "▾",
        (true, false) => "▸",
    };
    let link = row.node.link.clone().map(|l| format!(" → {l}"));
    // `changed_below` is already told by the mark; the rest are warnings worth showing.
    let shown_flags: Vec<&str> = row
        .node
        .flags
        .iter()
        .map(String::as_str)
        .filter(|f| *f != "changed_below")
        .collect();
    let flags = (!shown_flags.is_empty()).then(|| format!(" [{}]", shown_flags.join(", ")));
    let indent = format!("{}rem", f64::from(row.depth) * 1.1);
    let name = row.node.name.clone();
    let data_name = name.clone();
    let title = format!("{} · {} bytes", mark.as_str(), row.node.size);
    let size = app::fmt::size(row.node.size);
    let mode = mode_string(row.node.kind, row.node.mode);
    let owner = format!("{}:{}", row.node.uid, row.node.gid);
    let expanded = is_dir.then(|| row.expanded.to_string());
    view! {
        <li
            class=format!("tree-row mark-{}{}", mark.as_str(), if is_dir { " is-dir" } else { "" })
            role="treeitem"
            data-testid="tree-row"
            data-name=data_name
            data-mark=mark.as_str()
            data-kind=if is_dir { "dir" } else { "file" }
            aria-expanded=expanded
            on:click=move |_| on_toggle(&row)
        >
            <span class="col-mark"><span class="mark-symbol" title=title>{mark.symbol()}</span></span>
            <span class="col-name" style:padding-left=indent>
                <span class="twisty" aria-hidden="true">{twisty}</span>
                <span class="node-name">{name}</span>
                <span class="node-link muted">{link}</span>
                <span class="node-flags warn">{flags}</span>
            </span>
            <span class="col-size">{size}</span>
            <span class="col-mode"><code>{mode}</code></span>
            <span class="col-owner">{owner}</span>
        </li>
    }
}

/// The explorer tree of `image_id` at `layer`.
#[component]
pub fn FileTree(image_id: String, layer: u32, view: TreeView) -> impl IntoView {
    let state = TreeState {
        children: RwSignal::new(HashMap::new()),
        truncated: RwSignal::new(HashMap::new()),
        expanded: RwSignal::new(HashSet::new()),
        error: RwSignal::new(None),
    };
    let marks = RwSignal::new(DiffMark::ALL.into_iter().collect::<HashSet<_>>());
    let sort = RwSignal::new(TreeSort::Name);
    load_dir(state, image_id.clone(), layer, view, String::new(), 0);

    let rows = Memo::new(move |_| {
        flatten_tree(
            &state.children.read(),
            &state.truncated.read(),
            &state.expanded.read(),
            &marks.read(),
            sort.get(),
        )
    });
    let on_toggle = {
        let image_id = image_id.clone();
        move |row: &TreeRow| {
            if row.node.kind != NodeKind::Dir {
                return;
            }
            let path = row.path_raw.clone();
            if row.expanded {
                state.expanded.update(|e| {
                    e.remove(&path);
                });
            } else {
                if !row.loaded {
                    load_dir(state, image_id.clone(), layer, view, path.clone(), 0);
                }
                state.expanded.update(|e| {
                    e.insert(path);
                });
            }
        }
    };

    let mark_filters = DiffMark::ALL
        .into_iter()
        .map(|m| {
            let name = m.as_str();
            view! {
                <label class=format!("mark-filter mark-{name}")>
                    <input
                        type="checkbox"
                        data-testid=format!("mark-filter-{name}")
                        prop:checked=move || marks.read().contains(&m)
                        on:change=move |_| marks.update(|s| {
                            if !s.remove(&m) {
                                s.insert(m);
                            }
                        })
                    />
                    <span class="mark-symbol">{m.symbol()}</span>
                    {name}
                </label>
            }
        })
        .collect_view();

    view! {
        <section class="file-tree" data-testid="file-tree">
            <div class="tree-toolbar">
                <span class="toolbar-label">"Show:"</span>
                {mark_filters}
                <label class="sort-pick">
                    "Sort "
                    <select
                        data-testid="tree-sort"
                        on:change=move |ev| sort.set(if event_target_value(&ev) == "size" { TreeSort::Size } else { TreeSort::Name })
                    >
                        <option value="name">"by name"</option>
                        <option value="size">"by size"</option>
                    </select>
                </label>
            </div>
            {move || state.error.get().map(|e| view! {
                <div class="notice notice-error" role="alert" data-testid="tree-error">{e}</div>
            })}
            <div class="tree-header">
                <span class="col-mark">"Mark"</span>
                <span class="col-name">"Name"</span>
                <span class="col-size">"Size"</span>
                <span class="col-mode">"Mode"</span>
                <span class="col-owner">"Owner"</span>
            </div>
            <ul class="tree-rows" role="tree">
                {move || {
                    let on_toggle = on_toggle.clone();
                    let image_id = image_id.clone();
                    rows.get().into_iter().map(|row| match row {
                        Row::Node(row) => node_row(row, on_toggle.clone()).into_any(),
                        Row::More { dir, depth, remaining } => {
                            let image_id = image_id.clone();
                            let pad = format!("{}rem", f64::from(depth) * 1.1 + 4.2);
                            view! {
                                <li class="tree-more" style:padding-left=pad>
                                    <button class="link-btn" data-testid="tree-load-more" on:click=move |_| {
                                        let loaded = state.children.read_untracked().get(&dir).map_or(0, |c| c.len() as u64);
                                        load_dir(state, image_id.clone(), layer, view, dir.clone(), loaded);
                                    }>{format!("Load {} more ({remaining} not shown)", remaining.min(DIR_LIMIT))}</button>
                                </li>
                            }.into_any()
                        }
                    }).collect_view()
                }}
            </ul>
        </section>
    }
}
