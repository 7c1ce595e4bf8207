//! Shared state of every route: the backend, the job registry, the comparison cache,
//! the UI directory, the Host guard, the security policy and the uploads. Cheap to
//! clone (all `Arc`s). Built in one place, [`AppStateBuilder`]:
//! `AppState::builder(backend).dist_dir(..).allowed_hosts(..).security(..).jobs(..)
//! .uploads(..).build()`; everything left out gets its default (no UI, loopback hosts
//! only, the default policy and job settings, uploads off).

use super::compare::{self, CompareCache};
use super::jobs::{JobRegistry, JobsConfig};
use super::security::{HostGuard, Policy};
use super::upload::Uploads;
use crate::backend::Backend;
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
    pub uploads: Option<Arc<Uploads>>,
    /// Slots for file-content reads (server-wide and per user).
    pub content_reads: Arc<super::files::ReadSlots>,
    /// File-content reader with its gzip index cache.
    pub contents: Arc<crate::content::Contents>,
    /// `--registry` registries; `None` = none configured.
    pub registries: Option<Arc<super::RegistryRoutes>>,
}

impl AppState {
    /// Starts building the state over any backend (tests use fakes).
    pub fn builder(backend: Arc<dyn Backend>) -> AppStateBuilder {
        AppStateBuilder {
            backend,
            dist_dir: None,
            allowed_hosts: Vec::new(),
            security: Policy::default(),
            jobs: JobsConfig::default(),
            uploads: None,
            contents: None,
            registries: None,
        }
    }
}

/// See [`AppState::builder`].
pub struct AppStateBuilder {
    backend: Arc<dyn Backend>,
    dist_dir: Option<PathBuf>,
    allowed_hosts: Vec<String>,
    security: Policy,
    jobs: JobsConfig,
    uploads: Option<Arc<Uploads>>,
    contents: Option<Arc<crate::content::Contents>>,
    registries: Option<Arc<super::RegistryRoutes>>,
}

impl AppStateBuilder {
    /// The file-content reader (default: gzip indexes in memory only).
    pub fn contents(mut self, contents: Arc<crate::content::Contents>) -> Self {
        self.contents = Some(contents);
        self
    }

    /// The built UI to serve (`None` = API only; see [`super::find_dist_dir`]).
    pub fn dist_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.dist_dir = dir;
        self
    }

    /// `Host` header names accepted besides loopback ones (DNS-rebinding guard).
    pub fn allowed_hosts(mut self, hosts: &[String]) -> Self {
        self.allowed_hosts = hosts.to_vec();
        self
    }

    /// Auth, write gate and rate limits.
    pub fn security(mut self, policy: Policy) -> Self {
        self.security = policy;
        self
    }

    /// Analysis jobs: grace period, per-user cap, time limit.
    pub fn jobs(mut self, config: JobsConfig) -> Self {
        self.jobs = config;
        self
    }

    /// The configured registries (`--registry NAME=HOST`).
    pub fn registries(mut self, routes: Arc<super::RegistryRoutes>) -> Self {
        self.registries = Some(routes);
        self
    }

    /// Turns archive uploads on.
    pub fn uploads(mut self, uploads: Arc<Uploads>) -> Self {
        self.uploads = Some(uploads);
        self
    }

    pub fn build(self) -> AppState {
        AppState {
            jobs: Arc::new(JobRegistry::with_config(self.backend.clone(), self.jobs)),
            backend: self.backend,
            dist_dir: self.dist_dir,
            host_guard: Arc::new(HostGuard::new(&self.allowed_hosts)),
            security: Arc::new(self.security),
            compares: Arc::new(compare::cache()),
            uploads: self.uploads,
            content_reads: Arc::new(super::files::ReadSlots::default()),
            contents: self
                .contents
                .unwrap_or_else(|| Arc::new(crate::content::Contents::new(None))),
            registries: self.registries,
        }
    }
}
