//! Config and history differences of the baseline against one other image: changed run
//! settings, environment and labels (added / removed / changed), exposed ports, and the
//! build history aligned step by step with the common base folded away.

use crate::compare_model::step_class;
use app::compare::{ConfigDiff, MapDiff, SetDiff};
use leptos::prelude::*;

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(unset)".into())
}

fn opt_list(v: &Option<Vec<String>>) -> String {
    match v {
        None => "(unset)".into(),
        Some(v) => format!("{v:?}"),
    }
}

fn change_row(label: &'static str, before: String, after: String) -> AnyView {
    view! {
        <tr data-testid="config-change">
            <th scope="row">{label}</th>
            <td class="removed"><code>{before}</code></td>
            <td class="added"><code>{after}</code></td>
        </tr>
    }
    .into_any()
}

fn map_rows(label: &'static str, m: &MapDiff) -> Vec<AnyView> {
    let mut rows = Vec::new();
    for (k, v) in &m.removed {
        rows.push(change_row(label, format!("{k}={v}"), "(removed)".into()));
    }
    for (k, v) in &m.added {
        rows.push(change_row(label, "(absent)".into(), format!("{k}={v}")));
    }
    for (k, c) in &m.changed {
        rows.push(change_row(
            label,
            format!("{k}={}", c.before),
            format!("{k}={}", c.after),
        ));
    }
    rows
}

fn set_rows(label: &'static str, s: &SetDiff) -> Vec<AnyView> {
    let mut rows = Vec::new();
    for v in &s.removed {
        rows.push(change_row(label, v.clone(), "(removed)".into()));
    }
    for v in &s.added {
        rows.push(change_row(label, "(absent)".into(), v.clone()));
    }
    rows
}

/// One pair's config and history diff.
#[component]
pub fn ConfigDiffView(diff: ConfigDiff, a: String, b: String) -> impl IntoView {
    let mut rows: Vec<AnyView> = Vec::new();
    if let Some(c) = &diff.platform {
        rows.push(change_row("Platform", c.before.clone(), c.after.clone()));
    }
    if let Some(c) = &diff.user {
        rows.push(change_row("User", opt(&c.before), opt(&c.after)));
    }
    if let Some(c) = &diff.working_dir {
        rows.push(change_row("Workdir", opt(&c.before), opt(&c.after)));
    }
    if let Some(c) = &diff.entrypoint {
        rows.push(change_row(
            "Entrypoint",
            opt_list(&c.before),
            opt_list(&c.after),
        ));
    }
    if let Some(c) = &diff.cmd {
        rows.push(change_row("Cmd", opt_list(&c.before), opt_list(&c.after)));
    }
    rows.extend(map_rows("Env", &diff.env));
    rows.extend(map_rows("Label", &diff.labels));
    rows.extend(set_rows("Port", &diff.exposed_ports));
    let identical = rows.is_empty();
    let (base, steps) = crate::compare_model::visible_history(&diff.history.rows);
    let steps: Vec<_> = steps.into_iter().cloned().collect();
    let history = steps
        .into_iter()
        .map(|r| {
            let (class, label) = step_class(r.status);
            let layer = |l: Option<usize>| l.map(|l| format!("#{l}")).unwrap_or_default();
            view! {
                <li class=format!("hstep hstep-{class}") data-testid="history-row" data-status=class>
                    <span class="hstep-status">{label}</span>
                    <span class="hstep-layer">{layer(r.layer_a)}</span>
                    <span class="hstep-layer">{layer(r.layer_b)}</span>
                    <code class="hstep-command">{r.created_by.clone()}</code>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="config-diff" data-testid="config-diff">
            {if identical {
                view! { <p data-testid="config-identical">"Run config, environment, labels and ports are identical."</p> }.into_any()
            } else {
                view! {
                    <table class="data config-changes">
                        <thead><tr><th></th><th>{a.clone()}</th><th>{b.clone()}</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            }}
            <h3>"History"</h3>
            <p class="muted">{if base == 0 {
                "No build steps in common.".to_owned()
            } else {
                format!("{base} step{} of the common base not shown.", if base == 1 { "" } else { "s" })
            }}</p>
            <div class="hstep hstep-head"><span>"Step"</span><span>{format!("{a} layer")}</span><span>{format!("{b} layer")}</span><span>"Command"</span></div>
            <ul class="history-diff">{history}</ul>
        </div>
    }
}
