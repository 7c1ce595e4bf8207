//! Starts (or joins) the image's analysis job and shows its progress from the SSE
//! stream; calls `on_done` once the result is available.

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
    let live: Rc<RefCell<Live>> = Rc::default();
    let guard = SendWrapper::new(live.clone());
    on_cleanup(move || guard.borrow_mut().close());

    let listen = move |job_id: String| {
        let Ok(source) = web_sys::EventSource::new(&api::job_events_url(&job_id)) else {
            set_phase.set(Phase::Failed(
                "the browser refused the progress stream".into(),
            ));
            return;
        };
        let weak = Rc::downgrade(&live);
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
                    Ok(JobEvent::Failed { message }) => {
                        if let Some(l) = weak.upgrade() {
                            l.borrow_mut().close();
                        }
                        set_phase.set(Phase::Failed(message));
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

    let id = image_id.clone();
    leptos::task::spawn_local(async move {
        match api::start_analysis(&id).await {
            Ok(job) => match job.state {
                JobState::Done => {
                    set_phase.set(Phase::Done);
                    on_done.run(());
                }
                JobState::Failed => set_phase.set(Phase::Failed(job.error.unwrap_or_default())),
                JobState::Running => {
                    set_phase.set(Phase::Running(job.progress));
                    listen(job.id);
                }
            },
            Err(e) => set_phase.set(Phase::Failed(e.to_string())),
        }
    });

    move || match phase.get() {
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
                    <span class="progress-text">
                        {format!("Reading layers: {} of {} · {} read", p.layer, p.layers, app::fmt::size(p.bytes))}
                    </span>
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
    }
}
