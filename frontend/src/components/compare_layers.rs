//! The layers of the compared images side by side: one column per image, rows aligned by
//! diff ID (a layer two images share sits in one row even at different positions), each
//! layer a bar scaled to the largest layer, coloured by how it is shared, the common base
//! highlighted and closed by a dashed line.

use crate::compare_model::{align_by_diff_id, common_base_rows, sharing_class, short_digest};
use crate::view_model::bar_percent;
use app::api::CompareReport;
use app::compare::LayerCell;
use leptos::prelude::*;

fn cell_view(cell: Option<LayerCell>, max: u64, labels: &[String]) -> AnyView {
    let Some(c) = cell else {
        return view! { <div class="layer-cell layer-none" aria-hidden="true"></div> }.into_any();
    };
    let (class, legend) = sharing_class(c.sharing);
    let pct = bar_percent(c.content_bytes, max);
    let with: Vec<String> = c
        .shared_with
        .iter()
        .filter_map(|i| labels.get(*i).cloned())
        .collect();
    let title = format!(
        "layer {} · {} · diff {}{}\n{}",
        c.index,
        legend,
        short_digest(c.diff_id.as_str()),
        if with.is_empty() {
            String::new()
        } else {
            format!(" · also in {}", with.join(", "))
        },
        c.created_by.clone().unwrap_or_default()
    );
    let command = c.created_by.clone().unwrap_or_default();
    view! {
        <div
            class=format!("layer-cell sharing-{class}")
            data-testid="layer-cell"
            data-sharing=class
            data-diff-id=c.diff_id.to_string()
            title=title
        >
            <div class="layer-cell-head">
                <span class="layer-index">{format!("#{}", c.index)}</span>
                <span class="layer-size">{app::fmt::size(c.content_bytes)}</span>
                {(!with.is_empty()).then(|| view! { <span class="layer-with">{format!("= {}", with.join(" "))}</span> })}
            </div>
            <div class="layer-bar"><span class="layer-bar-fill" style:width=format!("{pct:.1}%")></span></div>
            <div class="layer-command">{command}</div>
        </div>
    }
    .into_any()
}

/// The side-by-side layer columns.
#[component]
pub fn CompareLayers(comparison: CompareReport) -> impl IntoView {
    let labels: Vec<String> = comparison.images.iter().map(|i| i.label.clone()).collect();
    let n = comparison.images.len();
    let max = comparison.layers.max_layer_bytes;
    let prefix = comparison.layers.common_prefix;
    // Set through the CSSOM (`style:`): the CSP forbids inline style attributes.
    let grid = format!("repeat({n}, minmax(0, 1fr))");
    let heads = comparison
        .images
        .iter()
        .map(|i| {
            view! {
                <div class="layer-col-head">
                    <span class="image-label">{i.label.clone()}</span>" "
                    <span class="image-name">{i.name.clone()}</span>
                    <span class="muted">{format!(" · {} layers", i.layer_count)}</span>
                </div>
            }
        })
        .collect_view();
    let aligned = align_by_diff_id(&comparison.layers.rows, n);
    let base_rows = common_base_rows(&aligned);
    let rows = aligned
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let boundary = i + 1 == base_rows;
            let cells = row
                .into_iter()
                .map(|c| cell_view(c, max, &labels))
                .collect_view();
            view! {
                <div class=if boundary { "layer-row base-end" } else { "layer-row" } style:grid-template-columns=grid.clone()>
                    {cells}
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="compare-layers" data-testid="compare-layers">
            <p class="legend">
                <span class="swatch sharing-common-base"></span>"common base"
                <span class="swatch sharing-shared"></span>"shared"
                <span class="swatch sharing-moved"></span>"same content elsewhere"
                <span class="swatch sharing-unique"></span>"unique"
            </p>
            <div class="layer-row layer-heads" style:grid-template-columns=grid.clone()>{heads}</div>
            {rows}
            <p class="muted" data-testid="common-base">
                {if prefix == 0 {
                    "No common base: the images share no bottom layer.".to_owned()
                } else {
                    format!(
                        "Common base: {} layer{} ({}) shared by every image.",
                        prefix,
                        if prefix == 1 { "" } else { "s" },
                        app::fmt::size(comparison.layers.common_prefix_bytes)
                    )
                }}
            </p>
        </div>
    }
}
