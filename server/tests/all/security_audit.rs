//! The audit log (BAD-INPUTS §3.14): every state-changing request, refused ones
//! included (by Host check, rate limit or authentication), is one `audit` event with user, method, path and status, and no token ever
//! appears in it. It installs the global subscriber, and the server throttles 429 audit
//! lines through a process-wide static, so other tests in the process would add or
//! swallow lines: the test re-runs itself alone in a child process of the test binary
//! (`STRATA_TEST_ALONE` set), which does the checking.

use crate::http_support::fake;
use crate::security_support::kit;

use axum::http::StatusCode;
use fake::{digest, send, FakeBackend};
use kit::{req, ADMIN_TOKEN, VIEWER_TOKEN};
use server::http::{router, AppState, AuthMode, Policy, SecurityConfig};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn state_changing_requests_are_audited_without_secrets() {
    if std::env::var_os("STRATA_TEST_ALONE").is_none() {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "security_audit::state_changing_requests_are_audited_without_secrets",
                "--exact",
                "--test-threads=1",
            ])
            .env("STRATA_TEST_ALONE", "1")
            .output()
            .expect("run the test binary as a child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "the test alone in a child process failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("audit=info"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("only subscriber");

    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        file.path(),
        format!("viewer {VIEWER_TOKEN} vera\nadmin {ADMIN_TOKEN} ada\n"),
    )
    .expect("write tokens");
    let config = SecurityConfig {
        auth: AuthMode::Token,
        tokens_file: Some(file.path().to_owned()),
        ..SecurityConfig::default()
    };
    let policy = Policy::from_config(&config).expect("policy");
    let app = router(
        AppState::builder(Arc::new(FakeBackend::up()))
            .security(policy)
            .build(),
    );
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let uri = format!("/api/v1/images/{}/analysis", digest(1).hex());
    let (status, _, _) = send(&app, req("POST", &uri, &[("authorization", &bearer)])).await;
    assert!(status.is_success());
    let (status, _, _) = send(
        &app,
        req(
            "POST",
            &format!("{uri}?token={VIEWER_TOKEN}"),
            &[("cookie", "strata_token=bad-cookie-value-xyz")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, _, _) = send(
        &app,
        req("GET", "/api/v1/health", &[("authorization", &bearer)]),
    )
    .await;

    // Refused before authentication: a foreign Host (DNS rebinding) and a rate limit.
    let rebound = axum::http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("host", "evil.example")
        .body(axum::body::Body::empty())
        .expect("request builds");
    let (status, _, _) = send(&app, rebound).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let strict = SecurityConfig {
        rate_limit: 1,
        rate_burst: 1,
        ..SecurityConfig::default()
    };
    let limited = router(
        AppState::builder(Arc::new(FakeBackend::up()))
            .security(Policy::from_config(&strict).expect("policy"))
            .build(),
    );
    let (first, _, _) = send(&limited, req("POST", &uri, &[])).await;
    assert!(first.is_success(), "{first}");
    // A flood of refused requests is one line a second, not one line each.
    for _ in 0..50 {
        let (status, _, _) = send(&limited, req("POST", &uri, &[])).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    // Two 429 lines at most if the flood straddled a second boundary.
    assert!(lines.len() == 5 || lines.len() == 6, "{log}");
    assert!(
        lines[2].contains("status=403"),
        "host refusal audited: {log}"
    );
    assert!(lines[4].contains("status=429"), "rate limit audited: {log}");
    assert!(lines[0].contains("user=\"ada\""), "{log}");
    assert!(lines[0].contains("method=POST"), "{log}");
    assert!(lines[0].contains(&format!("path=\"{uri}\"")), "{log}");
    assert!(lines[0].contains("status=20"), "{log}");
    assert!(lines[1].contains("user=\"-\""), "{log}");
    assert!(lines[1].contains("status=401"), "{log}");
    for secret in [ADMIN_TOKEN, VIEWER_TOKEN, "bad-cookie-value-xyz"] {
        assert!(!log.contains(secret), "secret logged: {log}");
    }
    assert!(!log.contains("/health"), "GET is not audited: {log}");
}
