//! A real `strata serve` process for fault tests, with its own cache directory and
//! TMPDIR (so leftovers can be counted), listening on a port the kernel picks, plus a
//! tiny blocking HTTP/1.1 client for its API (plain requests, job polling, SSE).
//!

//! Drop kills the process and removes its directories.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `strata serve`.
pub struct Strata {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not json ({e}): {} {}", self.status, self.body))
    }
}

impl Strata {
    /// Starts `strata --docker-host HOST --cache-dir <private> GLOBAL... serve
    /// --rate-limit 0 SERVE...` with TMPDIR pointing at a private empty directory, and
    /// waits until it listens.
    pub fn start(host: &str, global: &[&str], serve: &[&str]) -> Strata {
        let dir = tempfile::Builder::new()
            .prefix("strata-fault-")
            .tempdir()
            .expect("tempdir");
        std::fs::create_dir_all(dir.path().join("tmp")).expect("create tmp");
        let log = std::fs::File::create(dir.path().join("strata.log")).expect("create log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["--docker-host", host, "--cache-dir"])
            .arg(dir.path().join("cache"))
            .args(global)
            // 20 polling clients on one address would trip the per-client rate limit.
            .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
            .args(serve)
            .env("TMPDIR", dir.path().join("tmp"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn strata serve");
        let stdout = child.stdout.take().expect("strata stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.strip_prefix("listening on http://127.0.0.1:") {
                        let port = rest.trim_end_matches('/').parse::<u16>().ok();
                        let _ = tx.send(port);
                        sent = true;
                    }
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(p)) => p,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "strata serve did not start: {}",
                    std::fs::read_to_string(dir.path().join("strata.log")).unwrap_or_default()
                );
            }
        };
        Strata { child, port, dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit; its status, or `None`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let t = std::time::Instant::now();
        while t.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Open file descriptors of the server process.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Files (not directories: the upload spool directory lives there from the start)
    /// anywhere under the server's TMPDIR.
    pub fn tmp_files(&self) -> Vec<String> {
        files_under(&self.dir.path().join("tmp"))
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// Files anywhere under the cache's `layers/` directory.
    pub fn cached_layer_files(&self) -> Vec<String> {
        files_under(&self.cache_dir().join("layers"))
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("strata.log")).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path)
    }

    pub fn post(&self, path: &str) -> Resp {
        self.request("POST", path)
    }

    /// One request on a fresh connection (`Connection: close`); panics after 60 s.
    pub fn request(&self, method: &str, path: &str) -> Resp {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to strata");
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("set timeout");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            self.port
        )
        .expect("send request");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read response");
        parse_response(&raw)
    }

    /// `POST /api/v1/images/{id}/analysis` → the job ID.
    pub fn analyse(&self, image_id: &str) -> String {
        let r = self.post(&format!("/api/v1/images/{image_id}/analysis"));
        assert_eq!(r.status, 202, "{}", r.body);
        r.json()["id"].as_str().expect("job id").to_owned()
    }

    pub fn job(&self, job: &str) -> Value {
        let r = self.get(&format!("/api/v1/jobs/{job}"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// Polls the job until it is no longer running.
    pub fn wait_job(&self, job: &str, timeout: Duration) -> Value {
        let t = Instant::now();
        loop {
            let v = self.job(job);
            if v["state"] != "running" {
                return v;
            }
            assert!(
                t.elapsed() < timeout,
                "job {job} still running after {timeout:?}: {v}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls the job until it is exporting and has read at least `bytes` bytes.
    pub fn wait_exporting(&self, job: &str, bytes: u64, timeout: Duration) -> Value {
        let t = Instant::now();
        loop {
            let v = self.job(job);
            assert_eq!(v["state"], "running", "job ended before the fault: {v}");
            if v["progress"]["bytes"].as_u64().unwrap_or(0) >= bytes {
                return v;
            }
            assert!(
                t.elapsed() < timeout,
                "job {job} did not reach {bytes} bytes in {timeout:?}: {v}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Reads `/api/v1/jobs/{job}/events` until a `done` or `failed` event; returns the
    /// (event, data) pairs.
    pub fn events(&self, job: &str, timeout: Duration) -> Vec<(String, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to strata");
        s.set_read_timeout(Some(timeout)).expect("set timeout");
        write!(
            s,
            "GET /api/v1/jobs/{job}/events HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send request");
        let mut out = Vec::new();
        let mut event = String::new();
        let t = Instant::now();
        for line in BufReader::new(s).lines() {
            let line = line.expect("read events");
            if let Some(e) = line.strip_prefix("event:") {
                event = e.trim().to_owned();
            } else if let Some(d) = line.strip_prefix("data:") {
                out.push((event.clone(), d.trim().to_owned()));
                if matches!(event.as_str(), "done" | "failed" | "cancelled") {
                    break;
                }
            }
            assert!(t.elapsed() < timeout, "events did not end: {out:?}");
        }
        out
    }
}

impl Drop for Strata {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every non-directory entry below `dir` (iteratively).
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

fn parse_response(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 || data.len() < end + 2 + size {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
}
