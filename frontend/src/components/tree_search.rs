//! The search results of the layer explorer: paths matching the query (substring, or a
//! glob when it has `*` or `?`) in the same view as the tree, with marks and sizes;
//! choosing one reveals it in the tree.

use crate::api;
use crate::tree_nav::search_mode;
use app::api::{Digest, SearchHit, TreeView};
use leptos::prelude::*;

/// Hits fetched per search, and added by each "show more".
const HITS: u64 = 200;
/// Most hits the server returns for one request.
const MAX_HITS: u64 = 2000;

/// Results for `query` (nothing while it is empty); `on_pick` gets the chosen hit.
#[component]
pub fn TreeSearch(
    image_id: Digest,
    layer: u32,
    view: TreeView,
    query: Signal<String>,
    on_pick: Callback<SearchHit>,
) -> impl IntoView {
    let limit = RwSignal::new(HITS);
    // A new query starts from the first page again.
    Effect::new(move |_| {
        query.track();
        limit.set(HITS);
    });
    let hits = LocalResource::new(move || {
        let q = query.get();
        let n = limit.get();
        let id = image_id.clone();
        async move {
            if q.trim().is_empty() {
                None
            } else {
                Some(api::search(&id, layer, view, q.trim(), search_mode(&q), 0, n).await)
            }
        }
    });
    move || {
        let result = hits.get()?;
        let page = match result {
            None => return None,
            Some(Err(e)) => {
                return Some(
                    view! { <div class="notice notice-error" data-testid="search-error">{e.to_string()}</div> }
                        .into_any(),
                )
            }
            Some(Ok(p)) => p,
        };
        let more = page.total > page.items.len() as u64 && limit.get_untracked() < MAX_HITS;
        let summary = match page.total {
            0 => "No matching paths.".to_owned(),
            t if t > page.items.len() as u64 => {
                format!("{t} matches, the first {} shown", page.items.len())
            }
            1 => "1 match".to_owned(),
            t => format!("{t} matches"),
        };
        let items = page
            .items
            .into_iter()
            .map(|hit| {
                let mark = hit.mark;
                let path = hit.path.clone();
                let data_path = path.clone();
                let size = app::fmt::size(hit.size);
                view! {
                    <li
                        class=format!("search-hit mark-{}", mark.as_str())
                        data-testid="search-hit"
                        data-path=data_path
                        data-mark=mark.as_str()
                        on:click=move |_| on_pick.run(hit.clone())
                    >
                        <span class="mark-symbol">{mark.symbol()}</span>
                        <code class="hit-path">{path}</code>
                        <span class="col-size">{size}</span>
                    </li>
                }
            })
            .collect_view();
        Some(
            view! {
                <div class="search-results" data-testid="search-results">
                    <p class="muted search-summary" data-testid="search-summary">{summary}</p>
                    <ul class="search-hits">{items}</ul>
                    {more.then(|| view! {
                        <button class="link-btn" data-testid="search-more" on:click=move |_| limit.update(|l| *l += HITS)>
                            {format!("Show {HITS} more")}
                        </button>
                    })}
                </div>
            }
            .into_any(),
        )
    }
}
