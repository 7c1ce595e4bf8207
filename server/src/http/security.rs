//! Security basics for a local dashboard: a Host-header allow list (loopback names plus
//! configured ones) against DNS rebinding, and fixed response headers (CSP, nosniff,
//! no referrer). No CORS headers are ever sent, so other origins cannot read the API.

use super::error::ApiError;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::IpAddr;
use std::sync::Arc;

/// The page's policy: our own scripts and wasm only, no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Which `Host` header values are accepted.
#[derive(Debug, Clone)]
pub struct HostGuard {
    extra: Vec<String>,
}

impl HostGuard {
    /// Accepts loopback names and addresses plus `extra` (host names without port).
    pub fn new(extra: &[String]) -> Self {
        HostGuard {
            extra: extra.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether a `Host` header value (with optional port) is allowed.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = strip_port(host_header).to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if ip.is_loopback() {
                return true;
            }
        }
        self.extra
            .iter()
            .any(|e| e.trim_start_matches('[').trim_end_matches(']') == bare)
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // `[::1]:8080` → `[::1]`
        return match rest.find(']') {
            Some(end) => &host[..end + 2],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Wraps the app with the Host check and the response headers.
pub fn apply(app: Router, guard: Arc<HostGuard>) -> Router {
    app.layer(middleware::from_fn(move |req: Request, next: Next| {
        let guard = guard.clone();
        async move { check_and_decorate(&guard, req, next).await }
    }))
}

async fn check_and_decorate(guard: &HostGuard, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    let mut response = match host {
        Some(h) if guard.allows(&h) => next.run(req).await,
        Some(h) => ApiError::ForbiddenHost(h).into_response(),
        None => ApiError::ForbiddenHost(String::new()).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_others_do_not() {
        let g = HostGuard::new(&["strata.internal".to_owned()]);
        for ok in [
            "127.0.0.1:7878",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "127.1.2.3",
            "strata.internal:7878",
        ] {
            assert!(g.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:7878",
            "10.0.0.1",
            "localhost.evil.example",
            "",
        ] {
            assert!(!g.allows(bad), "{bad}");
        }
    }
}
