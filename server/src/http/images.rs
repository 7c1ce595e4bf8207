//! Image routes: health, the filtered list with totals, and one image's detail.

use super::error::ApiError;
use super::extract::ImagePath;
use super::state::AppState;
use crate::backend::ImageFilters;
use app::api::{Health, ImageDetail, ImageList, ImageTotals};
use app::history::exact_history;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/images", get(list_images))
        .route("/images/{id}", get(image_detail))
}

/// Daemon status; always 200 (the body says up or down).
async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        docker: state.backend.health().await,
    })
}

async fn list_images(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<ImageList>, ApiError> {
    let filters = parse_filters(query.as_deref().unwrap_or(""))?;
    let mut images = state.backend.list_images(filters).await?;
    // Images opened from the command line first (in the order given), then newest first.
    images.sort_by(|a, b| {
        b.source
            .is_some()
            .cmp(&a.source.is_some())
            .then_with(|| match (&a.source, &b.source) {
                (Some(_), Some(_)) => std::cmp::Ordering::Equal,
                _ => b
                    .created
                    .cmp(&a.created)
                    .then_with(|| a.id.cmp(&b.id))
                    .then_with(|| a.host.cmp(&b.host)),
            })
    });
    let totals = ImageTotals {
        count: images.len() as u64,
        size: images.iter().map(|i| i.size).sum(),
        unique_size: images.iter().filter_map(|i| i.unique_size).sum(),
        dangling: images.iter().filter(|i| i.dangling).count() as u64,
    };
    Ok(Json(ImageList { images, totals }))
}

async fn image_detail(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
) -> Result<Json<ImageDetail>, ApiError> {
    let mut detail = state.backend.image_detail(id.clone()).await?;
    if let Some(image) = state.jobs.loaded_image(&id) {
        exact_history(&image, &mut detail);
    }
    Ok(Json(detail))
}

/// `dangling`, `reference` (repeatable), `before`, `since`, `label` (repeatable),
/// `host` (repeatable).
pub fn parse_filters(query: &str) -> Result<ImageFilters, ApiError> {
    let mut f = ImageFilters::default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "dangling" => {
                f.dangling = Some(match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    other => {
                        return Err(ApiError::BadRequest(format!(
                            "filter dangling: expected true or false, got {other:?}"
                        )))
                    }
                })
            }
            "reference" if !value.is_empty() => f.reference.push(value),
            "label" if !value.is_empty() => f.label.push(value),
            "before" if !value.is_empty() => f.before = Some(value),
            "since" if !value.is_empty() => f.since = Some(value),
            "host" if !value.is_empty() => f.host.push(value),
            "reference" | "label" | "before" | "since" | "host" => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown image filter {other:?} (expected dangling, reference, before, since, label, host)"
                )))
            }
        }
    }
    Ok(f)
}
