//! The listen policy and shutdown of a real `strata serve` process: a non-loopback
//! address without authentication is refused with one line and exit code 2, incomplete
//! auth settings are refused the same way, a token-protected server on all interfaces
//! answers 401 without a token and 200 with one, `--auth token` without a file prints a
//! URL with a fresh random token, and SIGTERM stops the server cleanly.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "serve-test-token-0123456789";

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

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run strata")
}

fn one_line_error(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn non_loopback_without_auth_and_incomplete_auth_are_refused() {
    let port = free_port().to_string();
    let any = format!("0.0.0.0:{port}");
    let err = one_line_error(&strata(&["serve", "--listen", &any, "--no-cache"]));
    assert!(
        err.starts_with(&format!(
            "strata: refusing to listen on non-loopback address {any} without authentication"
        )),
        "{err}"
    );
    assert!(err.contains("--auth token"), "{err}");
    let err = one_line_error(&strata(&[
        "serve",
        "--listen",
        "[::]:0",
        "--auth",
        "none",
        "--no-cache",
    ]));
    assert!(err.contains("refusing to listen"), "{err}");
    let err = one_line_error(&strata(&[
        "serve",
        "--listen",
        &any,
        "--auth",
        "proxy-header",
    ]));
    assert!(err.contains("needs at least one --trusted-proxy"), "{err}");
    let err = one_line_error(&strata(&[
        "serve",
        "--auth",
        "token",
        "--tokens-file",
        "/nonexistent/tokens",
    ]));
    assert!(
        err.contains("cannot read tokens file /nonexistent/tokens"),
        "{err}"
    );
    let bad = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(bad.path(), "owner abcdefghijklmnopqrstuvwxyz\n").expect("write");
    let path = bad.path().to_string_lossy().into_owned();
    let err = one_line_error(&strata(&[
        "serve",
        "--auth",
        "token",
        "--tokens-file",
        &path,
    ]));
    assert!(err.contains("line 1: unknown role \"owner\""), "{err}");
    assert!(
        !err.contains("abcdefghijklmnopqrstuvwxyz"),
        "token echoed: {err}"
    );
}

fn http_get(port: u16, path: &str, extra: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn token_server_on_all_interfaces_authenticates_and_stops_on_sigterm() {
    let tokens = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(tokens.path(), format!("viewer {TOKEN} ci\n")).expect("write");
    let port = free_port();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "serve",
                "--listen",
                &format!("0.0.0.0:{port}"),
                "--auth",
                "token",
                "--tokens-file",
                &tokens.path().to_string_lossy(),
                "--no-cache",
            ])
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn strata serve"),
    );
    let start = Instant::now();
    let anonymous = loop {
        if let Some(r) = http_get(port, "/api/v1/health", "") {
            break r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    assert!(anonymous.contains("\"unauthenticated\""), "{anonymous}");
    let wrong = http_get(
        port,
        "/api/v1/health",
        "Authorization: Bearer nope-nope-nope-nope\r\n",
    )
    .expect("answer");
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let ok = http_get(
        port,
        "/api/v1/health",
        &format!("Authorization: Bearer {TOKEN}\r\n"),
    )
    .expect("answer");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let exchange = http_get(port, &format!("/?token={TOKEN}"), "").expect("answer");
    assert!(exchange.starts_with("HTTP/1.1 303"), "{exchange}");
    assert!(
        exchange
            .to_ascii_lowercase()
            .contains("set-cookie: strata_token="),
        "{exchange}"
    );

    let pid = server.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let stop = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            stop.elapsed() < Duration::from_secs(30),
            "server still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        http_get(port, "/api/v1/health", "").is_none(),
        "listener still open after shutdown"
    );
}

#[test]
fn generated_startup_token_is_printed_once_as_a_url_and_works() {
    use std::io::BufRead;
    let port = free_port();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--auth",
                "token",
                "--no-cache",
            ])
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn strata serve"),
    );
    let stdout = server.0.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("open "))
        .expect("a line with the URL");
    let prefix = format!("open http://127.0.0.1:{port}/?token=");
    assert!(url.starts_with(&prefix), "{url}");
    let token = &url[prefix.len()..];
    assert_eq!(token.len(), 32, "128 bits as hex: {url}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
    let anonymous = http_get(port, "/api/v1/health", "").expect("answer");
    assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
    let ok = http_get(
        port,
        "/api/v1/health",
        &format!("Cookie: strata_token={token}\r\n"),
    )
    .expect("answer");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}
