//! Shared kit of the `security_*` tests: a [`FakeBackend`] state under a chosen

//! [`SecurityConfig`], a tokens file, and request builders.

use crate::http_support::fake::{digest, FakeBackend};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use server::http::{AppState, AuthMode, Policy, SecurityConfig};
use std::net::SocketAddr;
use std::sync::Arc;

pub const VIEWER_TOKEN: &str = "viewer-token-0123456789abcdef";
pub const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";

pub fn state(config: SecurityConfig) -> (AppState, Arc<FakeBackend>) {
    let backend = Arc::new(FakeBackend::up());
    let policy = Policy::from_config(&config).expect("policy builds");
    let state = AppState::builder(backend.clone())
        .allowed_hosts(&["strata.example".to_owned()])
        .security(policy)
        .build();
    (state, backend)
}

/// A tokens file that lives as long as the returned guard.
pub fn tokens_config(allow_write: bool) -> (SecurityConfig, tempfile::NamedTempFile) {
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

pub fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:7878");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).expect("request builds")
}

pub fn from_peer(mut r: Request<Body>, peer: &str) -> Request<Body> {
    let addr: SocketAddr = peer.parse().expect("peer address");
    r.extensions_mut().insert(ConnectInfo(addr));
    r
}

pub fn analysis_uri() -> String {
    format!("/api/v1/images/{}/analysis", digest(1).hex())
}

pub fn code(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    v["code"].as_str().unwrap_or_default().to_owned()
}
