//! Typed extractors whose rejections are [`ApiError`]s, so a malformed path or query
//! answers the same `{code, message}` JSON as every other failure (axum's own
//! rejections are plain text):
//! - [`ApiQuery`]: the query string deserialized into `T`;
//! - [`ApiPath`]: path parameters deserialized into `T`;
//! - [`ImagePath`]: the `{id}` of an image route, an image ID or a reference resolved to
//!   one (see [`resolve_image`]).

use super::error::ApiError;
use super::state::AppState;
use crate::backend::ImageFilters;
use crate::source::docker::{resolve_listed, DockerError, Listed};
use crate::source::reference::ImageRef;
use app::model::Digest;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The query string as `T` (all-`Option` structs accept an empty query).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::BadRequest(format!("query: {}", e.body_text())))
    }
}

/// The path parameters as `T`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::BadRequest(format!("path: {}", e.body_text())))
    }
}

/// The image named by the route's `{id}`.
pub struct ImagePath(pub Digest);

impl FromRequestParts<AppState> for ImagePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ApiPath(params) =
            ApiPath::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        let raw = params
            .get("id")
            .ok_or_else(|| ApiError::Internal("an image route without {id}".into()))?;
        resolve_image(state, raw).await.map(ImagePath)
    }
}

/// An image ID (`sha256:<64 hex>` or 64 hex), as it is; anything else is validated as a
/// reference (name:tag, name@digest, ID prefix — the docker CLI's forms) and looked up
/// in the backend's list, so only IDs the backend listed itself reach it. A string that
/// is no reference at all (`x/../../containers/json`, `a?b`) is a 400.
pub async fn resolve_image(state: &AppState, raw: &str) -> Result<Digest, ApiError> {
    if let Ok(id) = parse_image_id(raw) {
        return Ok(id);
    }
    let reference =
        ImageRef::parse(raw).map_err(|e| ApiError::BadRequest(format!("image: {e}")))?;
    let images = state.backend.list_images(ImageFilters::default()).await?;
    let listed: Vec<Listed<'_>> = images
        .iter()
        .map(|s| Listed {
            id: s.id.as_str(),
            tags: &s.tags,
            digests: &s.repo_digests,
        })
        .collect();
    resolve_listed(&reference, &listed).map_err(|e| match e {
        DockerError::NotFound(what) => {
            ApiError::NotFound(format!("no image {what} is listed; see GET /api/v1/images"))
        }
        DockerError::Ambiguous { .. } => ApiError::BadRequest(e.to_string()),
        other => ApiError::SourceFailed(other.to_string()),
    })
}

/// Parses `sha256:<64 hex>` or bare 64 hex.
pub fn parse_image_id(raw: &str) -> Result<Digest, ApiError> {
    let full = if raw.len() == 64 {
        format!("sha256:{raw}")
    } else {
        raw.to_owned()
    };
    Digest::parse(&full).map_err(|e| ApiError::BadRequest(format!("image id: {e}")))
}
