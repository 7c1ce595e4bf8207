//! A horizontal bar showing a size relative to the largest in its group.

use crate::view_model::bar_percent;
use leptos::prelude::*;

/// `size` as a share of `max`, with the formatted size as its label.
#[component]
pub fn SizeBar(size: u64, max: u64) -> impl IntoView {
    let pct = bar_percent(size, max);
    view! {
        <span class="size-bar" title=format!("{size} bytes")>
            <span class="size-bar-fill" style:width=format!("{pct:.1}%")></span>
        </span>
    }
}
