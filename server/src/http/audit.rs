//! The audit log: one `tracing` event with target `audit` for every state-changing
//! request (anything but GET, HEAD and OPTIONS), including refused ones, naming the user,
//! method, path and status. The query string is left out (it can hold a token) and no
//! header is ever logged; user and path are Debug-formatted so control characters are
//! escaped rather than forging log lines. Requests refused by the rate limit (429) are
//! logged at most once a second; the next such line counts the ones left out
//! (`suppressed=N`), so a flood cannot flood the log.

use super::auth::Principal;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The second of the last logged 429, and how many were left out since.
static LAST_RATE_LIMITED: AtomicU64 = AtomicU64::new(0);
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Whether to log this 429 now; `Some(n)` with the number left out before it.
fn rate_limited_slot() -> Option<u64> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_RATE_LIMITED.load(Ordering::Relaxed);
    if last == now
        || LAST_RATE_LIMITED
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    Some(SUPPRESSED.swap(0, Ordering::Relaxed))
}

/// The `tracing` target of audit events (enable with `STRATA_LOG=audit=info`).
pub const AUDIT_TARGET: &str = "audit";

/// Middleware: logs state-changing requests after they are answered.
pub(crate) async fn record(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let user = response
        .extensions()
        .get::<Principal>()
        .map_or("-", |p| p.user.as_str());
    if response.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
        if let Some(suppressed) = rate_limited_slot() {
            tracing::info!(
                target: AUDIT_TARGET,
                user = ?user,
                method = %method,
                path = ?path,
                status = 429,
                suppressed,
                "audit"
            );
        }
        return response;
    }
    tracing::info!(
        target: AUDIT_TARGET,
        user = ?user,
        method = %method,
        path = ?path,
        status = response.status().as_u16(),
        "audit"
    );
    response
}
