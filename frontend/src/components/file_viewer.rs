//! The file viewer of the layer explorer: one path's versions across the image's layers
//! (picked in [`VersionPicker`]), the chosen version's bytes ([`FileContent`]), a symlink's
//! target with a button that follows it inside the image, and "compare with…" another
//! version ([`VersionDiff`]). Opened for a row of the explorer at `layer` in `view`: the
//! version first shown is the one that row stands for.

use super::{DiffOf, ErrorNotice, FileContent, VersionDiff, VersionPicker};
use crate::api::{self, FileScope, FileSource};
use crate::file_model::{diff_layers, follow_layer, has_content, initial_version, version_label};
use crate::view_model::mode_string;
use app::api::{Digest, FileVersion, FileVersions, NodeKind, TreeView, VersionChange};
use leptos::prelude::*;

/// The viewer of `path_raw` (standard base64 of the path) opened from `layer` in `view`.
#[component]
pub fn FileViewer(
    image_id: Digest,
    path_raw: String,
    layer: u32,
    view: TreeView,
    on_close: Callback<()>,
) -> impl IntoView {
    let versions = LocalResource::new({
        let (id, raw) = (image_id.clone(), path_raw.clone());
        move || {
            let (id, raw) = (id.clone(), raw.clone());
            async move { api::file_versions(&id, &raw).await }
        }
    });
    view! {
        <section class="file-viewer panel" data-testid="file-viewer" aria-label="File viewer">
            <Suspense fallback=|| view! { <p class="muted">"Loading the file's versions…"</p> }>
                {move || {
                    let image_id = image_id.clone();
                    Suspend::new(async move {
                        match versions.await {
                            Err(e) => view! {
                                <ViewerHead path=String::new() on_close=on_close/>
                                <ErrorNotice what="this file" error=e/>
                            }.into_any(),
                            Ok(vs) => view! { <ViewerBody image_id versions=vs layer view on_close/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// The path and the close button.
#[component]
fn ViewerHead(path: String, on_close: Callback<()>) -> impl IntoView {
    view! {
        <header class="viewer-head">
            <code class="viewer-path" data-testid="viewer-path">{path}</code>
            <button class="link-btn viewer-close" data-testid="viewer-close" aria-label="Close the viewer"
                on:click=move |_| on_close.run(())>"✕ close"</button>
        </header>
    }
}

/// Everything below the head once the versions are known.
#[component]
fn ViewerBody(
    image_id: Digest,
    versions: FileVersions,
    layer: u32,
    view: TreeView,
    on_close: Callback<()>,
) -> impl IntoView {
    let FileVersions {
        path,
        path_raw,
        versions,
    } = versions;
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let all = StoredValue::new(versions.clone());
    let selected = RwSignal::new(initial_version(&versions, layer, view).unwrap_or(0));
    let followed = RwSignal::new(false);
    let compare_to = RwSignal::new(None::<u32>);
    let on_select = Callback::new(move |i: usize| {
        selected.set(i);
        followed.set(false);
        compare_to.set(None);
    });
    let current = move || all.with_value(|vs| vs.get(selected.get()).cloned());
    let id = StoredValue::new(image_id);
    let raw = StoredValue::new(path_raw);

    let compare = move || {
        let v = current()?;
        if !has_content(&v) {
            return None;
        }
        let others: Vec<FileVersion> = all.with_value(|vs| {
            vs.iter()
                .filter(|o| o.layer != v.layer && has_content(o))
                .cloned()
                .collect()
        });
        if others.is_empty() {
            return None;
        }
        let options = others
            .iter()
            .map(|o| view! { <option value=o.layer.to_string()>{version_label(o)}</option> })
            .collect_view();
        Some(view! {
            <label class="viewer-compare">
                "Compare with "
                <select data-testid="viewer-compare" on:change=move |ev| {
                    compare_to.set(event_target_value(&ev).parse::<u32>().ok());
                }>
                    <option value="" selected=move || compare_to.get().is_none()>"choose a version…"</option>
                    {options}
                </select>
            </label>
        })
    };
    let diff = move || {
        let (v, other) = (current()?, compare_to.get()?);
        let (from, to) = diff_layers(other, v.layer);
        Some(view! {
            <div class="viewer-diff">
                <div class="viewer-diff-head">
                    <h3>"Diff"</h3>
                    <button class="link-btn" data-testid="viewer-diff-close" on:click=move |_| compare_to.set(None)>"hide the diff"</button>
                </div>
                <VersionDiff image_id=id.get_value() path_raw=raw.get_value() of=DiffOf::Layers { from, to }/>
            </div>
        })
    };
    let content = move || {
        let Some(v) = current() else {
            return view! { <p class="muted">"No layer has this path."</p> }.into_any();
        };
        version_content(
            &v,
            id.get_value(),
            raw.get_value(),
            all.with_value(|vs| follow_layer(vs, selected.get(), layer)),
            followed,
        )
    };

    view! {
        <ViewerHead path=path on_close=on_close/>
        <VersionPicker versions=versions selected=Signal::derive(move || selected.get()) on_select=on_select/>
        <div class="viewer-actions">{compare}</div>
        {diff}
        {content}
    }
}

/// What the viewer shows for one version: a deletion, a symlink's target (or the file
/// it leads to, once followed), a hard link's or a file's bytes.
fn version_content(
    v: &FileVersion,
    image_id: Digest,
    path_raw: String,
    follow_at: u32,
    followed: RwSignal<bool>,
) -> AnyView {
    let own = FileSource {
        layer: v.layer,
        scope: FileScope::Layer,
        follow: true,
    };
    let mode = v.kind.map(|k| mode_string(k, v.mode));
    let target = v.link.clone().unwrap_or_default();
    match (v.change, v.kind) {
        (VersionChange::Deleted, _) => view! {
            <p class="notice notice-warn" data-testid="viewer-deleted">
                {format!("Deleted in layer {}: pick an earlier version to see the content it had.", v.layer)}
            </p>
        }
        .into_any(),
        (_, Some(NodeKind::Symlink)) if followed.get() => {
            let source = FileSource { layer: follow_at, scope: FileScope::Stacked, follow: true };
            view! {
                <p class="viewer-link" data-testid="viewer-followed">
                    {format!("Following the link → {target}, as of layer {follow_at}. ")}
                    <button class="link-btn" on:click=move |_| followed.set(false)>"back to the link"</button>
                </p>
                <FileContent image_id path_raw source/>
            }
            .into_any()
        }
        (_, Some(NodeKind::Symlink)) => view! {
            <div class="viewer-link" data-testid="viewer-symlink">
                <span>"Symbolic link → "</span><code data-testid="viewer-link-target">{target}</code>
                {mode.map(|m| view! { <code class="muted">{format!(" {m}")}</code> })}
                {if v.readable {
                    view! { <button class="btn" data-testid="viewer-follow" on:click=move |_| followed.set(true)>"Follow link"</button> }.into_any()
                } else {
                    view! { <span class="muted">" (it leads to nothing readable inside the image)"</span> }.into_any()
                }}
            </div>
        }
        .into_any(),
        (_, Some(NodeKind::Hardlink)) => view! {
            <p class="viewer-link" data-testid="viewer-hardlink">
                <span>"Hard link to"</span><code>{target}</code><span class="muted">"— showing the content they share"</span>
            </p>
            <FileContent image_id path_raw source=own mode=mode/>
        }
        .into_any(),
        _ if v.readable => view! { <FileContent image_id path_raw source=own mode=mode/> }.into_any(),
        (_, kind) => view! {
            <p class="muted" data-testid="viewer-unreadable">
                {format!("This {} has no content to show.", kind.map_or("entry", kind_word))}
            </p>
        }
        .into_any(),
    }
}

fn kind_word(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Dir => "directory",
        NodeKind::CharDevice => "character device",
        NodeKind::BlockDevice => "block device",
        NodeKind::Fifo => "FIFO",
        _ => "entry",
    }
}
