//! A banner shown while the Docker daemon is unreachable, with the reason and the
//! address tried; re-checks every few seconds.

use crate::api;
use leptos::prelude::*;
use std::time::Duration;

const RECHECK: Duration = Duration::from_secs(5);

/// Renders nothing while the daemon is up.
#[component]
pub fn DaemonBanner() -> impl IntoView {
    let health = LocalResource::new(api::health);
    if let Ok(handle) = set_interval_with_handle(move || health.refetch(), RECHECK) {
        on_cleanup(move || handle.clear());
    }
    move || {
        let down = match health.get() {
            None => None,
            Some(Ok(h)) if h.docker.up => None,
            Some(Ok(h)) => Some((
                h.docker.address,
                h.docker.reason.unwrap_or_else(|| "no answer".into()),
            )),
            Some(Err(e)) => Some(("the strata server".to_owned(), e.to_string())),
        };
        down.map(|(address, reason)| {
            // the reason is a sentence of its own; end it before the hint starts
            let stop = if reason.trim_end().ends_with(['.', '!', '?']) {
                ""
            } else {
                "."
            };
            view! {
                <div class="banner banner-error" role="alert" data-testid="daemon-banner">
                    <strong>"Docker daemon unavailable. "</strong>
                    <span>"Tried "</span>
                    <code data-testid="daemon-address">{address}</code>
                    <span>": "</span>
                    <span data-testid="daemon-reason">{reason}</span>
                    <span>{stop}</span>
                    <span class="hint">
                        " Start Docker or run strata with --docker-host / DOCKER_HOST pointing at it; this page retries on its own."
                    </span>
                </div>
            }
        })
    }
}
