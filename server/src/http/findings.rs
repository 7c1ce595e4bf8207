//! `GET /images/{id}/findings`, HTTP only: the secrets and leftovers of an analysed image
//! ([`app::findings`]: path rules over every layer, metadata rules over the config and
//! history), most severe first, values masked. Computed on a blocking thread from the
//! analysis the job built; nothing is read from the image's files.

use super::error::ApiError;
use super::extract::ImagePath;
use super::state::AppState;
use super::tree::analysis_of;
use app::api::FindingsReport;
use app::findings::check_image;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<AppState> {
    Router::new().route("/images/{id}/findings", get(findings))
}

async fn findings(
    State(state): State<AppState>,
    ImagePath(id): ImagePath,
) -> Result<Json<FindingsReport>, ApiError> {
    let analysis = analysis_of(&state, &id)?;
    let findings =
        tokio::task::spawn_blocking(move || check_image(&analysis.image, &analysis.tree))
            .await
            .map_err(|e| ApiError::Internal(format!("findings task failed: {e}")))?;
    Ok(Json(FindingsReport {
        image_id: id,
        findings,
    }))
}
