//! Shared state of every route: the backend, the job registry, the UI directory and
//! the Host guard. Cheap to clone (all `Arc`s).

use super::assets::find_dist_dir;
use super::backend::Backend;
use super::daemon::DaemonBackend;
use super::jobs::JobRegistry;
use super::security::HostGuard;
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
        }
    }

    /// State for `strata serve`: the Docker daemon named by the config (or the environment).
    pub fn from_config(config: &ServeConfig) -> Self {
        let backend = Arc::new(DaemonBackend::new(
            config.docker_host.clone(),
            config.cache_dir.clone(),
        ));
        let dist = find_dist_dir(config.dist_dir.as_deref());
        let mut hosts = config.allowed_hosts.clone();
        let ip = config.listen.ip();
        if !ip.is_unspecified() {
            hosts.push(ip.to_string());
        }
        AppState::new(backend, dist, &hosts)
    }
}
