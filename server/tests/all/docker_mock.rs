//! A fake daemon on a Unix socket. It records every request path, proving that user text
//! reaches the Engine API only as a validated reference resolved to a full image ID
//! (BAD-INPUTS §1, "in-process enforcement") and that injection attempts produce no
//! request at all; and it misbehaves during exports (a stall, a JSON error after HTTP 200
//! — BAD-INPUTS A11) to prove those fail cleanly and leave nothing in the cache.

use server::engine::{Engine, EngineConfig, EngineError, LoadOptions};
use server::progress::NoProgress;
use server::source::docker::DockerError;
use server::source::Source;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

const ID_HEX: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIFF_HEX: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// How the fake answers `GET /images/{id}/get`.
#[derive(Clone, Copy)]
enum Export {
    /// One chunk of tar, then silence.
    Stall,
    /// Part of a tar, then moby's JSON error document, then a clean end (HTTP 200).
    AbortedByDaemon,
}

/// Serves canned answers and records the path of each request.
fn fake_daemon(socket: &std::path::Path, export: Export) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = UnixListener::bind(socket).expect("bind fake daemon");
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(serve_conn(conn, log.clone(), export));
        }
    });
    seen
}

async fn serve_conn(mut conn: UnixStream, log: Arc<Mutex<Vec<String>>>, export: Export) {
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
            if bare.ends_with("/get") {
                send_export(&mut conn, export).await;
                return;
            }
            let (status, body) = answer(bare);
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

fn answer(path: &str) -> (&'static str, String) {
    let path = path.strip_prefix("/v1.41").unwrap_or(path);
    match path {
        "/version" => (
            "200 OK",
            r#"{"ApiVersion":"1.41","Version":"20.10.24","MinAPIVersion":"1.12"}"#.into(),
        ),
        "/info" => (
            "200 OK",
            r#"{"DockerRootDir":"/nonexistent/docker","Driver":"overlay2"}"#.into(),
        ),
        "/images/json" => (
            "200 OK",
            format!(
                r#"[{{"Id":"sha256:{ID_HEX}","ParentId":"","RepoTags":["strata-test/x:1"],"RepoDigests":null,"Created":1,"Size":1,"SharedSize":-1,"Labels":null,"Containers":-1}}]"#
            ),
        ),
        p if p == format!("/images/sha256:{ID_HEX}/json") => (
            "200 OK",
            format!(
                r#"{{"Id":"sha256:{ID_HEX}","RepoTags":["strata-test/x:1"],"Size":4096,"RootFS":{{"Type":"layers","Layers":["sha256:{DIFF_HEX}"]}}}}"#
            ),
        ),
        _ => ("404 Not Found", r#"{"message":"no such image"}"#.into()),
    }
}

/// The first 1 KiB of a tar holding one member (`layer.tar` of 4 KiB of zeros).
fn tar_start() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(4096);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "0123/layer.tar", &[0u8; 4096][..])
        .expect("tar");
    let mut v = b.into_inner().expect("tar");
    v.truncate(1024);
    v
}

async fn send_export(conn: &mut UnixStream, export: Export) {
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut out = head.as_bytes().to_vec();
    let mut chunk = |data: &[u8]| {
        out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    };
    chunk(&tar_start());
    match export {
        Export::Stall => {
            let _ = conn.write_all(&out).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Export::AbortedByDaemon => {
            chunk(br#"{"errorDetail":{"message":"reference does not exist"},"error":"reference does not exist"}"#);
            out.extend_from_slice(b"0\r\n\r\n");
            let _ = conn.write_all(&out).await;
        }
    }
}

fn engine_for(socket: &std::path::Path, cache: Option<&std::path::Path>) -> Engine {
    Engine::new(EngineConfig {
        docker_host: Some(format!("unix://{}", socket.display())),
        cache_dir: cache.map(|c| c.to_owned()),
        export_idle_timeout: Duration::from_millis(500),
        ..EngineConfig::default()
    })
}

async fn load(engine: &Engine, s: &str) -> Result<server::engine::Loaded, EngineError> {
    let source = Source::parse(s)?;
    engine
        .load(
            &source,
            &LoadOptions::default(),
            Arc::new(NoProgress),
            CancellationToken::new(),
        )
        .await
}

fn cached_files(dir: &std::path::Path) -> usize {
    let v = server::cache::FORMAT_VERSION;
    [format!("layers/v{v}"), format!("configs/v{v}")]
        .iter()
        .map(|d| {
            std::fs::read_dir(dir.join(d))
                .map(|r| r.count())
                .unwrap_or(0)
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_ids_reach_the_daemon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("docker.sock");
    let seen = fake_daemon(&socket, Export::AbortedByDaemon);
    let engine = engine_for(&socket, None);

    for bad in [
        "x/../../containers/json",
        "a?force=true",
        "%2e%2e/x",
        "docker:a#b",
        "docker:a b",
    ] {
        let r = load(&engine, bad).await;
        assert!(matches!(r, Err(EngineError::Source(_))), "{bad}: {r:?}");
    }
    assert!(seen.lock().expect("log").is_empty(), "{:?}", seen.lock());

    // A valid name is resolved from the list; only its full ID goes into a path.
    let _ = load(&engine, "strata-test/x:1").await;
    let r = load(&engine, "strata-test/not-listed:2").await;
    assert!(
        matches!(r, Err(EngineError::Docker(DockerError::NotFound(_)))),
        "{r:?}"
    );
    let paths = seen.lock().expect("log").clone();
    for p in &paths {
        // bollard 0.21 drops its `/v1.xx` prefix (Url::join with an absolute path);
        // accept either form.
        let bare = p.split('?').next().unwrap_or_default();
        let bare = bare.strip_prefix("/v1.41").unwrap_or(bare);
        let allowed = ["/version", "/info", "/images/json"].contains(&bare)
            || bare == format!("/images/sha256:{ID_HEX}/json")
            || bare == format!("/images/sha256:{ID_HEX}/get");
        assert!(allowed, "unexpected request {p} in {paths:?}");
        assert!(!p.contains("strata-test"), "a name reached a path: {p}");
    }
    assert!(
        paths
            .iter()
            .any(|p| p.contains(&format!("sha256:{ID_HEX}/json"))),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_export_fails_and_caches_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("docker.sock");
    let cache = dir.path().join("cache");
    fake_daemon(&socket, Export::Stall);
    let engine = engine_for(&socket, Some(&cache));
    let r = load(&engine, "strata-test/x:1").await;
    let msg = r
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(msg.contains("stalled"), "{r:?}");
    assert_eq!(cached_files(&cache), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_error_after_http_200_is_reported_and_nothing_is_cached() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("docker.sock");
    let cache = dir.path().join("cache");
    fake_daemon(&socket, Export::AbortedByDaemon);
    let engine = engine_for(&socket, Some(&cache));
    let r = load(&engine, "strata-test/x:1").await;
    assert!(
        matches!(
            &r,
            Err(EngineError::Archive { error: app::archive::ArchiveError::ExportAborted(m), .. })
                if m.contains("reference does not exist")
        ),
        "{r:?}"
    );
    assert_eq!(cached_files(&cache), 0);
}
