//! Loading an image from a registry: manifest (through an index by platform), config,
//! then every layer — from the layer cache by diff ID, else indexed from the blob store,
//! else downloaded (a few at a time) while it is indexed: the bytes stream from the HTTP
//! client through a channel into a blocking indexer that also writes them to a
//! `.partial` blob, renamed into the store only after digest, size and diff ID agree.

use super::{host_platform, EngineError, Inner, LoadOptions, LoadReport, Loaded};
use crate::progress::{LoadProgress, LoadStage, ProgressSink};
use crate::registry::blobs::Partial;
use crate::registry::{BlobStore, RegistryClient, RegistryError, RegistryRef};
use app::distribution::{self, BlobRef, ImageManifest, Manifest, Origin};
use app::limits::Limits;
use app::model::{Compression, Digest, LayerIndex};
use bytes::Bytes;
use futures_util::StreamExt;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Chunks buffered between the download and the indexer of one layer.
const CHANNEL_CHUNKS: usize = 32;

/// A resolved image manifest and where it came from.
pub struct Resolved {
    pub origin: Origin,
    pub manifest: ImageManifest,
    /// The platforms of the index the reference named (empty for a single manifest).
    pub platforms: Vec<app::archive::Platform>,
}

/// Resolves `r` to one image manifest (choosing the platform from an index).
pub async fn resolve(
    client: &RegistryClient,
    r: &RegistryRef,
    options: &LoadOptions,
) -> Result<Resolved, RegistryError> {
    let dist = |error| RegistryError::Distribution {
        registry: r.registry.clone(),
        error,
    };
    let top = client.manifest(r, &r.manifest_ref()).await?;
    let origin = Origin {
        name: r.name(),
        tag: r.shown_tag(),
        manifest_digest: top.digest.clone(),
    };
    let mut platforms = Vec::new();
    let manifest =
        match distribution::decode(top.content_type.as_deref(), &top.bytes).map_err(dist)? {
            Manifest::Image(m) => m,
            Manifest::Index(entries) => {
                platforms = entries.iter().filter_map(|e| e.platform.clone()).collect();
                let wanted = options.platform.clone().unwrap_or_else(host_platform);
                let entry = distribution::choose(&entries, &wanted).map_err(dist)?;
                let one = client.manifest(r, entry.digest.as_str()).await?;
                match distribution::decode(one.content_type.as_deref(), &one.bytes).map_err(dist)? {
                    Manifest::Image(m) => m,
                    Manifest::Index(_) => {
                        return Err(dist(distribution::DistributionError::UnknownMediaType(
                            "an index inside an index".into(),
                        )))
                    }
                }
            }
        };
    Ok(Resolved {
        origin,
        manifest,
        platforms,
    })
}

/// Loads `r` completely.
pub(super) async fn load(
    inner: &Arc<Inner>,
    r: &RegistryRef,
    options: &LoadOptions,
    progress: Arc<dyn ProgressSink>,
    cancel: CancellationToken,
) -> Result<Loaded, EngineError> {
    let client = inner.registry()?;
    let store = inner.blob_store()?;
    let Resolved {
        origin, manifest, ..
    } = cancellable(&cancel, resolve(client, r, options)).await?;
    let limits = &inner.config.limits;
    let config_raw = cancellable(
        &cancel,
        config_blob(client, &store, r, &manifest.config, limits.max_json),
    )
    .await?;
    let dist = |error| {
        EngineError::from(RegistryError::Distribution {
            registry: r.registry.clone(),
            error,
        })
    };
    let config = distribution::parse_config(&config_raw).map_err(dist)?;
    let diff_ids = config.rootfs.diff_ids.clone();
    if diff_ids.len() != manifest.layers.len() {
        return Err(dist(distribution::DistributionError::LayerCountMismatch {
            layers: manifest.layers.len(),
            diff_ids: diff_ids.len(),
        }));
    }
    if diff_ids.len() > limits.max_layers {
        return Err(EngineError::from(RegistryError::TooLarge {
            registry: r.registry.clone(),
            what: format!("{} layers", diff_ids.len()),
            limit: limits.max_layers as u64,
        }));
    }

    let count = diff_ids.len();
    let mut layers: Vec<Option<Arc<LayerIndex>>> = vec![None; count];
    let mut report = LoadReport {
        layers: count,
        ..LoadReport::default()
    };
    let mut wanted = Vec::new();
    for (i, (blob, diff_id)) in manifest.layers.iter().zip(&diff_ids).enumerate() {
        match inner.cached_layer(diff_id) {
            Some(hit) => {
                layers[i] = Some(with_blob(hit, blob));
                report.from_cache += 1;
                progress.report(LoadProgress::Layer {
                    index: i,
                    count,
                    diff_id: diff_id.to_string(),
                    from_cache: true,
                });
            }
            None => wanted.push(i),
        }
    }
    if !wanted.is_empty() {
        progress.report(LoadProgress::Stage {
            stage: LoadStage::Downloading,
        });
    }
    let total: u64 = wanted.iter().map(|i| manifest.layers[*i].size).sum();
    let done = Arc::new(AtomicU64::new(0));
    let parallel = client.settings().parallel_blobs.clamp(1, 8);
    let jobs: Vec<(usize, BlobRef, Digest, Job)> = wanted
        .iter()
        .map(|&i| {
            let job = Job {
                index: i,
                inner: inner.clone(),
                client: client.clone(),
                store: store.clone(),
                r: r.clone(),
                progress: progress.clone(),
                done: done.clone(),
                total,
                cancel: cancel.clone(),
            };
            (i, manifest.layers[i].clone(), diff_ids[i].clone(), job)
        })
        .collect();
    let jobs = jobs
        .into_iter()
        .map(|(i, blob, diff_id, job)| async move { (i, job.layer(blob, diff_id).await) });
    let mut results = futures_util::stream::iter(jobs).buffer_unordered(parallel);
    while let Some((i, result)) = results.next().await {
        let (layer, downloaded) = result?;
        if downloaded {
            report.from_registry += 1;
        } else {
            report.from_archive += 1;
        }
        progress.report(LoadProgress::Layer {
            index: i,
            count,
            diff_id: layer.diff_id.to_string(),
            from_cache: false,
        });
        layers[i] = Some(layer);
    }
    let layers: Vec<Arc<LayerIndex>> = layers.into_iter().flatten().collect();
    inner
        .stats
        .parsed_layers
        .fetch_add(wanted.len() as u64, Ordering::Relaxed);
    let image = distribution::assemble(&origin, config_raw, layers).map_err(dist)?;
    progress.report(LoadProgress::Stage {
        stage: LoadStage::Done,
    });
    Ok(Loaded {
        image: Arc::new(image),
        report,
    })
}

/// The config blob, from the store when it is there (verified again: it is small).
pub async fn config_blob(
    client: &RegistryClient,
    store: &BlobStore,
    r: &RegistryRef,
    blob: &BlobRef,
    cap: u64,
) -> Result<Vec<u8>, RegistryError> {
    if let Some(path) = store.get(&blob.digest, blob.size) {
        if let Ok(bytes) = std::fs::read(&path) {
            if Digest::of(&bytes) == blob.digest && bytes.len() as u64 <= cap {
                return Ok(bytes);
            }
        }
    }
    let bytes = client.small_blob(r, blob, cap).await?;
    let mut partial = store.create(&blob.digest)?;
    let written = partial
        .file()
        .map(|f| f.write_all(&bytes))
        .transpose()
        .and_then(|_| partial.commit().map(|_| ()));
    if let Err(e) = written {
        tracing::warn!("blob store: {}: {e}", blob.digest);
    }
    Ok(bytes)
}

async fn cancellable<T>(
    cancel: &CancellationToken,
    f: impl std::future::Future<Output = Result<T, RegistryError>>,
) -> Result<T, EngineError> {
    tokio::select! {
        r = f => r.map_err(EngineError::from),
        _ = cancel.cancelled() => Err(EngineError::Cancelled),
    }
}

/// A cached index carries the blob it was read from; a registry image may ship the
/// same diff ID in another blob, whose digest and size the image's figures need.
fn with_blob(layer: Arc<LayerIndex>, blob: &BlobRef) -> Arc<LayerIndex> {
    let same = layer.blob_digest.as_ref() == Some(&blob.digest)
        || (layer.blob_digest.is_none() && layer.diff_id == blob.digest);
    if same {
        return layer;
    }
    let mut l = (*layer).clone();
    let compression = blob.media_type.compression().unwrap_or(Compression::Gzip);
    if compression == Compression::None {
        l.blob_digest = None;
        l.compressed_size = None;
    } else {
        l.blob_digest = Some(blob.digest.clone());
        l.compressed_size = Some(blob.size);
    }
    l.compression = compression;
    Arc::new(l)
}

/// One layer to obtain.
struct Job {
    /// Its position in the image.
    index: usize,
    inner: Arc<Inner>,
    client: RegistryClient,
    store: BlobStore,
    r: RegistryRef,
    progress: Arc<dyn ProgressSink>,
    done: Arc<AtomicU64>,
    total: u64,
    cancel: CancellationToken,
}

impl Job {
    /// The verified index of one layer, and whether it was downloaded.
    async fn layer(
        self,
        blob: BlobRef,
        diff_id: Digest,
    ) -> Result<(Arc<LayerIndex>, bool), EngineError> {
        let registry = self.r.registry.clone();
        if let Some(path) = self.store.get(&blob.digest, blob.size) {
            let (b, d) = (blob.clone(), diff_id.clone());
            let limits = self.inner.config.limits.clone();
            let indexed = tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
                let r = std::io::BufReader::with_capacity(1 << 20, file);
                let idx = app::layer::index_layer(r, Some(&d), &limits, &mut |_| {})
                    .map_err(|e| e.to_string())?;
                check_blob(&idx, &b)?;
                Ok::<_, String>(idx)
            })
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?;
            // A stored blob that no longer reads is dropped and fetched again.
            match indexed {
                Ok(idx) => return Ok((self.inner.remember(Arc::new(idx), true), false)),
                Err(e) => {
                    tracing::warn!("blob store: {}: {e}; fetching it again", blob.digest);
                    let _ = std::fs::remove_file(self.store.path(&blob.digest));
                }
            }
        }
        let partial = self.store.create(&blob.digest)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(CHANNEL_CHUNKS);
        let (b, d) = (blob.clone(), diff_id.clone());
        let limits = self.inner.config.limits.clone();
        let indexer =
            tokio::task::spawn_blocking(move || index_while_writing(rx, partial, &b, &d, &limits));
        let this_layer = AtomicU64::new(0);
        let on_bytes = |n: u64| {
            let so_far = self.done.fetch_add(n, Ordering::Relaxed) + n;
            self.progress.report(LoadProgress::Bytes {
                done: so_far,
                total: Some(self.total),
            });
            self.progress.report(LoadProgress::LayerBytes {
                index: self.index,
                done: this_layer.fetch_add(n, Ordering::Relaxed) + n,
                total: blob.size,
            });
        };
        let fetched = tokio::select! {
            r = self.client.stream_blob(&self.r, &blob, &tx, &on_bytes) => r.map_err(EngineError::from),
            _ = self.cancel.cancelled() => Err(EngineError::Cancelled),
        };
        drop(tx);
        let indexed = indexer
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        // A download error explains whatever the indexer then saw.
        fetched?;
        let (idx, partial) = indexed.map_err(|message| EngineError::Archive {
            source_name: format!("{registry}/{}: layer {}", self.r.repository, blob.digest),
            error: app::archive::ArchiveError::Invalid {
                what: format!("layer {}", blob.digest.short()),
                message,
            },
        })?;
        partial.commit().map_err(|e| {
            EngineError::from(RegistryError::Store {
                path: self.store.path(&blob.digest),
                message: e.to_string(),
            })
        })?;
        Ok((self.inner.remember(Arc::new(idx), true), true))
    }
}

/// The downloaded bytes must be the blob the manifest names (compressed digest) and
/// hold the layer the config names (diff ID, checked by the indexer).
fn check_blob(idx: &LayerIndex, blob: &BlobRef) -> Result<(), String> {
    let actual = match idx.compression {
        Compression::None => &idx.diff_id,
        _ => idx.blob_digest.as_ref().unwrap_or(&idx.diff_id),
    };
    if *actual != blob.digest {
        return Err(format!(
            "blob digest {actual} does not match the manifest's {}",
            blob.digest
        ));
    }
    Ok(())
}

/// Indexes the layer from the channel, copying every byte into `partial`.
fn index_while_writing(
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    mut partial: Partial,
    blob: &BlobRef,
    diff_id: &Digest,
    limits: &Limits,
) -> Result<(LayerIndex, Partial), String> {
    let reader = ChannelReader {
        rx,
        current: Bytes::new(),
        file: partial.file(),
    };
    // The client hashes the compressed bytes as they arrive and fails the stream (so
    // this read) when they do not match.
    // Inflating (and writing the blob) runs on a thread of its own, beside hashing and
    // parsing the tar.
    let idx = app::layer::index_layer_prehashed_threaded(reader, diff_id, &blob.digest, limits)
        .map_err(|e| e.to_string())?;
    check_blob(&idx, blob)?;
    Ok((idx, partial))
}

/// `Read` over the download's chunks, writing each to the blob file as it passes.
struct ChannelReader<'a> {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
    file: Option<&'a mut std::fs::File>,
}

impl Read for ChannelReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    if let Some(f) = self.file.as_mut() {
                        f.write_all(&chunk)?;
                    }
                    self.current = chunk;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Where the blob of layer `layer` of registry image `image` is on disk, downloading
/// (and verifying) it first when the layer came from the cache without its blob.
pub(super) async fn layer_bytes(
    inner: &Arc<Inner>,
    r: &RegistryRef,
    image: &app::model::Image,
    layer: usize,
) -> Result<crate::content::LayerBytes, EngineError> {
    let index = image.layers.get(layer).ok_or_else(|| {
        EngineError::Internal(format!(
            "the image has {} layers; there is no layer {layer}",
            image.layers.len()
        ))
    })?;
    let digest = index.blob_digest.clone().unwrap_or(index.diff_id.clone());
    let store = inner.blob_store()?;
    if store.get(&digest, 0).is_none() {
        let blob = BlobRef {
            digest: digest.clone(),
            size: index.compressed_size.unwrap_or(index.tar_size),
            media_type: app::archive::MediaType::OciLayer(index.compression),
        };
        let job = Job {
            index: layer,
            inner: inner.clone(),
            client: inner.registry()?.clone(),
            store: store.clone(),
            r: r.clone(),
            progress: Arc::new(crate::progress::NoProgress),
            done: Arc::new(AtomicU64::new(0)),
            total: blob.size,
            cancel: CancellationToken::new(),
        };
        job.layer(blob, index.diff_id.clone()).await?;
    }
    let path = store.path(&digest);
    let len = std::fs::metadata(&path)
        .map_err(|e| EngineError::Io {
            path: path.clone(),
            source: Arc::new(e),
        })?
        .len();
    Ok(crate::content::LayerBytes::Blob {
        path,
        start: 0,
        len,
        compression: index.compression,
        blob_digest: index.blob_digest.clone(),
    })
}
