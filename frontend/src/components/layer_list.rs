//! The image's layers with sizes as bars, each linking to the layer explorer.

use super::SizeBar;
use crate::routes::AppRoute;
use app::api::{Digest, LayerInfo, TreeView};
use leptos::prelude::*;
use leptos_router::components::A;

/// One row per layer, bottom first.
#[component]
pub fn LayerList(image_id: Digest, layers: Vec<LayerInfo>) -> impl IntoView {
    let max = layers.iter().map(|l| l.size).max().unwrap_or(0);
    let rows = layers
        .into_iter()
        .map(|l| {
            let href = AppRoute::Layer {
                id: image_id.clone(),
                layer: l.index,
                view: TreeView::Layer,
            }
            .path();
            let short = l.diff_id.short().to_owned();
            view! {
                <tr data-testid="layer-row">
                    <td class="num">{l.index}</td>
                    <td><A href=href attr:data-testid="layer-link"><code title=l.diff_id.to_string()>{short}</code></A></td>
                    <td class="num">{app::fmt::size(l.size)}</td>
                    <td class="bar-cell"><SizeBar size=l.size max=max/></td>
                    <td class="command"><code>{l.created_by.clone()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data layer-list" data-testid="layer-list">
            <thead>
                <tr><th>"#"</th><th>"Diff ID"</th><th>"Size"</th><th></th><th>"Created by"</th></tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
