//! Registry routes, HTTP only (the work is [`crate::registries`]):
//! `GET /registries`, `GET /registries/{name}/repositories`, `GET /registries/{name}/tags`,
//! `GET /registries/{name}/tag` and `POST /registries/{name}/open`, which loads a tag and
//! lists it beside the other images (its page is then `/images/{id}` like any other).
//! Only registries named at start are reachable: `name` selects one, never a URL.

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::state::AppState;
use super::upload::UploadTarget;
use crate::registries::{Registries, RegistriesError};
use app::api::{ImageSummary, NamePage, OpenTag, RegistryInfo, TagDetail};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
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
    state.registries.as_deref().ok_or_else(|| {
        ApiError::NotFound(
            "no registries are configured; start strata with --registry NAME=HOST".into(),
        )
    })
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

async fn open(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<Name>,
    Json(body): Json<OpenTag>,
) -> Result<(StatusCode, Json<ImageSummary>), ApiError> {
    let r = configured(&state)?;
    let opened = r
        .registries
        .open(
            &p.name,
            &body.repository,
            &body.tag,
            body.platform.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r.target.add_upload(opened))))
}
