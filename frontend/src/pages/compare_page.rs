//! `/compare?ids=a,b[,c,d]`: 2–4 images side by side. While the server is still reading
//! some of them the page follows their load jobs (the same progress as the image page)
//! and asks again when all are done; then it shows the plain-language summary, totals
//! with deltas against the baseline, the layers side by side, and per other image the
//! file diff by directory and the config and history diff.

use crate::api::{self, CompareAnswer};
use crate::compare_model::{delta_class, delta_text};
use crate::components::{
    AnalysisProgress, CompareLayers, ConfigDiffView, ErrorNotice, FileDiffView,
};
use crate::routes::{parse_compare_ids, AppRoute};
use app::api::ComparePending;
use app::api::CompareReport;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

fn totals_view(c: &CompareReport) -> impl IntoView {
    let rows = c
        .images
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let base = i == 0;
            let href = AppRoute::Image { id: s.id.clone() }.path();
            let shown = s.name.clone();
            view! {
                <tr data-testid="compare-total-row">
                    <td><span class="image-label">{s.label.clone()}</span></td>
                    <td class="name"><A href=href>{shown}</A>{base.then(|| view! { <span class="badge badge-base">"baseline"</span> })}</td>
                    <td class="num">{app::fmt::size(s.content_bytes)}</td>
                    <td class=format!("num delta {}", if base { "same" } else { delta_class(s.content_delta.bytes) })>
                        {if base { "—".to_owned() } else { delta_text(&s.content_delta) }}
                    </td>
                    <td class="num">{app::fmt::size(s.tar_bytes)}</td>
                    <td class="num">{s.layer_count}</td>
                    <td class="num">{app::fmt::size(s.shared_bytes)}</td>
                    <td class="num" data-testid="unique-bytes">{format!("{} in {} layer{}", app::fmt::size(s.unique_bytes), s.unique_layers, if s.unique_layers == 1 { "" } else { "s" })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data compare-totals" data-testid="compare-totals">
            <thead><tr>
                <th></th><th>"Image"</th><th class="num">"Size"</th><th class="num">"Δ vs A"</th>
                <th class="num">"Tar size"</th><th class="num">"Layers"</th><th class="num">"Shared"</th><th class="num">"Unique"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn comparison_view(c: CompareReport) -> impl IntoView {
    let names: Vec<(String, String)> = c
        .images
        .iter()
        .map(|s| (s.label.clone(), s.name.clone()))
        .collect();
    let summary = c
        .pairs
        .iter()
        .map(|p| {
            let (la, na) = names.first().cloned().unwrap_or_default();
            let (lb, nb) = names.get(p.other).cloned().unwrap_or_default();
            let items = p
                .summary
                .iter()
                .map(|s| view! { <li>{s.clone()}</li> })
                .collect_view();
            view! {
                <div class="summary-pair">
                    {(names.len() > 2).then(|| view! { <h3>{format!("{la} {na} → {lb} {nb}")}</h3> })}
                    <ul class="compare-summary">{items}</ul>
                </div>
            }
        })
        .collect_view();
    let pairs = c
        .pairs
        .iter()
        .map(|p| {
            let (la, na) = names.first().cloned().unwrap_or_default();
            let (lb, nb) = names.get(p.other).cloned().unwrap_or_default();
            let files = p.files.clone();
            let a_id = c.images.first().map(|s| s.id.clone());
            let b_id = c.images.get(p.other).map(|s| s.id.clone());
            view! {
                <section class="panel" data-testid="compare-pair">
                    <h2>{format!("{la} {na} → {lb} {nb}")}</h2>
                    <h3>"Files"</h3>
                    {match files {
                        Some(f) => view! { <FileDiffView diff=f a_id=a_id b_id=b_id/> }.into_any(),
                        None => view! { <p class="muted">"File diff not computed."</p> }.into_any(),
                    }}
                    <h3>"Config"</h3>
                    <ConfigDiffView diff=p.config.clone() a=la.clone() b=lb.clone()/>
                </section>
            }
        })
        .collect_view();
    view! {
        <section class="panel" data-testid="compare-summary">
            <h2>"Summary"</h2>
            {summary}
        </section>
        <section class="panel">
            <h2>"Totals"</h2>
            {totals_view(&c)}
        </section>
        <section class="panel">
            <h2>"Layers"</h2>
            <CompareLayers comparison=c.clone()/>
        </section>
        {pairs}
    }
}

fn pending_view(p: ComparePending, on_all_done: Callback<()>) -> impl IntoView {
    let total = p.jobs.len();
    let done = RwSignal::new(0usize);
    let rows = p
        .jobs
        .into_iter()
        .map(|j| {
            let short = j.image_id.short().to_owned();
            view! {
                <div class="pending-image" data-testid="compare-pending-image">
                    <code>{short}</code>
                    <AnalysisProgress start=j.image_id.clone() on_done=Callback::new(move |_| {
                        done.update(|d| *d += 1);
                        if done.get_untracked() >= total {
                            on_all_done.run(());
                        }
                    })/>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="panel" data-testid="compare-pending">
            <h2>"Reading images…"</h2>
            <p class="muted">"Every layer of each image is read once; the comparison appears when all are done."</p>
            {rows}
        </section>
    }
}

/// `/compare`.
#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let ids = Memo::new(move |_| parse_compare_ids(&query.read().get("ids").unwrap_or_default()));
    let attempt = RwSignal::new(0u32);
    let retry = RwSignal::new(false);
    let result = LocalResource::new(move || {
        let ids = ids.get();
        let _ = attempt.get();
        let r = retry.get_untracked();
        async move {
            match ids {
                Err(e) => Some(Err(api::ApiError::BadLink(e))),
                Ok(ids) if ids.len() < 2 => None,
                Ok(ids) => Some(api::compare(&ids, r).await),
            }
        }
    });
    let again = Callback::new(move |_| attempt.update(|a| *a += 1));
    view! {
        <section class="compare-page" data-testid="compare-page">
            <nav class="crumbs"><A href=AppRoute::Images.path()>"Images"</A>" / Compare"</nav>
            <h1>"Compare images"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading comparison…"</p> }>
                {move || Suspend::new(async move {
                    match result.await {
                        None => view! {
                            <div class="panel empty-state" data-testid="compare-empty">
                                <p>"Choose 2 to 4 images to compare: tick them in the "<A href=AppRoute::Images.path()>"image list"</A>" and press Compare."</p>
                            </div>
                        }.into_any(),
                        Some(Err(e)) => view! {
                            <ErrorNotice what="the comparison" error=e/>
                            <button class="btn" data-testid="compare-retry" on:click=move |_| {
                                retry.set(true);
                                attempt.update(|a| *a += 1);
                            }>"Retry"</button>
                        }.into_any(),
                        Some(Ok(CompareAnswer::Pending(p))) => pending_view(p, again).into_any(),
                        Some(Ok(CompareAnswer::Ready(c))) => comparison_view(*c).into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
