//! `/api/v1/compare` and `GET /api/v1/sharing` over the fake backend: `POST` starts the
//! load jobs and answers 202 with them, later requests return the comparison (computed
//! once), a `GET` never starts anything (409 before a POST), bad ID lists are 400, and the
//! sharing map comes from the backend's metadata with the notes of images left out.

use crate::http_support::fake;

use axum::http::StatusCode;
use fake::{digest, get_json, request, send, wait_job, FakeBackend};
use server::http::{router, AppState};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `POST uri` (no body, as the dashboard sends it); status and JSON.
async fn post_json(app: &axum::Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = send(app, request("POST", uri)).await;
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, json)
}

fn app() -> (axum::Router, Arc<FakeBackend>) {
    let backend = Arc::new(FakeBackend {
        by_id: vec![fake::sample_image(), fake::second_image()],
        ..FakeBackend::up()
    });
    (router(AppState::builder(backend.clone()).build()), backend)
}

#[tokio::test]
async fn compare_waits_for_the_load_jobs_then_answers_the_comparison() {
    let (app, backend) = app();
    let (a, b) = (digest(1).to_string(), digest(2).to_string());
    let uri = format!("/api/v1/compare?ids={a},{b}");
    // A GET never starts work.
    let (status, body) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("POST /api/v1/compare"),
        "{body}"
    );
    assert_eq!(backend.loads.load(Ordering::SeqCst), 0);
    let (status, pending) = post_json(&app, &uri).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let (status, joined) = get_json(&app, &uri).await;
    assert!(
        status.is_success(),
        "a GET joins the started jobs: {joined}"
    );
    let jobs = pending["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["image_id"], a.as_str());
    for j in jobs {
        let info = wait_job(&app, j["id"].as_str().unwrap()).await;
        assert_eq!(info["state"], "done", "{info}");
    }
    let (status, cmp) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::OK, "{cmp}");
    assert_eq!(cmp["images"].as_array().unwrap().len(), 2);
    assert_eq!(cmp["images"][0]["label"], "A");
    assert_eq!(cmp["layers"]["common_prefix"], 1, "{}", cmp["layers"]);
    let pair = &cmp["pairs"][0];
    assert_eq!(pair["shared_prefix"]["layers"], 1);
    let groups = pair["files"]["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g["display"] == "/many" && g["in_b"] == false && g["totals"]["removed"] == 30),
        "{groups:?}"
    );
    let (summary, facts) = (
        pair["summary"].as_array().unwrap(),
        pair["facts"].as_array().unwrap(),
    );
    assert_eq!(summary.len(), facts.len(), "one sentence per fact");
    assert_eq!(facts[0]["kind"], "size", "{facts:?}");
    assert!(
        summary[0].as_str().unwrap().starts_with("B is "),
        "{summary:?}"
    );
    // The same request again joins the finished jobs: no new loads.
    let loads = backend.loads.load(Ordering::SeqCst);
    let (status, again) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, cmp);
    assert_eq!(backend.loads.load(Ordering::SeqCst), loads);
}

#[tokio::test]
async fn bad_id_lists_are_400() {
    let (app, _) = app();
    let a = digest(1).to_string();
    for q in [
        String::new(),
        format!("ids={a}"),
        format!("ids={a},{a}"),
        format!("ids={a},../etc"),
        format!("ids={a},{}&x=1", digest(2)),
    ] {
        for (method, (status, body)) in [
            ("GET", get_json(&app, &format!("/api/v1/compare?{q}")).await),
            (
                "POST",
                post_json(&app, &format!("/api/v1/compare?{q}")).await,
            ),
        ] {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {q}: {body}");
            assert_eq!(body["code"], "bad_request");
        }
    }
}

#[tokio::test]
async fn a_failed_load_fails_the_comparison_with_its_reason() {
    let backend = Arc::new(FakeBackend {
        by_id: vec![fake::sample_image(), fake::second_image()],
        failures_left: std::sync::atomic::AtomicUsize::new(2),
        ..FakeBackend::up()
    });
    let app = router(AppState::builder(backend).build());
    let uri = format!("/api/v1/compare?ids={},{}", digest(1), digest(2));
    let (_, pending) = post_json(&app, &uri).await;
    for j in pending["jobs"].as_array().unwrap() {
        wait_job(&app, j["id"].as_str().unwrap()).await;
    }
    let (status, body) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("corrupt tar"),
        "{body}"
    );
    // Asking again reports the same failure; `retry=true` starts the loads again.
    let (status, _) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (status, pending) = post_json(&app, &format!("{uri}&retry=true")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    for j in pending["jobs"].as_array().unwrap() {
        let info = wait_job(&app, j["id"].as_str().unwrap()).await;
        assert_eq!(info["state"], "done", "{info}");
    }
    let (status, _) = get_json(&app, &uri).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sharing_map_from_the_backend_metadata() {
    let (app, _) = app();
    let (status, report) = get_json(&app, "/api/v1/sharing").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let map = &report["map"];
    assert_eq!(map["images"].as_array().unwrap().len(), 2);
    // Layer 0 of the sample holds etc/a (100), data/old (1000), data/keep (10).
    assert_eq!(map["shared_bytes"][0][1], 1110);
    assert_eq!(map["savings"], 1110);
    assert_eq!(
        map["total_virtual"].as_u64().unwrap() - map["total_stored"].as_u64().unwrap(),
        1110
    );
    assert_eq!(report["skipped"][0], "image x: left out");

    let down = router(AppState::builder(Arc::new(FakeBackend::down())).build());
    let (status, body) = get_json(&down, "/api/v1/sharing").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}
