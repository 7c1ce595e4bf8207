//! The engine's shared daemon loads against the REAL system dockerd, layers from the
//! export (`use_layer_store: false`), images with large incompressible layers so each
//! export lasts a while:
//! - two waiters share one export; when one gives up the other still gets the image;
//! - when every waiter gives up the load is cancelled, and the next load starts a new
//!   export (it does not join the cancelled one) and succeeds;
//! - with both export slots busy a third load waits in line and hears its place
//!   (`ProgressSink::queued`: `Some(1)`, then `None` once it has a slot).

use crate::docker_support::big_image;

use app::model::Digest;
use server::engine::{Engine, EngineConfig, EngineError, Loaded};
use server::progress::{LoadProgress, ProgressSink};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const DOCKER_HOST: &str = "unix:///var/run/docker.sock";
/// Size of each image's incompressible layer.
const LAYER: u64 = 96 << 20;

/// `n` test images in the system daemon (removed when the first value drops).
fn load_images(n: usize) -> (Vec<big_image::Loaded>, Vec<Digest>) {
    let work = tempfile::tempdir().expect("tempdir");
    let loaded: Vec<big_image::Loaded> = (0..n)
        .map(|i| {
            let tag = format!("strata-test/engine-cancel-{}-{i}:1", std::process::id());
            big_image::load_into_system_daemon(work.path(), &format!("img{i}"), &tag, LAYER, &tag)
        })
        .collect();
    let ids = loaded
        .iter()
        .map(|l| Digest::parse(&l.image.id).expect("image id"))
        .collect();
    (loaded, ids)
}

/// Records bytes read and queue positions heard.
#[derive(Default)]
struct Recorder {
    bytes: AtomicU64,
    queued: Mutex<Vec<Option<usize>>>,
}

impl ProgressSink for Recorder {
    fn report(&self, event: LoadProgress) {
        if let LoadProgress::Bytes { done, .. } = event {
            self.bytes.store(done, Ordering::SeqCst);
        }
    }

    fn queued(&self, position: Option<usize>) {
        self.queued.lock().unwrap().push(position);
    }
}

type Load = tokio::task::JoinHandle<Result<Loaded, EngineError>>;

fn spawn_load(
    engine: &Engine,
    id: &Digest,
    sink: &Arc<Recorder>,
    cancel: &CancellationToken,
) -> Load {
    let (engine, id, sink, cancel) = (engine.clone(), id.clone(), sink.clone(), cancel.clone());
    tokio::spawn(async move { engine.load_daemon_image(&id, sink, cancel).await })
}

async fn until_bytes(sink: &Recorder, bytes: u64) {
    let t = Instant::now();
    while sink.bytes.load(Ordering::SeqCst) < bytes {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the export did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_loads_stop_only_when_every_waiter_left_and_wait_in_line() {
    let (_images, ids) = load_images(3);
    let engine = Engine::new(EngineConfig {
        docker_host: Some(DOCKER_HOST.to_owned()),
        use_layer_store: false,
        ..EngineConfig::default()
    });

    // 1. One of two waiters leaves: the other gets the image from the same export.
    let (a, b) = (CancellationToken::new(), CancellationToken::new());
    let (sa, sb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let la = spawn_load(&engine, &ids[0], &sa, &a);
    let lb = spawn_load(&engine, &ids[0], &sb, &b);
    until_bytes(&sb, 8 << 20).await;
    a.cancel();
    assert!(matches!(la.await.unwrap(), Err(EngineError::Cancelled)));
    let image = lb.await.unwrap().expect("the remaining waiter's load");
    assert_eq!(image.image.id, ids[0]);
    assert_eq!(engine.stats().exports, 1);
    drop(image);

    // 2. Every waiter leaves: the load stops; the next one exports afresh and succeeds.
    let (a, b) = (CancellationToken::new(), CancellationToken::new());
    let (sa, sb) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let la = spawn_load(&engine, &ids[1], &sa, &a);
    let lb = spawn_load(&engine, &ids[1], &sb, &b);
    until_bytes(&sa, 8 << 20).await;
    a.cancel();
    b.cancel();
    assert!(matches!(la.await.unwrap(), Err(EngineError::Cancelled)));
    assert!(matches!(lb.await.unwrap(), Err(EngineError::Cancelled)));
    // The cancelled export no longer reads: its byte count stays put.
    let stopped_at = sa.bytes.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sa.bytes.load(Ordering::SeqCst), stopped_at);
    assert!(
        stopped_at < LAYER,
        "the export finished before the cancel took effect"
    );
    let again = Arc::new(Recorder::default());
    let loaded = spawn_load(&engine, &ids[1], &again, &CancellationToken::new())
        .await
        .unwrap()
        .expect("a new load after the cancelled one");
    assert_eq!(loaded.image.id, ids[1]);
    assert_eq!(engine.stats().exports, 3);
    drop(loaded);

    // 3. Three exports at once, two slots: one load waits in line and hears its place.
    let sinks: Vec<Arc<Recorder>> = (0..3).map(|_| Arc::new(Recorder::default())).collect();
    let never = CancellationToken::new();
    let loads: Vec<Load> = ids
        .iter()
        .zip(&sinks)
        .map(|(id, s)| spawn_load(&engine, id, s, &never))
        .collect();
    for l in loads {
        l.await.unwrap().expect("queued loads complete");
    }
    let heard: Vec<Vec<Option<usize>>> = sinks
        .iter()
        .map(|s| s.queued.lock().unwrap().clone())
        .collect();
    let waited: Vec<&Vec<Option<usize>>> = heard.iter().filter(|h| !h.is_empty()).collect();
    assert_eq!(waited.len(), 1, "exactly one load waits: {heard:?}");
    assert_eq!(*waited[0], vec![Some(1), None], "{heard:?}");
    assert_eq!(engine.stats().exports, 6);
    assert_eq!(engine.export_queue().waiting(), 0);
}
