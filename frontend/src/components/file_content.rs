//! The bytes of one file version: UTF-8 text with line numbers, a hex dump for anything
//! else (with a notice saying why), or a picture preview for PNG/JPEG/GIF/WebP told by
//! their magic bytes. Large files are paged: at most [`PAGE_SIZE`] bytes per request,
//! never the whole file. A picture is shown from a `Blob` labelled with the MIME type its
//! magic bytes announced; the server's URL is never an `<img>` source, so the browser
//! sniffs nothing (and SVG, being text, is never rendered).

use super::ErrorNotice;
use crate::api::{self, ApiError, FileChunk, FileSource};
use crate::file_model::{
    decode_page, fetch_end, hex_dump, next_first_line, numbered_lines, sniff, thousands,
    ContentKind, Page, PAGE_SIZE, PICTURE_CAP,
};
use app::api::Digest;
use leptos::prelude::*;
use std::collections::HashMap;

/// One fetched page and what the file is (from its first page).
#[derive(Debug, Clone)]
struct Loaded {
    page: Page,
    /// The page's bytes plus the slack that finishes a cut character (a whole picture).
    bytes: Vec<u8>,
    kind: ContentKind,
    /// A picture over [`PICTURE_CAP`], shown as hex instead.
    oversized_picture: bool,
    layer: Option<u32>,
}

/// Fetches the page at `start`; the first page of a picture under [`PICTURE_CAP`] brings
/// the whole picture, page by page. `kind` is the file's kind once the first page told it.
async fn load(
    id: Digest,
    path_raw: String,
    source: FileSource,
    start: u64,
    kind: Option<(ContentKind, bool)>,
) -> Result<Loaded, ApiError> {
    let FileChunk {
        mut bytes,
        start,
        total,
        layer,
    } = api::file_range(&id, &path_raw, source, start, fetch_end(start)).await?;
    let page = Page::at(start, total);
    let (kind, oversized_picture) = kind.unwrap_or_else(|| {
        let own = bytes.len().min(PAGE_SIZE as usize);
        match sniff(&bytes[..own]) {
            ContentKind::Picture(_) if total > PICTURE_CAP => (ContentKind::Hex, true),
            k => (k, false),
        }
    });
    if matches!(kind, ContentKind::Picture(_)) && start == 0 {
        while (bytes.len() as u64) < total {
            let from = bytes.len() as u64;
            let more = api::file_range(&id, &path_raw, source, from, from + PAGE_SIZE).await?;
            if more.bytes.is_empty() {
                break;
            }
            bytes.extend_from_slice(&more.bytes);
        }
    }
    Ok(Loaded {
        page,
        bytes,
        kind,
        oversized_picture,
        layer,
    })
}

/// A picture from bytes in memory: an object URL of a typed `Blob`, revoked when the
/// preview goes away.
#[component]
fn PicturePreview(bytes: Vec<u8>, mime: &'static str) -> impl IntoView {
    let url = picture_url(&bytes, mime);
    if let Some(u) = url.clone() {
        on_cleanup(move || {
            let _ = web_sys::Url::revoke_object_url(&u);
        });
    }
    let size = RwSignal::new(None::<(u32, u32)>);
    let img = NodeRef::<leptos::html::Img>::new();
    let on_load = move |_| {
        if let Some(i) = img.get_untracked() {
            size.set(Some((i.natural_width(), i.natural_height())));
        }
    };
    match url {
        Some(src) => view! {
            <div class="picture-preview">
                <img src=src alt="preview" data-testid="viewer-picture" data-mime=mime node_ref=img on:load=on_load/>
            </div>
            <p class="muted picture-size" data-testid="viewer-picture-size">
                {move || size.get().map(|(w, h)| format!("{mime}, {w} × {h} pixels"))}
            </p>
        }
        .into_any(),
        None => view! { <p class="notice notice-error">"The browser could not prepare the preview."</p> }
            .into_any(),
    }
}

fn picture_url(bytes: &[u8], mime: &str) -> Option<String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// Line-numbered text; remembers where the next page's numbering starts.
fn text_view(
    text: &str,
    start: u64,
    lines_at: StoredValue<HashMap<u64, u64>>,
    next: Option<u64>,
) -> AnyView {
    let first = lines_at.with_value(|m| m.get(&start).copied());
    if let (Some(first), Some(next)) = (first, next) {
        lines_at.update_value(|m| {
            m.insert(next, next_first_line(first, text));
        });
    }
    let (gutter, lines) = numbered_lines(text, first.unwrap_or(1));
    view! {
        <div class="code-view" data-testid="viewer-text">
            {first.map(|_| view! { <pre class="code-gutter" aria-hidden="true">{gutter}</pre> })}
            <pre class="code-lines" data-testid="viewer-text-lines">{lines}</pre>
        </div>
    }
    .into_any()
}

fn hex_view(bytes: &[u8], base: u64, notice: Option<&'static str>) -> AnyView {
    let dump = hex_dump(bytes, base);
    view! {
        {notice.map(|n| view! { <p class="notice notice-warn" data-testid="viewer-notice">{n}</p> })}
        <div class="hex-view" data-testid="viewer-hex">
            <pre class="hex-offsets">{dump.offsets}</pre>
            <pre class="hex-bytes">{dump.hex}</pre>
            <pre class="hex-ascii">{dump.ascii}</pre>
        </div>
    }
    .into_any()
}

/// The body of a loaded page in the chosen presentation.
fn body_view(l: &Loaded, show_hex: bool, lines_at: StoredValue<HashMap<u64, u64>>) -> AnyView {
    let own = (l.page.end - l.page.start) as usize;
    let page_bytes = &l.bytes[..own.min(l.bytes.len())];
    if l.page.total == 0 {
        return view! { <p class="muted" data-testid="viewer-empty">"The file is empty."</p> }
            .into_any();
    }
    let (start, next) = (l.page.start, l.page.next());
    match (l.kind, show_hex) {
        (ContentKind::Picture(mime), false) => {
            view! { <PicturePreview bytes=l.bytes.clone() mime=mime/> }.into_any()
        }
        (ContentKind::Text, false) => match decode_page(&l.bytes, own, start == 0) {
            Some(text) => text_view(&text, start, lines_at, next),
            None => hex_view(page_bytes, start, Some(NOT_TEXT)),
        },
        (ContentKind::Hex, _) if l.oversized_picture => hex_view(
            page_bytes,
            start,
            Some("The picture is larger than 8 MB, too large to preview — shown as hex."),
        ),
        (ContentKind::Hex, _) => hex_view(page_bytes, start, Some(NOT_TEXT)),
        (_, true) => hex_view(page_bytes, start, None),
    }
}

const NOT_TEXT: &str = "Not UTF-8 text — shown as hex.";

/// Previous/next page controls and the range shown; a picture is previewed whole, so its
/// hex dump shows the first page without paging.
fn pager(page: Page, pages: bool, start: RwSignal<u64>) -> impl IntoView {
    let (prev, next) = if pages {
        (page.previous(), page.next())
    } else {
        (None, None)
    };
    view! {
        <div class="pager" data-testid="viewer-pager">
            {pages.then(|| view! {
                <button class="link-btn" data-testid="viewer-prev" disabled=prev.is_none()
                    on:click=move |_| if let Some(p) = prev { start.set(p) }>"‹ previous page"</button>
            })}
            <span class="muted" data-testid="viewer-range">{page.describe()}</span>
            {pages.then(|| view! {
                <button class="link-btn" data-testid="viewer-next" disabled=next.is_none()
                    on:click=move |_| if let Some(n) = next { start.set(n) }>"next page ›"</button>
            })}
        </div>
    }
}

/// The bytes of `path_raw` read from `source`, paged, with a Download link. `mode` is the
/// version's `ls`-style mode, when known.
#[component]
pub fn FileContent(
    image_id: Digest,
    path_raw: String,
    source: FileSource,
    #[prop(optional_no_strip)] mode: Option<String>,
) -> impl IntoView {
    let start = RwSignal::new(0u64);
    let kind = RwSignal::new(None::<(ContentKind, bool)>);
    let show_hex = RwSignal::new(false);
    let lines_at = StoredValue::new([(0u64, 1u64)].into_iter().collect::<HashMap<_, _>>());
    let download = api::file_url(&image_id, &path_raw, source, true);
    let page = LocalResource::new(move || {
        let (id, raw, at) = (image_id.clone(), path_raw.clone(), start.get());
        let known = kind.get_untracked();
        async move {
            let loaded = load(id, raw, source, at, known).await;
            if let (Ok(l), None) = (&loaded, known) {
                kind.set(Some((l.kind, l.oversized_picture)));
            }
            loaded
        }
    });
    let loaded_view = move |l: Loaded| {
        let total = l.page.total;
        let size = format!("{} ({} bytes)", app::fmt::size(total), thousands(total));
        let layer = l.layer.map(|n| format!("bytes from layer {n}"));
        let toggle = match l.kind {
            ContentKind::Picture(_) => Some("Picture"),
            ContentKind::Text => Some("Text"),
            ContentKind::Hex => None,
        };
        let is_picture = matches!(l.kind, ContentKind::Picture(_));
        let page = l.page;
        view! {
            <div class="viewer-facts">
                <span data-testid="viewer-size">{size}</span>
                {mode.clone().map(|m| view! { <code data-testid="viewer-mode">{m}</code> })}
                {layer.map(|t| view! { <span data-testid="viewer-layer">{t}</span> })}
                <span class="viewer-tools">
                    {toggle.map(|name| view! {
                        <span class="segmented" role="group" aria-label="Show as">
                            <button class=move || if show_hex.get() { "seg" } else { "seg active" }
                                data-testid="viewer-as-content" on:click=move |_| show_hex.set(false)>{name}</button>
                            <button class=move || if show_hex.get() { "seg active" } else { "seg" }
                                data-testid="viewer-as-hex" on:click=move |_| show_hex.set(true)>"Hex"</button>
                        </span>
                    })}
                    <a class="btn" href=download.clone() download="" data-testid="viewer-download">"Download"</a>
                </span>
            </div>
            {move || {
                let paged = !page.is_whole() && (!is_picture || show_hex.get());
                paged.then(|| pager(page, !is_picture, start))
            }}
            {move || body_view(&l, show_hex.get(), lines_at)}
        }
        .into_any()
    };
    view! {
        <div class="file-content" data-testid="file-content">
            <Transition fallback=|| view! { <p class="muted">"Loading the file…"</p> }>
                {move || {
                    let loaded_view = loaded_view.clone();
                    Suspend::new(async move {
                        match page.await {
                            Err(e) => view! { <ErrorNotice what="this file" error=e/> }.into_any(),
                            Ok(l) => loaded_view(l),
                        }
                    })
                }}
            </Transition>
        </div>
    }
}
