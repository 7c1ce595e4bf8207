//! `strata serve` (and bare `strata`) start the HTTP server from the command line; a busy
//! port or a bad SOURCE is a one-line error with exit code 2.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn wait_for(port: u16, path: &str) -> String {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(r) = get(port, path) {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server on port {port} did not answer");
}

#[test]
fn serve_answers_health() {
    let port = free_port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--no-cache",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn strata serve"),
    );
    let resp = wait_for(port, "/api/v1/health");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"docker\""), "{resp}");
}

#[test]
fn a_busy_port_and_a_bad_source_are_one_line_errors() {
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["serve", "--listen", &addr, "--no-cache"])
        .output()
        .expect("run strata");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("strata: cannot listen on {addr}")),
        "{err}"
    );

    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:1",
            "x/../../containers/json",
        ])
        .output()
        .expect("run strata");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("\"..\""), "{err}");
}

fn get_with_host(port: u16, path: &str, host: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn serve_flags_dist_dir_allowed_host_and_sources() {
    use app::testkit::{ImageBuilder, LayerBuilder};
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("ui");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<p>ui from --dist-dir</p>").unwrap();
    let img = ImageBuilder::new()
        .layer("COPY x /x", &LayerBuilder::new().file("x", b"12345"))
        .tag("cli-source:1");
    let archive = dir.path().join("img.tar");
    std::fs::write(&archive, img.docker_save()).unwrap();
    let port = free_port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--no-cache",
                "--docker-host",
                "unix:///nonexistent/docker.sock",
                "--dist-dir",
                dist.to_str().unwrap(),
                "--allowed-host",
                "dash.example",
                "--allowed-host",
                "other.example",
                archive.to_str().unwrap(),
            ])
            .env("STRATA_DIST_DIR", "/nonexistent/dist")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn strata serve"),
    );
    wait_for(port, "/api/v1/health");
    let page = get_with_host(port, "/some/spa/route", "127.0.0.1");
    assert!(page.contains("ui from --dist-dir"), "{page}");
    for host in ["dash.example", "other.example:8080"] {
        let r = get_with_host(port, "/api/v1/health", host);
        assert!(r.starts_with("HTTP/1.1 200"), "{host}: {r}");
    }
    let r = get_with_host(port, "/api/v1/health", "evil.example");
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    let list = get_with_host(port, "/api/v1/images", "127.0.0.1");
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    assert!(list.contains(&img.image_id().to_string()), "{list}");
    assert!(list.contains("cli-source:1"), "{list}");
    assert!(
        list.contains(&format!("\"source\":\"{}\"", archive.display())),
        "{list}"
    );
}

#[test]
fn bad_serve_flags_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.tar"), b"not an archive").unwrap();
    let cases: [(&[&str], &str); 9] = [
        (
            &["--dist-dir", "/nonexistent/dist"],
            "--dist-dir /nonexistent/dist: no index.html",
        ),
        (
            &["--allowed-host", "http://x/"],
            "--allowed-host \"http://x/\" is not a host name",
        ),
        (
            &["docker-archive:junk.tar"],
            "cannot open docker-archive:junk.tar: ",
        ),
        (
            &["--docker", "a=unix:///x", "--docker", "a=unix:///y"],
            "--docker a: the name is given twice",
        ),
        (
            &["--docker", "bad name=unix:///x"],
            "--docker \"bad name\": a host name is 1 to 64 letters",
        ),
        (
            &["--docker", "a=ssh://u:pw@h"],
            "--docker a: cannot use Docker host ssh://u:***@h: give the user without a password",
        ),
        (
            &["--docker", "a=ftp://h"],
            "--docker a: cannot use Docker host ftp://h: unsupported scheme",
        ),
        (
            &["--docker", "a=unix:///x", "--docker-cert-path", "b=/tmp"],
            "--docker-cert-path b: no --docker b=URL is given",
        ),
        (
            &[
                "--docker",
                "a=https://h:2376",
                "--docker-cert-path",
                "a=no-such-certs",
            ],
            "--docker-cert-path a: no-such-certs is not a directory",
        ),
    ];
    for (args, want) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["serve", "--listen", "127.0.0.1:0", "--no-cache"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run strata");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with(&format!("strata: {want}")),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn docker_host_and_named_hosts_do_not_mix() {
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "--docker-host",
            "unix:///x",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--docker", "a=unix:///y"])
        .output()
        .expect("run strata");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("strata: --docker-host and --docker both name Docker hosts"),
        "{err}"
    );
}
