//! `/registries`: the registries `strata serve --registry NAME=HOST` was given; with
//! `?registry=NAME` its repositories (paged); with `&repository=R` the repository's
//! tags, newest first, with created date, layer count, compressed and (once read) full
//! size, a platform picker for multi-platform tags, a size trend across tags, and
//! "Open", which loads the tag and goes to its image page like any local image.

use crate::api::registries as api;
use crate::api::ApiError;
use crate::components::{AnalysisProgress, ErrorNotice, JobStart};
use crate::routes::AppRoute;
use app::api::{Digest, ErrorCode, OpenTag, TagDetail};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// Names asked for per page.
const PAGE: usize = 100;
/// Most tags listed for one repository (pages are read until this many).
const MAX_TAGS: usize = 2000;
/// Tag details asked for at the same time.
const DETAIL_WORKERS: usize = 4;

/// Resolves after `ms` milliseconds (`setTimeout`).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Tags newest first by their config's `created` (RFC 3339 sorts as text); tags without
/// a known date follow in name order.
pub fn newest_first(tags: &[String], details: &HashMap<String, TagDetail>) -> Vec<String> {
    let mut out = tags.to_vec();
    let created = |t: &String| details.get(t).and_then(|d| d.created.clone());
    out.sort_by(|a, b| match (created(a), created(b)) {
        (Some(x), Some(y)) => y.cmp(&x).then_with(|| a.cmp(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    });
    out
}

/// `(tag, compressed size)` oldest first: the size trend's bars.
pub fn trend(tags: &[String], details: &HashMap<String, TagDetail>) -> Vec<(String, u64)> {
    let mut points: Vec<(String, u64)> = newest_first(tags, details)
        .into_iter()
        .filter_map(|t| {
            let d = details.get(&t)?;
            d.created.as_ref()?;
            Some((t, d.compressed_size))
        })
        .collect();
    points.reverse();
    points
}

fn date(created: Option<&String>) -> String {
    created
        .map(|c| c.chars().take(16).collect::<String>().replace('T', " "))
        .unwrap_or_else(|| "—".into())
}

#[component]
fn RegistryList() -> impl IntoView {
    let list = LocalResource::new(|| async { api::registries().await });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading registries…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) if l.is_empty() => view! {
                        <div class="panel empty-state" data-testid="registries-empty">
                            <p>"No registries are configured. Start Strata with "<code>"--registry NAME=HOST[:PORT]"</code>" (repeatable); credentials come from the docker config, as for "<code>"docker pull"</code>"."</p>
                        </div>
                    }.into_any(),
                    Ok(l) => view! {
                        <div class="stat-cards" data-testid="registry-list">
                            {l.into_iter().map(|r| {
                                let href = AppRoute::Registries { registry: Some(r.name.clone()), repository: None }.path();
                                view! {
                                    <A href=href attr:class="stat-card registry-card" attr:data-testid="registry-card">
                                        <div class="stat-value">{r.name}</div>
                                        <div class="stat-label">{r.host}</div>
                                    </A>
                                }
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice what="the registries" error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RepositoryList(registry: String) -> impl IntoView {
    let items = RwSignal::new(Vec::<String>::new());
    let next = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<ApiError>);
    let loading = RwSignal::new(false);
    let load = {
        let registry = registry.clone();
        move |last: Option<String>| {
            let registry = registry.clone();
            loading.set(true);
            spawn_local(async move {
                match api::repositories(&registry, PAGE, last.as_deref()).await {
                    Ok(p) => {
                        items.update(|i| i.extend(p.items));
                        next.set(p.next);
                    }
                    Err(e) => error.set(Some(e)),
                }
                loading.set(false);
            });
        }
    };
    load(None);
    let more = load.clone();
    let reg = registry.clone();
    view! {
        <section class="panel">
            <h2>"Repositories"</h2>
            {move || error.get().map(|e| view! { <ErrorNotice what="the catalog" error=e/> })}
            <ul class="repo-list" data-testid="repository-list">
                {move || items.get().into_iter().map(|repo| {
                    let href = AppRoute::Registries { registry: Some(reg.clone()), repository: Some(repo.clone()) }.path();
                    view! { <li><A href=href attr:data-testid="repository-link">{repo}</A></li> }
                }).collect_view()}
            </ul>
            {move || (items.get().is_empty() && !loading.get() && error.get().is_none())
                .then(|| view! { <p class="muted" data-testid="repositories-empty">"This registry lists no repositories."</p> })}
            {move || next.get().map(|n| {
                let more = more.clone();
                view! { <button class="btn" data-testid="repositories-more" on:click=move |_| more(Some(n.clone()))>"More"</button> }
            })}
        </section>
    }
}

/// The size trend: one bar per dated tag, oldest left, labelled with tag and size.
fn trend_view(points: Vec<(String, u64)>) -> AnyView {
    if points.len() < 2 {
        return ().into_any();
    }
    let max = points.iter().map(|p| p.1).max().unwrap_or(1).max(1);
    let bars = points
        .into_iter()
        .map(|(tag, size)| {
            let pct = size as f64 / max as f64 * 100.0;
            let shown = app::fmt::size(size);
            let title = format!("{tag}: {shown} compressed");
            view! {
                <div class="trend-col" title=title>
                    <div class="trend-value">{shown}</div>
                    <div class="trend-track">
                        <div class="trend-bar" data-testid="trend-bar" style:height=format!("{pct:.1}%")></div>
                    </div>
                    <div class="trend-tag">{tag}</div>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="panel" data-testid="size-trend">
            <h2>"Compressed size across tags (oldest left)"</h2>
            <div class="size-trend" role="img" aria-label="compressed size of each tag">{bars}</div>
        </section>
    }
    .into_any()
}

#[component]
fn TagTable(registry: String, repository: String) -> impl IntoView {
    let tags = RwSignal::new(Vec::<String>::new());
    let details = RwSignal::new(HashMap::<String, TagDetail>::new());
    let failures = RwSignal::new(HashMap::<String, String>::new());
    let error = RwSignal::new(None::<ApiError>);
    let truncated = RwSignal::new(false);
    {
        let (registry, repository) = (registry.clone(), repository.clone());
        spawn_local(async move {
            let mut last: Option<String> = None;
            let mut all = Vec::new();
            loop {
                match api::tags(&registry, &repository, PAGE, last.as_deref()).await {
                    Ok(p) => {
                        all.extend(p.items);
                        match p.next {
                            Some(n) if all.len() < MAX_TAGS => last = Some(n),
                            Some(_) => {
                                truncated.set(true);
                                break;
                            }
                            None => break,
                        }
                    }
                    Err(e) => {
                        error.set(Some(e));
                        break;
                    }
                }
            }
            all.truncate(MAX_TAGS);
            tags.set(all.clone());
            // A few at a time, waiting out the server's rate limit: a repository with
            // thousands of tags must not turn into thousands of refused requests.
            let queue = Rc::new(RefCell::new(VecDeque::from(all)));
            for _ in 0..DETAIL_WORKERS {
                let (queue, registry, repository) =
                    (queue.clone(), registry.clone(), repository.clone());
                spawn_local(async move {
                    loop {
                        let Some(t) = queue.borrow_mut().pop_front() else {
                            break;
                        };
                        let mut waits = 0;
                        let kept = loop {
                            match api::tag(&registry, &repository, &t).await {
                                Ok(d) => {
                                    break details.try_update(|m| {
                                        m.insert(t.clone(), d);
                                    })
                                }
                                Err(e)
                                    if e.code() == Some(ErrorCode::RateLimited) && waits < 10 =>
                                {
                                    waits += 1;
                                    sleep_ms(1000).await;
                                }
                                Err(e) => {
                                    break failures.try_update(|m| {
                                        m.insert(t.clone(), e.to_string());
                                    })
                                }
                            }
                        };
                        // The page went away: stop asking.
                        if kept.is_none() {
                            break;
                        }
                    }
                });
            }
        });
    }
    // The tag being opened and the job that downloads it; its progress bar goes to
    // the image page when done.
    let opening = RwSignal::new(None::<(String, JobStart)>);
    let chosen = RwSignal::new(HashMap::<String, String>::new());
    let navigate = use_navigate();
    let go_to_image = Callback::new(move |id: Digest| {
        navigate(&AppRoute::Image { id }.path(), Default::default())
    });
    let open = {
        let registry = registry.clone();
        let repository = repository.clone();
        move |tag: String| {
            let body = OpenTag {
                repository: repository.clone(),
                tag: tag.clone(),
                platform: chosen.get_untracked().get(&tag).cloned(),
            };
            let start = JobStart::OpenTag {
                registry: registry.clone(),
                tag: body,
            };
            opening.set(Some((tag, start)));
        }
    };
    let rows = move || {
        let d = details.get();
        let f = failures.get();
        newest_first(&tags.get(), &d)
            .into_iter()
            .map(|t| {
                let detail = d.get(&t).cloned();
                let failed = f.get(&t).cloned();
                let open = open.clone();
                let tag = t.clone();
                let picker = detail.as_ref().filter(|d| d.platforms.len() > 1).map(|d| {
                    let t = t.clone();
                    let current = d.platform.clone().unwrap_or_default();
                    let options = d.platforms.iter().map(|p| {
                        let selected = *p == current;
                        view! { <option value=p.clone() selected=selected>{p.clone()}</option> }
                    }).collect_view();
                    view! {
                        <select data-testid="platform-picker" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            chosen.update(|m| { m.insert(t.clone(), v); });
                        }>{options}</select>
                    }
                });
                let platform_text = detail.as_ref().and_then(|d| d.platform.clone()).unwrap_or_default();
                view! {
                    <tr data-testid="tag-row" data-tag=t.clone()>
                        <td class="name">{t.clone()}</td>
                        <td>{detail.as_ref().map_or_else(|| failed.clone().map_or("…".into(), |_| "—".into()), |d| date(d.created.as_ref()))}</td>
                        <td>{match picker { Some(p) => p.into_any(), None => platform_text.into_any() }}</td>
                        <td class="num">{detail.as_ref().map(|d| d.layer_count.to_string())}</td>
                        <td class="num" data-testid="tag-compressed">{detail.as_ref().map(|d| app::fmt::size(d.compressed_size))}</td>
                        <td class="num" title="the full size is known once the tag's layers were read">
                            {detail.as_ref().and_then(|d| d.size).map_or_else(|| "—".to_owned(), app::fmt::size)}
                        </td>
                        <td>
                            {failed.map(|e| view! { <span class="notice-inline" title=e.clone()>"unreadable"</span> })}
                            <button class="btn" data-testid="open-tag"
                                on:click=move |_| open(tag.clone())>
                                "Open"
                            </button>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        {move || error.get().map(|e| view! { <ErrorNotice what="the tags" error=e/> })}
        {move || opening.get().map(|(t, start)| view! {
            <section class="panel" data-testid="opening">
                <h2>{format!("Opening {t}")}</h2>
                <p class="muted">"Downloading the layers Strata has not read yet, then analysing them."</p>
                <AnalysisProgress start=start on_done=go_to_image/>
            </section>
        })}
        {move || trend_view(trend(&tags.get(), &details.get()))}
        <section class="panel">
            <h2>"Tags"</h2>
            <table class="data" data-testid="tag-table">
                <thead><tr><th>"Tag"</th><th>"Created"</th><th>"Platform"</th><th class="num">"Layers"</th><th class="num">"Compressed"</th><th class="num">"Size"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {move || truncated.get().then(|| view! { <p class="muted">{format!("Only the first {MAX_TAGS} tags are listed.")}</p> })}
        </section>
    }
}

/// `/registries`.
#[component]
pub fn RegistriesPage() -> impl IntoView {
    let query = use_query_map();
    let registry = Memo::new(move |_| query.read().get("registry").filter(|r| !r.is_empty()));
    let repository = Memo::new(move |_| query.read().get("repository").filter(|r| !r.is_empty()));
    let crumbs = move || {
        let top = AppRoute::Registries {
            registry: None,
            repository: None,
        }
        .path();
        match (registry.get(), repository.get()) {
            (None, _) => view! { <span>"Registries"</span> }.into_any(),
            (Some(r), None) => {
                view! { <A href=top>"Registries"</A>" / "<span>{r}</span> }.into_any()
            }
            (Some(r), Some(repo)) => {
                let up = AppRoute::Registries {
                    registry: Some(r.clone()),
                    repository: None,
                }
                .path();
                view! { <A href=top>"Registries"</A>" / "<A href=up>{r}</A>" / "<span>{repo}</span> }.into_any()
            }
        }
    };
    view! {
        <section class="registries-page" data-testid="registries-page">
            <nav class="crumbs"><A href=AppRoute::Images.path()>"Images"</A>" / "{crumbs}</nav>
            <h1>{move || repository.get().unwrap_or_else(|| "Registries".into())}</h1>
            {move || match (registry.get(), repository.get()) {
                (None, _) => view! { <RegistryList/> }.into_any(),
                (Some(r), None) => view! { <RepositoryList registry=r/> }.into_any(),
                (Some(r), Some(repo)) => view! { <TagTable registry=r repository=repo/> }.into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(tag: &str, created: Option<&str>, size: u64) -> (String, TagDetail) {
        (
            tag.to_owned(),
            TagDetail {
                repository: "r".into(),
                tag: tag.into(),
                digest: app::model::Digest::of(tag.as_bytes()),
                platforms: Vec::new(),
                platform: None,
                created: created.map(str::to_owned),
                layer_count: 1,
                compressed_size: size,
                size: None,
            },
        )
    }

    #[test]
    fn tags_sort_newest_first_and_trend_oldest_first() {
        let tags: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let details: HashMap<String, TagDetail> = [
            detail("a", Some("2024-01-02T00:00:00Z"), 10),
            detail("b", Some("2024-03-01T00:00:00Z"), 30),
            detail("c", None, 5),
        ]
        .into_iter()
        .collect();
        assert_eq!(newest_first(&tags, &details), ["b", "a", "c", "d"]);
        assert_eq!(
            trend(&tags, &details),
            vec![("a".to_owned(), 10), ("b".to_owned(), 30)]
        );
    }
}
