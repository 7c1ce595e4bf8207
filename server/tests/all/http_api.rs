//! The HTTP API through `router(state)` + `oneshot` with a fake backend: status codes and
//! error bodies, filters, security headers and the Host guard, static files with the SPA
//! fallback, the OpenAPI document, and analysis jobs (single flight, SSE, failure, retry).

use crate::http_support::fake;

use axum::http::StatusCode;
use fake::{get_json, request, send, wait_job, FakeBackend};
use server::http::{router, AppState};
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn app_with(backend: Arc<FakeBackend>) -> axum::Router {
    router(
        AppState::builder(backend)
            .allowed_hosts(&["strata.example".to_owned()])
            .build(),
    )
}

fn app() -> (axum::Router, Arc<FakeBackend>) {
    let backend = Arc::new(FakeBackend::up());
    (app_with(backend.clone()), backend)
}

#[tokio::test]
async fn health_reports_docker_up_and_down() {
    let (app, _) = app();
    let (status, body) = get_json(&app, "/api/v1/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["docker"]["up"], true);
    let down = app_with(Arc::new(FakeBackend::down()));
    let (status, body) = get_json(&down, "/api/v1/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["docker"]["up"], false);
    assert_eq!(body["docker"]["address"], "unix:///nonexistent.sock");
    assert_eq!(body["docker"]["reason"], "No such file or directory");
}

#[tokio::test]
async fn list_passes_docker_filters_and_sums_totals() {
    let (app, backend) = app();
    let (status, body) = get_json(
        &app,
        "/api/v1/images?dangling=false&reference=app%2F*&reference=web:*&label=a%3Db&before=x&since=y",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let f = backend.last_filters.lock().unwrap().clone().unwrap();
    assert_eq!(f.dangling, Some(false));
    assert_eq!(f.reference, vec!["app/*".to_owned(), "web:*".to_owned()]);
    assert_eq!(f.label, vec!["a=b".to_owned()]);
    assert_eq!(f.before.as_deref(), Some("x"));
    assert_eq!(f.since.as_deref(), Some("y"));
    assert_eq!(body["totals"]["count"], 2);
    assert_eq!(body["totals"]["size"], 1500);
    assert_eq!(body["totals"]["unique_size"], 750);
    assert_eq!(body["totals"]["dangling"], 1);
    // Newest first.
    assert_eq!(body["images"][0]["id"], fake::digest(2).to_string());
}

#[tokio::test]
async fn bad_filters_are_400_with_a_json_body() {
    let (app, _) = app();
    for uri in ["/api/v1/images?dangling=maybe", "/api/v1/images?colour=red"] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["code"], "bad_request", "{uri}");
        assert!(body["message"].as_str().unwrap().len() > 10, "{body}");
    }
}

#[tokio::test]
async fn daemon_down_is_503_with_retry_after() {
    let app = app_with(Arc::new(FakeBackend::down()));
    let (status, headers, body) = send(&app, request("GET", "/api/v1/images")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.get("retry-after").is_some());
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "docker_unavailable");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("unix:///nonexistent.sock"));
}

#[tokio::test]
async fn image_ids_are_validated_before_reaching_the_backend() {
    let (app, _) = app();
    for bad in [
        "/api/v1/images/x%2F..%2F..%2Fcontainers%2Fjson",
        "/api/v1/images/a%3Fforce%3Dtrue",
        "/api/v1/images/sha256:ZZ",
        "/api/v1/images/..%2Finfo/analysis",
    ] {
        let (status, body) = get_json(&app, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["code"], "bad_request");
    }
    let missing = format!("/api/v1/images/{}", fake::digest(7));
    let (status, body) = get_json(&app, &missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found");
    // Bare hex works too.
    let hex = fake::digest(1).hex().to_owned();
    let (status, body) = get_json(&app, &format!("/api/v1/images/{hex}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["summary"]["tags"][0], "sample:1");
}

#[tokio::test]
async fn references_resolve_through_the_backends_list() {
    let (app, _) = app();
    let one = fake::digest(1);
    // name:tag, an ID prefix, and `sha256:` + prefix, as the docker CLI accepts them.
    for reference in [
        "sample%3A1".to_owned(),
        one.hex()[..12].to_owned(),
        format!("sha256:{}", &one.hex()[..8]),
    ] {
        let uri = format!("/api/v1/images/{reference}");
        let (status, body) = get_json(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(body["summary"]["id"], one.as_str(), "{uri}");
    }
    // Starting an analysis by reference starts the one job of that image.
    let (status, _, body) = send(&app, request("POST", "/api/v1/images/sample%3A1/analysis")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(job["image_id"], one.as_str());
    // A valid reference nobody has is a 404 that says where to look.
    for missing in ["nope%3A1", "sample%3A2", "deadbeef"] {
        let uri = format!("/api/v1/images/{missing}");
        let (status, body) = get_json(&app, &uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert_eq!(body["code"], "not_found");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("GET /api/v1/images"));
    }
}

#[tokio::test]
async fn unknown_api_paths_are_json_404_not_the_spa() {
    let (app, _) = app();
    for uri in ["/api/v1/nope", "/api/v2/images", "/api"] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(body["code"], "not_found", "{uri}");
    }
}

#[tokio::test]
async fn foreign_host_headers_are_rejected() {
    let (app, _) = app();
    let mut req = request("GET", "/api/v1/health");
    req.headers_mut()
        .insert("host", "evil.example:7878".parse().unwrap());
    let (status, _, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("forbidden_host"), "{body}");
    for ok in ["localhost:7878", "[::1]:7878", "strata.example"] {
        let mut req = request("GET", "/api/v1/health");
        req.headers_mut().insert("host", ok.parse().unwrap());
        let (status, _, _) = send(&app, req).await;
        assert_eq!(status, StatusCode::OK, "{ok}");
    }
}

#[tokio::test]
async fn security_headers_and_no_cors() {
    let (app, _) = app();
    let mut req = request("GET", "/api/v1/health");
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let (_, headers, _) = send(&app, req).await;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn static_files_and_spa_fallback() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html>strata-index</html>").unwrap();
    std::fs::write(dist.path().join("app.js"), "export {}").unwrap();
    let site = router(
        AppState::builder(Arc::new(FakeBackend::up()))
            .dist_dir(Some(dist.path().to_path_buf()))
            .build(),
    );
    let (status, headers, body) = send(&site, request("GET", "/app.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(body, "export {}");
    for route in ["/", "/images/sha256:abc", "/images/x/layers/2?view=stacked"] {
        let (status, headers, body) = send(&site, request("GET", route)).await;
        assert_eq!(status, StatusCode::OK, "{route}");
        assert!(body.contains("strata-index"), "{route}");
        assert!(headers.get("content-security-policy").is_some());
    }
    let (status, _, _) = send(&site, request("GET", "/missing.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without a built UI the page says how to build it; the API still works.
    let (bare, _) = app();
    let (status, _, body) = send(&bare, request("GET", "/")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("trunk build"), "{body}");
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let (app, _) = app();
    let (status, doc) = get_json(&app, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/health",
        "/images",
        "/images/{id}",
        "/images/{id}/analysis",
        "/jobs/{job}",
        "/jobs/{job}/events",
        "/jobs/{job}/cancel",
        "/uploads",
        "/images/{id}/layers/{n}/tree",
        "/images/{id}/layers/{n}/treemap",
        "/images/{id}/layers/{n}/search",
        "/images/{id}/files/largest",
        "/images/{id}/findings",
        "/images/{id}/wasted",
        "/images/{id}/files/versions",
        "/images/{id}/layers/{n}/file",
        "/images/{id}/files/diff",
        "/compare",
        "/sharing",
        "/registries",
        "/registries/{name}/repositories",
        "/registries/{name}/tags",
        "/registries/{name}/tag",
        "/registries/{name}/open",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(p), "openapi lacks {p}");
    }
    // The security edge answers on every route: documented everywhere.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "403", "429"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
            if method != "get" {
                assert!(responses.contains_key("415"), "{method} {path} lacks 415");
            }
        }
    }
}

#[tokio::test]
async fn twenty_concurrent_analysis_requests_cause_one_load() {
    let (app, backend) = app();
    let uri = format!("/api/v1/images/{}/analysis", fake::digest(1));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        let uri = uri.clone();
        tasks.push(tokio::spawn(async move {
            let (status, _, body) = send(&app, request("POST", &uri)).await;
            (status, body)
        }));
    }
    let mut job_ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let info: serde_json::Value = serde_json::from_str(&body).unwrap();
        job_ids.insert(info["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(job_ids.len(), 1, "one job for one image: {job_ids:?}");
    let job = job_ids.into_iter().next().unwrap();
    let info = wait_job(&app, &job).await;
    assert_eq!(info["state"], "done", "{info}");
    assert_eq!(backend.loads.load(Ordering::SeqCst), 1);
    // A later request joins the finished job instead of loading again.
    let (status, _, body) = send(&app, request("POST", &uri)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(body.contains("\"done\""), "{body}");
    assert_eq!(backend.loads.load(Ordering::SeqCst), 1);
    let (status, summary) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary["layers"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn job_events_stream_progress_then_done() {
    let (app, _) = app();
    let uri = format!("/api/v1/images/{}/analysis", fake::digest(1));
    let (_, _, body) = send(&app, request("POST", &uri)).await;
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    let events = format!("/api/v1/jobs/{}/events", info["id"].as_str().unwrap());
    let (status, headers, stream) = send(&app, request("GET", &events)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let progress_at = stream.find("event: progress").expect("a progress event");
    let done_at = stream.find("event: done").expect("a done event");
    assert!(progress_at < done_at, "{stream}");
    assert!(stream.contains("\"layers\":2"), "{stream}");
    let (status, body) = get_json(&app, "/api/v1/jobs/job-999/events").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn analysis_before_start_is_409_and_failures_can_be_retried() {
    let backend = Arc::new(FakeBackend::up());
    backend.failures_left.store(1, Ordering::SeqCst);
    let app = app_with(backend.clone());
    let uri = format!("/api/v1/images/{}/analysis", fake::digest(1));
    let (status, body) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "not_ready");

    let (_, _, body) = send(&app, request("POST", &uri)).await;
    let first: serde_json::Value = serde_json::from_str(&body).unwrap();
    let info = wait_job(&app, first["id"].as_str().unwrap()).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("corrupt tar"));
    let (status, body) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["code"], "source_failed");

    let (_, _, body) = send(&app, request("POST", &uri)).await;
    let second: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_ne!(first["id"], second["id"], "a failed job is replaced");
    let info = wait_job(&app, second["id"].as_str().unwrap()).await;
    assert_eq!(info["state"], "done");
    assert_eq!(backend.loads.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn detail_uses_the_exact_history_once_analysed() {
    let (app, _) = app();
    let id = fake::digest(1);
    let (_, before) = get_json(&app, &format!("/api/v1/images/{id}")).await;
    assert_eq!(before["history"].as_array().unwrap().len(), 1);
    let (_, _, body) = send(
        &app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    wait_job(&app, job["id"].as_str().unwrap()).await;
    let (_, after) = get_json(&app, &format!("/api/v1/images/{id}")).await;
    let steps = after["history"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{after}");
    assert_eq!(steps[1]["empty_layer"], true);
    assert_eq!(steps[2]["layer"], 1);
    assert_eq!(steps[2]["size"], 20 + 5 + (0..30).sum::<u64>());
    assert_eq!(after["history_mismatch"], false);
}

#[tokio::test]
async fn oldest_finished_results_are_evicted_beyond_the_cap() {
    let (app, backend) = app();
    let cap = server::http::MAX_KEPT_RESULTS;
    let ids: Vec<String> = (0..=cap)
        .map(|n| fake::digest(100 + n as u8).to_string())
        .collect();
    for id in &ids {
        let (_, _, body) = send(
            &app,
            request("POST", &format!("/api/v1/images/{id}/analysis")),
        )
        .await;
        let job: serde_json::Value = serde_json::from_str(&body).unwrap();
        let info = wait_job(&app, job["id"].as_str().unwrap()).await;
        assert_eq!(info["state"], "done");
    }
    // Starting the last job evicted the first finished one; the others stay.
    let (status, _) = get_json(&app, &format!("/api/v1/images/{}/analysis", ids[0])).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = get_json(&app, &format!("/api/v1/images/{}/analysis", ids[cap])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(backend.loads.load(Ordering::SeqCst), cap + 1);
}
