//! Analysis jobs: a single-flight registry keyed by image ID. The first request spawns
//! one task that owns the work; every other request for the same image joins it.
//! Progress (including the place in the export queue) is published on a `watch`
//! channel and streamed as server-sent events; the finished result stays in memory.
//!
//! Work stops when nobody waits: a job counts its open event streams and remembers the
//! last request that asked about it (start, `GET /jobs/{id}`, `GET .../analysis`). A
//! running job with no stream and no such request for the grace period
//! ([`JobsConfig::grace`]) is cancelled ("cancelled: nobody was waiting"); its load is
//! stopped through the backend's cancellation token and nothing is kept, so a later
//! start runs it again. `POST /jobs/{id}/cancel` cancels at once when no other viewer
//! waits (see [`routes`]). Each user (or client IP without auth) may have at most
//! [`JobsConfig::max_per_user`] running jobs it started; joining one does not count.
//!
//! Not a [`crate::single_flight::SingleFlight`]: a job outlives its callers on purpose
//! (it is followed by ID over SSE and polls, not awaited by one request), is cancelled
//! by a grace timer, an explicit cancel or a time limit rather than by its last waiter
//! leaving, carries an owner for the per-user cap, and keeps finished results under its
//! own eviction ([`MAX_KEPT_RESULTS`], running jobs never dropped).

mod job;
mod routes;

pub use job::{Job, NOBODY_WAITING};

use super::analysis::AnalysedImage;
use super::error::ApiError;
use crate::backend::{Backend, BackendError, ProgressFn};
use app::api::{JobId, JobState, Progress};
use app::model::{Digest, Image};
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use routes::routes;
pub(super) use routes::Owner;

/// A load that a job runs instead of [`Backend::load_image`] (a registry tag being
/// opened): it gets the job's progress and cancellation, and returns the image.
pub type LoadWork = Box<
    dyn FnOnce(
            ProgressFn,
            CancellationToken,
        ) -> BoxFuture<'static, Result<Arc<Image>, BackendError>>
        + Send,
>;

/// How long a cancelled job's load may take to stop on its token before it is dropped.
const CANCEL_WIND_DOWN: Duration = Duration::from_secs(5);

/// Default grace period: how long a running job survives with nobody waiting.
pub const DEFAULT_GRACE_SECS: f64 = 15.0;
/// Default cap on running jobs one user has started (a comparison of the most images,
/// [`app::compare::MAX_IMAGES`], fits).
pub const DEFAULT_MAX_JOBS_PER_USER: u32 = 4;
/// Default time limit of one job, queueing included (a 50 GB export at 100 MB/s takes
/// under 10 minutes).
pub const DEFAULT_MAX_JOB_SECS: f64 = 3600.0;

/// Job settings of `strata serve` (flags in `cli::serve_args`).
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Cancel a running analysis nobody has watched or polled for SECS seconds
    pub grace_secs: f64,
    /// Analyses one user (or client address without auth) may have running at once;
    /// joining an analysis someone else started does not count (0 = no cap)
    pub max_per_user: u32,
    /// Stop an analysis (export, parsing and all) that runs longer than SECS seconds,
    /// time in the export queue included; nothing of it is cached
    pub max_secs: f64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            grace_secs: DEFAULT_GRACE_SECS,
            max_per_user: DEFAULT_MAX_JOBS_PER_USER,
            max_secs: DEFAULT_MAX_JOB_SECS,
        }
    }
}

impl JobsConfig {
    /// The grace period as a duration.
    pub fn grace(&self) -> Duration {
        Duration::try_from_secs_f64(self.grace_secs)
            .unwrap_or(Duration::from_secs_f64(DEFAULT_GRACE_SECS))
    }

    /// The time limit of one job.
    pub fn max_time(&self) -> Duration {
        Duration::try_from_secs_f64(self.max_secs)
            .unwrap_or(Duration::from_secs_f64(DEFAULT_MAX_JOB_SECS))
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
    let mut finished: Vec<(u64, Digest, JobId)> = jobs
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
    by_id: HashMap<JobId, Arc<Job>>,
}

/// All jobs of this server process.
pub struct JobRegistry {
    backend: Arc<dyn Backend>,
    config: JobsConfig,
    jobs: Mutex<Jobs>,
    next: AtomicU64,
}

impl JobRegistry {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Self::with_config(backend, JobsConfig::default())
    }

    /// A registry with the given grace period and per-user cap.
    pub fn with_config(backend: Arc<dyn Backend>, config: JobsConfig) -> Self {
        JobRegistry {
            backend,
            config,
            jobs: Mutex::new(Jobs::default()),
            next: AtomicU64::new(1),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &JobsConfig {
        &self.config
    }

    /// Returns the running or finished job for `image`, or spawns one (a failed or
    /// cancelled job is replaced, so a retry really retries). Not counted against any
    /// user (internal starts, e.g. by compare).
    pub fn start(&self, image: Digest) -> Result<Arc<Job>, ApiError> {
        self.start_as(image, None)
    }

    /// Like [`JobRegistry::start`], for `owner` (a user or client address): a new job
    /// is refused ([`ApiError::TooManyJobs`], 429) when the owner already has
    /// `max_per_user` running ones. Joining a running or finished job is always allowed
    /// and counts as interest.
    pub fn start_as(&self, image: Digest, owner: Option<String>) -> Result<Arc<Job>, ApiError> {
        self.start_with(image, owner, None)
    }

    /// Like [`JobRegistry::start_as`], but a new job runs `work` to load the image
    /// (joining a running or finished job for the same image runs nothing).
    pub fn start_loading(
        &self,
        image: Digest,
        owner: Option<String>,
        work: LoadWork,
    ) -> Result<Arc<Job>, ApiError> {
        self.start_with(image, owner, Some(work))
    }

    fn start_with(
        &self,
        image: Digest,
        owner: Option<String>,
        work: Option<LoadWork>,
    ) -> Result<Arc<Job>, ApiError> {
        let mut jobs = self.jobs.lock();
        if let Some(job) = jobs.by_image.get(&image) {
            if !job.state().is_ended_without_result() {
                job.touch();
                return Ok(job.clone());
            }
        }
        if let (Some(user), max @ 1..) = (&owner, self.config.max_per_user) {
            let running = jobs
                .by_id
                .values()
                .filter(|j| j.owner.as_ref() == Some(user) && j.state() == JobState::Running)
                .count();
            if running >= max as usize {
                return Err(ApiError::TooManyJobs {
                    user: user.clone(),
                    running,
                    max,
                });
            }
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let job = Arc::new(Job::new(n, image.clone(), owner));
        if let Some(old) = jobs.by_image.insert(image.clone(), job.clone()) {
            jobs.by_id.remove(&old.id);
        }
        jobs.by_id.insert(job.id.clone(), job.clone());
        evict_finished(&mut jobs, MAX_KEPT_RESULTS);
        drop(jobs);
        self.spawn(job.clone(), work);
        Ok(job)
    }

    /// Runs the load and the analysis in a task of its own, and the watchdog that
    /// cancels the job once nobody has waited for the grace period.
    fn spawn(&self, job: Arc<Job>, work: Option<LoadWork>) {
        let reporter = Arc::downgrade(&job);
        let progress: ProgressFn = Arc::new(move |p: Progress| {
            if let Some(job) = reporter.upgrade() {
                job.status.send_if_modified(|s| {
                    if s.state != JobState::Running {
                        return false;
                    }
                    s.progress = p;
                    true
                });
            }
        });
        let work = match work {
            Some(work) => work(progress, job.cancel.clone()),
            None => self
                .backend
                .load_image(job.image_id.clone(), progress, job.cancel.clone()),
        };
        let owner = job.clone();
        tokio::spawn(async move {
            let mut work = work;
            let loaded = tokio::select! {
                r = &mut work => r,
                () = owner.cancel.cancelled() => {
                    // The status already says cancelled. Let the load wind down on its
                    // token for a moment, then drop whatever is left of it.
                    let _ = tokio::time::timeout(CANCEL_WIND_DOWN, work).await;
                    return;
                }
            };
            match loaded {
                Ok(image) => {
                    let built =
                        tokio::task::spawn_blocking(move || AnalysedImage::build(image)).await;
                    match built {
                        Ok(Ok(analysis)) => owner.finish(analysis),
                        Ok(Err(message)) => owner.fail(message),
                        Err(e) => owner.fail(format!("analysis task failed: {e}")),
                    }
                }
                Err(e) => owner.fail(e.to_string()),
            }
        });
        let grace = self.config.grace();
        let max_time = self.config.max_time();
        let started = std::time::Instant::now();
        let tick =
            (grace.min(max_time) / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(tick) => {}
                    () = job.cancel.cancelled() => return,
                }
                if job.state() != JobState::Running {
                    return;
                }
                if job.viewers() == 0 && job.idle_for() >= grace {
                    job.cancel_with(NOBODY_WAITING);
                    return;
                }
                if started.elapsed() >= max_time {
                    job.cancel_with(&format!(
                        "stopped: the analysis ran longer than the limit of {} s (--max-job-secs); nothing of it was cached",
                        max_time.as_secs_f64()
                    ));
                    return;
                }
            }
        });
    }

    /// Cancels every running job with `message` (shutdown): their loads stop on their
    /// tokens and their event streams end. Returns how many were running.
    pub fn cancel_all(&self, message: &str) -> usize {
        let jobs: Vec<Arc<Job>> = self.jobs.lock().by_id.values().cloned().collect();
        jobs.iter().filter(|j| j.cancel_with(message)).count()
    }

    /// A job by its ID.
    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().by_id.get(id).cloned()
    }

    /// The job for an image, if one was started.
    pub fn for_image(&self, image: &Digest) -> Option<Arc<Job>> {
        self.jobs.lock().by_image.get(image).cloned()
    }

    /// The loaded image, once its job is done.
    pub fn loaded_image(&self, image: &Digest) -> Option<Arc<Image>> {
        self.for_image(image)?.result().map(|a| a.image.clone())
    }

    /// The finished analysis for an image, or why there is none (asking about a
    /// running job counts as interest in it).
    pub fn analysis(&self, image: &Digest) -> Result<Arc<AnalysedImage>, ApiError> {
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
            JobState::Cancelled => Err(ApiError::NotReady(format!(
                "analysis of {image} was {}; start it again with POST /api/v1/images/{image}/analysis",
                info.error.unwrap_or_else(|| "cancelled".into())
            ))),
            _ => {
                job.touch();
                Err(ApiError::NotReady(format!(
                    "analysis of {image} is still running (job {})",
                    info.id
                )))
            }
        }
    }
}
