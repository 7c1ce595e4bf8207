//! Loading one daemon image by ID: the shared in-flight map (a
//! [`crate::single_flight::SingleFlight`] whose context is the waiters' progress
//! fan-out), then the cheapest path that
//! works — cached layers, the daemon's layer store (tar-split), and finally the export.
//!
//! Invariants: the export fallback re-reads every layer the earlier paths did not supply,
//! and the image is only returned when its config hashes to its ID and its diff IDs match
//! the daemon's inspect answer. A load runs while at least one waiter waits for it: when
//! the last one leaves, the load's token is cancelled, which drops the export stream
//! (the pump stops, the daemon connection closes) and stops the blocking parser at its
//! next read; nothing of a cancelled load is cached beyond whole layers already verified.

use super::export::spawn_pump;
use super::{EngineError, Inner, LoadReport, Loaded};
use crate::progress::{ChunkProgress, LoadProgress, LoadStage, ProgressSink};
use crate::source::storage::LayerStore;
use app::model::{chain_ids, Digest, Image, ImageConfig, LayerIndex};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The progress sinks of every waiter of one load: the context of its flight.
#[derive(Default)]
pub(super) struct FanOut {
    sinks: Mutex<Vec<(u64, Arc<dyn ProgressSink>)>>,
}

impl FanOut {
    fn add(&self, key: u64, sink: Arc<dyn ProgressSink>) {
        self.sinks.lock().push((key, sink));
    }

    fn remove(&self, key: u64) {
        self.sinks.lock().retain(|(k, _)| *k != key);
    }
}

impl ProgressSink for FanOut {
    fn report(&self, event: LoadProgress) {
        for (_, s) in self.sinks.lock().iter() {
            s.report(event.clone());
        }
    }

    fn queued(&self, position: Option<usize>) {
        for (_, s) in self.sinks.lock().iter() {
            s.queued(position);
        }
    }
}

/// Serial numbers of waiters (to remove their progress sink when they leave).
static WAITER_SERIAL: AtomicU64 = AtomicU64::new(0);

/// Removes one waiter's progress sink when the waiter leaves (done, cancelled, dropped).
struct SinkGuard {
    sinks: Arc<FanOut>,
    key: u64,
}

impl Drop for SinkGuard {
    fn drop(&mut self) {
        self.sinks.remove(self.key);
    }
}

/// Joins the load of `id` in flight, or starts it in a task the engine's single-flight
/// map owns; the last waiter to leave cancels it (see [`crate::single_flight`]).
pub(super) async fn load_shared(
    inner: &Arc<Inner>,
    id: &Digest,
    progress: Arc<dyn ProgressSink>,
    cancel: CancellationToken,
) -> Result<Loaded, EngineError> {
    let owner = inner.clone();
    let load_id = id.clone();
    let ticket = inner.flights.join(id.clone(), move |token| {
        let sinks = Arc::new(FanOut::default());
        let work = load_uncached(owner, load_id, sinks.clone(), token);
        (sinks, work)
    });
    let key = WAITER_SERIAL.fetch_add(1, Ordering::Relaxed);
    ticket.context().add(key, progress);
    let _sink = SinkGuard {
        sinks: ticket.context().clone(),
        key,
    };
    tokio::select! {
        r = ticket.wait() => r,
        _ = cancel.cancelled() => Err(EngineError::Cancelled),
    }
}

async fn load_uncached(
    inner: Arc<Inner>,
    id: Digest,
    progress: Arc<dyn ProgressSink>,
    cancel: CancellationToken,
) -> Result<Loaded, EngineError> {
    let docker = inner
        .docker
        .as_ref()
        .map_err(|e| EngineError::Docker(e.clone()))?;
    let inspect = docker.inspect(&id).await?;
    let diff_ids: Vec<Digest> = inspect
        .root_fs
        .as_ref()
        .and_then(|r| r.layers.as_ref())
        .map(|l| l.iter().map(|s| Digest::parse(s)).collect::<Result<_, _>>())
        .transpose()
        .map_err(|e| inconsistent(&id, format!("inspect lists a bad layer digest: {e}")))?
        .unwrap_or_default();
    let count = diff_ids.len();
    let mut report = LoadReport {
        layers: count,
        ..LoadReport::default()
    };
    let mut layers: Vec<Option<Arc<LayerIndex>>> =
        diff_ids.iter().map(|d| inner.cached_layer(d)).collect();
    for (i, l) in layers.iter().enumerate() {
        if let Some(l) = l {
            report.from_cache += 1;
            progress.report(LoadProgress::Layer {
                index: i,
                count,
                diff_id: l.diff_id.to_string(),
                from_cache: true,
            });
        }
    }
    inner
        .stats
        .cached_layers
        .fetch_add(report.from_cache as u64, Ordering::Relaxed);
    let mut config_raw = inner.cache.as_ref().and_then(|c| c.get_config(&id));

    let need_store = config_raw.is_none() || layers.iter().any(Option::is_none);
    if need_store && inner.config.use_layer_store {
        if let Some(store) = layer_store(&inner).await {
            progress.report(LoadProgress::Stage {
                stage: LoadStage::ReadingStorage,
            });
            let (cfg, got) =
                read_from_store(&inner, store, &id, &diff_ids, &layers, &progress, &cancel).await;
            if config_raw.is_none() {
                config_raw = cfg;
            }
            for (i, l) in got {
                report.from_layer_store += 1;
                layers[i] = Some(inner.remember(l, true));
            }
            inner
                .stats
                .layer_store_layers
                .fetch_add(report.from_layer_store as u64, Ordering::Relaxed);
        }
    }

    if cancel.is_cancelled() {
        return Err(EngineError::Cancelled);
    }
    if config_raw.is_none() || layers.iter().any(Option::is_none) {
        let image = export(&inner, &id, inspect.size, &progress, &cancel).await?;
        report.exported = true;
        if image.layers.len() != count {
            return Err(inconsistent(
                &id,
                format!("export has {} layers, inspect {count}", image.layers.len()),
            ));
        }
        for (i, (slot, l)) in layers.iter_mut().zip(image.layers).enumerate() {
            if slot.is_none() {
                report.from_export += 1;
                *slot = Some(inner.remember(l, true));
                if let Some(l) = slot {
                    progress.report(LoadProgress::Layer {
                        index: i,
                        count,
                        diff_id: l.diff_id.to_string(),
                        from_cache: false,
                    });
                }
            }
        }
        inner
            .stats
            .parsed_layers
            .fetch_add(report.from_export as u64, Ordering::Relaxed);
        config_raw = Some(image.config_raw);
    }

    // Every config source verified its bytes: the cache and the layer store against the
    // image ID, the export against the manifest that the ID selected. With the
    // containerd image store the daemon's ID is the manifest's digest, not the config's,
    // so the config digest may legitimately differ from `id`.
    let config_raw = config_raw.ok_or_else(|| inconsistent(&id, "no config found".into()))?;
    let config: ImageConfig = serde_json::from_slice(&config_raw)
        .map_err(|e| inconsistent(&id, format!("config is not valid json: {e}")))?;
    if config.rootfs.diff_ids != diff_ids {
        return Err(inconsistent(
            &id,
            "config diff ids differ from inspect".into(),
        ));
    }
    if let Some(c) = inner
        .cache
        .as_ref()
        .filter(|_| Digest::of(&config_raw) == id)
    {
        if let Err(e) = c.put_config(&id, &config_raw) {
            tracing::warn!("config cache: {e}");
        }
    }
    let layers: Vec<Arc<LayerIndex>> = layers.into_iter().flatten().collect();
    if layers.len() != count {
        return Err(inconsistent(&id, "a layer could not be read".into()));
    }
    progress.report(LoadProgress::Stage {
        stage: LoadStage::Done,
    });
    Ok(Loaded {
        image: Arc::new(Image {
            id,
            tags: inspect.repo_tags.unwrap_or_default(),
            repo_digests: inspect.repo_digests.unwrap_or_default(),
            config,
            config_raw,
            layers,
        }),
        report,
    })
}

fn inconsistent(id: &Digest, message: String) -> EngineError {
    EngineError::Inconsistent {
        id: id.to_string(),
        message,
    }
}

/// The daemon's layer store, if it is a graphdriver store this process can read.
pub(super) async fn layer_store(inner: &Inner) -> Option<LayerStore> {
    let docker = inner.docker.as_ref().ok()?;
    let info = docker.info().await.ok()?;
    LayerStore::open(info.root_dir.as_deref()?, info.driver.as_deref()?)
}

/// Reads the config and the missing layers from the store; failures are logged and
/// leave the slot empty for the export to fill.
async fn read_from_store(
    inner: &Arc<Inner>,
    store: LayerStore,
    id: &Digest,
    diff_ids: &[Digest],
    have: &[Option<Arc<LayerIndex>>],
    progress: &Arc<dyn ProgressSink>,
    cancel: &CancellationToken,
) -> (Option<Vec<u8>>, Vec<(usize, Arc<LayerIndex>)>) {
    let cancel = cancel.clone();
    let inner = inner.clone();
    let id = id.clone();
    let diff_ids = diff_ids.to_vec();
    let missing: Vec<usize> = have
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_none())
        .map(|(i, _)| i)
        .collect();
    let progress = progress.clone();
    let task = tokio::task::spawn_blocking(move || {
        let limits = &inner.config.limits;
        let config = match store.read_config(&id, limits) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::info!("layer store: {e}; falling back to export");
                None
            }
        };
        let chains = chain_ids(&diff_ids);
        let mut got = Vec::new();
        for i in missing {
            if cancel.is_cancelled() {
                break;
            }
            match store.index_layer(&chains[i], &diff_ids[i], limits) {
                Ok(l) => {
                    progress.report(LoadProgress::Layer {
                        index: i,
                        count: diff_ids.len(),
                        diff_id: l.diff_id.to_string(),
                        from_cache: false,
                    });
                    got.push((i, Arc::new(l)));
                }
                Err(e) => {
                    tracing::info!("layer store: {e}; falling back to export");
                    // One failure means an export anyway; it supplies the rest too.
                    break;
                }
            }
        }
        (config, got)
    });
    task.await.unwrap_or_else(|e| {
        tracing::warn!("layer store task failed: {e}");
        (None, Vec::new())
    })
}

/// Streams `GET /images/{id}/get` through the archive reader and returns the image.
async fn export(
    inner: &Arc<Inner>,
    id: &Digest,
    size_hint: Option<i64>,
    progress: &Arc<dyn ProgressSink>,
    cancel: &CancellationToken,
) -> Result<Image, EngineError> {
    let docker = inner
        .docker
        .as_ref()
        .map_err(|e| EngineError::Docker(e.clone()))?;
    let tell = |position: Option<usize>| progress.queued(position);
    let _permit = tokio::select! {
        p = inner.exports.acquire(&tell) => p.map_err(|e| EngineError::Internal(e.to_string()))?,
        _ = cancel.cancelled() => return Err(EngineError::Cancelled),
    };
    inner.stats.exports.fetch_add(1, Ordering::Relaxed);
    progress.report(LoadProgress::Stage {
        stage: LoadStage::Exporting,
    });
    let stream = tokio::select! {
        s = docker.export(id) => s?,
        _ = cancel.cancelled() => return Err(EngineError::Cancelled),
    };
    // The pump stops (and drops the daemon's stream) when the load is cancelled or when
    // this function returns, whichever comes first.
    let pump_stop = cancel.child_token();
    let (reader, failure) = spawn_pump(stream, pump_stop.clone());
    let guard = pump_stop.drop_guard();
    let inner2 = inner.clone();
    let progress = progress.clone();
    let id2 = id.clone();
    let total = size_hint.and_then(|s| u64::try_from(s).ok());
    let stop = cancel.clone();
    let task = tokio::task::spawn_blocking(move || {
        let mut counter = ChunkProgress::new(&*progress, &stop);
        counter.set_total(total);
        let archive =
            app::archive::read_archive(counter.wrap(reader), &inner2.config.limits, &mut |_| {})
                .map_err(|error| EngineError::Archive {
                    source_name: format!("export of {id2}"),
                    error,
                })?;
        archive
            .select(Some(id2.as_str()), None)
            .map_err(|error| EngineError::Archive {
                source_name: format!("export of {id2}"),
                error,
            })
    });
    let result = task
        .await
        .map_err(|e| EngineError::Internal(format!("export reader: {e}")))?;
    drop(guard);
    if cancel.is_cancelled() {
        return Err(EngineError::Cancelled);
    }
    // A broken stream explains a parse failure better than the parser can.
    let stream_error = failure.lock().take();
    let image = match (result, stream_error) {
        (Ok(image), _) => image,
        (Err(_), Some(e)) => return Err(EngineError::Docker(e)),
        (Err(e), None) => return Err(e),
    };
    // `select` matched `id` as the image ID or, for the containerd image store, as the
    // manifest digest; the diff IDs are checked against inspect by the caller.
    Ok(image)
}

/// The number of bottom layers that form the image's base: the longest strict prefix of
/// its diff IDs that another tagged local image consists of exactly (`FROM base` built
/// here or pulled); `None` when no such image is found or the daemon cannot say.
pub(super) async fn base_layers(inner: &Inner, image: &Image) -> Option<u32> {
    let docker = inner.docker.as_ref().ok()?;
    let n = image.config.rootfs.diff_ids.len();
    if n < 2 {
        return None;
    }
    let list = docker.list_images(&Default::default()).await.ok()?;
    let mut best = 0usize;
    for summary in list {
        if summary.repo_tags.is_empty() || summary.id == image.id.as_str() {
            continue;
        }
        let Ok(id) = Digest::parse(&summary.id) else {
            continue;
        };
        let Ok(inspect) = docker.inspect(&id).await else {
            continue;
        };
        let layers = inspect.root_fs.and_then(|r| r.layers).unwrap_or_default();
        let k = layers.len();
        if k > best
            && k < n
            && layers
                .iter()
                .zip(&image.config.rootfs.diff_ids)
                .all(|(a, b)| a == b.as_str())
        {
            best = k;
        }
    }
    (best > 0).then(|| u32::try_from(best).ok()).flatten()
}

/// Exports `id` only to read the layer member names its `manifest.json` lists (what dive
/// shows as layer IDs); the layers themselves are not indexed.
pub(super) async fn export_to_file(
    inner: &Arc<Inner>,
    id: &Digest,
    dest: &std::path::Path,
) -> Result<(), EngineError> {
    let docker = inner
        .docker
        .as_ref()
        .map_err(|e| EngineError::Docker(e.clone()))?;
    let _permit = inner
        .exports
        .acquire(&|_| {})
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    inner.stats.exports.fetch_add(1, Ordering::Relaxed);
    let stream = docker.export(id).await?;
    let cancel = CancellationToken::new();
    let (mut reader, failure) = spawn_pump(stream, cancel.clone());
    let _guard = cancel.drop_guard();
    let path = dest.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::create(&path)?;
        std::io::copy(&mut reader, &mut file)?;
        file.sync_all()
    })
    .await
    .map_err(|e| EngineError::Internal(format!("export writer: {e}")))?
    .map_err(|e| EngineError::Io {
        path: dest.to_owned(),
        source: Arc::new(e),
    })?;
    if let Some(e) = failure.lock().take() {
        return Err(EngineError::Docker(e));
    }
    Ok(())
}

pub(super) async fn export_layer_members(
    inner: &Arc<Inner>,
    id: &Digest,
) -> Result<Option<Vec<String>>, EngineError> {
    let docker = inner
        .docker
        .as_ref()
        .map_err(|e| EngineError::Docker(e.clone()))?;
    let _permit = inner
        .exports
        .acquire(&|_| {})
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
    inner.stats.exports.fetch_add(1, Ordering::Relaxed);
    let stream = docker.export(id).await?;
    let cancel = CancellationToken::new();
    let (reader, failure) = spawn_pump(stream, cancel.clone());
    let _guard = cancel.drop_guard();
    let max_json = inner.config.limits.max_json;
    let id2 = id.clone();
    let members = tokio::task::spawn_blocking(move || {
        crate::source::archive_file::layer_members_in_stream(reader, &id2, max_json)
    })
    .await
    .map_err(|e| EngineError::Internal(format!("export reader: {e}")))?;
    if let Some(e) = failure.lock().take() {
        return Err(EngineError::Docker(e));
    }
    Ok(members)
}
