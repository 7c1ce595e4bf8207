//! Several Docker hosts with real parts: a private dockerd listening on a Unix socket and
//! on TCP with mutual TLS (certificates made here with openssl), the system dockerd
//! directly and through a real `sshd` on loopback (`ssh … docker system dial-stdio`,
//! keys and known_hosts made here; a `ssh` wrapper first in PATH points the real client
//! at them), and a host that does not exist. Checks the serve API (host per row, host
//! filter, holders in the detail, health per host, analysis through a host) and that
//! images read over TLS and ssh exports give dive's numbers of their `docker save`.

use crate::docker_support::image::TestImage;
use crate::docker_support::private::PrivateDaemon;
use crate::http_support::strata_proc::StrataProc;
use app::testkit::{ImageBuilder, LayerBuilder};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in the file names
/// dockerd and `DOCKER_CERT_PATH` expect; returns (server dir, client dir).
fn tls_files(dir: &Path) -> (PathBuf, PathBuf) {
    let (srv, cli) = (dir.join("server"), dir.join("client"));
    std::fs::create_dir_all(&srv).unwrap();
    std::fs::create_dir_all(&cli).unwrap();
    let ca_key = dir.join("ca-key.pem");
    let ca = dir.join("ca.pem");
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca)
        .args(["-subj", "/CN=strata-test-ca"]));
    for (out, cn, ext) in [
        (
            &srv,
            "127.0.0.1",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        (&cli, "client", "extendedKeyUsage=clientAuth\n"),
    ] {
        let (key, csr, cert, extf) = (
            out.join("key.pem"),
            out.join("req.csr"),
            out.join("cert.pem"),
            out.join("ext.cnf"),
        );
        std::fs::write(&extf, ext).unwrap();
        run(Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr)
            .args(["-subj", &format!("/CN={cn}")]));
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "2"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-CAcreateserial")
            .arg("-extfile")
            .arg(&extf)
            .arg("-out")
            .arg(&cert));
        std::fs::copy(&ca, out.join("ca.pem")).unwrap();
    }
    (srv, cli)
}

/// A real sshd on a loopback port that lets `root` in with a key made here, and a
/// directory holding an `ssh` wrapper that uses that key and trusts that host key.
struct Sshd {
    port: u16,
    /// Put first in PATH.
    bin: PathBuf,
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sshd(dir: &Path) -> Sshd {
    let port = free_port();
    for key in ["host", "user"] {
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", ""])
            .arg("-f")
            .arg(dir.join(key)));
    }
    std::fs::copy(dir.join("user.pub"), dir.join("authorized_keys")).unwrap();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nAuthorizedKeysFile {d}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             StrictModes no\nUsePAM no\nPidFile {d}/sshd.pid\n",
            d = dir.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
        .spawn()
        .expect("sshd must be installed (scripts/test.sh installs openssh-server)");
    let host_key = std::fs::read_to_string(dir.join("host.pub")).unwrap();
    std::fs::write(
        dir.join("known_hosts"),
        format!("[127.0.0.1]:{port} {host_key}"),
    )
    .unwrap();
    std::fs::write(
        dir.join("ssh_config"),
        format!(
            "Host *\n  IdentityFile {d}/user\n  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("ssh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
            dir.join("ssh_config").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "sshd did not listen: {}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Sshd { port, bin, child }
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn strata(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--no-cache")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run strata")
}

fn dive_json(args: &[&str], env: &[(&str, &str)]) -> Value {
    let out = strata(args, env);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// dive's document without the layer IDs, which name the archive members of each
/// source (a daemon export names them its own way).
fn without_ids(mut v: Value) -> Value {
    for layer in v["layer"].as_array_mut().into_iter().flatten() {
        if let Some(o) = layer.as_object_mut() {
            o.remove("id");
        }
    }
    v
}

fn image_a(tag: &str) -> ImageBuilder {
    ImageBuilder::new()
        .tag(tag)
        .layer(
            "ADD rootfs /",
            &LayerBuilder::new()
                .dir("srv")
                .file("srv/data.bin", vec![b'a'; 30_000])
                .file("srv/keep", b"keep\n"),
        )
        .layer(
            "RUN rm /srv/data.bin",
            &LayerBuilder::new().dir("srv").whiteout("srv/data.bin"),
        )
}

/// (host, id) of every listed row.
fn rows(list: &Value) -> Vec<(String, String)> {
    list["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap_or("").to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn several_hosts_are_one_catalogue_and_a_down_host_only_shows_in_health() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, cli) = tls_files(dir.path());
    let tls_port = free_port();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let mut second = PrivateDaemon::new().with_args(&[
        "-H",
        &format!("tcp://127.0.0.1:{tls_port}"),
        "--tlsverify",
        &format!("--tlscacert={}", s(&srv.join("ca.pem"))),
        &format!("--tlscert={}", s(&srv.join("cert.pem"))),
        &format!("--tlskey={}", s(&srv.join("key.pem"))),
    ]);
    second.start();
    let a = image_a("hosts/only-on-second:1");
    let archive_a = dir.path().join("a.tar");
    std::fs::write(&archive_a, a.docker_save()).unwrap();
    second.load(&archive_a);
    let b = TestImage::busybox_with_waste("hosts");
    let ssh_dir = dir.path().join("ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let sshd = sshd(&ssh_dir);
    let path = path_with(&sshd.bin);
    let env = [("PATH", path.as_str())];

    let server = StrataProc::start_with_env(
        &[
            "--docker",
            "local=unix:///var/run/docker.sock",
            "--docker",
            &format!("second={}", second.host()),
            "--docker",
            &format!("tls=https://127.0.0.1:{tls_port}"),
            "--docker-cert-path",
            &format!("tls={}", s(&cli)),
            "--docker",
            &format!("viassh=ssh://root@127.0.0.1:{}", sshd.port),
            "--docker",
            "gone=unix:///nonexistent/strata-gone.sock",
        ],
        &env,
    );

    // Health: every host by name; the missing one down with its reason, the set up.
    let (status, health) = server.get_json("/api/v1/health");
    assert_eq!(status, 200);
    let hosts = health["docker"]["hosts"].as_array().unwrap();
    let names: Vec<&str> = hosts.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["local", "second", "tls", "viassh", "gone"]);
    for h in hosts {
        let up = h["name"] != "gone";
        assert_eq!(h["up"], up, "{h}");
    }
    let gone = &hosts[4];
    assert_eq!(gone["address"], "unix:///nonexistent/strata-gone.sock");
    assert!(
        gone["reason"].as_str().unwrap().contains("No such file"),
        "{gone}"
    );
    assert_eq!(health["docker"]["up"], true);
    assert!(
        health["docker"]["reason"]
            .as_str()
            .unwrap()
            .contains("1 of 5"),
        "{health}"
    );

    // The list: a row per host holding the image, named; the down host hides nothing.
    let (status, list) = server.get_json("/api/v1/images");
    assert_eq!(status, 200, "{list}");
    let listed = rows(&list);
    let hosts_of = |id: &str| {
        let mut h: Vec<String> = listed
            .iter()
            .filter(|(_, i)| i == id)
            .map(|(h, _)| h.clone())
            .collect();
        h.sort();
        h
    };
    assert_eq!(hosts_of(a.image_id().as_str()), ["second", "tls"]);
    assert_eq!(hosts_of(&b.id), ["local", "viassh"]);

    // The host filter, and an unknown host named with the choices.
    let (status, only_tls) = server.get_json("/api/v1/images?host=tls");
    assert_eq!(status, 200);
    assert!(rows(&only_tls).iter().all(|(h, _)| h == "tls"));
    assert!(rows(&only_tls)
        .iter()
        .any(|(_, id)| id == a.image_id().as_str()));
    let (status, err) = server.get("/api/v1/images?host=nope");
    assert_eq!(status, 400, "{err}");
    assert!(
        err.contains("nope") && err.contains("local, second, tls, viassh, gone"),
        "{err}"
    );

    // The detail says where the image lives; the analysis reads it through that host.
    let (status, detail) = server.get_json(&format!("/api/v1/images/{}", a.image_id()));
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["hosts"], serde_json::json!(["second", "tls"]));
    assert_eq!(detail["summary"]["host"], "second");
    let summary = server.analysis(a.image_id().as_str());
    assert_eq!(summary["layers"].as_array().unwrap().len(), 2, "{summary}");
    assert_eq!(summary["reclaimable_bytes"], 30_000, "{summary}");
}

#[test]
fn exports_over_tls_and_ssh_give_the_numbers_of_the_saved_archive() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, cli) = tls_files(dir.path());
    let tls_port = free_port();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let mut daemon = PrivateDaemon::new().with_args(&[
        "-H",
        &format!("tcp://127.0.0.1:{tls_port}"),
        "--tlsverify",
        &format!("--tlscacert={}", s(&srv.join("ca.pem"))),
        &format!("--tlscert={}", s(&srv.join("cert.pem"))),
        &format!("--tlskey={}", s(&srv.join("key.pem"))),
    ]);
    daemon.start();
    let a = image_a("hosts/over-tls:1");
    let archive_a = dir.path().join("a.tar");
    std::fs::write(&archive_a, a.docker_save()).unwrap();
    daemon.load(&archive_a);
    let want_a = dive_json(
        &[
            "analyze",
            &format!("docker-archive:{}", s(&archive_a)),
            "--format",
            "dive-json",
        ],
        &[],
    );
    // TLS with DOCKER_CERT_PATH, as the docker CLI; no layer store, so a real export.
    let tls = format!("https://127.0.0.1:{tls_port}");
    let got = dive_json(
        &[
            "--docker-host",
            &tls,
            "--no-layer-store",
            "analyze",
            "hosts/over-tls:1",
            "--format",
            "dive-json",
        ],
        &[("DOCKER_CERT_PATH", &s(&cli))],
    );
    assert_eq!(without_ids(got), without_ids(want_a));
    // Without the client certificate the daemon refuses, and the error says where.
    let out = strata(
        &["--docker-host", &tls, "analyze", "hosts/over-tls:1"],
        &[("DOCKER_CERT_PATH", &s(&srv.join("nowhere")))],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&tls) && err.contains("no ca.pem in"), "{err}");

    // ssh: the system daemon's image through `ssh … docker system dial-stdio`.
    let b = TestImage::busybox_with_waste("hosts-ssh");
    let archive_b = dir.path().join("b.tar");
    b.save(&archive_b);
    let ssh_dir = dir.path().join("ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    let sshd = sshd(&ssh_dir);
    let path = path_with(&sshd.bin);
    let want_b = dive_json(
        &[
            "analyze",
            &format!("docker-archive:{}", s(&archive_b)),
            "--format",
            "dive-json",
        ],
        &[],
    );
    let got = dive_json(
        &[
            "--docker-host",
            &format!("ssh://root@127.0.0.1:{}", sshd.port),
            "--no-layer-store",
            "analyze",
            &b.tag,
            "--format",
            "dive-json",
        ],
        &[("PATH", &path)],
    );
    // Both are the daemon's own export, so even the layer IDs agree.
    assert_eq!(got, want_b);
    // A user the server does not let in: ssh's own reason, in one line.
    let out = strata(
        &[
            "--docker-host",
            &format!("ssh://strata-no-such-user@127.0.0.1:{}", sshd.port),
            "analyze",
            &b.tag,
        ],
        &[("PATH", &path)],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("Permission denied"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
