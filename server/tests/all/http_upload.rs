//! Archive uploads (`POST /api/v1/uploads`, BAD-INPUTS §3.9–3.10 and L8): a `docker
//! save` archive is streamed to the spool, loaded in-process, listed beside the daemon's
//! images and browsable; oversized, garbage, aborted, stalled, cross-origin, concurrent
//! and disabled uploads are refused with a clear `{code, message}`, and the spool
//! directory is empty after every one of them.

use crate::http_support::fake;

use app::testkit::ImageBuilder;
use axum::body::{Body, Bytes};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use fake::{get_json, request, send, wait_job, FakeBackend};
use futures_util::StreamExt as _;
use server::backend::{Backend, SourcesBackend};
use server::engine::{Engine, EngineConfig};
use server::http::{
    router, AppState, AuthMode, Policy, SecurityConfig, UploadConfig, Uploads, UPLOAD_PATH,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

const VIEWER_TOKEN: &str = "viewer-token-0123456789abcdef";

fn image(marker: &str) -> ImageBuilder {
    fake::app_image(&format!("uploaded:{marker}"), marker.as_bytes())
}

struct Kit {
    app: Router,
    spool: tempfile::TempDir,
    sources: Arc<SourcesBackend>,
}

impl Kit {
    fn spool_entries(&self) -> Vec<PathBuf> {
        entries(self.spool.path())
    }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("spool dir readable")
        .map(|e| e.expect("dir entry").path())
        .collect()
}

fn kit_with(
    max_upload_size: u64,
    tune: impl FnOnce(Uploads) -> Uploads,
    max_kept: usize,
    security: Option<SecurityConfig>,
) -> Kit {
    let spool = tempfile::tempdir().expect("spool dir");
    let engine = Engine::new(EngineConfig {
        docker_host: Some("unix:///nonexistent/docker.sock".into()),
        ..EngineConfig::default()
    });
    let sources = Arc::new(
        SourcesBackend::new(Arc::new(FakeBackend::up()), Vec::new()).with_max_uploads(max_kept),
    );
    let config = UploadConfig {
        max_upload_size,
        upload_dir: Some(spool.path().to_owned()),
        ..UploadConfig::default()
    };
    let uploads = tune(Uploads::new(engine, sources.clone(), &config).expect("uploads open"));
    let backend: Arc<dyn Backend> = sources.clone();
    let mut state = AppState::builder(backend).uploads(Arc::new(uploads));
    if let Some(security) = security {
        state = state.security(Policy::from_config(&security).expect("policy"));
    }
    let state = state.build();
    Kit {
        app: router(state),
        spool,
        sources,
    }
}

fn kit() -> Kit {
    kit_with(64 << 20, |u| u, 16, None)
}

fn upload_request(name: &str, body: Body, length: Option<usize>) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri(format!("{UPLOAD_PATH}?name={name}"))
        .header("host", "127.0.0.1:7878")
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, "application/x-tar");
    if let Some(n) = length {
        b = b.header(header::CONTENT_LENGTH, n.to_string());
    }
    b.body(body).expect("request builds")
}

fn bytes_request(name: &str, bytes: Vec<u8>) -> Request<Body> {
    let n = bytes.len();
    upload_request(name, Body::from(bytes), Some(n))
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A body that sends `first` and then never ends (a stalled or held client).
fn stalled_body(first: Vec<u8>) -> Body {
    let chunks =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) })
            .chain(futures_util::stream::pending());
    Body::from_stream(chunks)
}

async fn wait_for_spool_file(dir: &Path) {
    for _ in 0..200 {
        if !entries(dir).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no spool file appeared in {}", dir.display());
}

#[tokio::test]
async fn an_uploaded_archive_is_listed_analysed_and_browsable() {
    let kit = kit();
    let img = image("one");
    let id = img.image_id().to_string();

    let (status, headers, body) = send(&kit.app, bytes_request("img.tar", img.docker_save())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let summary = json(&body);
    assert_eq!(summary["id"], id.as_str());
    assert_eq!(summary["source"], "upload:img.tar");
    assert_eq!(summary["layer_count"], 2);
    assert_eq!(summary["tags"][0], "uploaded:one");
    assert_eq!(
        headers[header::LOCATION].to_str().unwrap(),
        format!("/api/v1/images/{id}")
    );
    assert!(
        kit.spool_entries().is_empty(),
        "spool file removed after the load"
    );

    let (status, list) = get_json(&kit.app, "/api/v1/images").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let images = list["images"].as_array().unwrap();
    assert_eq!(images[0]["id"], id.as_str(), "uploads listed first: {list}");
    assert_eq!(images[0]["source"], "upload:img.tar");
    assert!(images.len() > 1, "daemon images still listed: {list}");

    let (status, detail) = get_json(&kit.app, &format!("/api/v1/images/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["layers"][1]["created_by"], "RUN rm /app/run.sh");

    let (status, _, body) = send(
        &kit.app,
        request("POST", &format!("/api/v1/images/{id}/analysis")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let info = wait_job(&kit.app, json(&body)["id"].as_str().unwrap()).await;
    assert_eq!(info["state"], "done", "{info}");

    let (status, tree) = get_json(
        &kit.app,
        &format!("/api/v1/images/{id}/layers/1/tree?path=app"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tree}");
    let names: Vec<&str> = tree["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"new") && names.contains(&"run.sh"),
        "{names:?}"
    );

    // The same image again replaces the earlier upload instead of listing it twice.
    let (status, _, body) = send(&kit.app, bytes_request("again.tar", img.docker_save())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, list) = get_json(&kit.app, "/api/v1/images").await;
    let same: Vec<_> = list["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["id"] == id.as_str())
        .collect();
    assert_eq!(same.len(), 1, "{list}");
    assert_eq!(same[0]["source"], "upload:again.tar");
}

#[tokio::test]
async fn oversized_uploads_are_413_whether_declared_or_streamed() {
    let kit = kit_with(1024, |u| u, 16, None);
    let big = image("big").docker_save();
    assert!(big.len() > 1024);

    let (status, _, body) = send(&kit.app, bytes_request("big.tar", big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let err = json(&body);
    assert_eq!(err["code"], "upload_too_large");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("1024 bytes") && message.contains("--max-upload-size"),
        "{message}"
    );

    // No Content-Length: cut off while streaming.
    let chunks: Vec<Result<Bytes, std::io::Error>> = big
        .chunks(300)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let streamed = upload_request(
        "big.tar",
        Body::from_stream(futures_util::stream::iter(chunks)),
        None,
    );
    let (status, _, body) = send(&kit.app, streamed).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(kit.spool_entries().is_empty(), "{:?}", kit.spool_entries());
    assert!(kit.sources.uploads().is_empty());
}

#[tokio::test]
async fn a_garbage_archive_is_a_clear_422_and_nothing_is_kept() {
    let kit = kit();
    let (status, _, body) = send(
        &kit.app,
        bytes_request("junk.tar", b"this is not a tar archive at all".repeat(40)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let err = json(&body);
    assert_eq!(err["code"], "bad_archive");
    let message = err["message"].as_str().unwrap();
    assert!(message.starts_with("junk.tar: "), "{message}");
    assert!(
        !message.contains(kit.spool.path().to_str().unwrap()),
        "spool path leaked: {message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");

    // A truncated archive: valid start, missing end.
    let whole = image("cut").docker_save();
    let (status, _, body) = send(
        &kit.app,
        bytes_request("cut.tar", whole[..whole.len() / 2].to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(json(&body)["message"]
        .as_str()
        .unwrap()
        .starts_with("cut.tar: "));

    let (status, _, body) = send(&kit.app, bytes_request("empty.tar", Vec::new())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(json(&body)["code"], "empty_upload");

    assert!(kit.spool_entries().is_empty(), "{:?}", kit.spool_entries());
    assert!(kit.sources.uploads().is_empty());
}

#[tokio::test]
async fn an_aborted_upload_leaves_no_spool_file() {
    let kit = kit();
    let whole = image("abort").docker_save();
    let half = whole[..whole.len() / 2].to_vec();

    // The body ends with an error (the connection broke).
    let chunks = futures_util::stream::iter(vec![
        Ok(Bytes::from(half.clone())),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset",
        )),
    ]);
    let (status, _, body) = send(
        &kit.app,
        upload_request("abort.tar", Body::from_stream(chunks), Some(whole.len())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(json(&body)["code"], "upload_interrupted");
    assert!(kit.spool_entries().is_empty());

    // The client goes away: the request future is dropped mid-body.
    let app = kit.app.clone();
    let task = tokio::spawn(async move {
        app.oneshot(upload_request(
            "abort.tar",
            stalled_body(half),
            Some(whole.len()),
        ))
        .await
    });
    wait_for_spool_file(kit.spool.path()).await;
    task.abort();
    let _ = task.await;
    assert!(kit.spool_entries().is_empty(), "{:?}", kit.spool_entries());
    assert!(kit.sources.uploads().is_empty());
}

#[tokio::test]
async fn a_silent_client_gets_408() {
    let kit = kit_with(
        64 << 20,
        |u| u.with_idle_timeout(Duration::from_millis(200)),
        16,
        None,
    );
    let (status, headers, body) = send(
        &kit.app,
        upload_request("slow.tar", stalled_body(vec![0u8; 512]), Some(10_000)),
    )
    .await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{body}");
    assert_eq!(json(&body)["code"], "upload_timeout");
    assert_eq!(headers[header::CONNECTION], "close");
    assert!(kit.spool_entries().is_empty());
}

#[tokio::test]
async fn uploads_beyond_the_concurrency_limit_get_429() {
    let kit = kit_with(64 << 20, |u| u.with_concurrency(1), 16, None);
    let app = kit.app.clone();
    let held = tokio::spawn(async move {
        app.oneshot(upload_request(
            "held.tar",
            stalled_body(vec![0u8; 512]),
            Some(10_000),
        ))
        .await
    });
    wait_for_spool_file(kit.spool.path()).await;

    let (status, headers, body) = send(
        &kit.app,
        bytes_request("second.tar", image("second").docker_save()),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(json(&body)["code"], "uploads_busy");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);

    held.abort();
    let _ = held.await;
    // The slot is free again once the held upload is gone.
    let (status, _, body) = send(
        &kit.app,
        bytes_request("second.tar", image("second").docker_save()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(kit.spool_entries().is_empty());
}

#[tokio::test]
async fn cross_origin_and_non_archive_uploads_are_refused() {
    let kit = kit();
    let archive = image("csrf").docker_save();
    for (header_name, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let mut req = bytes_request("x.tar", archive.clone());
        let headers = req.headers_mut();
        headers.remove("sec-fetch-site");
        headers.insert(header_name, value.parse().unwrap());
        let (status, _, body) = send(&kit.app, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{header_name}: {body}");
        assert_eq!(json(&body)["code"], "cross_origin");
    }
    // HTML forms can send text/plain; JSON is not an archive either.
    for mime in [
        "text/plain",
        "application/json",
        "multipart/form-data; boundary=x",
    ] {
        let mut req = bytes_request("x.tar", archive.clone());
        req.headers_mut()
            .insert(header::CONTENT_TYPE, mime.parse().unwrap());
        let (status, _, body) = send(&kit.app, req).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{mime}: {body}");
        assert!(body.contains("application/octet-stream"), "{body}");
    }
    let mut req = bytes_request("x.tar", archive.clone());
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let (status, _, body) = send(&kit.app, req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body.contains("Content-Encoding"), "{body}");
    assert!(kit.sources.uploads().is_empty());
    assert!(kit.spool_entries().is_empty());
}

#[tokio::test]
async fn uploads_need_authentication_but_not_write_access() {
    let tokens = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tokens.path(), format!("viewer {VIEWER_TOKEN} vera\n")).unwrap();
    let security = SecurityConfig {
        auth: AuthMode::Token,
        tokens_file: Some(tokens.path().to_owned()),
        allow_write: false,
        ..SecurityConfig::default()
    };
    let kit = kit_with(64 << 20, |u| u, 16, Some(security));
    let archive = image("auth").docker_save();

    let (status, _, body) = send(&kit.app, bytes_request("a.tar", archive.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let mut req = bytes_request("a.tar", archive);
    req.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {VIEWER_TOKEN}").parse().unwrap(),
    );
    let (status, _, body) = send(&kit.app, req).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "read-only viewer may upload: {body}"
    );
}

#[tokio::test]
async fn uploads_can_be_turned_off() {
    let backend: Arc<dyn Backend> = Arc::new(FakeBackend::up());
    let app = router(AppState::builder(backend).build());
    let (status, _, body) = send(&app, bytes_request("x.tar", image("off").docker_save())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let err = json(&body);
    assert_eq!(err["code"], "uploads_disabled");
    assert!(err["message"].as_str().unwrap().contains("--no-upload"));
}

#[tokio::test]
async fn only_the_newest_uploads_are_kept_in_memory() {
    let kit = kit_with(64 << 20, |u| u, 2, None);
    let mut ids = Vec::new();
    for marker in ["a", "b", "c"] {
        let img = image(marker);
        ids.push(img.image_id().to_string());
        let (status, _, body) = send(
            &kit.app,
            bytes_request(&format!("{marker}.tar"), img.docker_save()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let kept: Vec<String> = kit
        .sources
        .uploads()
        .iter()
        .map(|u| u.image.id.to_string())
        .collect();
    assert_eq!(kept, vec![ids[2].clone(), ids[1].clone()], "newest first");
    let (status, _) = get_json(&kit.app, &format!("/api/v1/images/{}", ids[0])).await;
    assert_ne!(status, StatusCode::OK, "the oldest upload was dropped");
}

#[tokio::test]
async fn the_body_limit_and_json_rule_still_hold_for_other_routes() {
    let kit = kit();
    // Same archive bytes to a JSON route: refused by the JSON rule, not treated as upload.
    let mut req = bytes_request("x.tar", image("other").docker_save());
    *req.uri_mut() = "/api/v1/compare".parse().unwrap();
    let (status, _, body) = send(&kit.app, req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(body.contains("application/json"), "{body}");
}

use crate::http_support::strata_proc;

/// The real server: `--no-upload` refuses, and a client that disconnects mid-body over a
/// real socket leaves the spool directory empty (BAD-INPUTS L8).
#[test]
fn the_strata_binary_honours_no_upload_and_cleans_up_after_a_disconnect() {
    use std::io::Write as _;
    let archive = image("proc").docker_save();

    let off = strata_proc::StrataProc::start(&["--no-upload"]);
    let answer = off.post(UPLOAD_PATH, "application/x-tar", &archive);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("uploads_disabled"), "{answer}");
    drop(off);

    let spool = tempfile::tempdir().unwrap();
    let spool_arg = spool.path().display().to_string();
    let on = strata_proc::StrataProc::start(&["--upload-dir", &spool_arg]);
    let mut s = on.post_head(
        &format!("{UPLOAD_PATH}?name=gone.tar"),
        "application/x-tar",
        archive.len(),
    );
    s.write_all(&archive[..archive.len() / 2]).unwrap();
    s.flush().unwrap();
    let start = std::time::Instant::now();
    while entries(spool.path()).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "no spool file");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(s);
    let start = std::time::Instant::now();
    while !entries(spool.path()).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "spool file left behind: {:?}",
            entries(spool.path())
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let answer = on.post(
        &format!("{UPLOAD_PATH}?name=whole.tar"),
        "application/x-tar",
        &archive,
    );
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(
        answer.contains("\"source\":\"upload:whole.tar\""),
        "{answer}"
    );
    assert!(entries(spool.path()).is_empty());
}
