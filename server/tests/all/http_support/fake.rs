//! Test kit for the HTTP tests: a fake [`Backend`] and helpers that drive the router

//! with `oneshot` (no socket).

use app::api::{
    DockerHealth, HistoryStep, ImageDetail, ImageSummary, LayerInfo, LoadStage, Progress, RunConfig,
};
use app::model::{Digest, Entry, EntryKind, HistoryEntry, Image, ImageConfig, LayerIndex, RootFs};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use http_body_util::BodyExt as _;
use server::backend::{Backend, BackendError, ImageFilters, ProgressFn, SharingInputs};
use server::engine::ExportQueue;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// A backend with canned answers that counts loads.
pub struct FakeBackend {
    pub up: bool,
    pub images: Vec<ImageSummary>,
    pub loads: AtomicUsize,
    pub last_filters: Mutex<Option<ImageFilters>>,
    pub image: Option<Arc<Image>>,
    pub load_delay: Duration,
    /// Loads fail while this is non-zero (decremented per load).
    pub failures_left: AtomicUsize,
    /// Images loaded by ID before falling back to `image`.
    pub by_id: Vec<Arc<Image>>,
    /// Loads never finish on their own: they wait (after taking a slot of `queue`, if
    /// any) until their cancellation token fires.
    pub hold: bool,
    /// Slots loads must take first (like the engine's export queue); the place in line
    /// is reported as `queue_position`.
    pub queue: Option<Arc<ExportQueue>>,
    /// Loads that saw their cancellation token fire.
    pub cancelled_loads: Arc<AtomicUsize>,
}

pub fn digest(n: u8) -> Digest {
    Digest::of(&[n])
}

pub fn summary(n: u8, tag: Option<&str>, size: u64) -> ImageSummary {
    let id = digest(n);
    ImageSummary {
        short_id: id.short().to_owned(),
        id: id.clone(),
        tags: tag.map(|t| vec![t.to_owned()]).unwrap_or_default(),
        repo_digests: vec![],
        created: i64::from(n) * 100,
        size,
        shared_size: Some(size / 2),
        unique_size: Some(size - size / 2),
        layer_count: 2,
        dangling: tag.is_none(),
        labels: Default::default(),
        source: None,
        host: None,
    }
}

pub fn entry(path: &str, kind: EntryKind, size: u64) -> Entry {
    Entry {
        path: path.as_bytes().into(),
        kind,
        size,
        mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
        uid: 0,
        gid: 0,
        mtime: 0,
        link: None,
        crc64: (kind == EntryKind::File).then_some(size),
        flags: vec![],
        offset: 0,
    }
}

pub fn layer(seed: &[u8], entries: Vec<Entry>) -> Arc<LayerIndex> {
    Arc::new(LayerIndex {
        diff_id: Digest::of(seed),
        tar_size: 10_240,
        compression: app::model::Compression::None,
        compressed_size: None,
        blob_digest: None,
        entries,
        warnings: vec![],
    })
}

/// Image 1: layer 0 adds `etc/a` and `data/{old,keep}`; layer 1 deletes `data/old`,
/// rewrites `data/keep` and adds `data/new` and many files under `many/`.
pub fn sample_image() -> Arc<Image> {
    use EntryKind::{Dir, File};
    let l0 = layer(
        b"l0",
        vec![
            entry("etc", Dir, 0),
            entry("etc/a", File, 100),
            entry("data", Dir, 0),
            entry("data/old", File, 1000),
            entry("data/keep", File, 10),
        ],
    );
    let mut l1_entries = vec![
        entry("data", Dir, 0),
        entry("data/.wh.old", File, 0),
        entry("data/keep", File, 20),
        entry("data/new", File, 5),
        entry("many", Dir, 0),
    ];
    for i in 0..30 {
        l1_entries.push(entry(&format!("many/f{i:02}"), File, i));
    }
    let l1 = layer(b"l1", l1_entries);
    let config = ImageConfig {
        architecture: "amd64".into(),
        os: "linux".into(),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: vec![l0.diff_id.clone(), l1.diff_id.clone()],
        },
        history: vec![
            HistoryEntry {
                created_by: Some("COPY . /".into()),
                ..Default::default()
            },
            HistoryEntry {
                created_by: Some("ENV A=1".into()),
                empty_layer: true,
                ..Default::default()
            },
            HistoryEntry {
                created_by: Some("RUN change".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    Arc::new(Image {
        id: digest(1),
        tags: vec!["sample:1".into()],
        repo_digests: vec![],
        config,
        config_raw: vec![],
        layers: vec![l0, l1],
    })
}

impl FakeBackend {
    pub fn up() -> Self {
        FakeBackend {
            up: true,
            images: vec![summary(1, Some("sample:1"), 1000), summary(2, None, 500)],
            loads: AtomicUsize::new(0),
            last_filters: Mutex::new(None),
            image: Some(sample_image()),
            load_delay: Duration::from_millis(50),
            failures_left: AtomicUsize::new(0),
            by_id: vec![],
            hold: false,
            queue: None,
            cancelled_loads: Arc::default(),
        }
    }

    pub fn down() -> Self {
        FakeBackend {
            up: false,
            ..FakeBackend::up()
        }
    }

    fn unavailable() -> BackendError {
        BackendError::Unavailable {
            address: "unix:///nonexistent.sock".into(),
            reason: "No such file or directory".into(),
        }
    }
}

impl Backend for FakeBackend {
    fn health(&self) -> BoxFuture<'_, DockerHealth> {
        let up = self.up;
        async move {
            DockerHealth {
                up,
                address: "unix:///nonexistent.sock".into(),
                version: up.then(|| "20.10".to_owned()),
                api_version: up.then(|| "1.41".to_owned()),
                reason: (!up).then(|| "No such file or directory".to_owned()),
                hosts: Vec::new(),
            }
        }
        .boxed()
    }

    fn list_images(
        &self,
        filters: ImageFilters,
    ) -> BoxFuture<'_, Result<Vec<ImageSummary>, BackendError>> {
        async move {
            if !self.up {
                return Err(Self::unavailable());
            }
            if let Ok(mut f) = self.last_filters.lock() {
                *f = Some(filters);
            }
            Ok(self.images.clone())
        }
        .boxed()
    }

    fn image_detail(&self, id: Digest) -> BoxFuture<'_, Result<ImageDetail, BackendError>> {
        async move {
            if !self.up {
                return Err(Self::unavailable());
            }
            let summary = self
                .images
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .ok_or_else(|| BackendError::NotFound(format!("image {id} not found")))?;
            Ok(ImageDetail {
                summary,
                architecture: "amd64".into(),
                os: "linux".into(),
                variant: None,
                author: None,
                created_at: None,
                config: RunConfig::default(),
                history: vec![HistoryStep {
                    index: 0,
                    created: None,
                    created_by: "guess".into(),
                    comment: None,
                    empty_layer: false,
                    layer: Some(0),
                    diff_id: None,
                    size: 1,
                }],
                layers: vec![LayerInfo {
                    index: 0,
                    diff_id: digest(9),
                    size: 1,
                    history_index: Some(0),
                    created_by: "guess".into(),
                }],
                history_mismatch: true,
                hosts: Vec::new(),
            })
        }
        .boxed()
    }

    fn load_image(
        &self,
        id: Digest,
        progress: ProgressFn,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, Result<Arc<Image>, BackendError>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if self.hold || self.queue.is_some() {
            return held_load(
                id,
                progress,
                cancel,
                self.hold,
                self.queue.clone(),
                self.cancelled_loads.clone(),
                self.image.clone(),
            );
        }
        let fail = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let image = self
            .by_id
            .iter()
            .find(|i| i.id == id)
            .cloned()
            .or_else(|| self.image.clone());
        let delay = self.load_delay;
        async move {
            for layer in 1..=2 {
                tokio::time::sleep(delay).await;
                progress(Progress {
                    stage: Some(LoadStage::ReadingStorage),
                    bytes: u64::from(layer) * 100,
                    total_bytes: Some(200),
                    layer,
                    layers: 2,
                    ..Progress::default()
                });
            }
            if fail {
                return Err(BackendError::Failed(format!("layer of {id}: corrupt tar")));
            }
            image.ok_or_else(|| BackendError::NotFound(format!("image {id} not found")))
        }
        .boxed()
    }

    /// Image 1 is the sample image; image 2 is its first layer only.
    fn sharing_inputs(&self) -> BoxFuture<'_, Result<SharingInputs, BackendError>> {
        async move {
            if !self.up {
                return Err(Self::unavailable());
            }
            let img = sample_image();
            let sizes: Vec<u64> = img.layers.iter().map(|l| l.content_size()).collect();
            let diff_ids = img.config.rootfs.diff_ids.clone();
            Ok((
                vec![
                    app::compare::SharingInput {
                        id: digest(1),
                        tags: vec!["sample:1".into()],
                        diff_ids: diff_ids.clone(),
                        layer_sizes: sizes.clone(),
                    },
                    app::compare::SharingInput {
                        id: digest(2),
                        tags: vec![],
                        diff_ids: diff_ids[..1].to_vec(),
                        layer_sizes: sizes[..1].to_vec(),
                    },
                ],
                vec!["image x: left out".into()],
            ))
        }
        .boxed()
    }
}

/// A load that takes a slot of `queue` (reporting its place in line), then waits for
/// its cancellation when `hold`, else finishes with `image`.
fn held_load(
    id: Digest,
    progress: ProgressFn,
    cancel: CancellationToken,
    hold: bool,
    queue: Option<Arc<ExportQueue>>,
    cancelled: Arc<AtomicUsize>,
    image: Option<Arc<Image>>,
) -> BoxFuture<'static, Result<Arc<Image>, BackendError>> {
    async move {
        let snapshot = |queue_position: Option<u32>| Progress {
            stage: Some(LoadStage::Exporting),
            bytes: 0,
            total_bytes: None,
            layer: 0,
            layers: 2,
            queue_position,
            ..Progress::default()
        };
        let work = async {
            let _slot = match &queue {
                Some(q) => {
                    let tell = |p: Option<usize>| {
                        progress(snapshot(p.map(|n| u32::try_from(n).unwrap_or(u32::MAX))))
                    };
                    Some(q.acquire(&tell).await)
                }
                None => None,
            };
            progress(snapshot(None));
            if hold {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = work => {}
            () = cancel.cancelled() => {
                cancelled.fetch_add(1, Ordering::SeqCst);
                return Err(BackendError::Failed("cancelled".into()));
            }
        }
        image.ok_or_else(|| BackendError::NotFound(format!("image {id} not found")))
    }
    .boxed()
}

/// Image 2: the sample's first layer, then a layer that removes `data` and adds `opt/tool`.
pub fn second_image() -> Arc<Image> {
    use EntryKind::{Dir, File};
    let base = sample_image();
    let l1 = layer(
        b"second-l1",
        vec![
            entry(".wh.data", File, 0),
            entry("opt", Dir, 0),
            entry("opt/tool", File, 4000),
        ],
    );
    let mut config = base.config.clone();
    config.rootfs.diff_ids = vec![base.layers[0].diff_id.clone(), l1.diff_id.clone()];
    config.history[2].created_by = Some("RUN install tool".into());
    Arc::new(Image {
        id: digest(2),
        tags: vec![],
        repo_digests: vec![],
        config,
        config_raw: vec![],
        layers: vec![base.layers[0].clone(), l1],
    })
}

/// A GET (or other) request with a loopback Host header.
pub fn request(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:7878")
        .body(Body::empty())
        .expect("request builds")
}

/// Sends one request; returns status, headers and body text.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.expect("router answers");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("body reads")
        .to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

pub async fn get_json(app: &Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = send(app, request("GET", uri)).await;
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, json)
}

/// Polls the job until it is no longer running.
pub async fn wait_job(app: &Router, job: &str) -> serde_json::Value {
    for _ in 0..200 {
        let (_, info) = get_json(app, &format!("/api/v1/jobs/{job}")).await;
        if info["state"] != "running" {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {job} did not finish");
}

/// A small two-layer app image (COPY, an empty ENV step, a RUN that deletes one file and
/// adds `app/new` holding `marker`), tagged `tag`: what the archive-source tests open.
pub fn app_image(tag: &str, marker: &[u8]) -> app::testkit::ImageBuilder {
    use app::testkit::{ImageBuilder, LayerBuilder};
    ImageBuilder::new()
        .layer(
            "COPY app /app",
            &LayerBuilder::new()
                .dir("app")
                .file("app/run.sh", b"echo hi\n"),
        )
        .empty_step("ENV MODE=prod")
        .layer(
            "RUN rm /app/run.sh",
            &LayerBuilder::new()
                .whiteout("app/run.sh")
                .file("app/new", marker),
        )
        .tag(tag)
}

/// A router over `image` opened from a `docker save` archive (in the returned directory)
/// beside a fake daemon that answers: what the file and findings route tests read.
pub async fn archive_router(image: &app::testkit::ImageBuilder) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("img.tar");
    std::fs::write(&path, image.docker_save()).expect("write the archive");
    let engine = server::engine::Engine::new(server::engine::EngineConfig {
        docker_host: Some("unix:///nonexistent/docker.sock".into()),
        ..server::engine::EngineConfig::default()
    });
    let opened =
        server::backend::open_sources(&engine, &[format!("docker-archive:{}", path.display())])
            .await
            .expect("sources open");
    let backend: Arc<dyn Backend> = Arc::new(server::backend::SourcesBackend::new(
        Arc::new(FakeBackend::up()),
        opened,
    ));
    let app = server::http::router(server::http::AppState::builder(backend).build());
    (app, dir)
}
