//! The file diff of the baseline against one other image: subtotals per directory group
//! (added, removed, changed, attributes only, net), groups dropped or new as a whole
//! marked, and the largest individual changes; a changed regular file opens the diff of
//! its content in the two images ([`VersionDiff`]).

use super::{DiffOf, VersionDiff};
use crate::compare_model::{change_mark, count_bytes, delta_class, net_bytes, signed_size};
use app::api::{encode_raw, Digest};
use app::compare::{ChangeKind, DiffGroup, FileChange, FileDiff};
use app::model::EntryKind;
use leptos::prelude::*;

/// Most individual changes listed under the groups.
const SHOWN_CHANGES: usize = 40;

fn group_row(g: DiffGroup, a: &str, b: &str) -> impl IntoView {
    let t = g.totals;
    let net = net_bytes(&t);
    let whole = match (g.in_a, g.in_b) {
        (true, false) => Some(("removed", format!("not in {b}"))),
        (false, true) => Some(("added", format!("new in {b}"))),
        _ => None,
    };
    let state = whole.as_ref().map_or("partial", |w| w.0);
    let name = if g.rest {
        format!("{} (other files)", g.display)
    } else {
        g.display.clone()
    };
    let _ = a;
    view! {
        <tr data-testid="diff-group" data-group=g.display.clone() data-whole=state>
            <td class="path">
                <code>{name}</code>
                {whole.map(|(class, text)| view! { <span class=format!("badge badge-{class}")>{text}</span> })}
            </td>
            <td class="num added">{count_bytes(t.added, t.added_bytes)}</td>
            <td class="num removed">{count_bytes(t.removed, t.removed_bytes)}</td>
            <td class="num modified">{count_bytes(t.changed, t.changed_bytes_after)}</td>
            <td class="num attrs">{count_bytes(t.attrs_only, t.attrs_only_bytes)}</td>
            <td class=format!("num delta {}", delta_class(net))>{signed_size(net)}</td>
        </tr>
    }
}

/// Whether the content of a change can be diffed: a regular file in both images.
fn has_content_diff(c: &FileChange) -> bool {
    c.change == ChangeKind::Changed
        && c.kind_before == Some(EntryKind::File)
        && c.kind_after == Some(EntryKind::File)
}

/// One pair's file diff; `a_id` and `b_id` (the two images) let changed files open their
/// content diff.
#[component]
pub fn FileDiffView(diff: FileDiff, a_id: Option<Digest>, b_id: Option<Digest>) -> impl IntoView {
    // The changed file whose content diff is shown under the list: (path_raw, /path).
    let open = RwSignal::new(None::<(String, String)>);
    let (a, b) = (diff.a.label.clone(), diff.b.label.clone());
    let t = diff.totals;
    let net = net_bytes(&t);
    let groups = diff
        .groups
        .into_iter()
        .map(|g| group_row(g, &a, &b))
        .collect_view();
    let shown: Vec<_> = diff.changes.iter().take(SHOWN_CHANGES).cloned().collect();
    let more = diff.changes.len().saturating_sub(SHOWN_CHANGES) as u64 + diff.changes_omitted;
    let changes = shown
        .into_iter()
        .map(|c| {
            let (symbol, class, label) = change_mark(c.change);
            let delta = c.delta();
            let raw = encode_raw(&c.path);
            let can_diff = a_id.is_some() && b_id.is_some() && has_content_diff(&c);
            let button = can_diff.then(|| {
                let shown = c.display.clone();
                view! {
                    <button class="link-btn" data-testid="change-diff" aria-label=format!("Diff the content of {shown}")
                        on:click=move |_| open.update(|o| {
                            let same = o.as_ref().is_some_and(|(r, _)| *r == raw);
                            *o = (!same).then(|| (raw.clone(), shown.clone()));
                        })>
                        "diff"
                    </button>
                }
            });
            view! {
                <li class=format!("change mark-{class}") data-testid="file-change" data-change=class title=label>
                    <span class="mark-symbol">{symbol}</span>
                    <code class="change-path">{c.display.clone()}</code>
                    <span class=format!("num delta {}", delta_class(delta))>{signed_size(delta)}</span>
                    {button}
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="file-diff" data-testid="file-diff">
            <p class="muted">{format!(
                "{a}: {} files, {} · {b}: {} files, {} · {} changed paths",
                diff.a.files, app::fmt::size(diff.a.bytes), diff.b.files, app::fmt::size(diff.b.bytes), t.changes()
            )}</p>
            {(diff.relocated.files > 0).then(|| view! {
                <p class="muted">{format!("{} files ({}) moved to another path with the same content.", diff.relocated.files, app::fmt::size(diff.relocated.bytes))}</p>
            })}
            {if t.changes() == 0 {
                view! { <p data-testid="no-file-changes">"The two filesystems are identical."</p> }.into_any()
            } else {
                view! {
                    <table class="data diff-groups" data-testid="diff-groups">
                        <thead><tr>
                            <th>"Directory"</th><th class="num">"Added"</th><th class="num">"Removed"</th>
                            <th class="num">"Changed"</th><th class="num">"Attributes only"</th><th class="num">"Net"</th>
                        </tr></thead>
                        <tbody>{groups}</tbody>
                        <tfoot><tr class="diff-total">
                            <th>"All files"</th>
                            <td class="num added">{count_bytes(t.added, t.added_bytes)}</td>
                            <td class="num removed">{count_bytes(t.removed, t.removed_bytes)}</td>
                            <td class="num modified">{count_bytes(t.changed, t.changed_bytes_after)}</td>
                            <td class="num attrs">{count_bytes(t.attrs_only, t.attrs_only_bytes)}</td>
                            <td class=format!("num delta {}", delta_class(net))>{signed_size(net)}</td>
                        </tr></tfoot>
                    </table>
                    <h3>"Largest changes"</h3>
                    <ul class="change-list">{changes}</ul>
                    {move || {
                        let (raw, shown) = open.get()?;
                        let (a_id, b_id) = (a_id.clone()?, b_id.clone()?);
                        Some(view! {
                            <div class="change-diff" data-testid="change-diff-panel">
                                <h4>{format!("{shown}: {a} → {b}")}</h4>
                                <VersionDiff image_id=a_id path_raw=raw of=DiffOf::Image { other: b_id }/>
                            </div>
                        })
                    }}
                    {(more > 0).then(|| view! { <p class="muted">{format!("… and {more} more changes")}</p> })}
                }.into_any()
            }}
        </div>
    }
}
