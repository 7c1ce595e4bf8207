//! [`DaemonBackend`]: the [`Backend`] over the Docker daemon, through the engine
//! ([`crate::engine::Engine`]) and its client ([`crate::source::docker::DockerClient`]).
//!
//! Metadata (list, inspect, history, sizes) comes from the cheap API calls; only
//! validated `sha256:` IDs reach the client. Per-image facts (layer chain IDs and sizes)
//! are cached by image ID (images are immutable) to compute shared/unique sizes the way
//! `docker system df -v` does: a layer (by chain ID) is shared when more than one local
//! image uses it. Full loads go to the engine, which caches layers by diff ID.

use super::{Backend, BackendError, ImageFilters, ProgressFn, SharingInputs};
use crate::content::LayerBytes;
use crate::engine::{Engine, EngineConfig};
use crate::single_flight::{Keep, SingleFlight};
use crate::source::docker::DockerClient;
use crate::source::{ImageRef, Source};
use app::api::{DockerHealth, ImageDetail, ImageSummary, RunConfig};
use app::history::{self, HistoryItem};
use app::limits::Limits;
use app::model::{chain_ids, Digest, Image};
use bollard::models::ImageInspect;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Inspect+history calls in flight at once while filling the facts cache.
const FACT_CONCURRENCY: usize = 8;

/// How long the health view waits for the daemon: the UI polls it to show the "no
/// daemon" banner, so a hung daemon must not hold it for the full API timeout.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Layer facts of one image, from inspect + history.
#[derive(Debug, Clone)]
struct ImageFacts {
    chain_ids: Vec<Digest>,
    layer_sizes: Vec<u64>,
}

/// A filter set in a stable order (the key of the list cache).
type FilterKey = Vec<(String, Vec<String>)>;

/// Inspect and history of one image, as the daemon answered them (history as the
/// alignment rules of [`app::history`] read it).
type Described = Arc<(ImageInspect, Vec<HistoryItem>)>;

/// The Docker daemon as a [`Backend`].
pub struct DaemonBackend {
    engine: Engine,
    address: String,
    facts: Mutex<HashMap<Digest, Arc<ImageFacts>>>,
    /// `GET /images/json` answers by filter set, shared while in flight and not kept,
    /// so a tag, a removal or a stopped daemon shows at once.
    lists: SingleFlight<FilterKey, Arc<Vec<bollard::models::ImageSummary>>, BackendError>,
    /// Inspect + history answers by image ID (same policy).
    described: SingleFlight<Digest, Described, BackendError>,
    /// Exports kept for file contents when the layer store is not readable.
    exports: super::exports::Exports,
}

impl DaemonBackend {
    /// A backend for `docker_host` (`None` = `$DOCKER_HOST`, else the local socket) with
    /// an optional on-disk layer cache. Connecting is lazy: a missing daemon shows up as
    /// `Unavailable` per request.
    pub fn new(docker_host: Option<String>, cache_dir: Option<PathBuf>) -> Self {
        Self::with_engine_config(EngineConfig {
            docker_host,
            cache_dir,
            ..EngineConfig::default()
        })
    }

    /// A backend over an engine configured in full (`strata serve` passes
    /// `--no-layer-store` and the export idle timeout this way).
    pub fn with_engine_config(config: EngineConfig) -> Self {
        let docker_host = config.docker_host.clone();
        let engine = Engine::new(config);
        if let Some(e) = engine.cache_error() {
            tracing::warn!("layer cache disabled: {e}");
        }
        let address = match engine.docker() {
            Ok(d) => d.address().to_owned(),
            Err(_) => docker_host
                .or_else(|| std::env::var("DOCKER_HOST").ok())
                .unwrap_or_default(),
        };
        DaemonBackend {
            engine,
            address,
            facts: Mutex::new(HashMap::new()),
            lists: SingleFlight::new(Keep::InFlight),
            described: SingleFlight::new(Keep::InFlight),
            exports: super::exports::Exports::default(),
        }
    }

    /// The engine loads go through (shared with the sources opened at start).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The endpoint this backend talks to.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn docker(&self) -> Result<&DockerClient, BackendError> {
        self.engine.docker().map_err(BackendError::from)
    }

    /// The daemon's image list for `filters` (shared with concurrent callers).
    async fn daemon_list(
        &self,
        filters: &HashMap<String, Vec<String>>,
    ) -> Result<Arc<Vec<bollard::models::ImageSummary>>, BackendError> {
        let docker = self.docker()?.clone();
        let mut key: FilterKey = filters
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        key.sort();
        let filters = filters.clone();
        self.lists
            .get(key, |_| async move {
                docker
                    .list_images(&filters)
                    .await
                    .map(Arc::new)
                    .map_err(BackendError::from)
            })
            .await
    }

    /// Inspect and history of one image (shared with concurrent callers).
    async fn describe(&self, id: &Digest) -> Result<Described, BackendError> {
        let docker = self.docker()?.clone();
        let id = id.clone();
        self.described
            .get(id.clone(), |_| async move {
                let inspect = docker.inspect(&id).await.map_err(BackendError::from)?;
                let hist = docker.history(&id).await.map_err(BackendError::from)?;
                Ok(Arc::new((inspect, hist.iter().map(history_item).collect())))
            })
            .await
    }

    async fn facts(&self, id: &Digest) -> Result<Arc<ImageFacts>, BackendError> {
        if let Some(f) = self.cached_facts(id) {
            return Ok(f);
        }
        let described = self.describe(id).await?;
        let (inspect, hist) = &*described;
        let diff_ids = parse_diff_ids(inspect)?;
        let steps = history::align(hist, diff_ids.len());
        let mut layer_sizes = vec![0u64; diff_ids.len()];
        for s in &steps {
            if let Some(slot) = s.layer.and_then(|l| layer_sizes.get_mut(l as usize)) {
                *slot = s.size;
            }
        }
        let facts = Arc::new(ImageFacts {
            chain_ids: chain_ids(&diff_ids),
            layer_sizes,
        });
        self.facts.lock().insert(id.clone(), facts.clone());
        Ok(facts)
    }

    fn cached_facts(&self, id: &Digest) -> Option<Arc<ImageFacts>> {
        self.facts.lock().get(id).cloned()
    }

    /// Whether the daemon holds image `id` (one inspect, shared and not kept).
    pub async fn holds(&self, id: &Digest) -> Result<bool, BackendError> {
        match self.describe(id).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == super::BackendErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn list(&self, filters: ImageFilters) -> Result<Vec<ImageSummary>, BackendError> {
        if !filters.host.is_empty() {
            return Err(BackendError::Invalid(
                "filter host: this server has no named Docker hosts (start it with --docker NAME=URL, repeatable)".into(),
            ));
        }
        let all = self.daemon_list(&HashMap::new()).await?;
        let wanted = if filters == ImageFilters::default() {
            all.clone()
        } else {
            self.daemon_list(&filters_map(&filters)).await?
        };
        // Facts for every local image: sharing is decided across all of them.
        let ids: Vec<Digest> = all
            .iter()
            .filter_map(|i| Digest::parse(&i.id).ok())
            .collect();
        let facts = self.all_facts(&ids).await;
        let mut users: HashMap<&Digest, u32> = HashMap::new();
        for f in facts.values() {
            for c in &f.chain_ids {
                *users.entry(c).or_default() += 1;
            }
        }
        let mut out = Vec::with_capacity(wanted.len());
        for img in wanted.iter() {
            let Ok(id) = Digest::parse(&img.id) else {
                tracing::warn!("skipping image with unexpected id {:?}", img.id);
                continue;
            };
            let f = facts.get(&id);
            let shared = f.map(|f| {
                f.chain_ids
                    .iter()
                    .zip(&f.layer_sizes)
                    .filter(|(c, _)| users.get(c).copied().unwrap_or(0) > 1)
                    .map(|(_, s)| *s)
                    .sum::<u64>()
            });
            let size = u64::try_from(img.size).unwrap_or(0);
            let tags: Vec<String> = img
                .repo_tags
                .iter()
                .filter(|t| *t != "<none>:<none>")
                .cloned()
                .collect();
            out.push(ImageSummary {
                short_id: id.short().to_owned(),
                id: id.clone(),
                dangling: tags.is_empty(),
                tags,
                repo_digests: img
                    .repo_digests
                    .iter()
                    .filter(|d| *d != "<none>@<none>")
                    .cloned()
                    .collect(),
                created: img.created,
                size,
                shared_size: shared,
                unique_size: shared.map(|s| size.saturating_sub(s)),
                layer_count: f.map_or(0, |f| u32::try_from(f.chain_ids.len()).unwrap_or(u32::MAX)),
                labels: img
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<BTreeMap<_, _>>(),
                source: None,
                host: None,
            });
        }
        Ok(out)
    }

    async fn all_facts(&self, ids: &[Digest]) -> HashMap<Digest, Arc<ImageFacts>> {
        use futures_util::stream::{self, StreamExt as _};
        let results: Vec<(Digest, Result<Arc<ImageFacts>, BackendError>)> =
            stream::iter(ids.iter().cloned())
                .map(|id| async move {
                    let r = self.facts(&id).await;
                    (id, r)
                })
                .buffer_unordered(FACT_CONCURRENCY)
                .collect()
                .await;
        results
            .into_iter()
            .filter_map(|(id, r)| match r {
                Ok(f) => Some((id, f)),
                Err(e) => {
                    // An image removed between list and inspect: just not counted.
                    tracing::debug!("no layer facts for {id}: {e}");
                    None
                }
            })
            .collect()
    }

    async fn detail(&self, id: Digest) -> Result<ImageDetail, BackendError> {
        let described = self.describe(&id).await?;
        let (inspect, hist) = &*described;
        let summary = self
            .list(ImageFilters::default())
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| BackendError::NoSuchImage(id.clone()))?;
        let diff_ids = parse_diff_ids(inspect)?;
        let mut detail = detail_of(summary, inspect);
        history::daemon_history(hist, &diff_ids, &mut detail);
        Ok(detail)
    }
}

fn history_item(h: &bollard::models::ImageHistoryResponseItem) -> HistoryItem {
    HistoryItem {
        created: h.created,
        created_by: h.created_by.clone(),
        comment: h.comment.clone(),
        size: h.size,
    }
}

/// The detail answer from inspect, history not filled in yet.
fn detail_of(summary: ImageSummary, inspect: &ImageInspect) -> ImageDetail {
    let cfg = inspect.config.clone().unwrap_or_default();
    ImageDetail {
        summary,
        architecture: inspect.architecture.clone().unwrap_or_default(),
        os: inspect.os.clone().unwrap_or_default(),
        variant: inspect.variant.clone().filter(|v| !v.is_empty()),
        author: inspect.author.clone().filter(|a| !a.is_empty()),
        created_at: inspect.created.as_ref().map(|c| c.to_string()),
        config: RunConfig {
            user: cfg.user.filter(|u| !u.is_empty()),
            env: cfg.env.unwrap_or_default(),
            entrypoint: cfg.entrypoint.unwrap_or_default(),
            cmd: cfg.cmd.unwrap_or_default(),
            working_dir: cfg.working_dir.filter(|w| !w.is_empty()),
            exposed_ports: sorted(cfg.exposed_ports.unwrap_or_default()),
            volumes: sorted(cfg.volumes.unwrap_or_default()),
            labels: cfg.labels.unwrap_or_default().into_iter().collect(),
            stop_signal: cfg.stop_signal.filter(|s| !s.is_empty()),
            shell: cfg.shell.filter(|s| !s.is_empty()),
        },
        history: Vec::new(),
        layers: Vec::new(),
        history_mismatch: false,
        hosts: Vec::new(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn parse_diff_ids(inspect: &bollard::models::ImageInspect) -> Result<Vec<Digest>, BackendError> {
    inspect
        .root_fs
        .as_ref()
        .and_then(|r| r.layers.as_ref())
        .map(|layers| {
            layers
                .iter()
                .map(|l| Digest::parse(l).map_err(BackendError::BadDiffId))
                .collect()
        })
        .unwrap_or_else(|| Ok(Vec::new()))
}

fn filters_map(f: &ImageFilters) -> HashMap<String, Vec<String>> {
    let mut m: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(d) = f.dangling {
        m.insert("dangling".into(), vec![d.to_string()]);
    }
    if !f.reference.is_empty() {
        m.insert("reference".into(), f.reference.clone());
    }
    if let Some(b) = &f.before {
        m.insert("before".into(), vec![b.clone()]);
    }
    if let Some(s) = &f.since {
        m.insert("since".into(), vec![s.clone()]);
    }
    if !f.label.is_empty() {
        m.insert("label".into(), f.label.clone());
    }
    m
}

impl Backend for DaemonBackend {
    fn health(&self) -> BoxFuture<'_, DockerHealth> {
        async move {
            let result = match self.docker() {
                Ok(d) => match tokio::time::timeout(HEALTH_TIMEOUT, d.info()).await {
                    Ok(r) => r.map_err(BackendError::from),
                    Err(_) => Err(BackendError::Unavailable {
                        address: self.address.clone(),
                        reason: format!("no answer within {} s", HEALTH_TIMEOUT.as_secs()),
                    }),
                },
                Err(e) => Err(e),
            };
            match result {
                Ok(info) => DockerHealth {
                    up: true,
                    address: self.address.clone(),
                    version: info.server_version,
                    api_version: Some(info.api_version),
                    reason: None,
                    hosts: Vec::new(),
                },
                Err(e) => DockerHealth {
                    up: false,
                    address: self.address.clone(),
                    version: None,
                    api_version: None,
                    reason: Some(match e.unavailable() {
                        Some((_, reason)) => reason.to_owned(),
                        None => e.to_string(),
                    }),
                    hosts: Vec::new(),
                },
            }
        }
        .boxed()
    }

    fn list_images(
        &self,
        filters: ImageFilters,
    ) -> BoxFuture<'_, Result<Vec<ImageSummary>, BackendError>> {
        self.list(filters).boxed()
    }

    fn image_detail(&self, id: Digest) -> BoxFuture<'_, Result<ImageDetail, BackendError>> {
        self.detail(id).boxed()
    }

    fn load_image(
        &self,
        id: Digest,
        progress: ProgressFn,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<Arc<Image>, BackendError>> {
        let engine = self.engine.clone();
        async move {
            let sink = super::progress_sink(progress);
            // The job owns the load and cancels it when nobody waits any more.
            let loaded = engine
                .load_daemon_image(&id, sink, cancel)
                .await
                .map_err(BackendError::from)?;
            Ok(loaded.image)
        }
        .boxed()
    }

    fn sharing_inputs(&self) -> BoxFuture<'_, Result<SharingInputs, BackendError>> {
        async move {
            let docker = self.docker()?;
            crate::source::sharing::daemon_inputs(docker)
                .await
                .map_err(BackendError::from)
        }
        .boxed()
    }

    fn layer_bytes(
        &self,
        image: Arc<Image>,
        layer: u32,
    ) -> BoxFuture<'_, Result<LayerBytes, BackendError>> {
        async move {
            // Docker's unpacked layers when readable, else the image's export on disk.
            if let Some(store) = self.engine.layer_store().await {
                let src = Source::Docker(ImageRef::Id(image.id.clone()));
                match locate_blocking(src, Some(store), image.clone(), layer).await {
                    Ok(bytes) => return Ok(bytes),
                    Err(e) => tracing::info!("layer store: {e}; reading the export instead"),
                }
            }
            let path = self.exports.archive_of(&self.engine, &image.id).await?;
            let archive = Source::DockerArchive {
                path,
                reference: None,
            };
            locate_blocking(archive, None, image, layer).await
        }
        .boxed()
    }
}

/// [`crate::content::locate`] on a blocking thread.
async fn locate_blocking(
    source: Source,
    store: Option<crate::source::storage::LayerStore>,
    image: Arc<Image>,
    layer: u32,
) -> Result<LayerBytes, BackendError> {
    let limits = Limits::default();
    tokio::task::spawn_blocking(move || {
        crate::content::locate(&source, store.as_ref(), &image, layer as usize, &limits)
    })
    .await
    .map_err(|e| BackendError::Failed(format!("internal error: {e}")))?
    .map_err(BackendError::from)
}
