//! "Open archive…": picks a `docker save` or OCI archive (file input, or a file dropped
//! on the page and handed over through `dropped`), uploads it with a progress bar, shows
//! the server's one-line error, and opens the image page once the server has read it.
//! The archive is parsed by the Strata server only; it never reaches the Docker daemon.

use crate::api::{self, UploadProgress};
use crate::routes::AppRoute;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use wasm_bindgen::JsCast as _;

/// Where an upload is.
#[derive(Debug, Clone, PartialEq)]
enum UploadState {
    Idle,
    Sending { name: String, sent: u64, total: u64 },
    Reading { name: String },
    Failed(String),
}

/// The upload control. Set `dropped` to a file to upload it (drag and drop).
#[component]
pub fn UploadArchive(
    /// A file dropped somewhere on the page; taken (reset to `None`) when started.
    dropped: RwSignal<Option<web_sys::File>, LocalStorage>,
) -> impl IntoView {
    let state = RwSignal::new(UploadState::Idle);
    let navigate = use_navigate();
    let start = move |file: web_sys::File| {
        if matches!(
            state.get_untracked(),
            UploadState::Sending { .. } | UploadState::Reading { .. }
        ) {
            return;
        }
        let name = file.name();
        let total = file.size() as u64;
        state.set(UploadState::Sending {
            name: name.clone(),
            sent: 0,
            total,
        });
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let progress_name = name.clone();
            let on_progress = move |p: UploadProgress| {
                let next = if p.total > 0 && p.sent >= p.total {
                    UploadState::Reading {
                        name: progress_name.clone(),
                    }
                } else {
                    UploadState::Sending {
                        name: progress_name.clone(),
                        sent: p.sent,
                        total: p.total,
                    }
                };
                state.set(next);
            };
            match api::upload_archive(&file, on_progress).await {
                Ok(image) => {
                    state.set(UploadState::Idle);
                    navigate(&AppRoute::Image { id: image.id }.path(), Default::default());
                }
                Err(e) => state.set(UploadState::Failed(format!("Cannot open {name}: {e}"))),
            }
        });
    };
    let start_dropped = start.clone();
    Effect::new(move |_| {
        if let Some(file) = dropped.get() {
            dropped.set(None);
            start_dropped(file);
        }
    });
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let file = input.files().and_then(|files| files.get(0));
        // Picking the same file again must fire `change` again.
        input.set_value("");
        if let Some(file) = file {
            start(file);
        }
    };
    let busy = move || {
        matches!(
            state.get(),
            UploadState::Sending { .. } | UploadState::Reading { .. }
        )
    };
    let status = move || match state.get() {
        UploadState::Idle => None,
        UploadState::Sending { name, sent, total } => {
            let pct = sent.saturating_mul(100).checked_div(total).unwrap_or(0);
            Some(
                view! {
                    <div class="upload-status" data-testid="upload-progress" role="status">
                        <progress max=total.to_string() value=sent.to_string() aria-label=format!("Uploading {name}")></progress>
                        <span>{format!(
                            "Uploading {name}: {} of {} ({pct}%)",
                            app::fmt::size(sent),
                            app::fmt::size(total)
                        )}</span>
                    </div>
                }
                .into_any(),
            )
        }
        UploadState::Reading { name } => Some(
            view! {
                <div class="upload-status" data-testid="upload-progress" role="status">
                    <progress aria-label=format!("Reading {name}")></progress>
                    <span>{format!("Reading {name}…")}</span>
                </div>
            }
            .into_any(),
        ),
        UploadState::Failed(message) => Some(
            view! {
                <p class="upload-error" role="alert" data-testid="upload-error">{message}</p>
            }
            .into_any(),
        ),
    };
    view! {
        <div class="upload-archive" data-testid="upload-archive">
            <label
                class="btn upload-button"
                class:disabled=busy
                for="upload-archive-input"
                title="Open a docker save or OCI archive (.tar) from this computer; it is read by the Strata server, never loaded into Docker. You can also drop it on the list."
            >
                "Open archive…"
            </label>
            <input
                id="upload-archive-input"
                class="visually-hidden"
                type="file"
                accept=".tar,application/x-tar"
                data-testid="upload-input"
                prop:disabled=busy
                on:change=on_change
            />
            {status}
        </div>
    }
}
