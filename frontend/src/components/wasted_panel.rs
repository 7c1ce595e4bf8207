//! The wasted-space panel: paths stored more than once or hidden by later layers, with
//! the layers involved (blame), paged from the server.

use crate::api;
use crate::components::ErrorNotice;
use leptos::prelude::*;

const PAGE: u64 = 50;

/// Wasted paths of an analysed image, largest first.
#[component]
pub fn WastedPanel(image_id: String) -> impl IntoView {
    let (limit, set_limit) = signal(PAGE);
    let id = image_id.clone();
    let page = LocalResource::new(move || {
        let id = id.clone();
        let limit = limit.get();
        async move { api::wasted(&id, 0, limit).await }
    });
    view! {
        <section class="panel wasted-panel" data-testid="wasted-panel">
            <h3>"Wasted space"</h3>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <ErrorNotice what="the wasted-space list" error=e/> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <p class="muted" data-testid="wasted-none">"No path is stored twice or hidden by a later layer."</p>
                        }.into_any(),
                        Ok(p) => {
                            let more = p.total > p.items.len() as u64;
                            let rows = p.items.into_iter().map(|w| {
                                let layers = w.layers.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ");
                                let blame = match (w.added_by, w.hidden_by) {
                                    (Some(a), Some(h)) => format!("added in layer {a}, hidden by layer {h}"),
                                    (Some(a), None) => format!("added in layer {a}"),
                                    _ => String::new(),
                                };
                                view! {
                                    <tr data-testid="wasted-row">
                                        <td class="path"><code>{w.path}</code></td>
                                        <td class="num">{app::fmt::size(w.wasted)}</td>
                                        <td>{layers}</td>
                                        <td class="muted">{blame}</td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <table class="data">
                                    <thead><tr><th>"Path"</th><th>"Wasted"</th><th>"Layers"</th><th>"Blame"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <Show when=move || more>
                                    <button class="btn" on:click=move |_| set_limit.update(|l| *l += PAGE)>"Show more"</button>
                                </Show>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
