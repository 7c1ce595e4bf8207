//! A size treemap of the filesystem as of one layer: one SVG rectangle per entry the
//! server chose (largest first, the smallest folded), nested a few levels, coloured by
//! the entry's diff mark in that layer. Directories zoom in on click or Enter; the
//! breadcrumb zooms out. The zoomed directory lives in the page URL (`path_raw`).

use crate::api;
use crate::components::ErrorNotice;
use app::api::{decode_raw, encode_raw, DiffMark, Digest, NodeKind};
use app::fmt::display_path;
use app::treemap::{layout_nested, Inset, Rect};
use leptos::prelude::*;

/// SVG user units of the drawing (scaled to the container's width).
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 520.0;
/// Levels and nodes asked of the server.
const DEPTH: u32 = 3;
const LIMIT: u64 = 400;
const INSET: Inset = Inset {
    pad: 3.0,
    header: 17.0,
};
/// Rough width of one label character at the label font size.
const CHAR_W: f64 = 6.6;

/// The treemap of `path_raw` (base64 raw path; empty = root) at `layer`.
#[component]
pub fn Treemap(
    image_id: Digest,
    layer: u32,
    /// The directory shown, as raw path bytes in base64 (from the URL).
    #[prop(into)]
    path_raw: Signal<String>,
    /// Called with the base64 raw path of the directory to show next.
    on_zoom: Callback<String>,
) -> impl IntoView {
    let data = LocalResource::new(move || {
        let id = image_id.clone();
        let path = path_raw.get();
        async move { api::treemap(&id, layer, &path, DEPTH, LIMIT).await }
    });
    view! {
        <section class="treemap" data-testid="treemap">
            <Crumbs path_raw=path_raw on_zoom=on_zoom/>
            <Legend/>
            <Suspense fallback=|| view! { <p class="muted">"Loading treemap…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNotice what="the treemap" error=e/> }.into_any(),
                        Ok(map) => view! { <Drawing map=map on_zoom=on_zoom/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// `/ › usr › lib`: every ancestor zooms out; the last one is the current directory.
#[component]
fn Crumbs(path_raw: Signal<String>, on_zoom: Callback<String>) -> impl IntoView {
    move || {
        let raw = decode_raw(&path_raw.get()).unwrap_or_default();
        let parts: Vec<&[u8]> = raw
            .split(|b| *b == b'/')
            .filter(|p| !p.is_empty())
            .collect();
        let mut items = vec![(String::from("/"), String::new())];
        let mut prefix: Vec<u8> = Vec::new();
        for part in &parts {
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(part);
            items.push((display_path(part), encode_raw(&prefix)));
        }
        let last = items.len() - 1;
        let crumbs = items
            .into_iter()
            .enumerate()
            .map(|(i, (label, target))| {
                let sep = (i > 0).then_some(" › ");
                if i == last {
                    view! {
                        <li>{sep}<span class="tm-crumb-current" aria-current="page" data-testid="treemap-crumb">{label}</span></li>
                    }
                    .into_any()
                } else {
                    view! {
                        <li>{sep}<button class="link-btn" data-testid="treemap-crumb" on:click=move |_| on_zoom.run(target.clone())>{label}</button></li>
                    }
                    .into_any()
                }
            })
            .collect_view();
        view! {
            <nav class="tm-crumbs" aria-label="Treemap directory">
                <span class="muted">"Treemap of "</span>
                <ol data-testid="treemap-crumbs">{crumbs}</ol>
            </nav>
        }
    }
}

#[component]
fn Legend() -> impl IntoView {
    let marks = [DiffMark::Added, DiffMark::Modified, DiffMark::Unchanged]
        .into_iter()
        .map(|m| {
            view! {
                <li class=format!("mark-{}", m.as_str())>
                    <span class="tm-swatch" aria-hidden="true"></span>
                    <span class="mark-symbol">{m.symbol()}</span>
                    {label(m)}
                </li>
            }
        })
        .collect_view();
    view! {
        <ul class="tm-legend" data-testid="treemap-legend" aria-label="Colours">
            {marks}
            <li class="tm-folded-key"><span class="tm-swatch" aria-hidden="true"></span>"smaller entries, folded"</li>
            <li class="muted">"Area = bytes as of this layer; click a directory to zoom in"</li>
        </ul>
    }
}

fn label(m: DiffMark) -> &'static str {
    match m {
        DiffMark::Added => "added in this layer",
        DiffMark::Modified => "modified in this layer",
        DiffMark::Removed => "removed in this layer",
        DiffMark::Unchanged => "unchanged",
    }
}

/// The SVG itself.
#[component]
fn Drawing(map: app::api::Treemap, on_zoom: Callback<String>) -> impl IntoView {
    if map.nodes.is_empty() || map.size == 0 {
        let what = if map.nodes.is_empty() {
            "This directory is empty at this layer."
        } else {
            "Nothing here holds any bytes (empty files, links and directories only)."
        };
        return view! { <p class="muted" data-testid="treemap-empty">{what}</p> }.into_any();
    }
    let parents: Vec<Option<u32>> = map.nodes.iter().map(|n| n.parent).collect();
    let sizes: Vec<u64> = map.nodes.iter().map(|n| n.size).collect();
    let rects = layout_nested(&parents, &sizes, Rect::new(0.0, 0.0, WIDTH, HEIGHT), INSET);
    let mut has_kids = vec![false; map.nodes.len()];
    for p in parents.iter().flatten() {
        if let Some(h) = has_kids.get_mut(*p as usize) {
            *h = true;
        }
    }
    let removed = map.removed;
    let shapes = map
        .nodes
        .into_iter()
        .zip(rects)
        .zip(has_kids)
        .filter(|((_, r), _)| r.w >= 1.0 && r.h >= 1.0)
        .map(|((node, r), nested)| {
            let folded = node.folded > 0;
            let dir = node.kind == NodeKind::Dir && !folded;
            let kind = if folded {
                "fold"
            } else if dir {
                "dir"
            } else {
                "file"
            };
            let class = format!(
                "tm-node tm-{kind} mark-{}{}",
                node.mark.as_str(),
                if nested { " tm-nested" } else { "" }
            );
            let size = app::fmt::size(node.size);
            let tip = if folded {
                format!("{} in {} · {size}", node.name, node.path)
            } else {
                format!("{} · {size} · {}", node.path, label(node.mark))
            };
            let aria = tip.clone();
            let text = fit_label(&node.name, &size, r, nested);
            let (tx, ty) = (r.x + 4.0, r.y + 13.0);
            let target = node.path_raw.clone();
            let zoom = move || on_zoom.run(target.clone());
            let zoom_key = zoom.clone();
            view! {
                <g
                    class=class
                    data-testid="treemap-node"
                    data-path=node.path.clone()
                    data-kind=kind
                    data-mark=node.mark.as_str()
                    tabindex=if dir { "0" } else { "-1" }
                    role=if dir { "button" } else { "img" }
                    aria-label=aria
                    on:click=move |_| if dir { zoom() }
                    on:keydown=move |ev| {
                        if dir && (ev.key() == "Enter" || ev.key() == " ") {
                            ev.prevent_default();
                            zoom_key();
                        }
                    }
                >
                    <title>{tip}</title>
                    <rect x=fmt(r.x) y=fmt(r.y) width=fmt(r.w) height=fmt(r.h) rx="2"></rect>
                    {text.map(|t| view! { <text x=fmt(tx) y=fmt(ty) class="tm-label">{t}</text> })}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="tm-svg"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            role="group"
            aria-label="Treemap of the directory; directories are buttons"
            data-testid="treemap-svg"
        >
            {shapes}
        </svg>
        {(removed > 0).then(|| view! {
            <p class="muted tm-removed">{format!("{removed} entries removed by this layer are not drawn (they take no space as of this layer).")}</p>
        })}
    }
    .into_any()
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The label that fits the rectangle: name and size, the name alone, a shortened
/// name, or nothing.
fn fit_label(name: &str, size: &str, r: Rect, nested: bool) -> Option<String> {
    let room = if nested { INSET.header } else { r.h };
    if r.h < 14.0 || room < 13.0 || r.w < 28.0 {
        return None;
    }
    let max_chars = ((r.w - 8.0) / CHAR_W).floor() as usize;
    let full = format!("{name} {size}");
    if full.chars().count() <= max_chars {
        return Some(full);
    }
    if name.chars().count() <= max_chars {
        return Some(name.to_owned());
    }
    (max_chars >= 4).then(|| {
        let mut s: String = name.chars().take(max_chars - 1).collect();
        s.push('…');
        s
    })
}
