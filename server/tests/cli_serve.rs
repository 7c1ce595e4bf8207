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
