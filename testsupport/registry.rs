//! Real registries for the tests of `server` and `e2e` (each includes this file with
//! `#[path]`): Debian's `docker-registry` (distribution 2.8) on a
//! free loopback port, started once per test process and shared — one plain, one with
//! htpasswd basic auth behind TLS with a CA made here. Images are pushed with `skopeo`
//! (from `docker save` archives the test kit writes, or OCI layouts with an index), so
//! the tests need no daemon. Each registry stops when the test process exits (a shell
//! watchdog follows the test process).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub const USER: &str = "strata";
pub const PASSWORD: &str = "s3cret-pass";

/// A running registry.
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The CA that signed its certificate (TLS registry only).
    pub ca: Option<PathBuf>,
    /// Whether it wants `USER`/`PASSWORD`.
    pub auth: bool,
    log: PathBuf,
    /// The shell that runs the registry and stops it with this process.
    _watchdog: std::process::Child,
}

static PLAIN: OnceLock<Registry> = OnceLock::new();
static SECURE: OnceLock<Registry> = OnceLock::new();

/// The shared plain-HTTP registry.
pub fn plain() -> &'static Registry {
    PLAIN.get_or_init(|| start(false))
}

/// The shared TLS + basic-auth registry.
pub fn secure() -> &'static Registry {
    SECURE.get_or_init(|| start(true))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA and a certificate for 127.0.0.1 signed by it.
fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca_key, ca) = (dir.join("ca.key"), dir.join("ca.pem"));
    let (key, csr, cert) = (
        dir.join("srv.key"),
        dir.join("srv.csr"),
        dir.join("srv.pem"),
    );
    let ext = dir.join("ext.cnf");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=strata test CA",
            "-keyout",
        ])
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    (ca, cert, key)
}

fn start(secure: bool) -> Registry {
    let dir = std::env::temp_dir().join(format!(
        "strata-registry-{}-{}",
        if secure { "tls" } else { "plain" },
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut http = format!("  addr: {addr}\n");
    let mut auth = String::new();
    let mut ca = None;
    if secure {
        let (ca_pem, cert, key) = make_certs(&dir);
        http.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            cert.display(),
            key.display()
        ));
        let htpasswd = run(Command::new("htpasswd").args(["-Bbn", USER, PASSWORD]));
        std::fs::write(dir.join("htpasswd"), htpasswd).unwrap();
        auth = format!(
            "auth:\n  htpasswd:\n    realm: strata-test\n    path: {}\n",
            dir.join("htpasswd").display()
        );
        ca = Some(ca_pem);
    }
    let config = format!(
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{auth}http:\n{http}",
        dir.join("data").display()
    );
    let cfg = dir.join("config.yml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.join("registry.log");
    // The watchdog stops the registry when this test process is gone.
    let script = r#"docker-registry serve "$1" >"$2" 2>&1 & r=$!
trap 'kill $r 2>/dev/null' EXIT
while kill -0 "$3" 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done"#;
    let watchdog = Command::new("sh")
        .args(["-c", script, "registry-watchdog"])
        .arg(&cfg)
        .arg(&log)
        .arg(std::process::id().to_string())
        .spawn()
        .expect("docker-registry must be installed (scripts/test.sh installs it)");
    let reg = Registry {
        addr,
        ca,
        auth: secure,
        log,
        _watchdog: watchdog,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(&reg.addr).is_ok() {
            return reg;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "docker-registry did not listen on {}: {}",
        reg.addr,
        std::fs::read_to_string(&reg.log).unwrap_or_default()
    );
}

impl Registry {
    fn skopeo_dest(&self) -> Vec<String> {
        let mut a = vec!["--dest-tls-verify=false".to_owned()];
        if self.auth {
            a.push(format!("--dest-creds={USER}:{PASSWORD}"));
        }
        a
    }

    /// Pushes a `docker save` archive as `repo:tag` (skopeo gzips the layers).
    pub fn push_archive(&self, archive: &Path, repo_tag: &str) {
        run(Command::new("skopeo")
            .args(["copy", "--quiet"])
            .args(self.skopeo_dest())
            .arg(format!("docker-archive:{}", archive.display()))
            .arg(format!("docker://{}/{repo_tag}", self.addr)));
    }

    /// Pushes every image of an OCI layout's index (`skopeo copy --all`).
    pub fn push_layout_all(&self, layout: &Path, repo_tag: &str) {
        run(Command::new("skopeo")
            .args(["copy", "--all", "--quiet"])
            .args(self.skopeo_dest())
            .arg(format!("oci:{}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.addr)));
    }

    /// Pushes an image of the system dockerd (`skopeo copy docker-daemon:`).
    pub fn push_daemon_image(&self, tag: &str, repo_tag: &str) {
        run(Command::new("skopeo")
            .args(["copy", "--quiet"])
            .args(self.skopeo_dest())
            .arg(format!("docker-daemon:{tag}"))
            .arg(format!("docker://{}/{repo_tag}", self.addr)));
    }

    /// Deletes the blob of the top layer of `repository:tag` from the repository (the
    /// manifest stays), so a download of the tag fails: plain registry only.
    pub fn delete_top_layer_blob(&self, repository: &str, tag: &str) {
        assert!(!self.auth, "plain registry only");
        let raw = run(Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}/{repository}:{tag}", self.addr)));
        let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
        let layers = manifest["layers"].as_array().unwrap();
        let digest = layers.last().unwrap()["digest"].as_str().unwrap();
        run(Command::new("curl").args([
            "-sSf",
            "-X",
            "DELETE",
            &format!("http://{}/v2/{repository}/blobs/{digest}", self.addr),
        ]));
    }

    /// Puts a multi-platform index over manifests already pushed to `repository`:
    /// `(platform "os/arch", tag)` pairs; the index is tagged `tag`.
    pub fn push_index(&self, repository: &str, entries: &[(&str, &str)], tag: &str) {
        let mut manifests = Vec::new();
        for (platform, from) in entries {
            let raw = run(Command::new("skopeo")
                .args(["inspect", "--raw", "--tls-verify=false"])
                .args(self.auth.then(|| format!("--creds={USER}:{PASSWORD}")))
                .arg(format!("docker://{}/{repository}:{from}", self.addr)));
            let media_type = if raw.contains("application/vnd.oci.image.manifest.v1+json") {
                "application/vnd.oci.image.manifest.v1+json"
            } else {
                "application/vnd.docker.distribution.manifest.v2+json"
            };
            let digest = sha256_hex(raw.as_bytes());
            let (os, arch) = platform.split_once('/').unwrap();
            manifests.push(format!(
                r#"{{"mediaType":"{media_type}","digest":"sha256:{digest}","size":{},"platform":{{"os":"{os}","architecture":"{arch}"}}}}"#,
                raw.len()
            ));
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            manifests.join(",")
        );
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        run(Command::new("curl")
            .args(["-sSf", "-k", "-X", "PUT"])
            .args(self.auth.then(|| format!("-u{USER}:{PASSWORD}")))
            .args([
                "-H",
                "Content-Type: application/vnd.oci.image.index.v1+json",
                "--data-binary",
                &index,
            ])
            .arg(format!(
                "{scheme}://{}/v2/{repository}/manifests/{tag}",
                self.addr
            )));
    }

    /// `registry:127.0.0.1:PORT/<rest>`.
    pub fn source(&self, rest: &str) -> String {
        format!("registry:{}/{rest}", self.addr)
    }

    /// Requests in the access log (Apache format, one line each) whose line holds
    /// every one of `needles`, once the log has stopped growing (the registry writes a
    /// line after the answer, so a client may be done before its last line is there).
    pub fn requests_matching(&self, needles: &[&str]) -> usize {
        let mut last = self.count_now(needles);
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(150));
            let now = self.count_now(needles);
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    fn count_now(&self, needles: &[&str]) -> usize {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("\"GET ") || l.contains("\"HEAD "))
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .count()
    }
}

/// sha256 of `bytes` in hex, by `sha256sum` (the including crates need no hash crate).
fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
