//! Security policy of the HTTP edge. Owns: the listen-address rule (loopback unless an
//! auth mode is configured), the Host-header allow list (loopback names plus configured
//! ones) against DNS rebinding, fixed response headers (CSP, nosniff, no referrer, no
//! framing, `no-store` on the API), and [`secure`], which stacks every security layer in
//! order: audit → headers and Host check → rate limit → authentication and CSRF → body
//! limit and timeout (except for archive uploads, which bound themselves) → the app. No CORS headers are ever sent, so other origins cannot
//! read the API.

use super::audit;
use super::auth::{self, AuthMode, Authenticator, Cidr, TokenStore, TokensError};
use super::error::ApiError;
use super::limits::{self, RateLimiter, DEFAULT_BURST, DEFAULT_RATE};
use super::state::AppState;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// The page's policy: our own scripts and wasm only, no plugins, no framing; pictures
/// from our origin or from `blob:` URLs the page made itself (the file viewer previews a
/// picture from bytes it fetched and typed by their magic bytes).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

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

/// Security settings of `strata serve` (flags in `cli::serve_args`).
#[derive(Debug, Clone)]
pub struct SecurityConfig {
    /// Authentication: none (loopback only), token (--tokens-file) or proxy-header
    pub auth: AuthMode,
    /// With --auth token: lines `ROLE TOKEN [NAME]` or `ROLE sha256:HEX [NAME]`, roles
    /// viewer|admin; without it one admin token is generated and printed as a URL
    pub tokens_file: Option<PathBuf>,
    /// With --auth proxy-header: the header holding the user name
    pub auth_proxy_header: String,
    /// Peers whose user header and X-Forwarded-For are believed (repeatable)
    pub trusted_proxies: Vec<Cidr>,
    /// With --auth proxy-header: users that get the admin role (repeatable; others are viewers)
    pub admin_users: Vec<String>,
    /// Enable write operations (admins only); without it the server is read-only
    pub allow_write: bool,
    /// Requests per second per client (0 = unlimited)
    pub rate_limit: u32,
    /// Burst size per client
    pub rate_burst: u32,
}

/// The default `--auth-proxy-header` (oauth2-proxy's).
pub const DEFAULT_PROXY_HEADER: &str = "X-Forwarded-User";

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            auth: AuthMode::None,
            tokens_file: None,
            auth_proxy_header: DEFAULT_PROXY_HEADER.to_owned(),
            trusted_proxies: Vec::new(),
            admin_users: Vec::new(),
            allow_write: false,
            rate_limit: DEFAULT_RATE,
            rate_burst: DEFAULT_BURST,
        }
    }
}

/// Why the security settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    #[error("refusing to listen on non-loopback address {addr} without authentication; use --auth token --tokens-file FILE or --auth proxy-header --trusted-proxy CIDR, or listen on 127.0.0.1")]
    ExposedWithoutAuth { addr: SocketAddr },
    #[error("cannot generate a startup token from the system's random source: {0}")]
    Random(std::io::Error),
    #[error("--auth proxy-header needs at least one --trusted-proxy CIDR (the proxy's address)")]
    NoTrustedProxy,
    #[error("--auth-proxy-header {0:?} is not a valid header name")]
    BadProxyHeader(String),
    #[error(transparent)]
    Tokens(#[from] TokensError),
}

/// The security settings in force, shared by the layers through [`AppState`].
#[derive(Debug)]
pub struct Policy {
    pub(crate) auth: Authenticator,
    pub(crate) allow_write: bool,
    pub(crate) trusted_proxies: Vec<Cidr>,
    pub(crate) limiter: RateLimiter,
    startup_token: Option<String>,
}

impl Default for Policy {
    /// No authentication (loopback), read-only, default rate limit.
    fn default() -> Self {
        Policy {
            auth: Authenticator::None,
            allow_write: false,
            trusted_proxies: Vec::new(),
            limiter: RateLimiter::new(DEFAULT_RATE, DEFAULT_BURST),
            startup_token: None,
        }
    }
}

impl Policy {
    /// Builds the policy, reading the tokens file if one is configured. `--auth token`
    /// without a file generates one random 128-bit admin token for this run
    /// ([`Policy::startup_token`], printed as a URL by `serve`).
    pub fn from_config(config: &SecurityConfig) -> Result<Policy, SecurityError> {
        let mut startup_token = None;
        let auth = match config.auth {
            AuthMode::None => Authenticator::None,
            AuthMode::Token => match config.tokens_file.as_deref() {
                Some(path) => Authenticator::Token(TokenStore::load(path)?),
                None => {
                    let (store, token) = TokenStore::generate().map_err(SecurityError::Random)?;
                    startup_token = Some(token);
                    Authenticator::Token(store)
                }
            },
            AuthMode::ProxyHeader => {
                if config.trusted_proxies.is_empty() {
                    return Err(SecurityError::NoTrustedProxy);
                }
                let header = HeaderName::from_bytes(config.auth_proxy_header.as_bytes())
                    .map_err(|_| SecurityError::BadProxyHeader(config.auth_proxy_header.clone()))?;
                Authenticator::Proxy {
                    header,
                    trusted: config.trusted_proxies.clone(),
                    admins: config.admin_users.clone(),
                }
            }
        };
        Ok(Policy {
            auth,
            allow_write: config.allow_write,
            trusted_proxies: config.trusted_proxies.clone(),
            limiter: RateLimiter::new(config.rate_limit, config.rate_burst),
            startup_token,
        })
    }

    /// The token generated at start (`--auth token` without `--tokens-file`).
    pub fn startup_token(&self) -> Option<&str> {
        self.startup_token.as_deref()
    }

    /// The URL to print at start when a token was generated: `?token=` on the listen
    /// address (loopback when listening on all interfaces).
    pub fn startup_url(&self, local: SocketAddr) -> Option<String> {
        let token = self.startup_token()?;
        let shown = if local.ip().is_unspecified() {
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), local.port())
        } else {
            local
        };
        Some(format!("http://{shown}/?token={token}"))
    }

    /// Whether write routes exist.
    pub fn allow_write(&self) -> bool {
        self.allow_write
    }
}

/// The listen rule: a non-loopback address needs an auth mode other than `none`.
pub fn check_listen(addr: SocketAddr, auth: AuthMode) -> Result<(), SecurityError> {
    if auth == AuthMode::None && !addr.ip().is_loopback() {
        return Err(SecurityError::ExposedWithoutAuth { addr });
    }
    Ok(())
}

/// Wraps the app (already given its state) with every security layer of `state`.
pub fn secure(app: Router, state: &AppState) -> Router {
    let policy = state.security.clone();
    let guard = state.host_guard.clone();
    app.layer(middleware::from_fn(limits::bound_request))
        .layer(middleware::from_fn_with_state(
            policy.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(policy, limits::rate_limit))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let guard = guard.clone();
            async move { check_and_decorate(&guard, req, next).await }
        }))
        // Outermost, so requests refused for their Host or their rate are audited too.
        .layer(middleware::from_fn(audit::record))
}

async fn check_and_decorate(guard: &HostGuard, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    let is_api = req.uri().path().starts_with("/api");
    let mut response = match host {
        Some(h) if guard.allows(&h) => next.run(req).await,
        Some(h) => ApiError::ForbiddenHost(h).into_response(),
        None => ApiError::ForbiddenHost(String::new()).into_response(),
    };
    let headers = response.headers_mut();
    // A route's own policy (`sandbox` on image file contents) stays, and the default is
    // enforced beside it: browsers apply every CSP header, so the result is stricter.
    headers.append(
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
    if is_api && !headers.contains_key(header::CACHE_CONTROL) {
        // API bodies carry env and labels (attacker-controlled, sometimes secret).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
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

    #[test]
    fn only_loopback_listens_without_auth() {
        let local: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        let v6: SocketAddr = "[::1]:7878".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        assert!(check_listen(local, AuthMode::None).is_ok());
        assert!(check_listen(v6, AuthMode::None).is_ok());
        let err = check_listen(any, AuthMode::None).unwrap_err().to_string();
        assert!(
            err.starts_with("refusing to listen on non-loopback address 0.0.0.0:7878"),
            "{err}"
        );
        assert!(check_listen(any, AuthMode::Token).is_ok());
        assert!(check_listen(any, AuthMode::ProxyHeader).is_ok());
    }
}
