//! Layer tree and ranked-list routes.

use super::state::AppState;
use axum::Router;

pub fn routes() -> Router<AppState> {
    Router::new()
}
