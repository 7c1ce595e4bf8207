//! Who is calling: the auth modes of `strata serve` (none = loopback only, static bearer
//! tokens, or a user header from a trusted reverse proxy), the [`Principal`] every request
//! carries after [`authenticate`], the CSRF check for browser requests, and the write
//! gate that future state-changing routes must pass.
//!
//! Invariants: tokens are only ever compared as SHA-256 digests in constant time and are
//! never logged; a proxy user header is believed only from a `--trusted-proxy` peer;
//! every denial is a `{code, message}` JSON body.

mod cidr;
mod csrf;
mod gate;
mod tokens;

pub use cidr::{BadCidr, Cidr};
pub use gate::{may_write, write_gate};
pub use tokens::{TokenStore, TokensError};

use super::error::error_response;
use super::security::Policy;
use app::api::ErrorCode;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// Name of the cookie a browser gets in exchange for `?token=`.
pub const TOKEN_COOKIE: &str = "strata_token";

/// How callers prove who they are (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// No authentication; only a loopback listen address is allowed
    #[default]
    None,
    /// Static bearer tokens from --tokens-file (browsers: open the URL with ?token=TOKEN once)
    Token,
    /// A user name header (--auth-proxy-header) set by a reverse proxy in --trusted-proxy
    ProxyHeader,
}

/// What a caller may do. Ordered: `Admin` includes everything `Viewer` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// List, inspect and analyse images.
    Viewer,
    /// Viewer plus write operations, when the server runs with `--allow-write`.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?} (expected viewer or admin)")),
        }
    }
}

/// How a principal was established; bearer clients are exempt from the CSRF check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `--auth none`: the local user on a loopback-only server.
    Loopback,
    /// `Authorization: Bearer`.
    Bearer,
    /// The `strata_token` cookie (or the one-time `?token=` that sets it).
    Cookie,
    /// The user header from a trusted proxy.
    Proxy,
}

/// The authenticated caller, stored in request and response extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// A name for the audit log (never a token).
    pub user: String,
    pub role: Role,
    pub via: Via,
}

/// The configured way of authenticating requests.
#[derive(Debug)]
pub(crate) enum Authenticator {
    None,
    Token(TokenStore),
    Proxy {
        header: HeaderName,
        trusted: Vec<Cidr>,
        admins: Vec<String>,
    },
}

/// A request refused by a security layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// 401 `unauthenticated`.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403 `cross_origin`: a browser request from another origin (CSRF guard).
    #[error("{0}")]
    CrossOrigin(String),
    /// 403 `forbidden`: the role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 415 `unsupported_media_type`: a request body that is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 400 `bad_request`.
    #[error("{0}")]
    BadRequest(String),
    /// 429 `rate_limited` with `Retry-After`.
    #[error("too many requests from this client; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
}

impl Denied {
    fn code(&self) -> ErrorCode {
        match self {
            Denied::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Denied::CrossOrigin(_) => ErrorCode::CrossOrigin,
            Denied::Forbidden(_) => ErrorCode::Forbidden,
            Denied::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Denied::BadRequest(_) => ErrorCode::BadRequest,
            Denied::RateLimited { .. } => ErrorCode::RateLimited,
        }
    }
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let mut response = error_response(self.code(), self.to_string());
        let headers = response.headers_mut();
        match self {
            Denied::Unauthenticated(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"strata\""),
                );
            }
            Denied::RateLimited { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            _ => {}
        }
        response
    }
}

/// Middleware: identifies the caller (or answers 401), exchanges a `?token=` for a
/// cookie, applies the CSRF check, and stores the [`Principal`] in the request and the
/// response (where the audit layer reads it).
pub(crate) async fn authenticate(
    State(policy): State<Arc<Policy>>,
    mut req: Request,
    next: Next,
) -> Response {
    let principal = match identify(&policy.auth, &req) {
        Ok(p) => p,
        Err(denied) => return denied.into_response(),
    };
    let mut response = if let Some(redirect) = token_exchange(&policy.auth, &req) {
        redirect
    } else if let Err(denied) = csrf::check(&req, &principal) {
        denied.into_response()
    } else {
        req.extensions_mut().insert(principal.clone());
        next.run(req).await
    };
    response.extensions_mut().insert(principal);
    response
}

fn identify(auth: &Authenticator, req: &Request) -> Result<Principal, Denied> {
    match auth {
        Authenticator::None => Ok(Principal {
            user: "local".to_owned(),
            role: Role::Admin,
            via: Via::Loopback,
        }),
        Authenticator::Token(store) => identify_token(store, req),
        Authenticator::Proxy {
            header,
            trusted,
            admins,
        } => identify_proxy(header, trusted, admins, req),
    }
}

fn identify_token(store: &TokenStore, req: &Request) -> Result<Principal, Denied> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| {
                Denied::Unauthenticated("authorization header: expected Bearer TOKEN".to_owned())
            })?;
        return match store.lookup(token) {
            Some((role, user)) => Ok(Principal {
                user,
                role,
                via: Via::Bearer,
            }),
            None => Err(Denied::Unauthenticated("invalid bearer token".to_owned())),
        };
    }
    let presented = query_token(req).or_else(|| cookie_token(req));
    match presented {
        Some(token) => match store.lookup(&token) {
            Some((role, user)) => Ok(Principal {
                user,
                role,
                via: Via::Cookie,
            }),
            None => Err(Denied::Unauthenticated("invalid token".to_owned())),
        },
        None => Err(Denied::Unauthenticated(
            "missing token: send Authorization: Bearer TOKEN, or open the dashboard URL with ?token=TOKEN"
                .to_owned(),
        )),
    }
}

fn identify_proxy(
    header: &HeaderName,
    trusted: &[Cidr],
    admins: &[String],
    req: &Request,
) -> Result<Principal, Denied> {
    let peer = peer_addr(req);
    let from_trusted = peer.is_some_and(|p| trusted.iter().any(|c| c.contains(p.ip())));
    let user = req
        .headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|u| !u.is_empty());
    match (from_trusted, user) {
        (true, Some(user)) => Ok(Principal {
            user: user.to_owned(),
            role: if admins.iter().any(|a| a == user) {
                Role::Admin
            } else {
                Role::Viewer
            },
            via: Via::Proxy,
        }),
        (false, Some(_)) => {
            tracing::warn!(
                "ignoring {header} from untrusted peer {}",
                peer.map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string())
            );
            Err(Denied::Unauthenticated(format!(
                "{header} is only accepted from a trusted proxy"
            )))
        }
        (_, None) => Err(Denied::Unauthenticated(format!(
            "missing {header}: sign in through the reverse proxy"
        ))),
    }
}

/// The TCP peer, when the server was started with connect info.
pub(crate) fn peer_addr(req: &Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a)
}

fn query_token(req: &Request) -> Option<String> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

fn cookie_token(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == TOKEN_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// A valid `?token=` on a GET: set the cookie and redirect to the same URL without it,
/// so the token leaves the address bar and history.
fn token_exchange(auth: &Authenticator, req: &Request) -> Option<Response> {
    if !matches!(auth, Authenticator::Token(_)) {
        return None;
    }
    let token = query_token(req)?;
    let rest: Vec<(String, String)> = form_urlencoded::parse(req.uri().query()?.as_bytes())
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut location = req.uri().path().to_owned();
    if !rest.is_empty() {
        location.push('?');
        location.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(rest)
                .finish(),
        );
    }
    let cookie_safe = token
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'));
    if !cookie_safe {
        return Some(
            Denied::BadRequest("token has characters a cookie cannot hold".to_owned())
                .into_response(),
        );
    }
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    let (Ok(cookie), Ok(location)) = (
        HeaderValue::from_str(&cookie),
        HeaderValue::from_str(&location),
    ) else {
        return Some(
            Denied::BadRequest("cannot build the token redirect".to_owned()).into_response(),
        );
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response.headers_mut().insert(header::LOCATION, location);
    Some(response)
}
