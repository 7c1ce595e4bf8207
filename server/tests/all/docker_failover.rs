//! Fail-over between the holders of an image: two named hosts reach the system dockerd,
//! the first through a proxy that the test cuts once the list has seen the image on both.
//! The detail, the analysis and the file contents then come through the second host, the
//! detail names it first, and health shows the cut host down.

use crate::docker_support::cut_proxy::CutProxy;
use crate::docker_support::image::TestImage;
use crate::http_support::strata_proc::StrataProc;
use serde_json::Value;

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
    let (status, list) = server.get_json("/api/v1/images");
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
    let (status, detail) = server.get_json(&detail_path);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["summary"]["host"], "first", "{detail}");

    proxy.cut();

    let (status, detail) = server.get_json(&detail_path);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["summary"]["host"], "second", "{detail}");
    assert_eq!(detail["hosts"], serde_json::json!(["second", "first"]));
    let summary = server.analysis(&image.id);
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
    let (_, health) = server.get_json("/api/v1/health");
    let hosts = health["docker"]["hosts"].as_array().unwrap();
    assert_eq!(
        (&hosts[0]["up"], &hosts[1]["up"]),
        (&Value::Bool(false), &Value::Bool(true)),
        "{health}"
    );
}
