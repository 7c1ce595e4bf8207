//! Every build step in order, empty ones included, each with its layer, the time since
//! the step before it and a size bar.
//! A step's `created_by` is shown readable ([`app::history_cmd`]): the Dockerfile
//! instruction, then one line per top-level command; the original text stays one
//! click away (and in the tooltip).

use super::SizeBar;
use crate::routes::AppRoute;
use app::api::{Digest, HistoryStep, TreeView};
use app::history_cmd::{readable_command, Joiner, ReadableCommand};
use leptos::prelude::*;
use leptos_router::components::A;

/// The `docker history` view, oldest step first.
#[component]
pub fn HistoryTimeline(image_id: Digest, steps: Vec<HistoryStep>) -> impl IntoView {
    let max = steps.iter().map(|s| s.size).max().unwrap_or(0);
    let gaps = step_gaps(&steps);
    let items = steps
        .into_iter()
        .zip(gaps)
        .map(|(s, gap)| {
            let class = if s.empty_layer {
                "step step-empty"
            } else {
                "step step-layer"
            };
            let layer_link = s.layer.map(|l| {
                let href = AppRoute::Layer {
                    id: image_id.clone(),
                    layer: l,
                    view: TreeView::Layer,
                }
                .path();
                view! { <A href=href attr:class="layer-badge" attr:data-testid="step-layer-link">{format!("layer {l}")}</A> }
            });
            let title = match &s.created {
                Some(when) => format!("{when}\n{}", s.created_by),
                None => s.created_by.clone(),
            };
            view! {
                <li class=class data-testid="history-step" data-empty=s.empty_layer.to_string()>
                    <span class="step-index">{format!("#{}", s.index)}</span>
                    <span class="step-kind">
                        {if s.empty_layer { "metadata only" } else { "" }}
                        {layer_link}
                    </span>
                    <StepCommand created_by=s.created_by.clone() title=title/>
                    <span class="step-gap muted" data-testid="step-gap"
                        title="time since the previous step was created">{gap}</span>
                    <span class="step-size">{app::fmt::size(s.size)}</span>
                    <SizeBar size=s.size max=max/>
                </li>
            }
        })
        .collect_view();
    view! { <ol class="history-timeline" data-testid="history-timeline">{items}</ol> }
}

/// For each step, the time since the previous step was created (`+42 s`), or nothing
/// for the first step and where a timestamp is missing or unreadable.
fn step_gaps(steps: &[HistoryStep]) -> Vec<String> {
    let times: Vec<Option<i64>> = steps
        .iter()
        .map(|s| s.created.as_deref().and_then(app::fmt::parse_rfc3339))
        .collect();
    let mut out = vec![String::new(); steps.len()];
    for (i, pair) in times.windows(2).enumerate() {
        if let [Some(a), Some(b)] = pair {
            out[i + 1] = app::fmt::gap(b - a);
        }
    }
    out
}

/// The readable form of one `created_by`, with the original behind a disclosure.
#[component]
fn StepCommand(created_by: String, title: String) -> impl IntoView {
    let ReadableCommand {
        instruction,
        build_args,
        buildkit,
        steps,
    } = readable_command(&created_by);
    let split = steps.len() > 1 || !build_args.is_empty();
    let lines = steps
        .into_iter()
        .map(|step| {
            let joiner = step.joiner.map(|j| match j {
                Joiner::Newline => "",
                other => other.as_str(),
            });
            let multi = step.text.contains('\n');
            view! {
                <li class=if multi { "cmd-line cmd-block" } else { "cmd-line" } data-testid="step-cmd">
                    <span class="cmd-joiner" aria-hidden="true">{joiner.unwrap_or("")}</span>
                    <code class="cmd-text">{step.text}</code>
                </li>
            }
        })
        .collect_view();
    let args = (!build_args.is_empty()).then(|| {
        view! { <span class="cmd-args" title="build arguments of this step">{build_args.join(" ")}</span> }
    });
    let instruction_badge = (!instruction.is_empty()).then(|| {
        let class = format!("cmd-instruction cmd-{}", instruction.to_ascii_lowercase());
        view! { <span class=class data-testid="step-instruction">{instruction}</span> }
    });
    view! {
        <div class="step-command" title=title>
            <div class="cmd-head">
                {instruction_badge}
                {args}
                {buildkit.then(|| view! { <span class="cmd-buildkit muted">"BuildKit"</span> })}
            </div>
            <ol class="cmd-lines">{lines}</ol>
            {split.then(|| view! {
                <details class="cmd-original">
                    <summary>"Original command"</summary>
                    <code class="pre" data-testid="step-original">{created_by}</code>
                </details>
            })}
        </div>
    }
}
