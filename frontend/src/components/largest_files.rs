//! The largest files of the final image, paged from the server.

use crate::api;
use crate::components::{ErrorNotice, SizeBar};
use app::api::Digest;
use leptos::prelude::*;

const PAGE: u64 = 15;

/// Largest files first, with the layer that wrote each.
#[component]
pub fn LargestFiles(image_id: Digest) -> impl IntoView {
    let (limit, set_limit) = signal(PAGE);
    let page = LocalResource::new(move || {
        let id = image_id.clone();
        let limit = limit.get();
        async move { api::largest_files(&id, 0, limit).await }
    });
    view! {
        <section class="largest-files" data-testid="largest-files">
            <h3>"Largest files"</h3>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <ErrorNotice what="the largest files" error=e/> }.into_any(),
                        Ok(p) => {
                            let max = p.items.first().map_or(0, |f| f.size);
                            let shown = p.items.len() as u64;
                            let total = p.total;
                            let rows = p.items.into_iter().map(|f| view! {
                                <tr data-testid="largest-row">
                                    <td class="path"><code>{f.path}</code></td>
                                    <td class="num">{app::fmt::size(f.size)}</td>
                                    <td class="bar-cell"><SizeBar size=f.size max=max/></td>
                                    <td class="num">{format!("layer {}", f.layer)}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="data">
                                    <thead><tr><th>"Path"</th><th class="num">"Size"</th><th></th><th class="num">"Written by"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <Show when=move || shown < total>
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
