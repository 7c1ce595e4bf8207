//! The HTTP edge: the `/api/v1` JSON API, the built UI (static files with an SPA
//! fallback), security headers and the Host check, and [`serve`], which the CLI calls.
//!
//! [`router`] builds the whole application from an [`AppState`] without binding a
//! socket, so tests drive it with `tower::ServiceExt::oneshot`. All Docker access goes
//! through the [`Backend`] trait held in the state.

mod analysis;
mod assets;
mod audit;
mod auth;
mod backend;
mod compare;
mod daemon;
mod error;
mod images;
mod jobs;
mod limits;
mod search;
mod security;
mod sources;
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
pub use backend::{Backend, BackendError, ImageFilters, ProgressFn, SharingInputs};
pub use daemon::DaemonBackend;
pub use error::ApiError;
pub use jobs::{JobRegistry, JobsConfig, MAX_KEPT_RESULTS, NOBODY_WAITING};
pub use limits::{RateLimiter, MAX_BODY_BYTES, REQUEST_TIMEOUT, SHUTDOWN_GRACE};
pub use security::{check_listen, secure, Policy, SecurityConfig, SecurityError};
pub use sources::{open_sources, OpenError, OpenedSource, SourcesBackend};
pub use state::AppState;
pub use upload::{
    SpoolError, UploadConfig, UploadError, Uploads, DEFAULT_MAX_UPLOAD_SIZE,
    MAX_CONCURRENT_UPLOADS, UPLOAD_PATH,
};

use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The message of jobs cancelled because the server stops.
pub const SHUTTING_DOWN: &str = "cancelled: the server is shutting down";

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// What `strata serve` needs to start the dashboard.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to bind (default `127.0.0.1:7878`).
    pub listen: SocketAddr,
    /// Docker endpoint (`unix://...`, `tcp://...`); `None` = `DOCKER_HOST` or the local socket.
    pub docker_host: Option<String>,
    /// On-disk layer cache directory, if any.
    pub cache_dir: Option<PathBuf>,
    /// Built UI; `None` = `STRATA_DIST_DIR` or a `dist/` found near the binary or cwd.
    pub dist_dir: Option<PathBuf>,
    /// Extra `Host` header names accepted besides loopback ones (DNS-rebinding guard).
    pub allowed_hosts: Vec<String>,
    /// Sources named on the command line (shown first in the UI).
    pub sources: Vec<String>,
    /// Auth mode, write gate and rate limits.
    pub security: SecurityConfig,
    /// Analysis jobs: grace period with nobody waiting, per-user cap.
    pub jobs: JobsConfig,
    /// Read layers from the daemon's own store when readable (`--no-layer-store` = false).
    pub use_layer_store: bool,
    /// Longest silence tolerated between two chunks of an export.
    pub export_idle_timeout: std::time::Duration,
    /// Archive uploads from the UI (on unless `--no-upload`).
    pub uploads: UploadConfig,
}

impl ServeConfig {
    /// The engine settings of the daemon backend.
    pub fn engine_config(&self) -> crate::engine::EngineConfig {
        crate::engine::EngineConfig {
            docker_host: self.docker_host.clone(),
            cache_dir: self.cache_dir.clone(),
            use_layer_store: self.use_layer_store,
            export_idle_timeout: self.export_idle_timeout,
            ..crate::engine::EngineConfig::default()
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            docker_host: None,
            cache_dir: None,
            dist_dir: None,
            allowed_hosts: Vec::new(),
            sources: Vec::new(),
            security: SecurityConfig::default(),
            jobs: JobsConfig::default(),
            use_layer_store: true,
            export_idle_timeout: crate::source::docker::EXPORT_IDLE_TIMEOUT,
            uploads: UploadConfig::default(),
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server on {addr} failed: {source}")]
    Serve {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A SOURCE named on the command line could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The listen address or auth settings are unsafe or unusable.
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// The upload directory cannot be used.
    #[error(transparent)]
    Upload(#[from] SpoolError),
}

/// Builds the application: API under `/api/v1`, security layers, static UI.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(images::routes())
        .merge(jobs::routes())
        .merge(tree::routes())
        .merge(treemap::routes())
        .merge(compare::routes())
        .merge(search::routes())
        .merge(upload::routes())
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

/// Binds `config.listen` and serves the dashboard until the process is stopped.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let addr = config.listen;
    check_listen(addr, config.security.auth)?;
    let policy = Policy::from_config(&config.security)?;
    let daemon = Arc::new(DaemonBackend::with_engine_config(config.engine_config()));
    let engine = daemon.engine().clone();
    let opened = open_sources(&engine, &config.sources).await?;
    // Always wrapped: uploaded archives join the list at run time.
    let sources = Arc::new(SourcesBackend::new(daemon, opened));
    let backend: Arc<dyn Backend> = sources.clone();
    let mut state = AppState::with_config(backend, &config)
        .with_security(policy)
        .with_jobs(config.jobs.clone());
    if config.uploads.no_upload {
        tracing::info!("archive uploads turned off (--no-upload)");
    } else {
        let uploads = Uploads::new(engine, sources, &config.uploads)?;
        state = state.with_uploads(Arc::new(uploads));
    }
    match &state.dist_dir {
        Some(dir) => tracing::info!("serving the UI from {}", dir.display()),
        None => tracing::warn!(
            "no built UI found (looked for {DIST_DIR_ENV}, --dist-dir, dist/ near the binary and cwd); \
             build it with `trunk build --release` in the repository root"
        ),
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
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
    limits::serve(listener, router(state), on_signal)
        .await
        .map_err(|source| ServeError::Serve { addr, source })
}
