//! Registry routes, HTTP only (the work is [`crate::registries`]):
//! `GET /registries`, `GET /registries/{name}/repositories`, `GET /registries/{name}/tags`,
//! `GET /registries/{name}/tag` and `POST /registries/{name}/open`, which starts the
//! analysis job that downloads a tag and lists it beside the other images (its page is
//! then `/images/{id}` like any other; the job's events carry the download's progress).
//! Only registries named at start are reachable: `name` selects one, never a URL.

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::jobs::{LoadWork, Owner};
use super::state::AppState;
use super::upload::UploadTarget;
use crate::backend::{progress_sink, BackendError, OpenedSource};
use crate::registries::{Registries, RegistriesError};
use app::api::{JobInfo, NamePage, OpenTag, RegistryInfo, TagDetail};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::FutureExt as _;
use serde::Deserialize;
use std::sync::Arc;

/// What the registry routes need: the registries and where opened tags are listed.
pub struct RegistryRoutes {
    pub registries: Registries,
    pub target: Arc<dyn UploadTarget>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/registries", get(list))
        .route("/registries/{name}/repositories", get(repositories))
        .route("/registries/{name}/tags", get(tags))
        .route("/registries/{name}/tag", get(tag))
        .route("/registries/{name}/open", post(open))
}

impl From<RegistriesError> for ApiError {
    fn from(e: RegistriesError) -> Self {
        match e {
            RegistriesError::Unknown(_) => ApiError::NotFound(e.to_string()),
            RegistriesError::Invalid { .. } => ApiError::BadRequest(e.to_string()),
            RegistriesError::Engine(e) => crate::backend::BackendError::from(e).into(),
        }
    }
}

fn configured(state: &AppState) -> Result<&RegistryRoutes, ApiError> {
    state.registries.as_deref().ok_or_else(not_configured)
}

fn not_configured() -> ApiError {
    ApiError::NotFound(
        "no registries are configured; start strata with --registry NAME=HOST".into(),
    )
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

#[derive(Deserialize)]
struct PageQuery {
    n: Option<usize>,
    last: Option<String>,
    repository: Option<String>,
}

#[derive(Deserialize)]
struct TagQuery {
    repository: String,
    tag: String,
}

const DEFAULT_PAGE: usize = 100;

async fn list(State(state): State<AppState>) -> Json<Vec<RegistryInfo>> {
    Json(
        state
            .registries
            .as_ref()
            .map(|r| r.registries.infos())
            .unwrap_or_default(),
    )
}

async fn repositories(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<Name>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<NamePage>, ApiError> {
    let r = configured(&state)?;
    let page = r
        .registries
        .repositories(&p.name, q.n.unwrap_or(DEFAULT_PAGE), q.last.as_deref())
        .await?;
    Ok(Json(page))
}

async fn tags(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<Name>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<NamePage>, ApiError> {
    let r = configured(&state)?;
    let repository = q
        .repository
        .ok_or_else(|| ApiError::BadRequest("repository= is required".into()))?;
    let page = r
        .registries
        .tags(
            &p.name,
            &repository,
            q.n.unwrap_or(DEFAULT_PAGE),
            q.last.as_deref(),
        )
        .await?;
    Ok(Json(page))
}

async fn tag(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<Name>,
    ApiQuery(q): ApiQuery<TagQuery>,
) -> Result<Json<TagDetail>, ApiError> {
    let r = configured(&state)?;
    Ok(Json(
        r.registries.tag(&p.name, &q.repository, &q.tag).await?,
    ))
}

/// Resolves the tag to its image ID, then loads it in an analysis job (joined if one
/// runs or ran for that image): the answer is the job, whose events carry the download's
/// progress; once loaded the image is listed, and its job's result is its analysis.
async fn open(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<Name>,
    Owner(owner): Owner,
    Json(body): Json<OpenTag>,
) -> Result<(StatusCode, Json<JobInfo>), ApiError> {
    let routes = state.registries.clone().ok_or_else(not_configured)?;
    let prepared = routes
        .registries
        .prepare(
            &p.name,
            &body.repository,
            &body.tag,
            body.platform.as_deref(),
        )
        .await?;
    let image_id = prepared.image_id.clone();
    let source = prepared.source.to_string();
    let loader = routes.clone();
    let work: LoadWork = Box::new(move |progress, cancel| {
        async move {
            let opened = loader
                .registries
                .load(&prepared, progress_sink(progress), cancel)
                .await
                .map_err(|e| match e {
                    RegistriesError::Engine(e) => BackendError::from(e),
                    other => BackendError::Failed(other.to_string()),
                })?;
            let image = opened.image.clone();
            loader.target.add_upload(opened);
            Ok(image)
        }
        .boxed()
    });
    let job = state.jobs.start_loading(image_id, Some(owner), work)?;
    // A job that had already loaded this image: list it again (it may have been
    // dropped from the uploads since).
    if let Some(done) = job.result() {
        routes.target.add_upload(OpenedSource {
            source,
            image: done.image.clone(),
        });
    }
    Ok((StatusCode::ACCEPTED, Json(job.info())))
}
