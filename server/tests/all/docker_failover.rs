//! Fail-over between the holders of an image: two named hosts reach the system dockerd,
//! the first through a proxy that the test cuts once the list has seen the image on both.
//! The detail, the analysis and the file contents then come through the second host, the
//! detail names it first, and health shows the cut host down.

use crate::docker_support::cut_proxy::CutProxy;
use crate::docker_support::image::TestImage;
use crate::http_support::strata_proc::{split, StrataProc};
use serde_json::Value;
use std::time::{Duration, Instant};

fn get_json(server: &StrataProc, path: &str) -> (u16, Value) {
    let (status, body) = server.get(path);
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// The whole raw response to a GET (the body may be binary).
fn raw_get(server: &StrataProc, path: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        server.port
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn a_holder_that_stops_answering_hands_over_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = CutProxy::start(&dir.path().join("proxy.sock"));
    let image = TestImage::busybox_with_waste("failover");
    let server = StrataProc::start(&[
        "--docker",
        &format!("first=unix://{}", proxy.path.display()),
        "--docker",
        "second=unix:///var/run/docker.sock",
    ]);
    let (status, list) = get_json(&server, "/api/v1/images");
    assert_eq!(status, 200, "{list}");
    let mut holders: Vec<&str> = list["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == image.id.as_str())
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    holders.sort_unstable();
    assert_eq!(holders, ["first", "second"], "{list}");
    let detail_path = format!("/api/v1/images/{}", image.id);
    let (status, detail) = get_json(&server, &detail_path);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["summary"]["host"], "first", "{detail}");

    proxy.cut();

    let (status, detail) = get_json(&server, &detail_path);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["summary"]["host"], "second", "{detail}");
    assert_eq!(detail["hosts"], serde_json::json!(["second", "first"]));
    let analysis = format!("{detail_path}/analysis");
    let (status, body) = split(&server.post(&analysis, "application/json", b""));
    assert!(status == 200 || status == 202, "{status} {body}");
    let started = Instant::now();
    let summary = loop {
        let (status, body) = get_json(&server, &analysis);
        if status == 200 {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "analysis did not finish: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(summary["reclaimable_bytes"], 300 * 1024, "{summary}");
    // /bin/busybox is stored in layer 0.
    let file = raw_get(
        &server,
        &format!("{detail_path}/layers/0/file?path=%2Fbin%2Fbusybox"),
    );
    let busybox = std::fs::read("/bin/busybox").unwrap();
    assert!(
        file.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&file[..200.min(file.len())])
    );
    assert!(
        file.ends_with(&busybox),
        "the file's bytes, read through the second host"
    );
    let (_, health) = get_json(&server, "/api/v1/health");
    let hosts = health["docker"]["hosts"].as_array().unwrap();
    assert_eq!(
        (&hosts[0]["up"], &hosts[1]["up"]),
        (&Value::Bool(false), &Value::Bool(true)),
        "{health}"
    );
}
