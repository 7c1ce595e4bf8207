//! The lazily loaded file tree of one layer (its own changes, or the stacked filesystem
//! as of it): a directory's children are fetched when it is first expanded. Marks show
//! by colour and by a text symbol; filters and sort apply client-side to loaded rows.
//! Only the rows in view are rendered (a fixed row height turns the scroll position into
//! a slice), so a directory of 300k files scrolls smoothly. Keyboard: arrows move and
//! open/close, Enter opens, Home/End/PageUp/PageDown jump, `/` focuses the path search,
//! whose hits reveal themselves in the tree. Clicking a file, link or deletion row (or
//! Enter on it) hands its raw path to `on_open` (the explorer's file viewer).

use super::TreeSearch;
use crate::api;
use crate::tree_nav::{
    ancestors_raw, key_action, scroll_into_view, visible_range, NavAction, ROW_HEIGHT,
};
use crate::view_model::{flatten_tree, mode_string, Row, TreeRow, TreeSort};
use app::api::{DiffMark, Digest, NodeFlag, NodeKind, SearchHit, TreeNode, TreeView};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet};
use wasm_bindgen::JsCast;

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
    image_id: Digest,
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

/// Whether a row of this kind opens in the file viewer.
fn opens(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::File | NodeKind::Symlink | NodeKind::Hardlink | NodeKind::Whiteout
    )
}

/// One file or directory row; clicking a directory toggles it, clicking a file opens it.
fn node_row(
    row: TreeRow,
    focused: bool,
    open: bool,
    on_click: impl Fn(&TreeRow) + 'static,
) -> impl IntoView {
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
        .filter(|f| **f != NodeFlag::ChangedBelow)
        .map(|f| f.label())
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
            class=format!(
                "tree-row mark-{}{}{}{}{}",
                mark.as_str(),
                if is_dir { " is-dir" } else { "" },
                if opens(row.node.kind) { " opens" } else { "" },
                if focused { " focused" } else { "" },
                if open { " open" } else { "" }
            )
            role="treeitem"
            aria-selected=focused.to_string()
            data-testid="tree-row"
            data-name=data_name
            data-mark=mark.as_str()
            data-kind=if is_dir { "dir" } else { "file" }
            aria-expanded=expanded
            on:click=move |_| on_click(&row)
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

/// Height of the row viewport: the list's CSS `max-height` (70vh).
fn viewport_height() -> f64 {
    web_sys::window()
        .and_then(|w| w.inner_height().ok())
        .and_then(|h| h.as_f64())
        .map_or(600.0, |h| (h * 0.7).max(ROW_HEIGHT * 4.0))
}

fn row_depth(r: &Row) -> u32 {
    match r {
        Row::Node(n) => n.depth,
        Row::More { depth, .. } => *depth,
    }
}

/// The explorer tree of `image_id` at `layer`; `on_open` gets the raw path of a file row
/// chosen, `open_path` marks the row open in the viewer.
#[component]
pub fn FileTree(
    image_id: Digest,
    layer: u32,
    view: TreeView,
    #[prop(optional)] on_open: Option<Callback<String>>,
    #[prop(optional, into)] open_path: Signal<Option<String>>,
) -> impl IntoView {
    let state = TreeState {
        children: RwSignal::new(HashMap::new()),
        truncated: RwSignal::new(HashMap::new()),
        expanded: RwSignal::new(HashSet::new()),
        error: RwSignal::new(None),
    };
    let marks = RwSignal::new(DiffMark::ALL.into_iter().collect::<HashSet<_>>());
    let sort = RwSignal::new(TreeSort::Name);
    let focused = RwSignal::new(0usize);
    let scroll_top = RwSignal::new(0.0f64);
    let viewport = viewport_height();
    let scroller = NodeRef::<leptos::html::Ul>::new();
    let search_box = NodeRef::<leptos::html::Input>::new();
    let query = RwSignal::new(String::new());
    // A search hit to focus once its row is loaded.
    let reveal = RwSignal::new(None::<String>);
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
    let toggle = {
        let image_id = image_id.clone();
        move |row: &TreeRow| {
            if row.node.kind != NodeKind::Dir {
                if let (true, Some(open)) = (opens(row.node.kind), on_open) {
                    open.run(row.path_raw.clone());
                }
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
    let load_more = {
        let image_id = image_id.clone();
        move |dir: &str| {
            let loaded = state
                .children
                .read_untracked()
                .get(dir)
                .map_or(0, |c| c.len() as u64);
            load_dir(state, image_id.clone(), layer, view, dir.to_owned(), loaded);
        }
    };
    let focus_row = move |i: usize| {
        focused.set(i);
        if let Some(el) = scroller.get_untracked() {
            let top = scroll_into_view(i, f64::from(el.scroll_top()), viewport);
            el.set_scroll_top(top as i32);
        }
    };
    // Focus a revealed search hit as soon as its row exists.
    Effect::new(move |_| {
        let Some(target) = reveal.get() else { return };
        let all = rows.get();
        if let Some(i) = all
            .iter()
            .position(|r| matches!(r, Row::Node(n) if n.path_raw == target))
        {
            reveal.set(None);
            focus_row(i);
        }
    });
    let on_pick = {
        let image_id = image_id.clone();
        Callback::new(move |hit: SearchHit| {
            for dir in ancestors_raw(&hit.path_raw) {
                if !state.children.read_untracked().contains_key(&dir) {
                    load_dir(state, image_id.clone(), layer, view, dir.clone(), 0);
                }
                state.expanded.update(|e| {
                    e.insert(dir);
                });
            }
            reveal.set(Some(hit.path_raw));
        })
    };
    let on_key = {
        let toggle = toggle.clone();
        let load_more = load_more.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            let all = rows.get_untracked();
            let depths: Vec<u32> = all.iter().map(row_depth).collect();
            let at = focused.get_untracked().min(all.len().saturating_sub(1));
            let row = all.get(at);
            let expanded = matches!(row, Some(Row::Node(n)) if n.expanded);
            let page = (viewport / ROW_HEIGHT) as usize;
            match key_action(&ev.key(), at, all.len(), &depths, expanded, page) {
                NavAction::Focus(i) => {
                    ev.prevent_default();
                    focus_row(i);
                }
                NavAction::Open => {
                    ev.prevent_default();
                    match row {
                        Some(Row::Node(n))
                            if (n.node.kind == NodeKind::Dir && !n.expanded)
                                || opens(n.node.kind) =>
                        {
                            toggle(n)
                        }
                        Some(Row::More { dir, .. }) => load_more(dir),
                        _ => {}
                    }
                }
                NavAction::Close => {
                    ev.prevent_default();
                    if let Some(Row::Node(n)) = row {
                        toggle(n);
                    }
                }
                NavAction::None => {}
            }
        }
    };
    // `/` anywhere on the page (outside a text field) focuses the search box.
    let slash = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() != "/" || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let in_field = ev.target().is_some_and(|t| {
            t.dyn_ref::<web_sys::HtmlInputElement>().is_some()
                || t.dyn_ref::<web_sys::HtmlSelectElement>().is_some()
        });
        if in_field {
            return;
        }
        if let Some(input) = search_box.get_untracked() {
            ev.prevent_default();
            let _ = input.focus();
        }
    });
    on_cleanup(move || slash.remove());

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
    let size_title = match view {
        TreeView::Layer => "Bytes this layer writes (for a directory: below it)",
        TreeView::Stacked => "Bytes in the filesystem as of this layer",
    };

    view! {
        <section class="file-tree" data-testid="file-tree">
            <div class="tree-toolbar">
                <input
                    type="search"
                    class="tree-search"
                    data-testid="tree-search"
                    aria-label="Search paths"
                    placeholder="Search paths ( / ) — text, or a glob like *.so or usr/**/*.py"
                    node_ref=search_box
                    prop:value=query
                    on:input=move |ev| query.set(event_target_value(&ev))
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            query.set(String::new());
                        }
                    }
                />
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
            <TreeSearch image_id=image_id.clone() layer=layer view=view query=Signal::derive(move || query.get()) on_pick=on_pick/>
            {move || state.error.get().map(|e| view! {
                <div class="notice notice-error" role="alert" data-testid="tree-error">{e}</div>
            })}
            <div class="tree-header">
                <span class="col-mark">"Mark"</span>
                <span class="col-name">"Name"</span>
                <span class="col-size" title=size_title>{if view == TreeView::Layer { "Layer bytes" } else { "Size" }}</span>
                <span class="col-mode">"Mode"</span>
                <span class="col-owner">"Owner"</span>
            </div>
            <ul
                class="tree-rows"
                role="tree"
                tabindex="0"
                aria-label="Files"
                data-testid="tree-rows"
                node_ref=scroller
                on:scroll=move |_| {
                    if let Some(el) = scroller.get_untracked() {
                        scroll_top.set(f64::from(el.scroll_top()));
                    }
                }
                on:keydown=on_key
            >
                {move || {
                    let all = rows.get();
                    let total = all.len();
                    let (start, end) = visible_range(scroll_top.get(), viewport, total);
                    let now = focused.get();
                    let open_now = open_path.get();
                    let top = start as f64 * ROW_HEIGHT;
                    let bottom = (total - end) as f64 * ROW_HEIGHT;
                    let shown = all[start..end].iter().cloned().enumerate().map(|(offset, row)| {
                        let index = start + offset;
                        match row {
                            Row::Node(row) => {
                                let toggle = toggle.clone();
                                let open = open_now.as_deref() == Some(row.path_raw.as_str());
                                node_row(row, index == now, open, move |r| {
                                    focused.set(index);
                                    toggle(r);
                                }).into_any()
                            }
                            Row::More { dir, depth, remaining } => {
                                let load_more = load_more.clone();
                                let pad = format!("{}rem", f64::from(depth) * 1.1 + 4.2);
                                view! {
                                    <li class=if index == now { "tree-more focused" } else { "tree-more" } style:padding-left=pad>
                                        <button class="link-btn" data-testid="tree-load-more" on:click=move |_| load_more(&dir)>
                                            {format!("Load {} more ({remaining} not shown)", remaining.min(DIR_LIMIT))}
                                        </button>
                                    </li>
                                }.into_any()
                            }
                        }
                    }).collect_view();
                    view! {
                        <li class="tree-spacer" aria-hidden="true" style:height=format!("{top}px")></li>
                        {shown}
                        <li class="tree-spacer" aria-hidden="true" style:height=format!("{bottom}px")></li>
                    }
                }}
            </ul>
        </section>
    }
}
