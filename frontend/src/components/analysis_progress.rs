//! Starts (or joins) the image's analysis job and shows its progress from the SSE
//! stream (or its place in the server's export queue); calls `on_done` once the result
//! is available. A Cancel button detaches this page's stream and cancels the job when
//! nobody else watches it; a cancelled job can be retried.

use crate::api;
use app::api::{JobEvent, JobState, Progress};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

type Listener = Closure<dyn FnMut(web_sys::MessageEvent)>;

/// The live SSE connection and its listeners; closed when the view goes away.
#[derive(Default)]
struct Live {
    source: Option<web_sys::EventSource>,
    listeners: Vec<Listener>,
}

impl Live {
    fn close(&mut self) {
        if let Some(s) = self.source.take() {
            s.close();
        }
        self.listeners.clear();
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Starting,
    Running(Progress),
    Done,
    Failed(String),
    /// Cancelled here or by the server (nobody waiting), or left running for others.
    Cancelled(String),
}

/// The line under the bar while the job runs.
fn running_text(p: &Progress) -> String {
    match p.queue_position {
        Some(k) => format!("Queued, position {k}: waiting for a free export slot"),
        None => format!(
            "Reading layers: {} of {} · {} read",
            p.layer,
            p.layers,
            app::fmt::size(p.bytes)
        ),
    }
}

/// The sentence shown for a cancelled (or not cancelled) job: the server's message with
/// a capital first letter ("Cancelled by local", "Cancelled: nobody was waiting").
fn cancel_text(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Cancelled".to_owned(),
    }
}

/// A name for this page's event streams, so a cancel detaches exactly them.
fn new_viewer_name() -> String {
    format!("v{}", (js_sys::Math::random() * 1e15) as u64)
}

fn percent(p: &Progress) -> f64 {
    match p.total_bytes {
        Some(t) if t > 0 => (p.bytes as f64 / t as f64 * 100.0).min(100.0),
        _ if p.layers > 0 => f64::from(p.layer) / f64::from(p.layers) * 100.0,
        _ => 0.0,
    }
}

/// The progress bar of one image's analysis.
#[component]
pub fn AnalysisProgress(image_id: String, on_done: Callback<()>) -> impl IntoView {
    let (phase, set_phase) = signal(Phase::Starting);
    let job_id: RwSignal<Option<String>> = RwSignal::new(None);
    let attempt = RwSignal::new(0u32);
    let viewer = new_viewer_name();
    let live: Rc<RefCell<Live>> = Rc::default();
    let guard = SendWrapper::new(live.clone());
    on_cleanup(move || guard.borrow_mut().close());
    // Once the job is no longer followed (done, failed, cancelled), the stream is closed
    // so the browser does not reconnect it.
    let closer = live.clone();
    Effect::new(move |_| {
        if !matches!(phase.get(), Phase::Starting | Phase::Running(_)) {
            closer.borrow_mut().close();
        }
    });

    let live_for_listen = live.clone();
    let viewer_for_listen = viewer.clone();
    let listen = move |job: String| {
        let live = &live_for_listen;
        let url = api::job_events_url_as(&job, &viewer_for_listen);
        let Ok(source) = web_sys::EventSource::new(&url) else {
            set_phase.set(Phase::Failed(
                "the browser refused the progress stream".into(),
            ));
            return;
        };
        let weak = Rc::downgrade(live);
        let handler =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<JobEvent>(&text) {
                    Ok(JobEvent::Progress(p)) => set_phase.set(Phase::Running(p)),
                    Ok(JobEvent::Done) => {
                        if let Some(l) = weak.upgrade() {
                            l.borrow_mut().close();
                        }
                        set_phase.set(Phase::Done);
                        on_done.run(());
                    }
                    Ok(JobEvent::Failed { message, cancelled }) => {
                        if let Some(l) = weak.upgrade() {
                            l.borrow_mut().close();
                        }
                        set_phase.set(if cancelled {
                            Phase::Cancelled(message)
                        } else {
                            Phase::Failed(message)
                        });
                    }
                    Err(e) => {
                        set_phase.set(Phase::Failed(format!("unreadable progress event: {e}")))
                    }
                }
            });
        for name in ["progress", "done", "failed"] {
            let _ = source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
        }
        let mut l = live.borrow_mut();
        l.source = Some(source);
        l.listeners.push(handler);
    };

    // Starts (or, after Retry, restarts) the job; re-runs whenever `attempt` changes.
    let listen = Rc::new(listen);
    Effect::new(move |_| {
        attempt.track();
        let id = image_id.clone();
        let listen = listen.clone();
        set_phase.set(Phase::Starting);
        leptos::task::spawn_local(async move {
            match api::start_analysis(&id).await {
                Ok(job) => {
                    job_id.set(Some(job.id.clone()));
                    match job.state {
                        JobState::Done => {
                            set_phase.set(Phase::Done);
                            on_done.run(());
                        }
                        JobState::Failed if job.cancelled => {
                            set_phase.set(Phase::Cancelled(job.error.unwrap_or_default()))
                        }
                        JobState::Failed => {
                            set_phase.set(Phase::Failed(job.error.unwrap_or_default()))
                        }
                        JobState::Running => {
                            set_phase.set(Phase::Running(job.progress));
                            listen(job.id);
                        }
                    }
                }
                Err(e) => set_phase.set(Phase::Failed(e.to_string())),
            }
        });
    });

    let cancel = move |_| {
        let Some(job) = job_id.get_untracked() else {
            return;
        };
        let viewer = viewer.clone();
        leptos::task::spawn_local(async move {
            match api::cancel_job(&job, &viewer).await {
                Ok(info) => match info.state {
                    JobState::Done => {
                        set_phase.set(Phase::Done);
                        on_done.run(());
                    }
                    JobState::Failed if !info.cancelled => {
                        set_phase.set(Phase::Failed(info.error.unwrap_or_default()))
                    }
                    _ => set_phase.set(Phase::Cancelled(
                        info.error.unwrap_or_else(|| "cancelled".into()),
                    )),
                },
                Err(api::ApiError::Server {
                    status: 409,
                    message,
                    ..
                }) => set_phase.set(Phase::Cancelled(format!("not cancelled: {message}"))),
                Err(e) => set_phase.set(Phase::Failed(format!("cannot cancel: {e}"))),
            }
        });
    };

    move || {
        match phase.get() {
        Phase::Starting => view! {
            <div class="progress" data-testid="analysis-progress" data-state="starting">
                <span>"Starting analysis…"</span>
            </div>
        }
        .into_any(),
        Phase::Running(p) => {
            let pct = percent(&p);
            view! {
                <div class="progress" data-testid="analysis-progress" data-state="running">
                    <div class="progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")>
                        <div class="progress-fill" style:width=format!("{pct:.1}%")></div>
                    </div>
                    <span class="progress-text" data-testid="analysis-progress-text">
                        {running_text(&p)}
                    </span>
                    <button class="btn" data-testid="analysis-cancel" aria-label="Cancel the analysis" on:click=cancel.clone()>
                        "Cancel"
                    </button>
                </div>
            }
            .into_any()
        }
        Phase::Done => view! {
            <div class="progress progress-done" data-testid="analysis-progress" data-state="done">
                <span>"Analysis complete"</span>
            </div>
        }
        .into_any(),
        Phase::Failed(message) => view! {
            <div class="notice notice-error" role="alert" data-testid="analysis-failed">
                {format!("Analysis failed: {message}")}
            </div>
        }
        .into_any(),
        Phase::Cancelled(message) => {
            // 409: the job goes on for other viewers; this page only stopped watching.
            let (label, aria) = if message.starts_with("not cancelled") {
                ("Watch again", "Watch the analysis again")
            } else {
                ("Retry", "Retry the analysis")
            };
            view! {
                <div class="progress" role="status" data-testid="analysis-progress" data-state="cancelled">
                    <span data-testid="analysis-cancelled">{cancel_text(&message)}</span>
                    <button class="btn" data-testid="analysis-retry" aria-label=aria on:click=move |_| attempt.update(|n| *n += 1)>
                        {label}
                    </button>
                </div>
            }
            .into_any()
        }
    }
    }
}
