//! Resource limits at the HTTP edge (BAD-INPUTS L15, §3.9–3.10): the per-client rate
//! limit with `Retry-After` that a forged `X-Forwarded-For` cannot dodge, and the request
//! body limit.

use crate::http_support::fake;
use crate::security_support::kit;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use fake::send;
use kit::{analysis_uri, code, from_peer, req, state};
use server::http::{router, SecurityConfig};
use std::sync::atomic::Ordering;

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
