//! Two versions of one path compared — stored in two layers of one image, or in two
//! images' final filesystems ([`DiffOf`]): a unified diff (hunk headers `@@ -a,b +c,d @@`,
//! added and removed lines coloured) for text, or the server's note (binary, too large)
//! with the verdict of comparing sizes and checksums.

use super::ErrorNotice;
use crate::api;
use crate::file_model::{diff_summary, hunk_header, line_mark};
use app::api::{DiffHunk, Digest, FileDiff};
use leptos::prelude::*;

fn hunk_view(h: DiffHunk) -> impl IntoView {
    let header = hunk_header(&h);
    let lines = h
        .lines
        .into_iter()
        .map(|l| {
            let (sign, class) = line_mark(l.kind);
            view! {
                <div class=format!("diff-line diff-{class}") data-testid="diff-line" data-kind=class>
                    <span class="diff-sign" aria-hidden="true">{sign}</span>
                    <span class="diff-text">{l.text}</span>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="diff-hunk">
            <div class="diff-hunk-head" data-testid="diff-hunk-header">{header}</div>
            <div class="diff-lines">{lines}</div>
        </div>
    }
}

fn diff_view(d: FileDiff) -> impl IntoView {
    let (verdict, sides) = diff_summary(&d);
    let body = match (d.hunks, d.note) {
        (Some(hunks), _) if !hunks.is_empty() => {
            hunks.into_iter().map(hunk_view).collect_view().into_any()
        }
        (Some(_), _) => view! { <p class="muted">"No line differs."</p> }.into_any(),
        (None, note) => view! {
            <p class="notice notice-warn" data-testid="diff-note">
                {note.unwrap_or_else(|| "No line diff.".to_owned())}
                {format!(" Compared by size and checksum: {verdict}.")}
            </p>
        }
        .into_any(),
    };
    view! {
        <p class="diff-summary">
            <span class=format!("diff-verdict {verdict}") data-testid="diff-verdict">{verdict}</span>
            <span class="muted">{sides}</span>
        </p>
        {body}
    }
}

/// Which two versions of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum DiffOf {
    /// The versions stored in layers `from` and `to` of the image.
    Layers { from: u32, to: u32 },
    /// The path in the image's final filesystem against the same path in `other`'s.
    Image { other: Digest },
}

/// The diff of two versions of `path_raw` of image `image_id`.
#[component]
pub fn VersionDiff(image_id: Digest, path_raw: String, of: DiffOf) -> impl IntoView {
    let diff = LocalResource::new(move || {
        let (id, raw, of) = (image_id.clone(), path_raw.clone(), of.clone());
        async move {
            match of {
                DiffOf::Layers { from, to } => api::file_diff(&id, &raw, from, to).await,
                DiffOf::Image { other } => api::file_diff_images(&id, &raw, &other).await,
            }
        }
    });
    view! {
        <div class="version-diff" data-testid="version-diff">
            <Suspense fallback=|| view! { <p class="muted">"Comparing…"</p> }>
                {move || Suspend::new(async move {
                    match diff.await {
                        Err(e) => view! { <ErrorNotice what="the comparison" error=e/> }.into_any(),
                        Ok(d) => diff_view(d).into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
