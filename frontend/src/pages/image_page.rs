//! One image: summary, run config, history timeline, layers, and — once the analysis
//! job has read the layers — the analysis figures and the wasted-space panel.

use crate::api;
use crate::components::{
    AnalysisProgress, CompareWith, ConfigView, ErrorNotice, HistoryTimeline, LargestFiles,
    LayerList, WastedPanel,
};
use crate::routes::{AppRoute, ImageParams};
use crate::view_model::absolute_time;
use app::api::{AnalysisSummary, Digest, ImageDetail, TreeView};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params;

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
                <tr><th scope="row">"ID"</th><td><code data-testid="image-id">{s.id.to_string()}</code></td></tr>
                {(!d.hosts.is_empty()).then(|| view! {
                    <tr>
                        <th scope="row">"Docker hosts"</th>
                        <td data-testid="image-hosts" title="Every named host that holds this image; its files are read through the first">
                            {d.hosts.join(", ")}
                        </td>
                    </tr>
                })}
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

fn row(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    view! { <tr><th scope="row">{label}</th><td data-testid=testid>{value}</td></tr> }
}

fn analysis_view(a: &AnalysisSummary) -> impl IntoView {
    let warnings: usize = a.layers.iter().map(|l| l.warnings.len()).sum();
    let size = |b: Option<u64>| b.map(app::fmt::size).unwrap_or_else(|| "—".into());
    view! {
        <table class="kv analysis-figures" data-testid="analysis-summary">
            <tbody>
                {row("Files", format!("{} in {} entries over {} layers", app::fmt::size(a.total_size), a.entries, a.layers.len()), "analysis-files")}
                {row("Stored / visible", format!("{} stored, {} visible in the final image", size(a.stored_bytes), size(a.final_bytes)), "analysis-stored")}
                {row("Reclaimable", format!(
                    "{}{}",
                    size(a.reclaimable_bytes),
                    a.efficiency.map(|e| format!(" (efficiency {})", app::fmt::percent(e))).unwrap_or_default()
                ), "reclaimable")}
                {row("Attribute-only copies", size(a.attrs_only_bytes), "attrs-only")}
                {row("Duplicate content", size(a.duplicate_bytes), "duplicates")}
                {a.dive.map(|d| row("dive", format!(
                    "efficiency {}, wasted {}, user wasted {}",
                    app::fmt::percent(d.efficiency),
                    app::fmt::size(d.wasted_bytes),
                    app::fmt::percent(d.user_wasted_percent)
                ), "dive-figures"))}
                {a.dive.map(|d| row("Why they differ", d.why_different(a.reclaimable_bytes).to_owned(), "dive-why"))}
                {(warnings > 0).then(|| view! { <tr><th scope="row">"Warnings"</th><td class="warn">{format!("{warnings} layer warnings")}</td></tr> })}
            </tbody>
        </table>
    }
}

/// The analysis section: progress while the job runs, then figures, waste and files.
fn analysis_section(
    image_id: Digest,
    commands: Signal<Vec<String>>,
    analysed: RwSignal<bool>,
    analysis: LocalResource<Option<Result<AnalysisSummary, crate::api::ApiError>>>,
) -> impl IntoView {
    view! {
        <section class="panel" data-testid="analysis-panel">
            <h2>"Analysis"</h2>
            <AnalysisProgress start=image_id on_done=Callback::new(move |_| analysed.set(true))/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match analysis.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <ErrorNotice what="the analysis" error=e/> }.into_any(),
                        Some(Ok(a)) => {
                            let id = a.image_id.clone();
                            view! {
                                {analysis_view(&a)}
                                <div class="columns">
                                    <WastedPanel image_id=id.clone() commands=commands/>
                                    <LargestFiles image_id=id/>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// `/images/{id}`.
#[component]
pub fn ImagePage() -> impl IntoView {
    let params = use_params::<ImageParams>();
    move || match ImageParams::image_id(&params.read()) {
        Ok(id) => view! { <ImageView id/> }.into_any(),
        Err(e) => {
            view! { <ErrorNotice what="this image" error=api::ApiError::BadLink(e)/> }.into_any()
        }
    }
}

/// The page of one image.
#[component]
fn ImageView(id: Digest) -> impl IntoView {
    let id = Signal::stored(id);
    let analysed = RwSignal::new(false);
    let detail = LocalResource::new(move || {
        let id = id.get();
        let _exact = analysed.get();
        async move { api::image_detail(&id).await }
    });
    let commands = Signal::derive(move || {
        detail
            .get()
            .and_then(|r| r.ok())
            .map(|d| d.layers.iter().map(|l| l.created_by.clone()).collect())
            .unwrap_or_default()
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
            <nav class="crumbs"><A href=AppRoute::Images.path()>"Images"</A>" / "<span>{move || id.get().short().to_owned()}</span></nav>
            <Transition fallback=|| view! { <p class="muted">"Loading image…"</p> }>
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
                                        <p class="actions">
                                            <A href=explore attr:class="btn" attr:data-testid="explore-link">"Explore files"</A>
                                            <CompareWith image_id=image_id.clone()/>
                                        </p>
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
            </Transition>
            {move || {
                let image_id = id.get();
                analysis_section(image_id, commands, analysed, analysis)
            }}
        </section>
    }
}
