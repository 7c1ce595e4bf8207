//! One analysis job: its status (published on a `watch` channel), its result, the token
//! that cancels its load, and who waits for it — open event streams (viewers) and the
//! time of the last request that showed interest (start, poll).
//!
//! Invariants: a job leaves `running` exactly once (done, failed or cancelled; the
//! first to decide wins, under the status lock); a cancelled job never gets a result;
//! a viewer is counted from the moment its stream is opened until the stream is dropped
//! (client gone) or detached by an explicit cancel.

use super::super::analysis::AnalysedImage;
use app::api::{JobId, JobInfo, JobState, Progress};
use app::model::Digest;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The message of a job cancelled because nobody waited for it.
pub const NOBODY_WAITING: &str = "cancelled: nobody was waiting";

#[derive(Debug, Clone)]
pub(super) struct Status {
    pub state: JobState,
    pub progress: Progress,
    pub error: Option<String>,
}

#[derive(Default)]
struct Viewers {
    next: u64,
    /// Open streams: the client's viewer name (if it gave one) and the token that ends
    /// the stream when the viewer is detached.
    open: HashMap<u64, (Option<String>, CancellationToken)>,
}

/// One load of one image.
pub struct Job {
    /// Creation order (for evicting the oldest finished results).
    pub(super) seq: u64,
    pub(super) id: JobId,
    pub(super) image_id: Digest,
    pub(super) status: watch::Sender<Status>,
    result: OnceLock<Arc<AnalysedImage>>,
    /// Who started it (the per-user cap counts it); `None` for internal starts.
    pub(super) owner: Option<String>,
    /// Cancels the load (the backend honours it) and the job task.
    pub(super) cancel: CancellationToken,
    viewers: Mutex<Viewers>,
    interest: Mutex<Instant>,
}

impl Job {
    pub(super) fn new(seq: u64, image_id: Digest, owner: Option<String>) -> Job {
        let (status, _) = watch::channel(Status {
            state: JobState::Running,
            progress: Progress::default(),
            error: None,
        });
        Job {
            seq,
            id: JobId(format!("job-{seq}")),
            image_id,
            status,
            result: OnceLock::new(),
            owner,
            cancel: CancellationToken::new(),
            viewers: Mutex::default(),
            interest: Mutex::new(Instant::now()),
        }
    }

    /// The job as the API shows it.
    pub fn info(&self) -> JobInfo {
        let s = self.status.borrow().clone();
        JobInfo {
            id: self.id.clone(),
            image_id: self.image_id.clone(),
            state: s.state,
            progress: s.progress,
            error: s.error,
        }
    }

    pub(super) fn state(&self) -> JobState {
        self.status.borrow().state
    }

    /// The result once done.
    pub fn result(&self) -> Option<Arc<AnalysedImage>> {
        self.result.get().cloned()
    }

    /// Records the finished analysis, unless the job already ended (cancelled).
    pub(super) fn finish(&self, analysis: AnalysedImage) {
        let result = &self.result;
        self.status.send_if_modified(|s| {
            if s.state != JobState::Running {
                return false;
            }
            let _ = result.set(Arc::new(analysis));
            s.state = JobState::Done;
            s.progress.layer = s.progress.layers.max(s.progress.layer);
            s.progress.queue_position = None;
            true
        });
    }

    /// Marks the job failed, unless it already ended.
    pub(super) fn fail(&self, message: String) {
        let failed = self.end(message.clone(), JobState::Failed);
        if failed {
            tracing::warn!("analysis of {} failed: {message}", self.image_id);
        }
    }

    /// Cancels a running job: it ends as cancelled with `message` and its load is
    /// stopped. Returns false when the job had already ended.
    pub(super) fn cancel_with(&self, message: &str) -> bool {
        let cancelled = self.end(message.to_owned(), JobState::Cancelled);
        if cancelled {
            tracing::info!("analysis of {} ({}): {message}", self.image_id, self.id);
        }
        self.cancel.cancel();
        cancelled
    }

    fn end(&self, message: String, state: JobState) -> bool {
        self.status.send_if_modified(|s| {
            if s.state != JobState::Running {
                return false;
            }
            s.state = state;
            s.error = Some(message);
            s.progress.queue_position = None;
            true
        })
    }

    /// Someone asked about the job (start, poll): it is not abandoned yet.
    pub(super) fn touch(&self) {
        *self.interest.lock() = Instant::now();
    }

    /// Time since the last sign of interest (a request, or a viewer leaving).
    pub(super) fn idle_for(&self) -> Duration {
        self.interest.lock().elapsed()
    }

    /// Open event streams.
    pub(super) fn viewers(&self) -> usize {
        self.viewers.lock().open.len()
    }

    /// Registers an event stream; it counts as a viewer until the returned guard drops.
    pub(super) fn watch(self: &Arc<Self>, viewer: Option<String>) -> ViewerGuard {
        let end = CancellationToken::new();
        let key = {
            let mut v = self.viewers.lock();
            v.next += 1;
            let key = v.next;
            v.open.insert(key, (viewer, end.clone()));
            key
        };
        self.touch();
        ViewerGuard {
            job: self.clone(),
            key,
            end,
        }
    }

    /// Ends and uncounts the streams opened under `viewer`; returns how many.
    pub(super) fn detach(&self, viewer: &str) -> usize {
        let mut v = self.viewers.lock();
        let mine: Vec<u64> = v
            .open
            .iter()
            .filter(|(_, (name, _))| name.as_deref() == Some(viewer))
            .map(|(k, _)| *k)
            .collect();
        for k in &mine {
            if let Some((_, end)) = v.open.remove(k) {
                end.cancel();
            }
        }
        mine.len()
    }
}

/// One open event stream of a job; dropping it (stream ended, client gone) uncounts it
/// and starts the grace period if it was the last one.
pub(super) struct ViewerGuard {
    job: Arc<Job>,
    key: u64,
    /// Cancelled when the viewer is detached: the stream ends.
    pub end: CancellationToken,
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.job.viewers.lock().open.remove(&self.key);
        self.job.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Arc<Job> {
        Arc::new(Job::new(1, Digest::of(b"x"), None))
    }

    #[test]
    fn viewers_are_counted_until_dropped_or_detached() {
        let j = job();
        let a = j.watch(Some("a".into()));
        let b = j.watch(None);
        assert_eq!(j.viewers(), 2);
        assert_eq!(j.detach("a"), 1);
        assert!(a.end.is_cancelled());
        assert_eq!(j.viewers(), 1);
        drop(b);
        assert_eq!(j.viewers(), 0);
        drop(a);
        assert_eq!(j.viewers(), 0);
    }

    #[test]
    fn a_job_ends_once() {
        let j = job();
        assert!(j.cancel_with(NOBODY_WAITING));
        assert!(j.cancel.is_cancelled());
        j.fail("late failure".into());
        assert!(!j.cancel_with("again"));
        let info = j.info();
        assert_eq!(info.state, JobState::Cancelled);
        assert_eq!(info.error.as_deref(), Some(NOBODY_WAITING));
    }
}
