//! The HTTP edge: the `/api/v1` JSON API, the built UI (static files with an SPA
//! fallback), security headers and the Host check, and [`serve`], which the CLI calls.
//!
//! [`router`] builds the whole application from an [`AppState`] without binding a
//! socket, so tests drive it with `tower::ServiceExt::oneshot`. All image access goes
//! through the [`crate::backend::Backend`] trait held in the state; which backend that is
//! (and everything else `strata serve` assembles) is decided by [`crate::cli`].

mod analysis;
mod assets;
mod audit;
mod auth;
mod compare;
mod error;
mod extract;
mod files;
mod findings;
mod images;
mod jobs;
mod limits;
mod registries;
mod search;
mod security;
mod state;
mod tree;
mod treemap;
mod upload;

pub use assets::{find_dist_dir, DIST_DIR_ENV};
pub use audit::AUDIT_TARGET;
pub use auth::{
    may_write, write_gate, AuthMode, BadCidr, Cidr, Denied, Principal, Role, TokenStore,
    TokensError, Via, TOKEN_COOKIE,
};
pub use error::ApiError;
pub use files::{MAX_CONCURRENT_READS, MAX_READS_PER_USER};
pub use jobs::{
    JobRegistry, JobsConfig, DEFAULT_GRACE_SECS, DEFAULT_MAX_JOBS_PER_USER, DEFAULT_MAX_JOB_SECS,
    MAX_KEPT_RESULTS, NOBODY_WAITING,
};
pub use limits::{
    RateLimiter, DEFAULT_BURST, DEFAULT_RATE, MAX_BODY_BYTES, REQUEST_TIMEOUT, SHUTDOWN_GRACE,
};
pub use registries::RegistryRoutes;
pub use security::{
    check_listen, secure, Policy, SecurityConfig, SecurityError, DEFAULT_PROXY_HEADER,
};
pub use state::{AppState, AppStateBuilder};
pub use upload::{
    SpoolError, UploadConfig, UploadError, UploadTarget, Uploads, DEFAULT_MAX_UPLOAD_SIZE,
    DEFAULT_UPLOAD_IDLE_SECS, MAX_CONCURRENT_UPLOADS, UPLOAD_PATH,
};

use axum::Router;

/// The message of jobs cancelled because the server stops.
pub const SHUTTING_DOWN: &str = "cancelled: the server is shutting down";

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// Builds the application: API under `/api/v1`, security layers, static UI.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(images::routes())
        .merge(jobs::routes())
        .merge(tree::routes())
        .merge(files::routes())
        .merge(findings::routes())
        .merge(treemap::routes())
        .merge(compare::routes())
        .merge(search::routes())
        .merge(upload::routes())
        .merge(registries::routes())
        .route("/openapi.json", axum::routing::get(openapi))
        .fallback(error::api_not_found);
    let app = Router::new()
        .nest("/api/v1", api)
        .route("/api", axum::routing::any(error::api_not_found))
        .route("/api/{*rest}", axum::routing::any(error::api_not_found))
        .fallback_service(assets::service(state.dist_dir.clone()));
    security::secure(app.with_state(state.clone()), &state)
}

/// The hand-written OpenAPI document of `/api/v1` (kept beside this module).
pub const OPENAPI_JSON: &str = include_str!("http/openapi.json");

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI_JSON,
    )
}

/// Serves the dashboard built from `state` on `listener` until the process is stopped
/// (a signal cancels the running analyses, then in-flight requests get a grace period).
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    match &state.dist_dir {
        Some(dir) => tracing::info!("serving the UI from {}", dir.display()),
        None => tracing::warn!(
            "no built UI found (looked for {DIST_DIR_ENV}, --dist-dir, dist/ near the binary and cwd); \
             build it with `trunk build --release` in the repository root"
        ),
    }
    let local = listener.local_addr()?;
    tracing::info!("strata dashboard on http://{local}/");
    println!("listening on http://{local}/");
    if let Some(url) = state.security.startup_url(local) {
        println!("open {url}");
    }
    let jobs = state.jobs.clone();
    let on_signal = move || {
        let n = jobs.cancel_all(SHUTTING_DOWN);
        if n > 0 {
            tracing::info!("cancelled {n} running analyses; nothing of them is cached");
        }
    };
    limits::serve(listener, router(state), on_signal).await
}
