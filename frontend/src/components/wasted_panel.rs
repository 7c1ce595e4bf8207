//! The wasted-space panel: paths whose stored copies the final image does not show,
//! each blamed on the layer that added the bytes and the layer that hid them (with
//! their build commands), paged from the server.

use crate::api;
use crate::components::ErrorNotice;
use app::api::{Digest, WastedCopy};
use leptos::prelude::*;

const PAGE: u64 = 25;

fn blame(c: &WastedCopy, commands: &[String]) -> String {
    let cmd = |l: u32| {
        commands
            .get(l as usize)
            .map(|c| {
                let c = c.strip_prefix("/bin/sh -c ").unwrap_or(c);
                let c = c.strip_prefix("#(nop) ").unwrap_or(c).trim_start();
                let short: String = c.chars().take(70).collect();
                format!(" ({short})")
            })
            .unwrap_or_default()
    };
    format!(
        "{} stored by layer {}{}, {} by layer {}{}",
        app::fmt::size(c.bytes),
        c.added_layer,
        cmd(c.added_layer),
        c.cause.label(),
        c.hidden_layer,
        cmd(c.hidden_layer)
    )
}

/// Wasted paths of an analysed image, largest first. `commands[k]` is layer k's step.
#[component]
pub fn WastedPanel(image_id: Digest, commands: Signal<Vec<String>>) -> impl IntoView {
    let (limit, set_limit) = signal(PAGE);
    let page = LocalResource::new(move || {
        let id = image_id.clone();
        let limit = limit.get();
        async move { api::wasted(&id, 0, limit).await }
    });
    view! {
        <section class="wasted-panel" data-testid="wasted-panel">
            <h3>"Wasted space"</h3>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <ErrorNotice what="the wasted-space list" error=e/> }.into_any(),
                        Ok(p) if p.items.is_empty() => view! {
                            <p class="muted" data-testid="wasted-none">"No stored copy is hidden: nothing to reclaim by re-layering."</p>
                        }.into_any(),
                        Ok(p) => {
                            let shown = p.items.len() as u64;
                            let total = p.total;
                            let rows = p.items.into_iter().map(|w| {
                                let lines = w.copies.into_iter().map(|c| {
                                    view! { <div class="blame">{move || commands.with(|cmds| blame(&c, cmds))}</div> }
                                }).collect_view();
                                view! {
                                    <tr data-testid="wasted-row">
                                        <td class="path"><code>{w.path}</code></td>
                                        <td class="num">{app::fmt::size(w.wasted)}</td>
                                        <td>{lines}</td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <table class="data">
                                    <thead><tr><th>"Path"</th><th class="num">"Wasted"</th><th>"Blame"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <p class="muted">{format!("{shown} of {total} paths")}</p>
                                <Show when=move || shown < total>
                                    <button class="btn" data-testid="wasted-more" on:click=move |_| set_limit.update(|l| *l += PAGE)>"Show more"</button>
                                </Show>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}
