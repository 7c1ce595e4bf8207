//! `/sharing`: which layers the daemon's images share — totals (virtual size vs bytes
//! stored, savings), each image's shared and unique bytes, and a matrix of the bytes
//! each pair of images shares (capped at [`MATRIX_MAX`] images, largest first).

use crate::api;
use crate::compare_model::heat;
use crate::components::ErrorNotice;
use crate::routes::AppRoute;
use app::api::SharingReport;
use leptos::prelude::*;
use leptos_router::components::A;

/// Most images drawn in the matrix.
const MATRIX_MAX: usize = 24;

fn name(tags: &[String], id: &app::model::Digest) -> String {
    tags.first()
        .cloned()
        .unwrap_or_else(|| id.short().to_owned())
}

fn card(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    view! {
        <div class="stat-card" data-testid=testid>
            <div class="stat-label">{label}</div>
            <div class="stat-value">{value}</div>
        </div>
    }
}

fn report_view(r: SharingReport) -> AnyView {
    let m = r.map;
    if m.images.is_empty() {
        return view! { <div class="panel empty-state" data-testid="sharing-empty"><p>"No local images."</p></div> }.into_any();
    }
    let saved_pct = if m.total_virtual > 0 {
        format!(
            " ({:.1}%)",
            m.savings as f64 / m.total_virtual as f64 * 100.0
        )
    } else {
        String::new()
    };
    // Matrix over the largest images.
    let mut order: Vec<usize> = (0..m.images.len()).collect();
    order.sort_by(|a, b| m.images[*b].size.cmp(&m.images[*a].size).then(a.cmp(b)));
    order.truncate(MATRIX_MAX);
    let max_off = order
        .iter()
        .flat_map(|&i| order.iter().filter(move |&&j| j != i).map(move |&j| (i, j)))
        .map(|(i, j)| {
            m.shared_bytes
                .get(i)
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    let head = order
        .iter()
        .enumerate()
        .map(|(k, &i)| view! { <th class="matrix-col" title=name(&m.images[i].tags, &m.images[i].id)>{format!("{}", k + 1)}</th> })
        .collect_view();
    let body = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let img = &m.images[i];
            let cells = order
                .iter()
                .map(|&j| {
                    let bytes = m.shared_bytes.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0);
                    let diag = i == j;
                    let alpha = if diag { 0.0 } else { heat(bytes, max_off) };
                    let text = if bytes == 0 { String::new() } else { app::fmt::size(bytes) };
                    view! {
                        <td
                            class=if diag { "matrix-cell diag" } else { "matrix-cell" }
                            data-testid="matrix-cell"
                            data-bytes=bytes.to_string()
                            style:background-color=(alpha > 0.0).then(|| format!(
                                "color-mix(in srgb, var(--accent) {:.1}%, transparent)",
                                alpha * 55.0
                            ))
                            title=format!("{} ↔ {}: {}", name(&img.tags, &img.id), name(&m.images[j].tags, &m.images[j].id), app::fmt::size(bytes))
                        >{text}</td>
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <th class="matrix-row" scope="row"><span class="muted">{format!("{} ", k + 1)}</span>{name(&img.tags, &img.id)}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    let rows = m
        .images
        .iter()
        .map(|img| {
            let href = AppRoute::Image { id: img.id.clone() }.path();
            let shown = name(&img.tags, &img.id);
            view! {
                <tr data-testid="sharing-image-row">
                    <td class="name"><A href=href>{shown}</A></td>
                    <td class="num">{app::fmt::size(img.size)}</td>
                    <td class="num">{app::fmt::size(img.shared_size)}</td>
                    <td class="num">{app::fmt::size(img.unique_size)}</td>
                    <td class="num">{img.layers}</td>
                    <td class="num">{img.shares_with.len()}</td>
                </tr>
            }
        })
        .collect_view();
    let hidden = m.images.len().saturating_sub(MATRIX_MAX);
    let skipped = r.skipped;
    view! {
        <div class="stat-cards" data-testid="sharing-totals">
            {card("Images", m.images.len().to_string(), "sharing-count")}
            {card("Virtual size", app::fmt::size(m.total_virtual), "sharing-virtual")}
            {card("Stored", app::fmt::size(m.total_stored), "sharing-stored")}
            {card("Saved by sharing", format!("{}{saved_pct}", app::fmt::size(m.savings)), "sharing-savings")}
            {card("Same content stored twice", app::fmt::size(m.duplicate_content), "sharing-duplicates")}
        </div>
        {(!skipped.is_empty()).then(|| view! {
            <div class="notice notice-warn" data-testid="sharing-skipped">
                {skipped.into_iter().map(|s| view! { <div>{s}</div> }).collect_view()}
            </div>
        })}
        <section class="panel">
            <h2>"Shared bytes between images"</h2>
            <div class="matrix-wrap">
                <table class="sharing-matrix" data-testid="sharing-matrix">
                    <thead><tr><th></th>{head}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
            {(hidden > 0).then(|| view! { <p class="muted">{format!("The {hidden} smallest images are left out of the matrix.")}</p> })}
        </section>
        <section class="panel">
            <h2>"Images"</h2>
            <table class="data" data-testid="sharing-images">
                <thead><tr><th>"Image"</th><th class="num">"Size"</th><th class="num">"Shared"</th><th class="num">"Unique"</th><th class="num">"Layers"</th><th class="num">"Shares with"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// `/sharing`.
#[component]
pub fn SharingPage() -> impl IntoView {
    let report = LocalResource::new(|| async { api::sharing().await });
    view! {
        <section class="sharing-page" data-testid="sharing-page">
            <nav class="crumbs"><A href=AppRoute::Images.path()>"Images"</A>" / Sharing"</nav>
            <h1>"Layer sharing"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading the sharing map…"</p> }>
                {move || Suspend::new(async move {
                    match report.await {
                        Ok(r) => report_view(r),
                        Err(e) => view! { <ErrorNotice what="the sharing map" error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
