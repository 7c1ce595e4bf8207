//! The engine against the real dockerd: the layer-store fast path and the export give
//! identical layer indexes, the disk cache makes a second load export-free, a shared
//! base is parsed once, concurrent loads share one export, and daemon errors map to the
//! right variants.

use crate::docker_support::image as support;

use server::engine::{Engine, EngineConfig, EngineError, LoadOptions};
use server::progress::{NoProgress, ProgressSink};
use server::source::docker::DockerError;
use server::source::Source;
use std::sync::Arc;
use support::TestImage;
use tokio_util::sync::CancellationToken;

fn engine(cache: Option<&std::path::Path>, layer_store: bool) -> Engine {
    Engine::new(EngineConfig {
        cache_dir: cache.map(|p| p.to_owned()),
        use_layer_store: layer_store,
        ..EngineConfig::default()
    })
}

fn quiet() -> Arc<dyn ProgressSink> {
    Arc::new(NoProgress)
}

async fn load(e: &Engine, source: &str) -> Result<server::engine::Loaded, EngineError> {
    let s = Source::parse(source)?;
    e.load(
        &s,
        &LoadOptions::default(),
        quiet(),
        CancellationToken::new(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_store_and_export_give_identical_indexes() {
    let img = TestImage::busybox_with_waste("paths");
    let fast = load(&engine(None, true), &img.tag)
        .await
        .expect("fast path");
    let slow = load(&engine(None, false), &img.tag)
        .await
        .expect("export path");
    assert_eq!(fast.report.from_layer_store, 3, "{:?}", fast.report);
    assert!(!fast.report.exported);
    assert_eq!(slow.report.from_export, 3, "{:?}", slow.report);
    assert!(slow.report.exported);
    assert_eq!(fast.image.id.as_str(), img.id);
    assert_eq!(fast.image.config_raw, slow.image.config_raw);
    assert_eq!(fast.image.layers.len(), slow.image.layers.len());
    for (a, b) in fast.image.layers.iter().zip(&slow.image.layers) {
        assert_eq!(
            **a, **b,
            "layer {} differs between tar-split and export",
            a.diff_id
        );
    }
    let diff_ids: Vec<String> = fast
        .image
        .layers
        .iter()
        .map(|l| l.diff_id.to_string())
        .collect();
    assert_eq!(diff_ids, img.diff_ids());
    assert_eq!(fast.image.tags, vec![img.tag.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_image_needs_no_export_and_a_shared_base_is_parsed_once() {
    let base = TestImage::busybox_with_waste("base");
    let child = TestImage::build(
        "child",
        &format!(
            "FROM {}\nRUN [\"/bin/busybox\",\"touch\",\"/new\"]\n",
            base.tag
        ),
    );
    let cache = tempfile::tempdir().expect("tempdir");

    let first = engine(Some(cache.path()), false);
    let r = load(&first, &base.tag).await.expect("first load");
    assert!(r.report.exported);
    assert_eq!(first.stats().exports, 1);

    // A new engine (a new process, in effect) over the same cache directory.
    let second = engine(Some(cache.path()), true);
    let again = load(&second, &base.tag).await.expect("cached load");
    assert_eq!(again.report.from_cache, 3, "{:?}", again.report);
    assert!(!again.report.exported);
    assert_eq!(second.stats().exports, 0);
    assert_eq!(second.stats().layer_store_layers, 0);
    assert_eq!(again.image.layers, r.image.layers);

    let third = engine(Some(cache.path()), false);
    let c = load(&third, &child.tag).await.expect("child load");
    assert_eq!(c.report.layers, 4);
    assert_eq!(c.report.from_cache, 3, "{:?}", c.report);
    assert_eq!(c.report.from_export, 1, "{:?}", c.report);
    assert_eq!(third.stats().parsed_layers, 1);

    // The base is recognised from the other tagged local image.
    assert_eq!(third.base_layers(&c.image).await, Some(3));
    assert_eq!(third.base_layers(&r.image).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_loads_share_one_export() {
    let img = TestImage::busybox_with_waste("flight");
    let e = engine(None, false);
    let id = app::model::Digest::parse(&img.id).expect("id");
    let (a, b) = tokio::join!(
        e.load_daemon_image(&id, quiet(), CancellationToken::new()),
        e.load_daemon_image(&id, quiet(), CancellationToken::new())
    );
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert!(Arc::ptr_eq(&a.image, &b.image));
    assert_eq!(e.stats().exports, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_errors_are_typed() {
    let e = engine(None, true);
    let err = load(&e, "strata-test/does-not-exist:nope").await.err();
    assert!(
        matches!(err, Some(EngineError::Docker(DockerError::NotFound(_)))),
        "{err:?}"
    );
    let gone = Engine::new(EngineConfig {
        docker_host: Some("unix:///nonexistent.sock".into()),
        ..EngineConfig::default()
    });
    let err = load(&gone, "busybox").await.err();
    assert!(
        err.as_ref().is_some_and(EngineError::is_daemon_unavailable),
        "{err:?}"
    );
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        msg,
        "cannot reach the Docker daemon at unix:///nonexistent.sock (No such file or directory)"
    );
}
