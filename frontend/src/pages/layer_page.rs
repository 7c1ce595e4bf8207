//! The layer explorer: pick a layer, switch between "changes in this layer" and
//! "filesystem as of this layer", and browse the lazily loaded tree or a size treemap
//! of the filesystem as of the layer (`?show=treemap&path_raw=<base64>` keeps the
//! treemap and its zoomed directory in the URL). Clicking a file in the tree opens it in
//! the file viewer beside the tree, as of the layer and view shown; the open file is in
//! the URL too (`&file=<base64>`), so a link shows it and Back closes it.

use crate::api;
use crate::components::{AnalysisProgress, ErrorNotice, FileTree, FileViewer, Treemap};
use crate::routes::{encode_query, parse_view, AppRoute, ImageParams};
use app::api::{Digest, TreeView};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params, use_query_map};

/// The layer explorer's URL, with the treemap state (`Some(path_raw)` when the treemap
/// is shown; empty = the root) and the file open in the viewer (`path_raw`).
fn page_path(
    id: Digest,
    layer: u32,
    view: TreeView,
    treemap: Option<&str>,
    file: Option<&str>,
) -> String {
    let mut path = match treemap {
        None => AppRoute::Layer { id, layer, view },
        Some(raw) => AppRoute::LayerTreemap {
            id,
            layer,
            view,
            path_raw: raw.to_owned(),
        },
    }
    .path();
    if let Some(raw) = file.filter(|f| !f.is_empty()) {
        path.push_str("&file=");
        path.push_str(&encode_query(raw));
    }
    path
}

/// `/images/{id}/layers/{n}?view=layer|stacked[&show=treemap[&path_raw=…]]`.
#[component]
pub fn LayerPage() -> impl IntoView {
    let params = use_params::<ImageParams>();
    move || match ImageParams::image_id(&params.read()) {
        Ok(id) => view! { <LayerView id/> }.into_any(),
        Err(e) => {
            view! { <ErrorNotice what="this layer" error=api::ApiError::BadLink(e)/> }.into_any()
        }
    }
}

/// The layer explorer of one image; the layer and the view come from the URL.
#[component]
fn LayerView(id: Digest) -> impl IntoView {
    let params = use_params::<ImageParams>();
    let query = use_query_map();
    let id = Signal::stored(id);
    let layer = Memo::new(move |_| {
        params
            .read()
            .as_ref()
            .ok()
            .and_then(|p| p.layer)
            .unwrap_or(0)
    });
    let view_mode = Memo::new(move |_| parse_view(query.read().get("view").as_deref()));
    let show_map = Memo::new(move |_| query.read().get("show").as_deref() == Some("treemap"));
    let map_path = Memo::new(move |_| query.read().get("path_raw").unwrap_or_default());
    let ready = RwSignal::new(false);
    // The raw path open in the file viewer, from the URL.
    let open_file = Memo::new(move |_| query.read().get("file").filter(|f| !f.is_empty()));
    let detail = LocalResource::new(move || {
        let id = id.get();
        async move { api::image_detail(&id).await }
    });
    let navigate = use_navigate();

    // Every move keeps the open file (the viewer shows it as of the new layer and view).
    let go_file =
        move |layer: u32, view: TreeView, treemap: Option<String>, file: Option<String>| {
            let path = page_path(
                id.get_untracked(),
                layer,
                view,
                treemap.as_deref(),
                file.as_deref(),
            );
            navigate(&path, Default::default());
        };
    let go_to = {
        let go_file = go_file.clone();
        move |layer: u32, view: TreeView, treemap: Option<String>| {
            go_file(layer, view, treemap, open_file.get_untracked());
        }
    };
    let open_with = move |file: Option<String>| {
        let treemap = show_map.get_untracked().then(|| map_path.get_untracked());
        go_file(
            layer.get_untracked(),
            view_mode.get_untracked(),
            treemap,
            file,
        );
    };
    let on_open = {
        let open_with = open_with.clone();
        Callback::new(move |raw: String| open_with(Some(raw)))
    };
    let on_close = Callback::new(move |()| open_with(None));
    let go = {
        let go_to = go_to.clone();
        move |layer: u32, view: TreeView| {
            let treemap = show_map.get_untracked().then(|| map_path.get_untracked());
            go_to(layer, view, treemap);
        }
    };
    let go_layer = go.clone();
    let go_view = go.clone();
    let go_show = go_to.clone();
    let go_zoom = go_to.clone();
    let on_zoom = Callback::new(move |raw: String| {
        go_zoom(layer.get_untracked(), view_mode.get_untracked(), Some(raw));
    });

    view! {
        <section class="layer-page" data-testid="layer-page">
            <nav class="crumbs">
                <A href=AppRoute::Images.path()>"Images"</A>" / "
                <A href=move || AppRoute::Image { id: id.get() }.path() attr:data-testid="back-to-image">
                    {move || id.get().short().to_owned()}
                </A>
                {move || format!(" / layer {}", layer.get())}
            </nav>
            <h1>"Layer explorer"</h1>
            <div class="toolbar">
                <Suspense fallback=|| ()>
                    {move || {
                        let go_layer = go_layer.clone();
                        Suspend::new(async move {
                            match detail.await {
                                Err(e) => view! { <ErrorNotice what="this image" error=e/> }.into_any(),
                                Ok(d) => {
                                    let options = d.layers.iter().map(|l| {
                                        let text = format!("{} · {} · {}", l.index, app::fmt::size(l.size), l.created_by.chars().take(60).collect::<String>());
                                        let index = l.index;
                                        view! { <option value=index.to_string() selected=move || layer.get() == index>{text}</option> }
                                    }).collect_view();
                                    view! {
                                        <label class="layer-pick">"Layer "
                                            <select data-testid="layer-select" on:change=move |ev| {
                                                if let Ok(n) = event_target_value(&ev).parse::<u32>() {
                                                    go_layer(n, view_mode.get_untracked());
                                                }
                                            }>{options}</select>
                                        </label>
                                    }.into_any()
                                }
                            }
                        })
                    }}
                </Suspense>
                <div class="segmented" role="group" aria-label="Tree view">
                    <button
                        class=move || if view_mode.get() == TreeView::Layer { "seg active" } else { "seg" }
                        data-testid="view-layer"
                        on:click={ let go_view = go_view.clone(); move |_| go_view(layer.get_untracked(), TreeView::Layer) }
                    >"Changes in this layer"</button>
                    <button
                        class=move || if view_mode.get() == TreeView::Stacked { "seg active" } else { "seg" }
                        data-testid="view-stacked"
                        on:click=move |_| go_view(layer.get_untracked(), TreeView::Stacked)
                    >"Filesystem as of this layer"</button>
                </div>
                <div class="segmented" role="group" aria-label="Picture">
                    <button
                        class=move || if show_map.get() { "seg" } else { "seg active" }
                        aria-pressed=move || (!show_map.get()).to_string()
                        data-testid="show-tree"
                        on:click={ let go_show = go_show.clone(); move |_| go_show(layer.get_untracked(), view_mode.get_untracked(), None) }
                    >"Tree"</button>
                    <button
                        class=move || if show_map.get() { "seg active" } else { "seg" }
                        aria-pressed=move || show_map.get().to_string()
                        data-testid="show-treemap"
                        title="Sizes of the filesystem as of this layer, coloured by what this layer changed"
                        on:click=move |_| go_show(layer.get_untracked(), view_mode.get_untracked(), Some(map_path.get_untracked()))
                    >"Treemap"</button>
                </div>
            </div>
            {move || {
                let info = detail.get().and_then(|r| r.ok()).and_then(|d| d.layers.get(layer.get() as usize).cloned());
                info.map(|l| view! {
                    <p class="layer-info" data-testid="layer-info">
                        <code class="pre">{l.created_by}</code>
                        <span class="muted">{format!(" · {} · {}", app::fmt::size(l.size), l.diff_id)}</span>
                    </p>
                })
            }}
            {move || (!ready.get()).then(|| {
                let image_id = id.get();
                view! { <AnalysisProgress start=image_id on_done=Callback::new(move |_| ready.set(true))/> }
            })}
            {move || ready.get().then(|| view! {
                <div class=move || if open_file.read().is_some() { "explorer-body with-viewer" } else { "explorer-body" }>
                    {move || if show_map.get() {
                        view! { <Treemap image_id=id.get() layer=layer.get() path_raw=map_path on_zoom=on_zoom/> }.into_any()
                    } else {
                        view! {
                            <FileTree image_id=id.get() layer=layer.get() view=view_mode.get()
                                on_open=on_open open_path=Signal::derive(move || open_file.get())/>
                        }.into_any()
                    }}
                    {move || open_file.get().map(|raw| view! {
                        <FileViewer image_id=id.get() path_raw=raw layer=layer.get() view=view_mode.get() on_close=on_close/>
                    })}
                </div>
            })}
        </section>
    }
}
