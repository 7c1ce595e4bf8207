//! Starts (or joins) an analysis job — an image's, or the one that downloads a registry
//! tag ([`JobStart`]) — and shows its progress from the SSE stream (or its place in the
//! server's export queue); calls `on_done` with the image's ID once the result is
//! available. A Cancel button detaches this page's stream and cancels the job when
//! nobody else watches it; a cancelled job can be retried.

use crate::api::{self, JobEvents};
use app::api::{
    Digest, ErrorCode, JobEvent, JobId, JobInfo, JobState, LoadStage, OpenTag, Progress,
};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Starting,
    Running(Progress),
    Done,
    Failed(String),
    /// Cancelled here or by the server (nobody waiting, time limit, shutdown).
    Cancelled(String),
    /// This page stopped watching, but the job goes on for other viewers.
    LeftRunning(String),
}

/// How the bar's job is started (and started again by Retry).
#[derive(Debug, Clone, PartialEq)]
pub enum JobStart {
    /// `POST /images/{id}/analysis`.
    Analysis(Digest),
    /// `POST /registries/{name}/open`: the job that downloads and analyses a tag.
    OpenTag { registry: String, tag: OpenTag },
}

impl From<Digest> for JobStart {
    fn from(id: Digest) -> Self {
        JobStart::Analysis(id)
    }
}

impl JobStart {
    /// The words before a failure's message.
    fn failed_label(&self) -> &'static str {
        match self {
            JobStart::Analysis(_) => "Analysis failed",
            JobStart::OpenTag { .. } => "Opening the tag failed",
        }
    }

    async fn start(&self) -> Result<JobInfo, api::ApiError> {
        match self {
            JobStart::Analysis(id) => api::start_analysis(id).await,
            JobStart::OpenTag { registry, tag } => api::registries::open(registry, tag).await,
        }
    }
}

/// The line under the bar while the job runs.
fn running_text(p: &Progress) -> String {
    match (p.queue_position, p.stage) {
        (Some(k), _) => format!("Queued, position {k}: waiting for a free export slot"),
        (None, Some(LoadStage::Downloading)) => format!(
            "Downloading layers: {} of {} done · {}{}",
            p.layer,
            p.layers,
            app::fmt::size(p.bytes),
            p.total_bytes
                .map(|t| format!(" of {}", app::fmt::size(t)))
                .unwrap_or_default()
        ),
        (None, _) => format!(
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

/// The phase a job's state puts the bar in.
fn phase_of(info: JobInfo) -> Phase {
    let message = info.error.unwrap_or_default();
    match info.state {
        JobState::Running => Phase::Running(info.progress),
        JobState::Done => Phase::Done,
        JobState::Failed => Phase::Failed(message),
        JobState::Cancelled => Phase::Cancelled(message),
    }
}

/// The progress bar of one analysis job.
#[component]
pub fn AnalysisProgress(#[prop(into)] start: JobStart, on_done: Callback<Digest>) -> impl IntoView {
    let (phase, set_phase) = signal(Phase::Starting);
    let job_id: RwSignal<Option<JobId>> = RwSignal::new(None);
    let job_image: RwSignal<Option<Digest>> = RwSignal::new(None);
    let failed_label = start.failed_label();
    let attempt = RwSignal::new(0u32);
    let viewer = new_viewer_name();
    let live: Rc<RefCell<Option<JobEvents>>> = Rc::default();
    let guard = SendWrapper::new(live.clone());
    on_cleanup(move || drop(guard.borrow_mut().take()));
    // Once the job is no longer followed (done, failed, cancelled), the stream is closed
    // so the browser does not reconnect it.
    let closer = live.clone();
    Effect::new(move |_| {
        if !matches!(phase.get(), Phase::Starting | Phase::Running(_)) {
            drop(closer.borrow_mut().take());
        }
    });
    let set = move |p: Phase| {
        if p == Phase::Done {
            set_phase.set(Phase::Done);
            if let Some(id) = job_image.get_untracked() {
                on_done.run(id);
            }
        } else {
            set_phase.set(p);
        }
    };

    let live_for_listen = live.clone();
    let viewer_for_listen = viewer.clone();
    let listen = move |job: JobId| {
        let stream = JobEvents::open(&job, &viewer_for_listen, move |event| {
            set(match event {
                Ok(JobEvent::Progress(p)) => Phase::Running(p),
                Ok(JobEvent::Done) => Phase::Done,
                Ok(JobEvent::Failed { message }) => Phase::Failed(message),
                Ok(JobEvent::Cancelled { message }) => Phase::Cancelled(message),
                Err(e) => Phase::Failed(e.to_string()),
            })
        });
        match stream {
            Ok(s) => *live_for_listen.borrow_mut() = Some(s),
            Err(e) => set_phase.set(Phase::Failed(e.to_string())),
        }
    };

    // Starts (or, after Retry, restarts) the job; re-runs whenever `attempt` changes.
    let listen = Rc::new(listen);
    Effect::new(move |_| {
        attempt.track();
        let start = start.clone();
        let listen = listen.clone();
        set_phase.set(Phase::Starting);
        leptos::task::spawn_local(async move {
            match start.start().await {
                Ok(job) => {
                    job_id.set(Some(job.id.clone()));
                    job_image.set(Some(job.image_id.clone()));
                    let running = job.state == JobState::Running;
                    let id = job.id.clone();
                    set(phase_of(job));
                    if running {
                        listen(id);
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
                Ok(info) => set(match phase_of(info) {
                    // Ended between the click and the answer: show it as cancelled.
                    Phase::Running(_) => Phase::Cancelled("cancelled".into()),
                    other => other,
                }),
                Err(e) if e.code() == Some(ErrorCode::ViewersWaiting) => {
                    set_phase.set(Phase::LeftRunning(e.to_string()))
                }
                Err(e) => set_phase.set(Phase::Failed(format!("cannot cancel: {e}"))),
            }
        });
    };

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
                    <span class="progress-text" data-testid="analysis-progress-text">
                        {running_text(&p)}
                    </span>
                    {downloads_view(&p)}
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
                {format!("{failed_label}: {message}")}
            </div>
        }
        .into_any(),
        Phase::Cancelled(message) => stopped_view(&message, "Retry", "Retry the analysis", attempt),
        Phase::LeftRunning(message) => stopped_view(
            &format!("not cancelled: {message}"),
            "Watch again",
            "Watch the analysis again",
            attempt,
        ),
    }
}

/// Each layer blob on its way from a registry, with its own bar (1-based like the
/// layer list).
fn downloads_view(p: &Progress) -> Option<AnyView> {
    if p.downloads.is_empty() {
        return None;
    }
    let rows = p
        .downloads
        .iter()
        .map(|d| {
            let pct = if d.total > 0 {
                (d.done.min(d.total) as f64 / d.total as f64 * 100.0).min(100.0)
            } else {
                0.0
            };
            view! {
                <li data-testid="layer-download">
                    <span>{format!("Layer {}", d.index + 1)}</span>
                    <div class="progress-track progress-small" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")>
                        <div class="progress-fill" style:width=format!("{pct:.1}%")></div>
                    </div>
                    <span>{format!("{} of {}", app::fmt::size(d.done), app::fmt::size(d.total))}</span>
                </li>
            }
        })
        .collect_view();
    Some(
        view! { <ul class="layer-downloads" aria-label="Layers downloading">{rows}</ul> }
            .into_any(),
    )
}

/// The line of a job this page no longer follows, with the button that follows it again.
fn stopped_view(
    message: &str,
    label: &'static str,
    aria: &'static str,
    attempt: RwSignal<u32>,
) -> AnyView {
    view! {
        <div class="progress" role="status" data-testid="analysis-progress" data-state="cancelled">
            <span data-testid="analysis-cancelled">{cancel_text(message)}</span>
            <button class="btn" data-testid="analysis-retry" aria-label=aria on:click=move |_| attempt.update(|n| *n += 1)>
                {label}
            </button>
        </div>
    }
    .into_any()
}
