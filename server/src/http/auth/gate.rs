//! The write gate. Write operations (delete, tag, prune, pull, …) do not exist unless
//! the server runs with `--allow-write`, and then only an admin may call them. Every such
//! route must be added through [`write_gate`]; handlers that want a second check call
//! [`may_write`].

use super::{Denied, Principal, Role};
use crate::http::security::Policy;
use crate::http::state::AppState;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// Returns `routes` guarded by the admin check when writes are allowed, and an empty
/// router (so those paths answer 404, or 405 where a read route shares the path) when not.
pub fn write_gate(state: &AppState, routes: Router<AppState>) -> Router<AppState> {
    if !state.security.allow_write {
        return Router::new();
    }
    routes.layer(middleware::from_fn(require_writer))
}

/// Whether `principal` may perform a write under `policy`.
pub fn may_write(policy: &Policy, principal: Option<&Principal>) -> Result<(), Denied> {
    if !policy.allow_write {
        return Err(Denied::Forbidden(
            "this server is read-only; start it with --allow-write".to_owned(),
        ));
    }
    match principal {
        Some(p) if p.role >= Role::Admin => Ok(()),
        Some(p) => Err(Denied::Forbidden(format!(
            "user {} has role {}; writes need admin",
            p.user,
            p.role.as_str()
        ))),
        None => Err(Denied::Unauthenticated("no authenticated user".to_owned())),
    }
}

async fn require_writer(req: Request, next: Next) -> Response {
    match req.extensions().get::<Principal>() {
        Some(p) if p.role >= Role::Admin => next.run(req).await,
        Some(p) => Denied::Forbidden(format!(
            "user {} has role {}; writes need admin",
            p.user,
            p.role.as_str()
        ))
        .into_response(),
        None => Denied::Unauthenticated("no authenticated user".to_owned()).into_response(),
    }
}
