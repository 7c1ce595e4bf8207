//! Analysis jobs: a single-flight registry keyed by image ID. The first request spawns
//! one task that owns the work (a request going away never cancels it); every other
//! request for the same image joins it. Progress is published on a `watch` channel and
//! streamed as server-sent events; the finished result stays in memory.

use super::analysis::Analysis;
use super::backend::{Backend, ProgressFn};
use super::error::ApiError;
use super::images::parse_image_id;
use super::state::AppState;
use app::api::{AnalysisSummary, JobEvent, JobInfo, JobState, Progress};
use app::model::{Digest, Image};
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::watch;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/images/{id}/analysis",
            post(start_analysis).get(get_analysis),
        )
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/events", get(job_events))
}

#[derive(Debug, Clone)]
struct Status {
    state: JobState,
    progress: Progress,
    error: Option<String>,
}

/// One load of one image.
pub struct Job {
    /// Creation order (for evicting the oldest finished results).
    seq: u64,
    id: String,
    image_id: Digest,
    status: watch::Sender<Status>,
    result: OnceLock<Arc<Analysis>>,
}

impl Job {
    /// The job as the API shows it.
    pub fn info(&self) -> JobInfo {
        let s = self.status.borrow().clone();
        JobInfo {
            id: self.id.clone(),
            image_id: self.image_id.to_string(),
            state: s.state,
            progress: s.progress,
            error: s.error,
        }
    }

    fn state(&self) -> JobState {
        self.status.borrow().state
    }

    fn fail(&self, message: String) {
        tracing::warn!("analysis of {} failed: {message}", self.image_id);
        self.status.send_modify(|s| {
            s.state = JobState::Failed;
            s.error = Some(message);
        });
    }

    /// The result once done.
    pub fn result(&self) -> Option<Arc<Analysis>> {
        self.result.get().cloned()
    }
}

/// Finished analyses kept in memory; the oldest beyond this are dropped (their layers
/// stay in the engine's cache, so a new job is cheap).
pub const MAX_KEPT_RESULTS: usize = 16;

/// Keeps at most `keep` jobs by dropping the oldest finished (done or failed) ones;
/// running jobs are never dropped.
fn evict_finished(jobs: &mut Jobs, keep: usize) {
    let excess = jobs.by_image.len().saturating_sub(keep);
    if excess == 0 {
        return;
    }
    let mut finished: Vec<(u64, Digest, String)> = jobs
        .by_image
        .iter()
        .filter(|(_, j)| j.state() != JobState::Running)
        .map(|(img, j)| (j.seq, img.clone(), j.id.clone()))
        .collect();
    finished.sort_unstable_by_key(|(seq, _, _)| *seq);
    for (_, image, id) in finished.into_iter().take(excess) {
        jobs.by_image.remove(&image);
        jobs.by_id.remove(&id);
    }
}

#[derive(Default)]
struct Jobs {
    by_image: HashMap<Digest, Arc<Job>>,
    by_id: HashMap<String, Arc<Job>>,
}

/// All jobs of this server process.
pub struct JobRegistry {
    backend: Arc<dyn Backend>,
    jobs: Mutex<Jobs>,
    next: AtomicU64,
}

impl JobRegistry {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        JobRegistry {
            backend,
            jobs: Mutex::new(Jobs::default()),
            next: AtomicU64::new(1),
        }
    }

    /// Returns the running or finished job for `image`, or spawns one (a failed job is
    /// replaced, so a retry really retries).
    pub fn start(&self, image: Digest) -> Result<Arc<Job>, ApiError> {
        let mut jobs = self
            .jobs
            .lock()
            .map_err(|_| ApiError::Internal("job registry lock poisoned".into()))?;
        if let Some(job) = jobs.by_image.get(&image) {
            if job.state() != JobState::Failed {
                return Ok(job.clone());
            }
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (status, _) = watch::channel(Status {
            state: JobState::Running,
            progress: Progress::default(),
            error: None,
        });
        let job = Arc::new(Job {
            seq: n,
            id: format!("job-{n}"),
            image_id: image.clone(),
            status,
            result: OnceLock::new(),
        });
        if let Some(old) = jobs.by_image.insert(image.clone(), job.clone()) {
            jobs.by_id.remove(&old.id);
        }
        jobs.by_id.insert(job.id.clone(), job.clone());
        evict_finished(&mut jobs, MAX_KEPT_RESULTS);
        let reporter = job.clone();
        let progress: ProgressFn = Arc::new(move |p: Progress| {
            reporter.status.send_modify(|s| s.progress = p);
        });
        let work = self.backend.load_image(image, progress);
        let owner = job.clone();
        tokio::spawn(async move {
            match work.await {
                Ok(image) => {
                    let built = tokio::task::spawn_blocking(move || Analysis::build(image)).await;
                    match built {
                        Ok(Ok(analysis)) => {
                            let _ = owner.result.set(Arc::new(analysis));
                            owner.status.send_modify(|s| {
                                s.state = JobState::Done;
                                s.progress.layer = s.progress.layers.max(s.progress.layer);
                            });
                        }
                        Ok(Err(message)) => owner.fail(message),
                        Err(e) => owner.fail(format!("analysis task failed: {e}")),
                    }
                }
                Err(e) => owner.fail(e.to_string()),
            }
        });
        Ok(job)
    }

    /// A job by its ID.
    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().ok()?.by_id.get(id).cloned()
    }

    /// The job for an image, if one was started.
    pub fn for_image(&self, image: &Digest) -> Option<Arc<Job>> {
        self.jobs.lock().ok()?.by_image.get(image).cloned()
    }

    /// The loaded image, once its job is done.
    pub fn loaded_image(&self, image: &Digest) -> Option<Arc<Image>> {
        self.for_image(image)?.result().map(|a| a.image.clone())
    }

    /// The finished analysis for an image, or why there is none.
    pub fn analysis(&self, image: &Digest) -> Result<Arc<Analysis>, ApiError> {
        let job = self.for_image(image).ok_or_else(|| {
            ApiError::NotReady(format!(
                "image {image} has not been analysed; start with POST /api/v1/images/{image}/analysis"
            ))
        })?;
        if let Some(a) = job.result() {
            return Ok(a);
        }
        let info = job.info();
        match info.state {
            JobState::Failed => Err(ApiError::SourceFailed(format!(
                "analysis of {image} failed: {}",
                info.error.unwrap_or_default()
            ))),
            _ => Err(ApiError::NotReady(format!(
                "analysis of {image} is still running (job {})",
                info.id
            ))),
        }
    }
}

/// `POST /images/{id}/analysis`: 202 with the job at once.
async fn start_analysis(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<JobInfo>), ApiError> {
    let id = parse_image_id(&id)?;
    let job = state.jobs.start(id)?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(job.info())))
}

async fn get_analysis(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AnalysisSummary>, ApiError> {
    let id = parse_image_id(&id)?;
    Ok(Json(state.jobs.analysis(&id)?.summary.clone()))
}

async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobInfo>, ApiError> {
    let job = state
        .jobs
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no job {id:?}")))?;
    Ok(Json(job.info()))
}

/// `GET /jobs/{id}/events`: `progress` events, then one `done` or `failed`, then the end.
async fn job_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job = state
        .jobs
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no job {id:?}")))?;
    let rx = job.status.subscribe();
    let stream = stream::unfold((rx, true, false), |(mut rx, first, finished)| async move {
        if finished {
            return None;
        }
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let status = rx.borrow_and_update().clone();
        let event = match status.state {
            JobState::Running => JobEvent::Progress(status.progress),
            JobState::Done => JobEvent::Done,
            JobState::Failed => JobEvent::Failed {
                message: status.error.unwrap_or_default(),
            },
        };
        let terminal = status.state != JobState::Running;
        Some((Ok(to_sse(&event)), (rx, false, terminal)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn to_sse(event: &JobEvent) -> Event {
    let name = match event {
        JobEvent::Progress(_) => "progress",
        JobEvent::Done => "done",
        JobEvent::Failed { .. } => "failed",
    };
    match Event::default().event(name).json_data(event) {
        Ok(e) => e,
        Err(e) => Event::default().event("failed").data(format!(
            "{{\"type\":\"failed\",\"message\":\"cannot encode event: {e}\"}}"
        )),
    }
}
