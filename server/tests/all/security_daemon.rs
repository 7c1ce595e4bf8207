//! Traversal and injection image names sent to the HTTP API (BAD-INPUTS §1 and L19):
//! every one is answered 4xx (400 when it reaches an image route) and no request for it
//! reaches the Engine API. The daemon is a fake on a Unix socket that records each
//! request line, so "no daemon request" is observed, not assumed.

use crate::http_support::fake;

use axum::http::StatusCode;
use fake::{request, send};
use server::backend::DaemonBackend;
use server::http::{router, AppState};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// Answers `/_ping`, `/version` and `/images/json`; 404 for everything else. Records paths.
fn fake_daemon(socket: &std::path::Path) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = UnixListener::bind(socket).expect("bind fake daemon");
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(answer(conn, log.clone()));
        }
    });
    seen
}

async fn answer(mut conn: UnixStream, log: Arc<Mutex<Vec<String>>>) {
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
            log.lock().expect("log").push(path.clone());
            let bare = path.split('?').next().unwrap_or_default();
            let bare = bare.strip_prefix("/v1.41").unwrap_or(bare);
            let (status, body) = match bare {
                "/_ping" => ("200 OK", "OK".to_owned()),
                "/version" => (
                    "200 OK",
                    r#"{"ApiVersion":"1.41","Version":"20.10.24","MinAPIVersion":"1.12"}"#
                        .to_owned(),
                ),
                "/images/json" => ("200 OK", "[]".to_owned()),
                _ => ("404 Not Found", r#"{"message":"not found"}"#.to_owned()),
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if conn.write_all(resp.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

#[tokio::test]
async fn traversal_and_injection_names_are_400_with_no_daemon_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("docker.sock");
    let seen = fake_daemon(&socket);
    let backend = DaemonBackend::new(Some(format!("unix://{}", socket.display())), None);
    let app = router(AppState::builder(Arc::new(backend)).build());

    // Positive control: the fake daemon is reachable through this router.
    let _ = send(&app, request("GET", "/api/v1/images")).await;
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|p| p.contains("/images/json")),
        "fake daemon not reached: {:?}",
        seen.lock().unwrap()
    );
    seen.lock().unwrap().clear();

    let names = [
        "x%2F..%2F..%2Fcontainers%2Fjson",
        "a%3Fforce=true",
        "%2e%2e%2Fx",
        "%2e%2e",
        "alpine%3Fforce%3Dtrue%26v%3Dtrue",
        "sha256:..%2F..%2Fcontainers%2Fabc",
        "busybox%23frag",
        "x%20y",
    ];
    for name in names {
        for (method, uri) in [
            ("GET", format!("/api/v1/images/{name}")),
            ("GET", format!("/api/v1/images/{name}/analysis")),
            ("POST", format!("/api/v1/images/{name}/analysis")),
            ("GET", format!("/api/v1/images/{name}/layers/0/tree")),
        ] {
            let (status, _, body) = send(&app, request(method, &uri)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {uri}: {body}");
        }
    }
    // Unencoded traversal never even matches an image route.
    for uri in [
        "/api/v1/images/x/../../containers/json",
        "/api/v1/images/../containers/json",
        "/api/v1/images/a?force=true",
    ] {
        let (status, _, body) = send(&app, request("GET", uri)).await;
        assert!(status.is_client_error(), "{uri}: {status} {body}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let seen = seen.lock().unwrap().clone();
    for path in &seen {
        let lower = path.to_ascii_lowercase();
        for bad in [
            "containers",
            "force",
            "..",
            "%2e",
            "%2f",
            "frag",
            "/exec",
            "/get",
        ] {
            assert!(!lower.contains(bad), "daemon saw {path:?}: {seen:?}");
        }
        assert!(
            !lower.contains("/images/") || lower.contains("/images/json"),
            "an image was addressed by a hostile name: {path:?}"
        );
    }
}
