//! The version picker of the file viewer: every state of one path across the image's
//! layers, bottom layer first (what the layer did, the size, the Dockerfile step, and
//! whether a later layer hid or deleted it); choosing one opens it.

use crate::file_model::{change_class, change_word, replaced_note};
use app::api::{FileVersion, VersionChange};
use leptos::prelude::*;

/// Lists `versions`; `selected` is the index shown, `on_select` gets the index chosen.
#[component]
pub fn VersionPicker(
    versions: Vec<FileVersion>,
    selected: Signal<usize>,
    on_select: Callback<usize>,
) -> impl IntoView {
    let items = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let note = replaced_note(&versions, v);
            let size = (v.change != VersionChange::Deleted).then(|| app::fmt::size(v.size));
            let class = change_class(v.change);
            let command = v.command.clone().unwrap_or_default();
            let title = command.clone();
            view! {
                <li>
                    <button
                        class=move || format!("version mark-{class}{}", if selected.get() == i { " selected" } else { "" })
                        aria-pressed=move || (selected.get() == i).to_string()
                        data-testid="version"
                        data-layer=v.layer.to_string()
                        data-change=change_word(v.change)
                        on:click=move |_| on_select.run(i)
                        title=title
                    >
                        <span class="version-head">
                            <span class="layer-badge">{format!("layer {}", v.layer)}</span>
                            <span class="version-change">{change_word(v.change)}</span>
                            {size.map(|s| view! { <span class="version-size">{s}</span> })}
                            {note.map(|n| view! { <span class="version-note" data-testid="version-note">{n}</span> })}
                        </span>
                        <code class="version-command">{command}</code>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <ol class="version-list" data-testid="version-picker" aria-label="Versions of this path">
            {items}
        </ol>
    }
}
