//! Registry faults a real registry will not produce, from a small fake (axum on a
//! loopback port) serving one image: blob bytes that do not match their digest, a
//! manifest over the size limit, a stall mid-blob (resumed with `Range`, or failing
//! after the last attempt), 401 loops, a Bearer token service fed an identity token,
//! 429 with `Retry-After`, a blob redirect to another host (no `Authorization` follows)
//! and a tag list paged by `Link` headers. Rows R1–R9 of BAD-INPUTS §R.

use app::testkit::{gzip, ImageBuilder, LayerBuilder};
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt as _;
use server::engine::{Engine, EngineConfig, EngineError, LoadOptions};
use server::progress::NoProgress;
use server::registry::{RegistryClient, RegistryError, RegistryRef, RegistrySettings};
use server::source::Source;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the fake does wrong.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    /// The layer blob's bytes are altered (its digest no longer matches).
    CorruptBlob,
    /// The manifest is larger than 4 MiB.
    HugeManifest,
    /// The layer blob stops after half its bytes on the first request only.
    StallOnce,
    /// The layer blob stops after half its bytes every time.
    StallAlways,
    /// Every request is 401 with a Basic challenge.
    AlwaysUnauthorized,
    /// Requests need a Bearer token from `/token`, given for an identity token only.
    Bearer,
    /// The first manifest request is 429 with `Retry-After: 1`.
    RateLimitOnce,
    /// Blobs redirect to the second server (another port: another origin).
    RedirectBlobs,
    /// [`Fault::Bearer`] and [`Fault::RedirectBlobs`] together.
    BearerRedirect,
    /// The first manifest request is 503.
    ServerErrorOnce,
    /// The Bearer challenge names a token service nobody listens on.
    TokenServiceDown,
    /// Blobs redirect to themselves.
    RedirectLoop,
}

impl Fault {
    fn bearer(self) -> bool {
        matches!(self, Fault::Bearer | Fault::BearerRedirect)
    }

    fn redirects(self) -> bool {
        matches!(self, Fault::RedirectBlobs | Fault::BearerRedirect)
    }
}

struct Fake {
    fault: Fault,
    manifest: Vec<u8>,
    config: Vec<u8>,
    layer: Vec<u8>,
    config_digest: String,
    layer_digest: String,
    requests: AtomicUsize,
    token_requests: AtomicUsize,
    layer_requests: AtomicUsize,
    manifest_requests: AtomicUsize,
    ranges: Mutex<Vec<String>>,
    /// Where blob redirects point.
    other: Mutex<Option<String>>,
    tags: usize,
}

const TOKEN: &str = "fake-bearer-token";

fn image() -> (ImageBuilder, LayerBuilder) {
    let layer = LayerBuilder::new().dir("etc").file(
        "etc/data",
        (0..200_000u32)
            .flat_map(|i| i.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    let image = ImageBuilder::new()
        .tag("fake/app:1")
        .layer("ADD data /", &layer);
    (image, layer)
}

fn fake(fault: Fault) -> Arc<Fake> {
    let (image, layer) = image();
    let config = image.config_json();
    let layer = gzip(&layer.tar());
    let config_digest = app::model::Digest::of(&config).to_string();
    let layer_digest = app::model::Digest::of(&layer).to_string();
    let mut manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": layer_digest, "size": layer.len()}]
    }))
    .unwrap();
    if fault == Fault::HugeManifest {
        manifest.extend(std::iter::repeat_n(b' ', 5 << 20));
    }
    Arc::new(Fake {
        fault,
        manifest,
        config,
        layer,
        config_digest,
        layer_digest,
        requests: AtomicUsize::new(0),
        token_requests: AtomicUsize::new(0),
        layer_requests: AtomicUsize::new(0),
        manifest_requests: AtomicUsize::new(0),
        ranges: Mutex::new(Vec::new()),
        other: Mutex::new(None),
        tags: 2500,
    })
}

/// The 401 to answer when the request lacks what the fault wants.
fn unauthorized(f: &Fake, headers: &HeaderMap) -> Option<Response> {
    match f.fault {
        Fault::AlwaysUnauthorized => Some(
            (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Basic realm=\"fake\"")],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            )
                .into_response(),
        ),
        Fault::TokenServiceDown => Some(
            (
                StatusCode::UNAUTHORIZED,
                [(
                    "www-authenticate",
                    "Bearer realm=\"http://127.0.0.1:9/token\",service=\"fake\"",
                )],
                "",
            )
                .into_response(),
        ),
        fault if fault.bearer() => {
            let ok = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == format!("Bearer {TOKEN}"));
            if ok {
                return None;
            }
            let addr = headers
                .get("host")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let challenge = format!(
                "Bearer realm=\"http://{addr}/token\",service=\"fake\",scope=\"repository:team/app:pull\""
            );
            Some(
                (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", challenge)],
                    "",
                )
                    .into_response(),
            )
        }
        _ => None,
    }
}

async fn v2(State(f): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    f.requests.fetch_add(1, Ordering::Relaxed);
    unauthorized(&f, &headers).unwrap_or_else(|| "{}".into_response())
}

async fn token(State(f): State<Arc<Fake>>, body: String) -> Response {
    f.token_requests.fetch_add(1, Ordering::Relaxed);
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let has = |k: &str, v: &str| form.iter().any(|(a, b)| a == k && b == v);
    if has("grant_type", "refresh_token") && has("refresh_token", "identity-123") {
        return axum::Json(serde_json::json!({"access_token": TOKEN, "expires_in": 300}))
            .into_response();
    }
    StatusCode::UNAUTHORIZED.into_response()
}

async fn manifest(State(f): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    f.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(r) = unauthorized(&f, &headers) {
        return r;
    }
    let n = f.manifest_requests.fetch_add(1, Ordering::Relaxed);
    if f.fault == Fault::ServerErrorOnce && n == 0 {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if f.fault == Fault::RateLimitOnce && n == 0 {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "").into_response();
    }
    (
        [(
            "content-type",
            "application/vnd.docker.distribution.manifest.v2+json",
        )],
        f.manifest.clone(),
    )
        .into_response()
}

async fn blob(
    State(f): State<Arc<Fake>>,
    UrlPath(digest): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    f.requests.fetch_add(1, Ordering::Relaxed);
    if let Some(r) = unauthorized(&f, &headers) {
        return r;
    }
    if f.fault == Fault::RedirectLoop {
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", format!("/v2/team/app/blobs/{digest}"))],
        )
            .into_response();
    }
    if f.fault.redirects() {
        let other = f.other.lock().unwrap().clone().unwrap_or_default();
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", format!("{other}/storage/{digest}"))],
        )
            .into_response();
    }
    if digest == f.config_digest {
        return f.config.clone().into_response();
    }
    if digest != f.layer_digest {
        return StatusCode::NOT_FOUND.into_response();
    }
    let n = f.layer_requests.fetch_add(1, Ordering::Relaxed);
    let mut bytes = f.layer.clone();
    if f.fault == Fault::CorruptBlob {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
    }
    let start = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .inspect(|r| f.ranges.lock().unwrap().push((*r).to_owned()))
        .and_then(|r| {
            r.strip_prefix("bytes=")?
                .strip_suffix('-')?
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(0);
    let stall = f.fault == Fault::StallAlways || (f.fault == Fault::StallOnce && n == 0);
    let body = bytes[start..].to_vec();
    let status = if start > 0 {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    if !stall {
        return (status, body).into_response();
    }
    // Half the bytes, then silence (the client's stall timeout must fire).
    let half = Bytes::from(body[..body.len() / 2].to_vec());
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(half) }).chain(
        futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Bytes::new())
        }),
    );
    (
        status,
        [("content-length", body.len().to_string())],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn tags(
    State(f): State<Arc<Fake>>,
    axum::extract::Query(q): axum::extract::Query<Vec<(String, String)>>,
) -> Response {
    f.requests.fetch_add(1, Ordering::Relaxed);
    let get = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    let n: usize = get("n")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .min(1000);
    let all: Vec<String> = (0..f.tags).map(|i| format!("v{i:05}")).collect();
    let from = match get("last") {
        Some(l) => all
            .iter()
            .position(|t| *t == l)
            .map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let page: Vec<&String> = all[from..].iter().take(n).collect();
    let mut headers = HeaderMap::new();
    if from + n < all.len() {
        if let Some(last) = page.last() {
            let link = format!("</v2/team/app/tags/list?last={last}&n={n}>; rel=\"next\"");
            headers.insert("link", link.parse().unwrap());
        }
    }
    (
        headers,
        axum::Json(serde_json::json!({"name": "team/app", "tags": page})),
    )
        .into_response()
}

/// The second origin of a redirect: records the `Authorization` it was sent.
#[derive(Default)]
struct Storage {
    seen_auth: Mutex<Vec<Option<String>>>,
    fake: Mutex<Option<Arc<Fake>>>,
}

async fn storage(
    State(s): State<Arc<Storage>>,
    UrlPath(digest): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    s.seen_auth.lock().unwrap().push(
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let fake = s.fake.lock().unwrap().clone();
    let Some(f) = fake else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if digest == f.config_digest {
        return f.config.clone().into_response();
    }
    f.layer.clone().into_response()
}

async fn listen(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr.to_string()
}

async fn serve(f: Arc<Fake>) -> String {
    let router = Router::new()
        .route("/v2/", get(v2))
        .route("/token", get(token).post(token))
        .route("/v2/team/app/manifests/{reference}", get(manifest))
        .route("/v2/team/app/blobs/{digest}", get(blob))
        .route("/v2/team/app/tags/list", get(tags))
        .with_state(f);
    listen(router).await
}

fn settings(dir: &std::path::Path) -> RegistrySettings {
    let config = dir.join("docker-config.json");
    if !config.exists() {
        std::fs::write(&config, "{}").unwrap();
    }
    RegistrySettings {
        config_file: Some(config),
        stall_timeout: Duration::from_secs(1),
        attempts: 3,
        ..RegistrySettings::default()
    }
}

async fn load(
    addr: &str,
    dir: &std::path::Path,
    settings: RegistrySettings,
) -> Result<server::engine::Loaded, EngineError> {
    let engine = Engine::new(EngineConfig {
        cache_dir: Some(dir.join("cache")),
        registry: settings,
        ..EngineConfig::default()
    });
    let source = Source::parse(&format!("registry:{addr}/team/app:1")).unwrap();
    engine
        .load(
            &source,
            &LoadOptions::default(),
            Arc::new(NoProgress),
            CancellationToken::new(),
        )
        .await
}

fn files_under(dir: &std::path::Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_that_does_not_match_its_digest_fails_and_caches_nothing() {
    let f = fake(Fault::CorruptBlob);
    let addr = serve(f.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let e = load(&addr, dir.path(), settings(dir.path()))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("does not match its digest") || msg.contains("digest"),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert_eq!(
        files_under(&dir.path().join("cache/layers")),
        0,
        "a layer was cached"
    );
    let blobs: Vec<_> = walk(&dir.path().join("cache/blobs"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&f.layer_digest[7..]))
        .collect();
    assert!(blobs.is_empty(), "the bad blob was kept: {blobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_over_the_limit_is_refused() {
    let addr = serve(fake(Fault::HugeManifest)).await;
    let dir = tempfile::tempdir().unwrap();
    let e = load(&addr, dir.path(), settings(dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, EngineError::Registry(r) if matches!(**r, RegistryError::TooLarge { limit, .. } if limit == 4 << 20)),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_blob_resumes_with_range_then_fails_clearly_when_it_keeps_stalling() {
    let once = fake(Fault::StallOnce);
    let addr = serve(once.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&addr, dir.path(), settings(dir.path())).await.unwrap();
    assert_eq!(loaded.image.id, image().0.image_id());
    let ranges = once.ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 1, "one resumed request: {ranges:?}");
    assert_eq!(ranges[0], format!("bytes={}-", once.layer.len() / 2));

    let always = fake(Fault::StallAlways);
    let addr = serve(always.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let e = load(&addr, dir.path(), settings(dir.path()))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let msg = e.to_string();
    assert!(
        msg.contains("stopped sending") && msg.contains("3 attempts"),
        "{msg}"
    );
    assert_eq!(always.layer_requests.load(Ordering::Relaxed), 3);
    assert_eq!(files_under(&dir.path().join("cache/layers")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_loop_ends_after_one_answer_with_the_command_to_run() {
    let f = fake(Fault::AlwaysUnauthorized);
    let addr = serve(f.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let e = load(&addr, dir.path(), settings(dir.path()))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("needs credentials") && msg.contains("docker login"),
        "{msg}"
    );
    // /v2/ ping (https then http) + the manifest request; no retry loop.
    assert!(
        f.requests.load(Ordering::Relaxed) <= 3,
        "{}",
        f.requests.load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_tokens_are_exchanged_at_the_token_service() {
    let f = fake(Fault::Bearer);
    let addr = serve(f.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    identity_config(dir.path(), &addr);
    let config = dir.path().join("docker-config.json");
    let loaded = load(&addr, dir.path(), settings(dir.path())).await.unwrap();
    assert_eq!(loaded.image.id, image().0.image_id());
    // One token for the repository scope, reused for manifest, config and layer.
    assert_eq!(f.token_requests.load(Ordering::Relaxed), 1);

    std::fs::write(&config, "{}").unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::copy(&config, dir2.path().join("docker-config.json")).unwrap();
    let e = load(&addr, dir2.path(), settings(dir2.path()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("needs credentials"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_and_dead_token_services_and_redirect_loops_named() {
    let f = fake(Fault::ServerErrorOnce);
    let addr = serve(f.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    load(&addr, dir.path(), settings(dir.path())).await.unwrap();
    assert_eq!(
        f.manifest_requests.load(Ordering::Relaxed),
        2,
        "one retry after the 503"
    );

    let addr = serve(fake(Fault::TokenServiceDown)).await;
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let e = load(&addr, dir.path(), settings(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(e.contains(&addr) && e.lines().count() == 1, "{e}");

    let addr = serve(fake(Fault::RedirectLoop)).await;
    let dir = tempfile::tempdir().unwrap();
    let e = load(&addr, dir.path(), settings(dir.path()))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("redirect") && e.contains(&addr), "{e}");
    assert_eq!(files_under(&dir.path().join("cache/layers")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out() {
    let f = fake(Fault::RateLimitOnce);
    let addr = serve(f.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    load(&addr, dir.path(), settings(dir.path())).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was ignored"
    );
}

/// A docker config holding an identity token for `addr`.
fn identity_config(dir: &std::path::Path, addr: &str) {
    let config = serde_json::json!({"auths": {addr: {"identitytoken": "identity-123"}}});
    std::fs::write(
        dir.join("docker-config.json"),
        serde_json::to_vec(&config).unwrap(),
    )
    .unwrap();
}

/// Loads from a fake whose blobs redirect to a second server; returns the
/// `Authorization` values that server saw.
async fn through_redirect(fault: Fault, with_token: bool) -> Vec<Option<String>> {
    let f = fake(fault);
    let store = Arc::new(Storage::default());
    *store.fake.lock().unwrap() = Some(f.clone());
    let other = listen(
        Router::new()
            .route("/storage/{digest}", get(storage))
            .with_state(store.clone()),
    )
    .await;
    *f.other.lock().unwrap() = Some(format!("http://{other}"));
    let addr = serve(f.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    if with_token {
        identity_config(dir.path(), &addr);
    }
    let loaded = load(&addr, dir.path(), settings(dir.path())).await.unwrap();
    assert_eq!(loaded.image.id, image().0.image_id());
    let seen = store.seen_auth.lock().unwrap().clone();
    assert!(!seen.is_empty(), "nothing reached the redirect target");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_redirects_to_another_host_carry_no_authorization() {
    let seen = through_redirect(Fault::RedirectBlobs, false).await;
    assert_eq!(seen.len(), 2, "config and layer: {seen:?}");
    assert!(seen.iter().all(Option::is_none), "{seen:?}");
    // The registry wants a bearer token for the blob requests; the redirect target
    // must still get none.
    let seen = through_redirect(Fault::BearerRedirect, true).await;
    assert_eq!(seen.len(), 2, "config and layer: {seen:?}");
    assert!(
        seen.iter().all(Option::is_none),
        "a token followed the redirect: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_tag_list_is_read_page_by_page() {
    let f = fake(Fault::None);
    let addr = serve(f.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let client = RegistryClient::new(settings(dir.path())).unwrap();
    let r = RegistryRef::parse(&format!("{addr}/team/app")).unwrap();
    let mut all = Vec::new();
    let mut last: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = client
            .tags(&r.registry, &r.repository, 1000, last.as_deref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 1000);
        all.extend(page.items);
        match page.next {
            Some(n) => last = Some(n),
            None => break,
        }
        assert!(pages < 10, "the pages never end");
    }
    assert_eq!(pages, 3);
    assert_eq!(all.len(), 2500);
    assert_eq!(all.last().map(String::as_str), Some("v02499"));
}
