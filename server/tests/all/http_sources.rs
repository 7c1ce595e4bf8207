//! Images named on the `strata serve` command line: a `docker save` archive opened
//! through the engine is listed first with its source (also when the daemon is down),
//! has a detail page from its config, and is analysed and browsed like a daemon image
//! without being read again.

use crate::http_support::fake;

use app::testkit::ImageBuilder;
use axum::http::StatusCode;
use fake::{get_json, request, send, wait_job, FakeBackend};
use server::backend::{open_sources, Backend, SourcesBackend};
use server::engine::{Engine, EngineConfig};
use server::http::{router, AppState};
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn archive(dir: &std::path::Path) -> (String, ImageBuilder) {
    let img = fake::app_image("archived:1", b"x").env("MODE=prod");
    let path = dir.join("img.tar");
    std::fs::write(&path, img.docker_save()).unwrap();
    (format!("docker-archive:{}", path.display()), img)
}

async fn app_over(fake: FakeBackend, sources: &[String]) -> (axum::Router, Arc<FakeBackend>) {
    let engine = Engine::new(EngineConfig {
        docker_host: Some("unix:///nonexistent/docker.sock".into()),
        ..EngineConfig::default()
    });
    let opened = open_sources(&engine, sources).await.expect("sources open");
    let fake = Arc::new(fake);
    let backend: Arc<dyn Backend> = Arc::new(SourcesBackend::new(fake.clone(), opened));
    (router(AppState::builder(backend).build()), fake)
}

#[tokio::test]
async fn an_archive_is_listed_first_with_its_source_and_browsable() {
    let dir = tempfile::tempdir().unwrap();
    let (source, img) = archive(dir.path());
    let id = img.image_id().to_string();
    let (app, fake) = app_over(FakeBackend::up(), std::slice::from_ref(&source)).await;

    let (status, list) = get_json(&app, "/api/v1/images").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let images = list["images"].as_array().unwrap();
    assert_eq!(images.len(), 3, "{list}");
    assert_eq!(images[0]["id"], id.as_str());
    assert_eq!(images[0]["source"], source.as_str());
    assert_eq!(images[0]["tags"][0], "archived:1");
    assert_eq!(images[0]["layer_count"], 2);
    assert_eq!(images[0]["size"], 9, "8 + 1 content bytes");
    assert!(images[1].get("source").is_none(), "daemon images have none");

    // Filters apply to opened images too.
    let (_, only) = get_json(&app, "/api/v1/images?reference=nomatch*").await;
    assert!(only["images"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["id"] != id.as_str()));

    let (status, detail) = get_json(&app, &format!("/api/v1/images/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["config"]["env"][0], "MODE=prod");
    assert_eq!(detail["history"].as_array().unwrap().len(), 3);
    assert_eq!(detail["history"][1]["empty_layer"], true);
    assert_eq!(detail["layers"][1]["created_by"], "RUN rm /app/run.sh");
    assert_eq!(detail["history_mismatch"], false);

    let (status, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    let info = wait_job(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(info["state"], "done", "{info}");
    assert_eq!(fake.loads.load(Ordering::SeqCst), 0, "not loaded again");

    let (status, tree) =
        get_json(&app, &format!("/api/v1/images/{id}/layers/1/tree?path=app")).await;
    assert_eq!(status, StatusCode::OK, "{tree}");
    let marks: Vec<(String, String)> = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_owned(),
                n["mark"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(marks.contains(&("new".into(), "added".into())), "{marks:?}");
    assert!(
        marks.contains(&("run.sh".into(), "removed".into())),
        "{marks:?}"
    );
}

#[tokio::test]
async fn opened_images_are_listed_when_the_daemon_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (source, img) = archive(dir.path());
    let (app, _) = app_over(FakeBackend::down(), &[source]).await;
    let (status, list) = get_json(&app, "/api/v1/images").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let images = list["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["id"], img.image_id().to_string().as_str());
    let (_, health) = get_json(&app, "/api/v1/health").await;
    assert_eq!(health["docker"]["up"], false);
}

#[tokio::test]
async fn a_missing_or_corrupt_source_is_a_clear_error() {
    let engine = Engine::new(EngineConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("docker-archive:{}/nope.tar", dir.path().display());
    let err = open_sources(&engine, std::slice::from_ref(&missing))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot open {missing}: ")),
        "{err}"
    );
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar at all").unwrap();
    let err = open_sources(&engine, &[junk.display().to_string()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("junk.tar"), "{err}");
}
