//! The job routes:
//! - `POST /images/{id}/analysis` — start or join (202 with the job; 429 with
//!   `Retry-After` when the caller already has its share of running jobs).
//! - `GET /images/{id}/analysis` — the summary once done (409 while running).
//! - `GET /jobs/{id}` — the job (counts as interest: keeps it alive).
//! - `GET /jobs/{id}/events[?viewer=NAME]` — SSE: `progress` events, then one `done`,
//!   `failed` or `cancelled`; the stream counts as a viewer while it is open.
//! - `POST /jobs/{id}/cancel[?viewer=NAME]` — first ends and uncounts the caller's own
//!   streams (those opened with the same `viewer`), then: a job that already ended is
//!   returned as it is (200); a running job with no other open stream is cancelled at
//!   once (200, state `cancelled`); otherwise it keeps running for the others and the
//!   answer is 409 `viewers_waiting` ("N other viewers are waiting for this job").
//!   Polling clients do not count as other viewers here: only open streams do.

use super::super::auth::{Principal, Via};
use super::super::error::ApiError;
use super::super::extract::{ApiPath, ApiQuery, ImagePath};
use super::super::state::AppState;
use super::Job;
use app::api::{AnalysisSummary, JobEvent, JobId, JobInfo, JobState};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Comment lines on idle event streams; also bounds how late a vanished client is noticed.
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(5);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/images/{id}/analysis",
            post(start_analysis).get(get_analysis),
        )
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/events", get(job_events))
        .route("/jobs/{id}/cancel", post(cancel_job))
}

#[derive(Debug, Default, Deserialize)]
struct ViewerQuery {
    /// A name the client picks for its own streams (letters, digits, `-`, `_`).
    viewer: Option<String>,
}

impl ViewerQuery {
    fn viewer(self) -> Result<Option<String>, ApiError> {
        match self.viewer {
            None => Ok(None),
            Some(v)
                if !v.is_empty()
                    && v.len() <= 64
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Ok(Some(v))
            }
            Some(_) => Err(ApiError::BadRequest(
                "viewer: use 1 to 64 letters, digits, '-' or '_'".into(),
            )),
        }
    }
}

/// Who a job is counted against: the authenticated user, or the client address when
/// auth is off (everyone is the same local user then).
pub(in crate::http) fn owner_key(
    principal: Option<&Principal>,
    peer: Option<SocketAddr>,
) -> String {
    match principal {
        Some(p) if p.via != Via::Loopback => format!("user {}", p.user),
        _ => match peer {
            Some(addr) => format!("client {}", addr.ip()),
            None => "client local".to_owned(),
        },
    }
}

/// The caller's [`owner_key`], as an extractor: the per-user caps of jobs and file reads
/// count against it.
pub(in crate::http) struct Owner(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Owner {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let principal = parts.extensions.get::<Principal>();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| *a);
        Ok(Owner(owner_key(principal, peer)))
    }
}

fn find(state: &AppState, id: &JobId) -> Result<Arc<Job>, ApiError> {
    state
        .jobs
        .get(id.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no job {id:?}")))
}

/// `POST /images/{id}/analysis`: 202 with the job at once.
async fn start_analysis(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
    Owner(owner): Owner,
) -> Result<Response, ApiError> {
    let job = state.jobs.start_as(id, Some(owner))?;
    Ok((StatusCode::ACCEPTED, Json(job.info())).into_response())
}

async fn get_analysis(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
) -> Result<Json<AnalysisSummary>, ApiError> {
    Ok(Json(state.jobs.analysis(&id)?.summary.clone()))
}

async fn get_job(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<JobId>,
) -> Result<Json<JobInfo>, ApiError> {
    let job = find(&state, &id)?;
    job.touch();
    Ok(Json(job.info()))
}

/// `POST /jobs/{id}/cancel`: see the module documentation for the semantics.
async fn cancel_job(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<JobId>,
    ApiQuery(query): ApiQuery<ViewerQuery>,
    principal: Option<Extension<Principal>>,
) -> Result<Response, ApiError> {
    let viewer = query.viewer()?;
    let job = find(&state, &id)?;
    if let Some(v) = &viewer {
        job.detach(v);
    }
    if job.state() != JobState::Running {
        return Ok(Json(job.info()).into_response());
    }
    let others = job.viewers();
    if others > 0 {
        let who = if others == 1 {
            "viewer is"
        } else {
            "viewers are"
        };
        return Err(ApiError::ViewersWaiting(format!(
            "{others} other {who} waiting for this job; it keeps running for them"
        )));
    }
    let user = match principal {
        Some(Extension(p)) if p.via != Via::Loopback => p.user,
        _ => "a local user".to_owned(),
    };
    job.cancel_with(&format!("cancelled by {user}"));
    Ok(Json(job.info()).into_response())
}

/// `GET /jobs/{id}/events`: `progress` events, then one `done` or `failed`, then the end
/// (also when the viewer is detached by a cancel).
async fn job_events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<JobId>,
    ApiQuery(query): ApiQuery<ViewerQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let viewer = query.viewer()?;
    let job = find(&state, &id)?;
    let rx = job.status.subscribe();
    // The guard lives in the stream's state: it is dropped, and the viewer uncounted,
    // when the stream ends or the client goes away.
    let guard = job.watch(viewer);
    let stream = stream::unfold(
        (rx, guard, true, false),
        |(mut rx, guard, first, finished)| async move {
            if finished {
                return None;
            }
            if !first {
                tokio::select! {
                    changed = rx.changed() => changed.ok()?,
                    () = guard.end.cancelled() => return None,
                }
            }
            let status = rx.borrow_and_update().clone();
            let event = match status.state {
                JobState::Running => JobEvent::Progress(status.progress),
                JobState::Done => JobEvent::Done,
                JobState::Failed => JobEvent::Failed {
                    message: status.error.unwrap_or_default(),
                },
                JobState::Cancelled => JobEvent::Cancelled {
                    message: status.error.unwrap_or_default(),
                },
            };
            let terminal = status.state != JobState::Running;
            Some((Ok(to_sse(&event)), (rx, guard, false, terminal)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE)))
}

fn to_sse(event: &JobEvent) -> Event {
    let name = match event {
        JobEvent::Progress(_) => "progress",
        JobEvent::Done => "done",
        JobEvent::Failed { .. } => "failed",
        JobEvent::Cancelled { .. } => "cancelled",
    };
    match Event::default().event(name).json_data(event) {
        Ok(e) => e,
        Err(e) => Event::default().event("failed").data(format!(
            "{{\"type\":\"failed\",\"message\":\"cannot encode event: {e}\"}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Role;

    #[test]
    fn owners_are_users_or_client_addresses() {
        let user = Principal {
            user: "ann".into(),
            role: Role::Viewer,
            via: Via::Bearer,
        };
        let local = Principal {
            user: "local".into(),
            role: Role::Admin,
            via: Via::Loopback,
        };
        let peer: SocketAddr = "10.0.0.7:5555".parse().unwrap();
        assert_eq!(owner_key(Some(&user), Some(peer)), "user ann");
        assert_eq!(owner_key(Some(&local), Some(peer)), "client 10.0.0.7");
        assert_eq!(owner_key(None, None), "client local");
    }

    #[test]
    fn viewer_names_are_checked() {
        let ok = ViewerQuery {
            viewer: Some("tab-1_a".into()),
        };
        assert_eq!(ok.viewer().unwrap().as_deref(), Some("tab-1_a"));
        let bad = ViewerQuery {
            viewer: Some("a b".into()),
        };
        assert!(bad.viewer().is_err());
    }
}
