//! Security layers of the HTTP API, driven through `router(state)` / `secure` with
//! `oneshot` (BAD-INPUTS §3 and L15/L19): cross-origin writes, DNS-rebinding Host
//! headers, bearer/cookie/proxy authentication, the write gate, rate limiting, the body
//! limit, response headers, no CORS, and the audit log.

#[path = "http_support/fake.rs"]
mod fake;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use fake::{digest, send, FakeBackend};
use server::http::{
    may_write, router, secure, write_gate, AppState, AuthMode, Policy, Principal, Role,
    SecurityConfig, Via,
};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

const VIEWER_TOKEN: &str = "viewer-token-0123456789abcdef";
const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

fn state(config: SecurityConfig) -> (AppState, Arc<FakeBackend>) {
    let backend = Arc::new(FakeBackend::up());
    let policy = Policy::from_config(&config).expect("policy builds");
    let state =
        AppState::new(backend.clone(), None, &["strata.example".to_owned()]).with_security(policy);
    (state, backend)
}

/// A tokens file that lives as long as the returned guard.
fn tokens_config(allow_write: bool) -> (SecurityConfig, tempfile::NamedTempFile) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        file.path(),
        format!("# test tokens\nviewer {VIEWER_TOKEN} vera\nadmin {ADMIN_TOKEN} ada\n"),
    )
    .expect("write tokens");
    let config = SecurityConfig {
        auth: AuthMode::Token,
        tokens_file: Some(file.path().to_owned()),
        allow_write,
        ..SecurityConfig::default()
    };
    (config, file)
}

fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:7878");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).expect("request builds")
}

fn from_peer(mut r: Request<Body>, peer: &str) -> Request<Body> {
    let addr: SocketAddr = peer.parse().expect("peer address");
    r.extensions_mut().insert(ConnectInfo(addr));
    r
}

fn analysis_uri() -> String {
    format!("/api/v1/images/{}/analysis", digest(1).hex())
}

fn code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn cross_origin_post_is_refused_and_starts_nothing() {
    let (state, backend) = state(SecurityConfig::default());
    let app = router(state);
    let uri = analysis_uri();
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "http://evil.example")],
        &[("origin", "http://localhost:9999")],
        &[("origin", "null")],
    ] {
        let (status, _, body) = send(&app, req("POST", &uri, headers)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}: {body}");
        assert_eq!(code(&body), "cross_origin", "{headers:?}");
    }
    let (status, _, body) = send(
        &app,
        req(
            "POST",
            &uri,
            &[
                ("sec-fetch-site", "same-origin"),
                ("content-type", "text/plain"),
                ("content-length", "2"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    // GET /compare starts analyses: another site must not trigger it either.
    let compare = format!(
        "/api/v1/compare?ids={},{}",
        digest(1).hex(),
        digest(2).hex()
    );
    let (status, _, body) = send(
        &app,
        req("GET", &compare, &[("sec-fetch-site", "cross-site")]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(backend.loads.load(Ordering::SeqCst), 0, "no job started");

    // What the dashboard's own fetch sends.
    for headers in [
        &[("sec-fetch-site", "same-origin")][..],
        &[("origin", "http://127.0.0.1:7878")],
    ] {
        let (status, _, body) = send(&app, req("POST", &uri, headers)).await;
        assert!(status.is_success(), "{headers:?}: {status} {body}");
    }
}

#[tokio::test]
async fn foreign_host_header_is_refused() {
    let (state, _) = state(SecurityConfig::default());
    let app = router(state);
    for host in [
        "evil.example",
        "evil.example:7878",
        "10.0.0.1:7878",
        "localhost.evil.example",
    ] {
        let r = Request::builder()
            .uri("/api/v1/health")
            .header("host", host)
            .body(Body::empty())
            .expect("request");
        let (status, headers, body) = send(&app, r).await;
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::MISDIRECTED_REQUEST,
            "{host}: {status}"
        );
        assert_eq!(code(&body), "forbidden_host", "{host}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    let r = Request::builder()
        .uri("/api/v1/health")
        .header("host", "strata.example:7878")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&app, r).await.0, StatusCode::OK, "configured name");
}

#[tokio::test]
async fn security_headers_present_and_no_cors_for_other_origins() {
    let (state, _) = state(SecurityConfig::default());
    let app = router(state);
    // A browser fetch from another site is refused outright (fetch metadata)…
    let (status, headers, body) = send(
        &app,
        req(
            "GET",
            "/api/v1/health",
            &[
                ("origin", "http://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "cross_origin");
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    // …one without fetch metadata is answered, with nothing that lets the other origin
    // read it; a cross-site navigation to the UI still works.
    let (status, headers, _) = send(
        &app,
        req(
            "GET",
            "/api/v1/health",
            &[("origin", "http://evil.example")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(
        &app,
        req(
            "GET",
            "/",
            &[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "navigate"),
            ],
        ),
    )
    .await;
    assert_ne!(status, StatusCode::FORBIDDEN);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let cors: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "CORS headers sent: {cors:?}");
    // A preflight gets no CORS answer either.
    let (_, headers, _) = send(
        &app,
        req(
            "OPTIONS",
            &analysis_uri(),
            &[
                ("origin", "http://evil.example"),
                ("access-control-request-method", "POST"),
            ],
        ),
    )
    .await;
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn missing_or_invalid_token_is_401() {
    let (config, _file) = tokens_config(false);
    let (state, _) = state(config);
    let app = router(state);
    let cases: [&[(&str, &str)]; 5] = [
        &[],
        &[("authorization", "Bearer wrong-token-0123456789abcdef")],
        &[("authorization", "Basic dmVyYTpwdw==")],
        &[("cookie", "strata_token=wrong-token-0123456789")],
        &[("authorization", "Bearer ")],
    ];
    for headers in cases {
        let (status, h, body) = send(&app, req("GET", "/api/v1/health", headers)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(code(&body), "unauthenticated", "{headers:?}");
        assert!(h.contains_key(header::WWW_AUTHENTICATE));
        assert!(!body.contains(VIEWER_TOKEN));
    }
    let (status, _, _) = send(&app, req("GET", "/api/v1/images?token=nope", &[])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {VIEWER_TOKEN}");
    let (status, _, _) = send(
        &app,
        req("GET", "/api/v1/health", &[("authorization", &bearer)]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn query_token_becomes_a_strict_cookie_and_cookie_posts_need_same_origin() {
    let (config, _file) = tokens_config(false);
    let (state, backend) = state(config);
    let app = router(state);
    let (status, headers, _) = send(
        &app,
        req(
            "GET",
            &format!("/images?token={VIEWER_TOKEN}&tab=files"),
            &[],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/images?tab=files");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("strata_token={VIEWER_TOKEN};")),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let jar = format!("strata_token={VIEWER_TOKEN}");
    let (status, _, _) = send(&app, req("GET", "/api/v1/health", &[("cookie", &jar)])).await;
    assert_eq!(status, StatusCode::OK);
    // The cookie does not make a cross-site POST acceptable…
    let (status, _, _) = send(
        &app,
        req(
            "POST",
            &analysis_uri(),
            &[("cookie", &jar), ("sec-fetch-site", "cross-site")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(backend.loads.load(Ordering::SeqCst), 0);
    // …while a bearer client is exempt from the browser-origin check.
    let bearer = format!("Bearer {VIEWER_TOKEN}");
    let (status, _, body) = send(
        &app,
        req(
            "POST",
            &analysis_uri(),
            &[
                ("authorization", &bearer),
                ("origin", "http://elsewhere.example"),
            ],
        ),
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
}

/// A synthetic write route behind the gate, beside a read route on the same path.
fn gated_app(state: &AppState) -> Router {
    let writes = Router::new().route(
        "/images/{id}/tag",
        post(|| async { (StatusCode::CREATED, "tagged") }),
    );
    let api = Router::new()
        .route("/images/{id}/labels", get(|| async { "labels" }))
        .merge(write_gate(state, writes))
        .merge(write_gate(
            state,
            Router::new().route("/images/{id}/labels", post(|| async { "relabelled" })),
        ))
        .fallback(|| async { StatusCode::NOT_FOUND });
    secure(
        Router::new().nest("/api/v1", api).with_state(state.clone()),
        state,
    )
}

#[tokio::test]
async fn write_gate_needs_the_flag_and_the_admin_role() {
    let json = ("content-type", "application/json");
    let viewer = format!("Bearer {VIEWER_TOKEN}");
    let admin = format!("Bearer {ADMIN_TOKEN}");

    let (on, _f1) = tokens_config(true);
    let (state_on, _) = state(on);
    let app = gated_app(&state_on);
    let (status, _, body) = send(
        &app,
        req(
            "POST",
            "/api/v1/images/x/tag",
            &[("authorization", &viewer), json],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "forbidden");
    let (status, _, body) = send(
        &app,
        req(
            "POST",
            "/api/v1/images/x/tag",
            &[("authorization", &admin), json],
        ),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, "tagged"));

    let (off, _f2) = tokens_config(false);
    let (state_off, _) = state(off);
    let app = gated_app(&state_off);
    let (status, _, _) = send(
        &app,
        req(
            "POST",
            "/api/v1/images/x/tag",
            &[("authorization", &admin), json],
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "write route absent without --allow-write"
    );
    let (status, _, _) = send(
        &app,
        req(
            "POST",
            "/api/v1/images/x/labels",
            &[("authorization", &admin), json],
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::METHOD_NOT_ALLOWED,
        "only the read route exists"
    );

    let admin_p = Principal {
        user: "ada".into(),
        role: Role::Admin,
        via: Via::Bearer,
    };
    let viewer_p = Principal {
        role: Role::Viewer,
        ..admin_p.clone()
    };
    assert!(may_write(&state_on.security, Some(&admin_p)).is_ok());
    assert!(may_write(&state_on.security, Some(&viewer_p)).is_err());
    assert!(may_write(&state_on.security, None).is_err());
    assert!(may_write(&state_off.security, Some(&admin_p)).is_err());
}

#[tokio::test]
async fn proxy_user_header_is_believed_only_from_trusted_peers() {
    let config = SecurityConfig {
        auth: AuthMode::ProxyHeader,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        admin_users: vec!["alice".into()],
        allow_write: true,
        ..SecurityConfig::default()
    };
    let (state, _) = state(config);
    let app = gated_app(&state);
    let json = ("content-type", "application/json");
    let user = ("x-forwarded-user", "alice");
    let untrusted = from_peer(
        req("POST", "/api/v1/images/x/tag", &[user, json]),
        "10.0.0.5:5000",
    );
    let (status, _, body) = send(&app, untrusted).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let no_peer = req("POST", "/api/v1/images/x/tag", &[user, json]);
    assert_eq!(send(&app, no_peer).await.0, StatusCode::UNAUTHORIZED);
    let trusted = from_peer(
        req("POST", "/api/v1/images/x/tag", &[user, json]),
        "127.0.0.1:5000",
    );
    assert_eq!(send(&app, trusted).await.0, StatusCode::CREATED);
    let bob = from_peer(
        req(
            "POST",
            "/api/v1/images/x/tag",
            &[("x-forwarded-user", "bob"), json],
        ),
        "127.0.0.1:5000",
    );
    assert_eq!(
        send(&app, bob).await.0,
        StatusCode::FORBIDDEN,
        "bob is a viewer"
    );
    let anonymous = from_peer(req("GET", "/api/v1/images/x/labels", &[]), "127.0.0.1:5000");
    assert_eq!(send(&app, anonymous).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rate_limit_is_per_client_with_retry_after_and_ignores_spoofed_xff() {
    let config = SecurityConfig {
        rate_limit: 1,
        rate_burst: 3,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..SecurityConfig::default()
    };
    let (state, _) = state(config);
    let app = router(state);
    let get_from = |peer: &str, xff: Option<&str>| {
        let headers: Vec<(&str, &str)> = xff.map(|x| ("x-forwarded-for", x)).into_iter().collect();
        from_peer(req("GET", "/api/v1/health", &headers), peer)
    };
    for i in 0..3 {
        let (status, _, _) = send(&app, get_from("10.0.0.7:1000", None)).await;
        assert_eq!(status, StatusCode::OK, "request {i}");
    }
    let (status, headers, body) = send(&app, get_from("10.0.0.7:1001", None)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code(&body), "rate_limited");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    let (status, _, _) = send(&app, get_from("10.0.0.7:1002", Some("192.0.2.1"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Other clients are unaffected.
    let (status, _, _) = send(&app, get_from("10.0.0.8:1000", None)).await;
    assert_eq!(status, StatusCode::OK);
    // Behind the trusted proxy, each forwarded client has its own bucket.
    for i in 0..3 {
        let (status, _, _) = send(&app, get_from("127.0.0.1:2000", Some("192.0.2.10"))).await;
        assert_eq!(status, StatusCode::OK, "forwarded client A {i}");
    }
    let (status, _, _) = send(&app, get_from("127.0.0.1:2000", Some("192.0.2.10"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = send(
        &app,
        get_from("127.0.0.1:2000", Some("198.51.100.1, 192.0.2.11")),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "right-most untrusted address is the client"
    );
}

#[tokio::test]
async fn oversized_body_is_413() {
    let (state, backend) = state(SecurityConfig::default());
    let app = router(state);
    let big = vec![b' '; server::http::MAX_BODY_BYTES + 1];
    let r = Request::builder()
        .method("POST")
        .uri(analysis_uri())
        .header("host", "127.0.0.1:7878")
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/json")
        .header("content-length", big.len().to_string())
        .body(Body::from(big))
        .expect("request");
    let (status, _, _) = send(&app, r).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(backend.loads.load(Ordering::SeqCst), 0);
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn state_changing_requests_are_audited_without_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("audit=info"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (config, _file) = tokens_config(false);
    let (state, _) = state(config);
    let app = router(state);
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let uri = analysis_uri();
    let (status, _, _) = send(&app, req("POST", &uri, &[("authorization", &bearer)])).await;
    assert!(status.is_success());
    let (status, _, _) = send(
        &app,
        req(
            "POST",
            &format!("{uri}?token={VIEWER_TOKEN}"),
            &[("cookie", "strata_token=bad-cookie-value-xyz")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, _, _) = send(
        &app,
        req("GET", "/api/v1/health", &[("authorization", &bearer)]),
    )
    .await;

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].contains("user=\"ada\""), "{log}");
    assert!(lines[0].contains("method=POST"), "{log}");
    assert!(lines[0].contains(&format!("path=\"{uri}\"")), "{log}");
    assert!(lines[0].contains("status=20"), "{log}");
    assert!(lines[1].contains("user=\"-\""), "{log}");
    assert!(lines[1].contains("status=401"), "{log}");
    for secret in [ADMIN_TOKEN, VIEWER_TOKEN, "bad-cookie-value-xyz"] {
        assert!(!log.contains(secret), "secret logged: {log}");
    }
    assert!(!log.contains("/health"), "GET is not audited: {log}");
}
