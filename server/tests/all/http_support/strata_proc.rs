//! A real `strata serve` process for tests that need the whole stack (socket, hyper,
//! every layer): started on a free loopback port with no daemon, killed on drop, and a

//! raw HTTP/1.1 client that can stop sending mid-body.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `strata serve`, killed on drop.
pub struct StrataProc {
    child: Child,
    pub port: u16,
    /// The server's stderr (its log, the audit lines included).
    log: tempfile::NamedTempFile,
}

impl Drop for StrataProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StrataProc {
    /// `strata serve --listen 127.0.0.1:PORT --no-cache ARGS...` once it answers.
    pub fn start(args: &[&str]) -> StrataProc {
        Self::start_with_env(args, &[])
    }

    /// [`StrataProc::start`] with more environment variables (e.g. a `PATH`).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> StrataProc {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--no-cache",
            ])
            .args(args)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("log file"))
            .spawn()
            .expect("strata starts");
        let server = StrataProc { child, port, log };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "strata did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// What the server has written to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// [`StrataProc::get`] of a JSON answer (a body that is not JSON becomes a string).
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path);
        let value = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
        (status, value)
    }

    /// Starts the analysis of image `id` and waits (at most 60 s) for its summary.
    pub fn analysis(&self, id: &str) -> serde_json::Value {
        let path = format!("/api/v1/images/{id}/analysis");
        let (status, body) = split(&self.post(&path, "application/json", b""));
        assert!(status == 200 || status == 202, "{status} {body}");
        let started = Instant::now();
        loop {
            let (status, body) = self.get_json(&path);
            if status == 200 {
                return body;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "analysis did not finish: {body}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Opens a connection and sends a POST's head (with `Content-Length: declared`).
    pub fn post_head(&self, path: &str, content_type: &str, declared: usize) -> TcpStream {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send head");
        s
    }

    /// Sends a whole POST and returns the raw response.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> String {
        let mut s = self.post_head(path, content_type, body.len());
        s.write_all(body).expect("send body");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read response");
        out
    }

    /// Sends a GET and returns the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read timeout");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send request");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read response");
        split(&out)
    }
}

/// `(status, body)` of a raw HTTP/1.1 response (chunked bodies are joined).
pub fn split(raw: &str) -> (u16, String) {
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return (status, body.to_owned());
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    (status, out)
}
