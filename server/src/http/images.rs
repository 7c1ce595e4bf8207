//! Image routes: health, the filtered list with totals, and one image's detail.

use super::backend::ImageFilters;
use super::error::ApiError;
use super::state::AppState;
use app::api::{Health, HistoryStep, ImageDetail, ImageList, ImageTotals, LayerInfo};
use app::model::{Digest, Image};
use axum::extract::{Path, RawQuery, State};
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
                _ => b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)),
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
    Path(id): Path<String>,
) -> Result<Json<ImageDetail>, ApiError> {
    let id = parse_image_id(&id)?;
    let mut detail = state.backend.image_detail(id.clone()).await?;
    if let Some(image) = state.jobs.loaded_image(&id) {
        exact_history(&image, &mut detail);
    }
    Ok(Json(detail))
}

/// Parses `sha256:<64 hex>` or bare 64 hex; nothing else reaches the backend.
pub fn parse_image_id(raw: &str) -> Result<Digest, ApiError> {
    let full = if raw.len() == 64 {
        format!("sha256:{raw}")
    } else {
        raw.to_owned()
    };
    Digest::parse(&full).map_err(|e| ApiError::BadRequest(format!("image id: {e}")))
}

/// `dangling`, `reference` (repeatable), `before`, `since`, `label` (repeatable).
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
            "reference" | "label" | "before" | "since" => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown image filter {other:?} (expected dangling, reference, before, since, label)"
                )))
            }
        }
    }
    Ok(f)
}

/// Replaces the daemon-derived history with the exact one from the loaded config
/// (`empty_layer` flags as written, sizes as read from the layers).
pub(super) fn exact_history(image: &Image, detail: &mut ImageDetail) {
    let cfg = &image.config;
    let by_layer = cfg.layer_history();
    let mut step_layer: Vec<Option<u32>> = vec![None; cfg.history.len()];
    for (layer, step) in by_layer.iter().enumerate() {
        if let Some(s) = step.and_then(|s| step_layer.get_mut(s)) {
            *s = Some(layer as u32);
        }
    }
    let size_of = |l: u32| image.layers.get(l as usize).map_or(0, |x| x.content_size());
    detail.history = cfg
        .history
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let layer = step_layer.get(i).copied().flatten();
            HistoryStep {
                index: i as u32,
                created: h.created.clone(),
                created_by: h.created_by.clone().unwrap_or_default(),
                comment: h.comment.clone(),
                empty_layer: h.empty_layer,
                layer,
                diff_id: layer
                    .and_then(|l| cfg.rootfs.diff_ids.get(l as usize))
                    .cloned(),
                size: layer.map_or(0, size_of),
            }
        })
        .collect();
    detail.layers = cfg
        .rootfs
        .diff_ids
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let step = by_layer.get(i).copied().flatten();
            LayerInfo {
                index: i as u32,
                diff_id: d.clone(),
                size: size_of(i as u32),
                history_index: step.map(|s| s as u32),
                created_by: step
                    .and_then(|s| cfg.history.get(s))
                    .and_then(|h| h.created_by.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    detail.history_mismatch = cfg.history_mismatch();
}
