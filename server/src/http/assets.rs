//! The built UI: static files from the dist directory, `index.html` for client-side
//! routes (SPA fallback), and a plain hint page when no UI was built.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

/// Environment variable naming the dist directory.
pub const DIST_DIR_ENV: &str = "STRATA_DIST_DIR";

/// Finds the built UI: `explicit`, then `$STRATA_DIST_DIR`, then a `dist/` holding an
/// `index.html` beside the executable or any of its ancestors (covers
/// `target/release/strata` in the repository), then the same for the working directory,
/// then the workspace this binary was built from.
pub fn find_dist_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os(DIST_DIR_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        roots.push(exe);
    }
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd.join("."));
    }
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("."));
    roots
        .iter()
        .flat_map(|r| r.ancestors().skip(1))
        .map(|dir| dir.join("dist"))
        .find(|dist| dist.join("index.html").is_file())
}

/// The service behind every non-API path.
pub fn service(dist: Option<PathBuf>) -> MethodRouter {
    any(move |req: Request| {
        let dist = dist.clone();
        async move {
            match dist {
                Some(dir) => serve_file_or_index(&dir, req).await,
                None => missing_ui(),
            }
        }
    })
}

async fn serve_file_or_index(dir: &Path, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let looks_like_asset = path
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'));
    let served: Result<_, Infallible> = ServeDir::new(dir).oneshot(req).await;
    let Ok(response) = served;
    if response.status() != StatusCode::NOT_FOUND || looks_like_asset {
        return response.map(Body::new);
    }
    index_html(dir).await
}

async fn index_html(dir: &Path) -> Response {
    match tokio::fs::read(dir.join("index.html")).await {
        Ok(bytes) => {
            let mut r =
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => {
            tracing::warn!("cannot read {}: {e}", dir.join("index.html").display());
            missing_ui()
        }
    }
}

fn missing_ui() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Strata's UI is not built. Run `trunk build --release` in the repository root \
         (it writes dist/), or point --dist-dir / STRATA_DIST_DIR at a built dist directory. \
         The API is available under /api/v1.\n",
    )
        .into_response()
}
