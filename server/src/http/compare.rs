//! Comparison and sharing routes. `POST /compare?ids=a,b[,c,d]` starts (or joins) the
//! analysis job of every image through the single-flight [`super::JobRegistry`] (new
//! jobs count against the caller's per-user cap, 429 beyond it); `GET` with the same
//! query only joins (a GET never starts work: 409 for an image nobody analysed); while
//! any is running it answers 202 with the jobs to follow, once all are done it computes
//! [`app::compare::compare`] off the async runtime — once per ordered ID list, shared by
//! concurrent requests and kept for the last few lists. `GET /sharing` builds the
//! sharing map of every daemon image from metadata only.

use super::error::ApiError;
use super::extract::parse_image_id;
use super::jobs::Owner;
use super::state::AppState;
use crate::single_flight::{Keep, SingleFlight};
use app::api::CompareReport;
use app::api::{ComparePending, JobState, SharingReport};
use app::compare::{CompareOptions, MAX_IMAGES, MIN_IMAGES};
use app::model::{Digest, Image};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// Finished comparisons kept in memory (the oldest finished is dropped first).
const KEPT_COMPARISONS: usize = 8;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/compare", get(join_compare).post(start_compare))
        .route("/sharing", get(sharing))
}

/// Comparisons by the ordered list of image IDs: computed once, shared by concurrent
/// requests, the last [`KEPT_COMPARISONS`] successes kept (failures are not).
pub type CompareCache = SingleFlight<Vec<Digest>, Arc<CompareReport>, String>;

/// An empty comparison cache.
pub fn cache() -> CompareCache {
    SingleFlight::new(Keep::Recent(KEPT_COMPARISONS))
}

/// What `/compare` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareQuery {
    /// 2–4 distinct image IDs, the baseline first.
    pub ids: Vec<Digest>,
    /// Start failed loads again instead of reporting their failure.
    pub retry: bool,
}

/// `ids=a,b,c` (also `ids=a&ids=b`) and optional `retry=true`.
pub fn parse_query(query: &str) -> Result<CompareQuery, ApiError> {
    let mut ids: Vec<Digest> = Vec::new();
    let mut retry = false;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "ids" => {}
            "retry" => {
                retry = matches!(value.as_ref(), "true" | "1");
                continue;
            }
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "unknown compare parameter {key:?} (expected ids, retry)"
                )))
            }
        }
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id = parse_image_id(part)?;
            if ids.contains(&id) {
                return Err(ApiError::BadRequest(format!(
                    "ids: image {id} is listed twice"
                )));
            }
            ids.push(id);
        }
    }
    if !(MIN_IMAGES..=MAX_IMAGES).contains(&ids.len()) {
        return Err(ApiError::BadRequest(format!(
            "ids: {} images given; compare takes {MIN_IMAGES} to {MAX_IMAGES} (ids=ID,ID[,ID,ID])",
            ids.len()
        )));
    }
    Ok(CompareQuery { ids, retry })
}

/// `GET /compare`: the comparison, or the jobs still running; starts nothing.
async fn join_compare(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = query.unwrap_or_default();
    let CompareQuery { ids, .. } = parse_query(&query)?;
    let mut jobs = Vec::with_capacity(ids.len());
    for id in &ids {
        let job = state.jobs.for_image(id).ok_or_else(|| {
            ApiError::NotReady(format!(
                "image {id} has not been analysed; POST /api/v1/compare?{query} starts the analyses"
            ))
        })?;
        jobs.push(job);
    }
    compare(&state, ids, jobs).await
}

/// `POST /compare`: starts (or joins) every image's analysis, then as `GET`.
async fn start_compare(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    Owner(owner): Owner,
) -> Result<Response, ApiError> {
    let CompareQuery { ids, retry } = parse_query(query.as_deref().unwrap_or(""))?;
    // Jobs started here count against the caller's cap, as through POST .../analysis.
    let mut jobs = Vec::with_capacity(ids.len());
    for id in &ids {
        // A failed load is reported as such (not silently restarted) unless asked to retry.
        let job = match state.jobs.for_image(id) {
            Some(job) if !retry && job.info().state == JobState::Failed => job,
            _ => state.jobs.start_as(id.clone(), Some(owner.clone()))?,
        };
        jobs.push(job);
    }
    compare(&state, ids, jobs).await
}

/// 202 with the jobs while any runs, the failure once one failed, else the comparison
/// (computed once per ordered ID list).
async fn compare(
    state: &AppState,
    ids: Vec<Digest>,
    jobs: Vec<Arc<super::jobs::Job>>,
) -> Result<Response, ApiError> {
    let infos: Vec<_> = jobs.iter().map(|j| j.info()).collect();
    if let Some(failed) = infos.iter().find(|i| i.state.is_ended_without_result()) {
        return Err(ApiError::SourceFailed(format!(
            "cannot compare: reading image {} failed: {}",
            failed.image_id,
            failed.error.clone().unwrap_or_default()
        )));
    }
    let images: Option<Vec<Arc<Image>>> = jobs
        .iter()
        .map(|j| j.result().map(|a| a.image.clone()))
        .collect();
    let Some(images) = images else {
        return Ok((StatusCode::ACCEPTED, Json(ComparePending { jobs: infos })).into_response());
    };
    let result = state
        .compares
        .get(ids, |_| async move {
            let work = tokio::task::spawn_blocking(move || {
                let refs: Vec<&Image> = images.iter().map(|i| i.as_ref()).collect();
                app::compare::compare(&refs, &CompareOptions::default())
                    .map(|c| CompareReport::from(&c))
            })
            .await;
            match work {
                Ok(Ok(c)) => Ok(Arc::new(c)),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("comparison task failed: {e}")),
            }
        })
        .await;
    match result {
        Ok(c) => Ok(Json(c.as_ref()).into_response()),
        Err(message) => Err(ApiError::SourceFailed(message)),
    }
}

async fn sharing(State(state): State<AppState>) -> Result<Json<SharingReport>, ApiError> {
    let (inputs, skipped) = state.backend.sharing_inputs().await?;
    let map = tokio::task::spawn_blocking(move || app::compare::sharing_map(&inputs))
        .await
        .map_err(|e| ApiError::Internal(format!("sharing task failed: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(SharingReport { map, skipped }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let ok = parse_query(&format!("ids={a},sha256:{b}")).unwrap();
        assert_eq!(ok.ids.len(), 2);
        assert!(!ok.retry);
        assert_eq!(ok.ids[1].to_string(), format!("sha256:{b}"));
        let split = parse_query(&format!("ids={a}&ids={b}&retry=true")).unwrap();
        assert_eq!(split.ids, ok.ids);
        assert!(split.retry);
        for bad in [
            format!("ids={a}"),
            format!("ids={a},{a}"),
            format!("ids={a},nope"),
            format!("ids={a},{b}&x=1"),
            format!("ids={a},{b},{a}1,{b}1,{a}2"),
        ] {
            assert!(parse_query(&bad).is_err(), "{bad}");
        }
    }
}
