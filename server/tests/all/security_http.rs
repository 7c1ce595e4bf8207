//! Security layers of the HTTP API, driven through `router(state)` / `secure` with
//! `oneshot` (BAD-INPUTS §3 and L15/L19): cross-origin writes, DNS-rebinding Host
//! headers, bearer/cookie/proxy authentication, the write gate, response headers and no
//! CORS. Limits are in `security_limits.rs`, the audit log in `security_audit.rs`.

use crate::http_support::fake;
use crate::security_support::kit;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use fake::{digest, send};
use kit::{analysis_uri, code, from_peer, req, state, tokens_config, ADMIN_TOKEN, VIEWER_TOKEN};
use server::http::{
    may_write, router, secure, write_gate, AppState, AuthMode, Principal, Role, SecurityConfig, Via,
};
use std::sync::atomic::Ordering;

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
    // POST /compare starts analyses: another site must not trigger it, and a GET (which
    // fetch-metadata would also refuse cross-site) never starts anything.
    let compare = format!(
        "/api/v1/compare?ids={},{}",
        digest(1).hex(),
        digest(2).hex()
    );
    for site in ["cross-site", "same-site"] {
        let (status, _, body) =
            send(&app, req("POST", &compare, &[("sec-fetch-site", site)])).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{site}: {body}");
    }
    let (status, _, body) = send(
        &app,
        req("GET", &compare, &[("sec-fetch-site", "cross-site")]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = send(&app, req("GET", &compare, &[])).await;
    assert_eq!(status, StatusCode::CONFLICT, "a GET only joins: {body}");
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
    assert!(csp.contains("img-src 'self' blob:"), "{csp}");
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
