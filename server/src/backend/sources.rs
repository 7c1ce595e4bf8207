//! Images named on the `strata serve` command line (`docker save` / OCI archives, OCI
//! layouts, daemon references): opened once at start through the engine
//! ([`Engine::load`]) and served beside the daemon's images by [`SourcesBackend`], which
//! wraps the daemon [`Backend`]. They are listed first, carry their SOURCE string in
//! [`ImageSummary::source`], and are browsable like daemon images (the analysis job gets
//! the already loaded image, so nothing is read twice). Archives uploaded through the UI
//! join them at run time ([`SourcesBackend::add_upload`]): listed after the command-line
//! ones, newest first, at most [`MAX_KEPT_UPLOADS`] kept in memory (the oldest upload is
//! dropped first).

use super::{Backend, BackendError, BackendErrorKind, ImageFilters, ProgressFn, SharingInputs};
use crate::content::LayerBytes;
use crate::engine::{Engine, LoadOptions};
use crate::progress::NoProgress;
use crate::source::Source;
use app::api::{DockerHealth, ImageDetail, ImageSummary, LoadStage, RunConfig};
use app::history::exact_history;
use app::limits::Limits;
use app::model::{Digest, Image};
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use parking_lot::RwLock;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// One image opened from a command-line SOURCE.
#[derive(Debug, Clone)]
pub struct OpenedSource {
    /// The SOURCE as the user wrote it, normalised (`docker-archive:/tmp/x.tar`).
    pub source: String,
    pub image: Arc<Image>,
}

/// Why a command-line SOURCE could not be opened.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot open {source_name}: {message}")]
pub struct OpenError {
    pub source_name: String,
    pub message: String,
}

/// Parses and loads every SOURCE, in order (the first failure stops).
pub async fn open_sources(
    engine: &Engine,
    sources: &[String],
) -> Result<Vec<OpenedSource>, OpenError> {
    let mut out: Vec<OpenedSource> = Vec::with_capacity(sources.len());
    for raw in sources {
        let fail = |message: String| OpenError {
            source_name: raw.clone(),
            message,
        };
        let source = Source::parse(raw).map_err(|e| fail(e.to_string()))?;
        tracing::info!("opening {source}");
        let loaded = engine
            .load(
                &source,
                &LoadOptions::default(),
                Arc::new(NoProgress),
                CancellationToken::new(),
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
        if out.iter().any(|o| o.image.id == loaded.image.id) {
            tracing::info!("{source} is the same image as an earlier source; listed once");
            continue;
        }
        out.push(OpenedSource {
            source: source.to_string(),
            image: loaded.image,
        });
    }
    Ok(out)
}

/// Uploaded images kept in memory by default; older uploads are dropped.
pub const MAX_KEPT_UPLOADS: usize = 16;

/// The daemon backend plus the images opened at start and the uploaded ones.
pub struct SourcesBackend {
    inner: Arc<dyn Backend>,
    opened: Vec<OpenedSource>,
    /// Newest first; never longer than `max_uploads`.
    uploads: RwLock<VecDeque<OpenedSource>>,
    max_uploads: usize,
    /// Reads the layers of registry images (opened at start or from the Registries page).
    engine: Option<Engine>,
}

impl SourcesBackend {
    pub fn new(inner: Arc<dyn Backend>, opened: Vec<OpenedSource>) -> Self {
        SourcesBackend {
            inner,
            opened,
            uploads: RwLock::new(VecDeque::new()),
            max_uploads: MAX_KEPT_UPLOADS,
            engine: None,
        }
    }

    /// The engine that reads registry images' layers for the file viewer.
    pub fn with_engine(mut self, engine: Engine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// The same backend keeping at most `max` uploaded images (at least one).
    pub fn with_max_uploads(mut self, max: usize) -> Self {
        self.max_uploads = max.max(1);
        self
    }

    /// Adds an uploaded image and returns what it is listed as. An image already opened
    /// from the command line stays as it is; an earlier upload of the same image is
    /// replaced. The oldest upload is dropped beyond the cap.
    pub fn add_upload(&self, upload: OpenedSource) -> ImageSummary {
        if let Some(o) = self.opened.iter().find(|o| o.image.id == upload.image.id) {
            return source_summary(o);
        }
        let summary = source_summary(&upload);
        let mut uploads = self.uploads.write();
        uploads.retain(|u| u.image.id != upload.image.id);
        uploads.push_front(upload);
        while uploads.len() > self.max_uploads {
            if let Some(dropped) = uploads.pop_back() {
                tracing::info!(
                    "dropping uploaded image {} ({}) from memory: more than {} uploads kept",
                    dropped.image.id,
                    dropped.source,
                    self.max_uploads
                );
            }
        }
        summary
    }

    /// Uploaded images, newest first.
    pub fn uploads(&self) -> Vec<OpenedSource> {
        self.uploads.read().iter().cloned().collect()
    }

    fn find(&self, id: &Digest) -> Option<OpenedSource> {
        if let Some(o) = self.opened.iter().find(|o| &o.image.id == id) {
            return Some(o.clone());
        }
        self.uploads
            .read()
            .iter()
            .find(|o| &o.image.id == id)
            .cloned()
    }

    async fn list(&self, filters: ImageFilters) -> Result<Vec<ImageSummary>, BackendError> {
        let uploads = self.uploads();
        let daemon = match self.inner.list_images(filters.clone()).await {
            Ok(list) => list,
            // The opened images are still worth showing without a daemon; with none,
            // the caller gets the 503 (and Retry-After) that says why the list is empty.
            Err(e)
                if e.kind() == BackendErrorKind::Unavailable
                    && (!self.opened.is_empty() || !uploads.is_empty()) =>
            {
                tracing::debug!("listing only opened sources: {e}");
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let mut out: Vec<ImageSummary> = Vec::new();
        let mut seen: HashSet<Digest> = HashSet::new();
        for o in self.opened.iter().chain(uploads.iter()) {
            if matches_filters(&o.image, &filters) && seen.insert(o.image.id.clone()) {
                out.push(source_summary(o));
            }
        }
        out.extend(daemon.into_iter().filter(|s| !seen.contains(&s.id)));
        Ok(out)
    }
}

/// The list entry of an opened image.
pub fn source_summary(opened: &OpenedSource) -> ImageSummary {
    let image = &opened.image;
    ImageSummary {
        id: image.id.clone(),
        short_id: image.id.short().to_owned(),
        tags: image.tags.clone(),
        repo_digests: image.repo_digests.clone(),
        created: image
            .config
            .created
            .as_deref()
            .and_then(app::fmt::parse_rfc3339)
            .unwrap_or(0),
        size: image.layers.iter().map(|l| l.content_size()).sum(),
        shared_size: None,
        unique_size: None,
        layer_count: u32::try_from(image.layers.len()).unwrap_or(u32::MAX),
        dangling: image.tags.is_empty(),
        labels: image
            .config
            .config
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        source: Some(opened.source.clone()),
        host: None,
    }
}

/// `docker image ls --filter` semantics where they apply to an image outside the daemon:
/// `dangling`, `reference` (a `*` glob against each tag) and `label`; `before`/`since`
/// name daemon images and do not exclude opened ones.
fn matches_filters(image: &Image, f: &ImageFilters) -> bool {
    // Opened and uploaded images live on no Docker host.
    if !f.host.is_empty() {
        return false;
    }
    if f.dangling.is_some_and(|d| d != image.tags.is_empty()) {
        return false;
    }
    if !f.reference.is_empty()
        && !f
            .reference
            .iter()
            .any(|p| image.tags.iter().any(|t| glob(p, t) || glob(p, repo(t))))
    {
        return false;
    }
    let labels = image.config.config.labels.clone().unwrap_or_default();
    f.label.iter().all(|want| match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(want.as_str()),
    })
}

/// `name` of `name:tag`.
fn repo(tag: &str) -> &str {
    match tag.rfind(':') {
        Some(i) if !tag[i..].contains('/') => &tag[..i],
        _ => tag,
    }
}

/// `*` matches any run of characters; everything else is literal. Iterative.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The detail page of an opened image, from its config (history exact, as after a load).
pub fn source_detail(opened: &OpenedSource) -> ImageDetail {
    let image = &opened.image;
    let cfg = &image.config;
    let c = &cfg.config;
    let keys = |m: &Option<std::collections::BTreeMap<String, serde_json::Value>>| -> Vec<String> {
        m.as_ref()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut detail = ImageDetail {
        summary: source_summary(opened),
        architecture: cfg.architecture.clone(),
        os: cfg.os.clone(),
        variant: cfg.variant.clone().filter(|v| !v.is_empty()),
        author: cfg.author.clone().filter(|a| !a.is_empty()),
        created_at: cfg.created.clone(),
        config: RunConfig {
            user: c.user.clone().filter(|u| !u.is_empty()),
            env: c.env.clone().unwrap_or_default(),
            entrypoint: c.entrypoint.clone().unwrap_or_default(),
            cmd: c.cmd.clone().unwrap_or_default(),
            working_dir: c.working_dir.clone().filter(|w| !w.is_empty()),
            exposed_ports: keys(&c.exposed_ports),
            volumes: keys(&c.volumes),
            labels: c.labels.clone().unwrap_or_default().into_iter().collect(),
            stop_signal: c.stop_signal.clone().filter(|s| !s.is_empty()),
            shell: c.shell.clone().filter(|s| !s.is_empty()),
        },
        history: Vec::new(),
        layers: Vec::new(),
        history_mismatch: false,
        hosts: Vec::new(),
    };
    exact_history(image, &mut detail);
    detail
}

impl Backend for SourcesBackend {
    fn health(&self) -> BoxFuture<'_, DockerHealth> {
        self.inner.health()
    }

    fn list_images(
        &self,
        filters: ImageFilters,
    ) -> BoxFuture<'_, Result<Vec<ImageSummary>, BackendError>> {
        self.list(filters).boxed()
    }

    fn image_detail(&self, id: Digest) -> BoxFuture<'_, Result<ImageDetail, BackendError>> {
        match self.find(&id) {
            Some(o) => {
                let detail = source_detail(&o);
                async move { Ok(detail) }.boxed()
            }
            None => self.inner.image_detail(id),
        }
    }

    fn load_image(
        &self,
        id: Digest,
        progress: ProgressFn,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<Arc<Image>, BackendError>> {
        match self.find(&id) {
            Some(o) => {
                let image = o.image;
                async move {
                    let n = u32::try_from(image.layers.len()).unwrap_or(u32::MAX);
                    progress(app::api::Progress {
                        stage: Some(LoadStage::Done),
                        bytes: 0,
                        total_bytes: None,
                        layer: n,
                        layers: n,
                        ..app::api::Progress::default()
                    });
                    Ok(image)
                }
                .boxed()
            }
            None => self.inner.load_image(id, progress, cancel),
        }
    }

    /// The daemon's images only: opened archives are not in its layer store.
    fn sharing_inputs(&self) -> BoxFuture<'_, Result<SharingInputs, BackendError>> {
        self.inner.sharing_inputs()
    }

    fn layer_bytes(
        &self,
        image: Arc<Image>,
        layer: u32,
    ) -> BoxFuture<'_, Result<LayerBytes, BackendError>> {
        let mut opened = self.opened.iter().find(|o| o.image.id == image.id).cloned();
        let added = self.uploads().into_iter().find(|u| u.image.id == image.id);
        let uploaded = added.is_some();
        if let Some(a) = added.filter(|a| a.source.starts_with("registry:")) {
            opened.get_or_insert(a);
        }
        async move {
            let Some(opened) = opened else {
                if uploaded {
                    return Err(BackendError::NoBytes(
                        "uploaded archives are not kept after loading, so their file contents \
                         cannot be read; open the file with `strata serve FILE` instead"
                            .into(),
                    ));
                }
                return self.inner.layer_bytes(image, layer).await;
            };
            let source =
                Source::parse(&opened.source).map_err(|e| BackendError::Failed(e.to_string()))?;
            if let Source::Registry(r) = &source {
                let engine = self.engine.as_ref().ok_or_else(|| {
                    BackendError::NoBytes("registry images need the engine".into())
                })?;
                return Ok(engine
                    .registry_layer_bytes(r, &image, layer as usize)
                    .await?);
            }
            let limits = Limits::default();
            tokio::task::spawn_blocking(move || {
                crate::content::locate(&source, None, &image, layer as usize, &limits)
            })
            .await
            .map_err(|e| BackendError::Failed(format!("internal error: {e}")))?
            .map_err(BackendError::from)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_globs() {
        assert!(glob("app*", "app:1"));
        assert!(glob("*:1", "app:1"));
        assert!(!glob("app", "app:1"));
        assert!(glob("app", repo("app:1")));
        assert_eq!(repo("localhost:5000/app"), "localhost:5000/app");
    }
}
