//! The image list: docker-style filters (sent to the server), a search box and sortable
//! columns (client-side), totals, and "Open archive…" (also by dropping a file on the
//! page).

use crate::api;
use crate::components::{ErrorNotice, UploadArchive};
use crate::routes::AppRoute;
use crate::view_model::{
    absolute_time, display_name, parse_filter_text, relative_time, visible_images, ImageColumn,
};
use app::api::{Digest, ImageList};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// `/`: every local image.
#[component]
pub fn ImageListPage() -> impl IntoView {
    let query = use_query_map();
    let url_filter = Memo::new(move |_| query.read().get("filter").unwrap_or_default());
    let (filter_text, set_filter_text) = signal(url_filter.get_untracked());
    // A link that changes the filter (a host cell) updates the box too.
    Effect::new(move |_| set_filter_text.set(url_filter.get()));
    let applied = Memo::new(move |_| parse_filter_text(&url_filter.get()).unwrap_or_default());
    let (filter_error, set_filter_error) = signal(None::<String>);
    let navigate = use_navigate();
    let (search, set_search) = signal(String::new());
    let (column, set_column) = signal(ImageColumn::Created);
    // Images ticked for comparison, in the order ticked (the first is the baseline).
    let selected = RwSignal::new(Vec::<Digest>::new());
    let navigate_compare = use_navigate();
    let compare = move |_| {
        let ids = selected.get_untracked();
        if (2..=4).contains(&ids.len()) {
            navigate_compare(&AppRoute::Compare { ids }.path(), Default::default());
        }
    };
    let (desc, set_desc) = signal(true);
    let dropped = RwSignal::new_local(None::<web_sys::File>);
    let on_dragover = |ev: leptos::ev::DragEvent| ev.prevent_default();
    let on_drop = move |ev: leptos::ev::DragEvent| {
        let file = ev
            .data_transfer()
            .and_then(|dt| dt.files())
            .and_then(|files| files.get(0));
        if let Some(file) = file {
            ev.prevent_default();
            dropped.set(Some(file));
        }
    };

    let list = LocalResource::new(move || {
        let f = applied.get();
        async move { api::list_images(&f).await }
    });
    let apply = move || {
        let text = filter_text.get_untracked();
        match parse_filter_text(&text) {
            Ok(_) => {
                set_filter_error.set(None);
                navigate(
                    &AppRoute::ImagesFiltered { filter: text }.path(),
                    Default::default(),
                );
            }
            Err(e) => set_filter_error.set(Some(e)),
        }
    };
    let header = move |col: ImageColumn, label: &'static str| {
        let arrow = move || match (column.get() == col, desc.get()) {
            (false, _) => "",
            (true, true) => " ▼",
            (true, false) => " ▲",
        };
        view! {
            <th
                class="sortable"
                data-testid=format!("sort-{}", col.key())
                aria-sort=move || match (column.get() == col, desc.get()) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                }
                on:click=move |_| {
                    if column.get_untracked() == col {
                        set_desc.update(|d| *d = !*d);
                    } else {
                        set_column.set(col);
                        set_desc.set(!matches!(col, ImageColumn::Name | ImageColumn::Id));
                    }
                }
            >
                {label}
                {arrow}
            </th>
        }
    };

    let table = move |data: ImageList| {
        let now = now_secs();
        let totals = data.totals.clone();
        let all = data.images;
        // A host column only when the server names several Docker hosts.
        let show_host = all.iter().any(|i| i.host.is_some());
        let rows = move || {
            visible_images(&all, &search.get(), column.get(), desc.get())
                .into_iter()
                .map(|img| {
                    let href = AppRoute::Image { id: img.id.clone() }.path();
                    let name = display_name(&img);
                    let data_name = name.clone();
                    let more_tags = img.tags.len().saturating_sub(1);
                    let id_check = img.id.clone();
                    let id_toggle = img.id.clone();
                    let checked = move || selected.with(|s| s.contains(&id_check));
                    let label = format!("Select {name} for comparison");
                    let host_cell = show_host.then(|| {
                        let host = img.host.clone().unwrap_or_default();
                        let only = AppRoute::ImagesFiltered { filter: format!("host={host}") }.path();
                        view! {
                            <td class="host" data-testid="image-host">
                                {(!host.is_empty()).then(|| {
                                    let title = format!("Only the images on {host}");
                                    view! { <A href=only attr:title=title>{host}</A> }
                                })}
                            </td>
                        }
                    });
                    view! {
                        <tr data-testid="image-row" data-id=img.id.to_string() data-name=data_name data-host=img.host.clone().unwrap_or_default()>
                            <td class="pick">
                                <input
                                    type="checkbox"
                                    data-testid="compare-check"
                                    aria-label=label
                                    prop:checked=checked
                                    on:change=move |_| selected.update(|s| {
                                        if let Some(pos) = s.iter().position(|x| *x == id_toggle) {
                                            s.remove(pos);
                                        } else {
                                            s.push(id_toggle.clone());
                                        }
                                    })
                                />
                            </td>
                            <td class="name">
                                <A href=href attr:data-testid="image-link">{name}</A>
                                {(more_tags > 0).then(|| view! { <span class="muted">{format!(" +{more_tags} tags")}</span> })}
                                {img.dangling.then(|| view! { <span class="badge badge-dangling" data-testid="dangling-badge">"dangling"</span> })}
                                {img.source.clone().map(|src| view! { <div class="image-source" data-testid="image-source" title=src.clone()>{format!("opened from {src}")}</div> })}
                            </td>
                            {host_cell}
                            <td><code title=img.id.to_string()>{img.short_id.clone()}</code></td>
                            <td title=absolute_time(img.created)>{relative_time(img.created, now)}</td>
                            <td class="num" data-testid="image-size">{app::fmt::size(img.size)}</td>
                            <td class="num">{img.unique_size.map(app::fmt::size).unwrap_or_else(|| "—".into())}</td>
                            <td class="num">{img.layer_count}</td>
                        </tr>
                    }
                })
                .collect_view()
        };
        view! {
            <table class="data image-table" data-testid="image-table">
                <thead>
                    <tr>
                        <th class="pick" title="Tick 2 to 4 images to compare"></th>
                        {header(ImageColumn::Name, "Repository:tag")}
                        {show_host.then(|| header(ImageColumn::Host, "Host"))}
                        {header(ImageColumn::Id, "Image ID")}
                        {header(ImageColumn::Created, "Created")}
                        {header(ImageColumn::Size, "Size")}
                        {header(ImageColumn::UniqueSize, "Unique")}
                        {header(ImageColumn::Layers, "Layers")}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="totals" data-testid="image-totals">
                {format!(
                    "{} image{} · {} total · {} unique · {} dangling",
                    totals.count,
                    if totals.count == 1 { "" } else { "s" },
                    app::fmt::size(totals.size),
                    app::fmt::size(totals.unique_size),
                    totals.dangling
                )}
            </p>
        }
    };

    view! {
        <section class="image-list" data-testid="image-list-page" on:dragover=on_dragover on:drop=on_drop>
            <h1>"Images"</h1>
            <div class="toolbar">
                <form class="filter-form" on:submit={
                    let apply = apply.clone();
                    move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); apply(); }
                }>
                    <input
                        type="text"
                        class="filter-input"
                        data-testid="filter-input"
                        placeholder="filter: reference=app/* dangling=true label=k=v before=… since=… host=…"
                        prop:value=filter_text
                        on:input=move |ev| set_filter_text.set(event_target_value(&ev))
                    />
                    <button type="submit" class="btn" data-testid="filter-apply">"Filter"</button>
                </form>
                <button
                    class="btn"
                    data-testid="compare-button"
                    title="Tick 2 to 4 images, then compare them side by side (the first ticked is the baseline)"
                    prop:disabled=move || !(2..=4).contains(&selected.with(Vec::len))
                    on:click=compare
                >
                    {move || match selected.with(Vec::len) {
                        0 => "Compare".to_owned(),
                        n if n > 4 => format!("Compare ({n}; at most 4)"),
                        n => format!("Compare ({n})"),
                    }}
                </button>
                <input
                    type="search"
                    class="search-input"
                    data-testid="search-input"
                    placeholder="Search name, ID or host"
                    prop:value=search
                    on:input=move |ev| set_search.set(event_target_value(&ev))
                />
                <UploadArchive dropped=dropped/>
            </div>
            {move || filter_error.get().map(|e| view! { <div class="notice notice-error" data-testid="filter-error">{e}</div> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading images…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(data) => table(data).into_any(),
                        Err(e) => view! { <ErrorNotice what="the image list" error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
