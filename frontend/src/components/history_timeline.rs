//! Every build step in order, empty ones included, each with its layer and a size bar.

use super::SizeBar;
use crate::routes::AppRoute;
use app::api::{HistoryStep, TreeView};
use leptos::prelude::*;
use leptos_router::components::A;

/// The `docker history` view, oldest step first.
#[component]
pub fn HistoryTimeline(image_id: String, steps: Vec<HistoryStep>) -> impl IntoView {
    let max = steps.iter().map(|s| s.size).max().unwrap_or(0);
    let items = steps
        .into_iter()
        .map(|s| {
            let class = if s.empty_layer {
                "step step-empty"
            } else {
                "step step-layer"
            };
            let layer_link = s.layer.map(|l| {
                let href = AppRoute::Layer {
                    id: image_id.clone(),
                    layer: l,
                    view: TreeView::Layer,
                }
                .path();
                view! { <A href=href attr:class="layer-badge" attr:data-testid="step-layer-link">{format!("layer {l}")}</A> }
            });
            let created = s.created.clone().unwrap_or_default();
            view! {
                <li class=class data-testid="history-step" data-empty=s.empty_layer.to_string()>
                    <span class="step-index">{format!("#{}", s.index)}</span>
                    <span class="step-kind">
                        {if s.empty_layer { "metadata only" } else { "" }}
                        {layer_link}
                    </span>
                    <code class="step-command" title=created>{s.created_by.clone()}</code>
                    <span class="step-size">{app::fmt::size(s.size)}</span>
                    <SizeBar size=s.size max=max/>
                </li>
            }
        })
        .collect_view();
    view! { <ol class="history-timeline" data-testid="history-timeline">{items}</ol> }
}
