//! One image: summary, run config, history timeline, layers, and — once the analysis
//! job has read the layers — the analysis figures and the wasted-space panel.

use crate::api;
use crate::components::{
    AnalysisProgress, ConfigView, ErrorNotice, HistoryTimeline, LayerList, WastedPanel,
};
use crate::routes::AppRoute;
use crate::view_model::absolute_time;
use app::api::{AnalysisSummary, ImageDetail, TreeView};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

fn summary_view(d: &ImageDetail) -> impl IntoView {
    let s = &d.summary;
    let tags = if s.tags.is_empty() {
        "<none>:<none>".to_owned()
    } else {
        s.tags.join(", ")
    };
    let platform = match &d.variant {
        Some(v) => format!("{}/{}/{}", d.os, d.architecture, v),
        None => format!("{}/{}", d.os, d.architecture),
    };
    view! {
        <table class="kv summary" data-testid="image-summary">
            <tbody>
                <tr><th scope="row">"Tags"</th><td data-testid="image-tags">{tags}</td></tr>
                <tr><th scope="row">"ID"</th><td><code data-testid="image-id">{s.id.clone()}</code></td></tr>
                <tr><th scope="row">"Created"</th><td>{absolute_time(s.created)}</td></tr>
                <tr><th scope="row">"Platform"</th><td>{platform}</td></tr>
                <tr><th scope="row">"Size"</th><td>{format!(
                    "{} ({} unique, {} shared with other images)",
                    app::fmt::size(s.size),
                    s.unique_size.map(app::fmt::size).unwrap_or_else(|| "?".into()),
                    s.shared_size.map(app::fmt::size).unwrap_or_else(|| "?".into()),
                )}</td></tr>
                <tr><th scope="row">"Layers"</th><td>{format!("{} layers, {} build steps", d.layers.len(), d.history.len())}</td></tr>
                {d.author.clone().map(|a| view! { <tr><th scope="row">"Author"</th><td>{a}</td></tr> })}
                {(!s.repo_digests.is_empty()).then(|| view! {
                    <tr><th scope="row">"Digests"</th><td><code class="pre">{s.repo_digests.join("\n")}</code></td></tr>
                })}
            </tbody>
        </table>
        {d.history_mismatch.then(|| view! {
            <div class="notice notice-warn" data-testid="history-mismatch">
                "The build history does not match the layer count; steps are aligned as well as possible."
            </div>
        })}
    }
}

fn analysis_view(a: AnalysisSummary) -> impl IntoView {
    let warnings: usize = a.layers.iter().map(|l| l.warnings.len()).sum();
    view! {
        <table class="kv" data-testid="analysis-summary">
            <tbody>
                <tr><th scope="row">"Content"</th><td>{format!("{} in {} entries", app::fmt::size(a.total_size), a.entries)}</td></tr>
                {a.reclaimable_bytes.map(|r| view! { <tr><th scope="row">"Reclaimable"</th><td data-testid="reclaimable">{app::fmt::size(r)}</td></tr> })}
                {a.dive.map(|d| view! {
                    <tr><th scope="row">"dive efficiency"</th><td>{app::fmt::percent(d.efficiency)}</td></tr>
                    <tr><th scope="row">"dive wasted"</th><td>{format!("{} ({} of user layers)", app::fmt::size(d.wasted_bytes), app::fmt::percent(d.user_wasted_percent))}</td></tr>
                })}
                {(warnings > 0).then(|| view! { <tr><th scope="row">"Warnings"</th><td class="warn">{format!("{warnings} entry warnings")}</td></tr> })}
            </tbody>
        </table>
    }
}

/// `/images/{id}`.
#[component]
pub fn ImagePage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let analysed = RwSignal::new(false);
    let detail = LocalResource::new(move || {
        let id = id.get();
        let _exact = analysed.get();
        async move { api::image_detail(&id).await }
    });
    let analysis = LocalResource::new(move || {
        let id = id.get();
        let ready = analysed.get();
        async move {
            if ready {
                Some(api::analysis(&id).await)
            } else {
                None
            }
        }
    });

    view! {
        <section class="image-page" data-testid="image-page">
            <nav class="crumbs"><A href="/">"Images"</A>" / "<span>{move || id.get().get(7..19).unwrap_or_default().to_owned()}</span></nav>
            <Suspense fallback=|| view! { <p class="muted">"Loading image…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Err(e) => view! { <ErrorNotice what="this image" error=e/> }.into_any(),
                        Ok(d) => {
                            let image_id = d.summary.id.clone();
                            let title = d.summary.tags.first().cloned().unwrap_or_else(|| d.summary.short_id.clone());
                            let explore = AppRoute::Layer { id: image_id.clone(), layer: d.layers.len().saturating_sub(1) as u32, view: TreeView::Stacked }.path();
                            view! {
                                <h1 data-testid="image-title">{title}</h1>
                                <div class="columns">
                                    <section class="panel">
                                        <h2>"Summary"</h2>
                                        {summary_view(&d)}
                                        <p><A href=explore attr:class="btn" attr:data-testid="explore-link">"Explore files"</A></p>
                                    </section>
                                    <section class="panel">
                                        <h2>"Run config"</h2>
                                        <ConfigView config=d.config.clone()/>
                                    </section>
                                </div>
                                <section class="panel">
                                    <h2>"History"</h2>
                                    <HistoryTimeline image_id=image_id.clone() steps=d.history.clone()/>
                                </section>
                                <section class="panel">
                                    <h2>"Layers"</h2>
                                    <LayerList image_id=image_id.clone() layers=d.layers.clone()/>
                                </section>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
            <section class="panel">
                <h2>"Analysis"</h2>
                {move || {
                    let image_id = id.get();
                    view! { <AnalysisProgress image_id=image_id on_done=Callback::new(move |_| analysed.set(true))/> }
                }}
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match analysis.await {
                            None => ().into_any(),
                            Some(Err(e)) => view! { <ErrorNotice what="the analysis" error=e/> }.into_any(),
                            Some(Ok(a)) => {
                                let image_id = a.image_id.clone();
                                view! { {analysis_view(a)} <WastedPanel image_id=image_id/> }.into_any()
                            }
                        }
                    })}
                </Suspense>
            </section>
        </section>
    }
}
