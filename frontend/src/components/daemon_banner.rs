//! A banner shown while the Docker daemon is unreachable, with the reason and the
//! address tried; with several named hosts, one line per host that does not answer
//! (the others' images stay listed). Re-checks every few seconds.

use crate::api;
use leptos::prelude::*;
use std::time::Duration;

const RECHECK: Duration = Duration::from_secs(5);

/// Ends `reason` as a sentence, so a hint can follow it.
fn full_stop(reason: &str) -> &'static str {
    if reason.trim_end().ends_with(['.', '!', '?']) {
        ""
    } else {
        "."
    }
}

/// One line per named host that does not answer.
fn hosts_banner(down: Vec<app::api::HostHealth>) -> impl IntoView {
    let count = down.len();
    view! {
        <div class="banner banner-warn" role="alert" data-testid="hosts-banner">
            <strong>{if count == 1 { "A Docker host does not answer; its images are not listed.".to_owned() } else { format!("{count} Docker hosts do not answer; their images are not listed.") }}</strong>
            <ul class="host-list">
                {down.into_iter().map(|h| {
                    let reason = h.reason.unwrap_or_else(|| "no answer".into());
                    let stop = full_stop(&reason);
                    let name = h.name.clone();
                    view! {
                        <li data-testid="host-down" data-host=name>
                            <strong>{h.name}</strong>
                            <span>" at "</span>
                            <code>{h.address}</code>
                            <span>": "</span>
                            <span data-testid="host-reason">{reason}</span>
                            <span>{stop}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <span class="hint">"The other hosts are shown as usual; this page retries on its own."</span>
        </div>
    }
}

/// Renders nothing while the daemon is up.
#[component]
pub fn DaemonBanner() -> impl IntoView {
    let health = LocalResource::new(api::health);
    if let Ok(handle) = set_interval_with_handle(move || health.refetch(), RECHECK) {
        on_cleanup(move || handle.clear());
    }
    move || {
        if let Some(Ok(h)) = health.get() {
            if !h.docker.hosts.is_empty() {
                let down: Vec<_> = h.docker.hosts.into_iter().filter(|h| !h.up).collect();
                return (!down.is_empty()).then(|| hosts_banner(down).into_any());
            }
        }
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
            let stop = full_stop(&reason);
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
            .into_any()
        })
    }
}
