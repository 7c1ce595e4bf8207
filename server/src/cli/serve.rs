//! Assembling `strata serve`: the daemon backend over the engine, the images named on
//! the command line and uploaded ones ([`crate::backend`]), the security policy, the
//! job settings and the uploads, put together into an [`AppState`] and handed to
//! [`crate::http::serve`]. The only place that knows which [`crate::backend::Backend`]
//! the dashboard runs on.

use super::{CliError, GlobalArgs, ServeArgs};
use crate::backend::{
    open_sources, Backend, DaemonBackend, Host, HostSpec, HostsBackend, OpenError, SourcesBackend,
};
use crate::engine::EngineConfig;
use crate::http::{
    check_listen, find_dist_dir, AppState, JobsConfig, Policy, SecurityConfig, SecurityError,
    SpoolError, UploadConfig, Uploads,
};
use crate::source::Source;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    /// How registries are reached.
    pub registry: crate::registry::RegistrySettings,
    /// The registries of the Registries page (`--registry NAME=HOST`).
    pub registries: Vec<crate::registries::Configured>,
    /// Named Docker hosts (`--docker NAME=URL`); empty = the one daemon of `docker_host`.
    pub docker_hosts: Vec<HostSpec>,
}

impl ServeConfig {
    /// The engine settings of the daemon backend.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            docker_host: self.docker_host.clone(),
            cache_dir: self.cache_dir.clone(),
            use_layer_store: self.use_layer_store,
            export_idle_timeout: self.export_idle_timeout,
            registry: {
                let mut r = self.registry.clone();
                r.insecure
                    .extend(crate::registries::insecure_hosts(&self.registries));
                r
            },
            ..EngineConfig::default()
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
            registry: crate::registry::RegistrySettings::default(),
            registries: Vec::new(),
            docker_hosts: Vec::new(),
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

/// The backend over the one daemon, or over every named host; and the engine that
/// opened sources and registry images go through (the first host's).
fn daemon_backend(config: &ServeConfig) -> (Arc<dyn Backend>, crate::engine::Engine) {
    if config.docker_hosts.is_empty() {
        let daemon = DaemonBackend::with_engine_config(config.engine_config());
        let engine = daemon.engine().clone();
        return (Arc::new(daemon), engine);
    }
    let hosts: Vec<Host> = config
        .docker_hosts
        .iter()
        .map(|spec| {
            let mut engine = config.engine_config();
            engine.docker_host = Some(spec.address.clone());
            engine.docker_cert_path = spec.cert_path.clone();
            tracing::info!("Docker host {} at {}", spec.name, spec.address);
            Host {
                name: spec.name.clone(),
                backend: Arc::new(DaemonBackend::with_engine_config(engine)),
            }
        })
        .collect();
    let engine = hosts[0].backend.engine().clone();
    (Arc::new(HostsBackend::new(hosts)), engine)
}

/// Binds `config.listen` and serves the dashboard until the process is stopped.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let addr = config.listen;
    check_listen(addr, config.security.auth)?;
    let policy = Policy::from_config(&config.security)?;
    let (daemon, engine) = daemon_backend(&config);
    let opened = open_sources(&engine, &config.sources).await?;
    // Always wrapped: uploaded archives join the list at run time.
    let sources = Arc::new(SourcesBackend::new(daemon, opened).with_engine(engine.clone()));
    let backend: Arc<dyn Backend> = sources.clone();
    // The UI directory: `--dist-dir`, else `STRATA_DIST_DIR`, else found near the binary.
    let mut hosts = config.allowed_hosts.clone();
    let ip = config.listen.ip();
    if !ip.is_unspecified() {
        hosts.push(ip.to_string());
    }
    let mut state = AppState::builder(backend)
        .dist_dir(find_dist_dir(config.dist_dir.as_deref()))
        .allowed_hosts(&hosts)
        .security(policy)
        .jobs(config.jobs.clone())
        .contents(Arc::new(crate::content::Contents::new(
            config.cache_dir.as_deref(),
        )));
    if !config.registries.is_empty() {
        let registries =
            crate::registries::Registries::new(config.registries.clone(), engine.clone());
        state = state.registries(Arc::new(crate::http::RegistryRoutes {
            registries,
            target: sources.clone(),
        }));
    }
    if config.uploads.no_upload {
        tracing::info!("archive uploads turned off (--no-upload)");
    } else {
        let uploads = Uploads::new(engine, sources, &config.uploads)?;
        state = state.uploads(Arc::new(uploads));
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    crate::http::serve(listener, state.build())
        .await
        .map_err(|source| ServeError::Serve { addr, source })
}

/// `strata serve`: checks the flags, then serves until stopped.
pub(super) async fn run(global: &GlobalArgs, args: ServeArgs) -> Result<ExitCode, CliError> {
    for s in &args.sources {
        Source::parse(s).map_err(|e| CliError(format!("{e}; {}", super::source_hint())))?;
    }
    for h in &args.allowed_hosts {
        if h.is_empty() || h.contains(['/', ' ', '@']) {
            return Err(CliError(format!(
                "--allowed-host {h:?} is not a host name; give a name like dashboard.example or 10.0.0.5"
            )));
        }
    }
    if let Some(dir) = &args.dist_dir {
        if !dir.join("index.html").is_file() {
            return Err(CliError(format!(
                "--dist-dir {}: no index.html there; build the UI with `trunk build --release` and pass its dist/ directory",
                dir.display()
            )));
        }
    }
    let registries = args
        .registries
        .iter()
        .map(|a| crate::registries::Configured::parse(a))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError(format!("{e}; e.g. --registry team=registry.example:5000")))?;
    if global.docker_host.is_some() && !args.docker_hosts.is_empty() {
        return Err(CliError(
            "--docker-host and --docker both name Docker hosts; give this machine's daemon as one more --docker NAME=URL instead".into(),
        ));
    }
    let docker_hosts = HostSpec::parse_all(&args.docker_hosts, &args.docker_cert_paths)
        .map_err(|e| CliError(format!("{e}; e.g. --docker build=ssh://deploy@build-1")))?;
    let config = ServeConfig {
        registries,
        docker_hosts,
        listen: args.listen,
        docker_host: global.docker_host.clone(),
        cache_dir: super::cache_dir(global),
        dist_dir: args.dist_dir,
        allowed_hosts: args.allowed_hosts,
        sources: args.sources,
        security: args.security.into(),
        jobs: args.jobs.into(),
        uploads: args.uploads.into(),
        use_layer_store: !global.no_layer_store,
        export_idle_timeout: args.export_idle_timeout.map_or(
            crate::source::docker::EXPORT_IDLE_TIMEOUT,
            std::time::Duration::from_secs,
        ),
        registry: global.registry_settings(),
    };
    serve(config).await.map_err(|e| match e {
        ServeError::Open(_) => CliError(format!(
            "{e}; check the path, or list archives and layouts as {}",
            super::source_hint().trim_start_matches("use ")
        )),
        ServeError::Security(_) => CliError(e.to_string()),
        ServeError::Upload(_) => CliError(e.to_string()),
        _ => CliError(format!(
            "{e}; choose another address with --listen 127.0.0.1:PORT"
        )),
    })?;
    Ok(ExitCode::SUCCESS)
}
