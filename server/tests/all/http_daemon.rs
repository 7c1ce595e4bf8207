//! The HTTP API over the real Docker daemon ([`DaemonBackend`]): list with a reference
//! filter, detail with history aligned to layers (empty steps included), an analysis job
//! that completes, and a missing daemon reported as 503 with the address tried.

use crate::http_support::fake;

use crate::system_docker::TestImage;
use axum::http::StatusCode;
use fake::{get_json, request, send, wait_job};
use server::backend::DaemonBackend;
use server::http::{router, AppState};
use std::sync::Arc;

/// A FROM-scratch image built for one test; removed on drop.
fn build_image(name: &str) -> TestImage {
    let ctx = tempfile::tempdir().unwrap();
    crate::system_docker::copy_busybox(&ctx.path().join("busybox")).unwrap();
    std::fs::create_dir(ctx.path().join("data")).unwrap();
    std::fs::write(ctx.path().join("data/hello.txt"), b"hello\n").unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nENV HTTP_TEST=1\nCOPY data/ /data/\n",
    )
    .unwrap();
    let tag = crate::system_docker::unique_tag_with(&format!("http-{name}"), "latest");
    let out = crate::system_docker::build(&tag, &[], ctx.path()).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    TestImage { tag, id }
}

fn daemon_app(host: Option<&str>) -> axum::Router {
    let backend = DaemonBackend::new(host.map(str::to_owned), None);
    router(AppState::builder(Arc::new(backend)).build())
}

#[tokio::test]
async fn real_daemon_list_detail_and_analysis() {
    let image = build_image("flow");
    let id = image.id.clone();
    let app = daemon_app(None);
    let (status, health) = get_json(&app, "/api/v1/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["docker"]["up"], true, "{health}");

    let repo = image.tag.trim_end_matches(":latest");
    let (status, list) = get_json(&app, &format!("/api/v1/images?reference={repo}")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let images = list["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{list}");
    assert_eq!(images[0]["id"], id);
    assert_eq!(images[0]["layer_count"], 2);
    assert_eq!(images[0]["dangling"], false);
    assert!(images[0]["size"].as_u64().unwrap() > 1_000_000);

    let (status, detail) = get_json(&app, &format!("/api/v1/images/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let steps = detail["history"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{detail}");
    assert_eq!(steps[1]["empty_layer"], true);
    assert_eq!(steps[2]["layer"], 1);
    assert_eq!(detail["history_mismatch"], false);
    assert!(detail["config"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "HTTP_TEST=1"));

    let (status, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    let info = wait_job(&app, job["id"].as_str().unwrap()).await;
    assert_eq!(info["state"], "done", "{info}");
    let (status, summary) = get_json(&app, &format!("/api/v1/images/{id}/analysis")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary["layers"].as_array().unwrap().len(), 2);
    assert_eq!(summary["layers"][1]["size"], 6, "data/hello.txt is 6 bytes");
}

#[tokio::test]
async fn missing_daemon_is_503_naming_the_address() {
    let app = daemon_app(Some("unix:///nonexistent.sock"));
    let (status, health) = get_json(&app, "/api/v1/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["docker"]["up"], false);
    assert_eq!(health["docker"]["address"], "unix:///nonexistent.sock");
    let (status, headers, body) = send(&app, request("GET", "/api/v1/images")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.get("retry-after").is_some());
    assert!(body.contains("unix:///nonexistent.sock"), "{body}");
}
