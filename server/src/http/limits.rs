//! Resource limits at the HTTP edge: a per-client token-bucket rate limiter (keyed by the
//! peer IP; `X-Forwarded-For` is believed only from a trusted proxy), the request body
//! limit and timeout, and [`serve`], which stops accepting on SIGTERM/SIGINT and gives
//! in-flight requests [`SHUTDOWN_GRACE`] before returning (the runtime then drops every
//! remaining job task).
//!
//! Export concurrency is capped where exports start, in the engine
//! (`engine::MAX_CONCURRENT_EXPORTS`), not here.

use super::auth::{peer_addr, Cidr, Denied};
use super::security::Policy;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tower::{ServiceBuilder, ServiceExt as _};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// Largest request body accepted (the API takes small JSON bodies only).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Time allowed until a response's headers (streams such as SSE are not cut).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long in-flight requests may run after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Default sustained requests per second per client.
pub const DEFAULT_RATE: u32 = 50;
/// Default burst per client (a UI page load issues a few dozen requests).
pub const DEFAULT_BURST: u32 = 300;
/// Buckets kept before idle (full) ones are dropped.
const MAX_TRACKED_CLIENTS: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets per client IP.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<Option<IpAddr>, Bucket>>,
}

impl RateLimiter {
    /// `per_second` = 0 disables limiting.
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; `Err(seconds)` says when to retry.
    pub fn check(&self, client: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock();
        if buckets.len() >= MAX_TRACKED_CLIENTS {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

/// The client a request is charged to: the peer IP, or, when the peer is a trusted
/// proxy, the right-most `X-Forwarded-For` address that is not itself a trusted proxy.
pub(crate) fn client_ip(req: &Request, trusted: &[Cidr]) -> Option<IpAddr> {
    let peer = peer_addr(req)?.ip();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(*ip))
            .unwrap_or(peer),
    )
}

/// Middleware: 429 with `Retry-After` once a client's bucket is empty.
pub(crate) async fn rate_limit(
    State(policy): State<Arc<Policy>>,
    req: Request,
    next: Next,
) -> Response {
    let client = client_ip(&req, &policy.trusted_proxies);
    match policy.limiter.check(client, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(retry_after) => Denied::RateLimited { retry_after }.into_response(),
    }
}

/// Middleware: the body limit ([`MAX_BODY_BYTES`], 413) and the request timeout
/// ([`REQUEST_TIMEOUT`], 408) of every request but an archive upload, which streams a
/// large body under its own size limit and idle timeout (`super::upload`).
pub(crate) async fn bound_request(req: Request, next: Next) -> Response {
    if super::upload::is_upload_request(&req) {
        return next.run(req).await;
    }
    let bounded = ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .map_request(|r: axum::http::Request<_>| r.map(Body::new))
        .service(next);
    match bounded.oneshot(req).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}

/// Serves `app` on `listener` (with peer addresses for the rate limiter and proxy
/// check) until SIGTERM or SIGINT, then calls `on_signal` (the caller cancels its jobs
/// there, which also ends their event streams) and waits at most [`SHUTDOWN_GRACE`] for
/// open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    on_signal: impl FnOnce() + Send + 'static,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections, {SHUTDOWN_GRACE:?} for open requests");
        on_signal();
        trigger.cancel();
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop.clone().cancelled_owned());
    tokio::select! {
        result = server => result,
        () = async {
            stop.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("open requests did not finish within {SHUTDOWN_GRACE:?}; aborting them");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    r = tokio::signal::ctrl_c() => if let Err(e) = r {
                        tracing::warn!("cannot listen for ctrl-c: {e}");
                        let _ = term.recv().await;
                    },
                }
                return;
            }
            Err(e) => tracing::warn!("cannot listen for SIGTERM: {e}"),
        }
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!("cannot listen for ctrl-c: {e}");
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_refills() {
        let limiter = RateLimiter::new(2, 3);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(a, t0), Ok(()));
        }
        assert_eq!(limiter.check(a, t0), Err(1));
        assert_eq!(limiter.check(b, t0), Ok(()), "other clients unaffected");
        assert_eq!(limiter.check(a, t0 + Duration::from_millis(600)), Ok(()));
        assert!(limiter.check(a, t0 + Duration::from_millis(600)).is_err());
        let off = RateLimiter::new(0, 0);
        for _ in 0..1000 {
            assert_eq!(off.check(a, t0), Ok(()));
        }
    }
}
