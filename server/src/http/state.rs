//! Shared state of every route: the backend, the job registry, the UI directory and
//! the Host guard. Cheap to clone (all `Arc`s).

use super::assets::find_dist_dir;
use super::backend::Backend;
use super::compare::CompareCache;
use super::daemon::DaemonBackend;
use super::jobs::JobRegistry;
use super::security::{HostGuard, Policy};
use super::ServeConfig;
use std::path::PathBuf;
use std::sync::Arc;

/// State handed to [`super::router`].
#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<dyn Backend>,
    pub jobs: Arc<JobRegistry>,
    /// The built UI, if one was found.
    pub dist_dir: Option<PathBuf>,
    pub host_guard: Arc<HostGuard>,
    /// Auth, write gate and rate limits (see `security::secure`).
    pub security: Arc<Policy>,
    /// Comparisons computed (or being computed), by ordered image IDs.
    pub compares: Arc<CompareCache>,
    /// Archive uploads; `None` = turned off (`--no-upload`, and tests that do not set it).
    pub uploads: Option<Arc<super::upload::Uploads>>,
}

impl AppState {
    /// State over any backend (tests use fakes).
    pub fn new(
        backend: Arc<dyn Backend>,
        dist_dir: Option<PathBuf>,
        allowed_hosts: &[String],
    ) -> Self {
        AppState {
            jobs: Arc::new(JobRegistry::new(backend.clone())),
            backend,
            dist_dir,
            host_guard: Arc::new(HostGuard::new(allowed_hosts)),
            security: Arc::new(Policy::default()),
            compares: Arc::default(),
            uploads: None,
        }
    }

    /// State for `strata serve`: the Docker daemon named by the config (or the environment).
    pub fn from_config(config: &ServeConfig) -> Self {
        let backend = Arc::new(DaemonBackend::with_engine_config(config.engine_config()));
        AppState::with_config(backend, config)
    }

    /// State for `strata serve` over a given backend: the UI directory
    /// (`--dist-dir`, else `STRATA_DIST_DIR`, else found) and the allowed hosts.
    pub fn with_config(backend: Arc<dyn Backend>, config: &ServeConfig) -> Self {
        let dist = find_dist_dir(config.dist_dir.as_deref());
        let mut hosts = config.allowed_hosts.clone();
        let ip = config.listen.ip();
        if !ip.is_unspecified() {
            hosts.push(ip.to_string());
        }
        AppState::new(backend, dist, &hosts)
    }
}
