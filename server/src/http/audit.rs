//! The audit log: one `tracing` event with target `audit` for every state-changing
//! request (anything but GET, HEAD and OPTIONS), including refused ones, naming the user,
//! method, path and status. The query string is left out (it can hold a token) and no
//! header is ever logged; user and path are Debug-formatted so control characters are
//! escaped rather than forging log lines.

use super::auth::Principal;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

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
