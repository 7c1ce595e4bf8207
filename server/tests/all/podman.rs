//! Podman as a daemon source: Debian's podman 4.3 serving its Docker-compatible API
//! (`podman system service`) on a private socket, with a private store (overlay driver),
//! is read through `--docker-host unix://…` like dockerd. An image loaded into it
//! analyses with the same figures as its `docker save` archive (dive's document, apart
//! from the layer IDs, which name each source's archive members), both from
//! containers/storage's tar-split files (the fast path) and from Podman's export; file
//! contents come from the overlay diff directories; Podman's short names
//! (`localhost/NAME`) resolve from the bare name.

use crate::dive_parity::{assert_same, run_dive};
use app::testkit::{ImageBuilder, LayerBuilder};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

struct Podman {
    dir: PathBuf,
    socket: PathBuf,
    _watchdog: std::process::Child,
}

static PODMAN: OnceLock<Podman> = OnceLock::new();

fn podman_args(dir: &Path) -> Vec<String> {
    vec![
        format!("--root={}", dir.join("root").display()),
        format!("--runroot={}", dir.join("run").display()),
        "--storage-driver=overlay".into(),
        "--events-backend=file".into(),
        "--cgroup-manager=cgroupfs".into(),
    ]
}

fn podman() -> &'static Podman {
    PODMAN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("strata-podman-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("podman.sock");
        let script = r#"sock="$1"; pid="$2"; shift 2
podman "$@" system service --time=0 "unix://$sock" >"$sock.log" 2>&1 & s=$!
trap 'kill $s 2>/dev/null' EXIT
while kill -0 "$pid" 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 1; done"#;
        let mut watchdog = Command::new("sh")
            .args(["-c", script, "podman-watchdog"])
            .arg(&socket)
            .arg(std::process::id().to_string())
            .args(podman_args(&dir))
            .spawn()
            .expect("podman must be installed (scripts/test.sh installs it)");
        for _ in 0..150 {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                return Podman {
                    dir,
                    socket,
                    _watchdog: watchdog,
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = watchdog.kill();
        let _ = watchdog.wait();
        panic!(
            "podman system service did not listen: {}",
            std::fs::read_to_string(socket.with_extension("sock.log")).unwrap_or_default()
        );
    })
}

fn strata(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("STRATA_CACHE_DIR", cache)
        .output()
        .expect("run strata")
}

/// The document without the layer IDs (archive member names of each source).
fn without_ids(mut v: Value) -> Value {
    if let Some(layers) = v.get_mut("layer").and_then(Value::as_array_mut) {
        for l in layers {
            if let Some(o) = l.as_object_mut() {
                o.remove("id");
            }
        }
    }
    v
}

#[test]
fn images_in_podman_analyse_like_their_archive() {
    let p = podman();
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("podman/app-{}:1", std::process::id());
    let image = ImageBuilder::new()
        .tag(&tag)
        .layer(
            "ADD rootfs /",
            &LayerBuilder::new()
                .dir("etc")
                .file("etc/os-release", b"NAME=podman-test\n")
                .dir("var")
                .file("var/cache.bin", vec![3u8; 50_000]),
        )
        .layer(
            "RUN rm /var/cache.bin",
            &LayerBuilder::new().dir("var").whiteout("var/cache.bin"),
        );
    let archive = dir.path().join("app.tar");
    std::fs::write(&archive, image.docker_save()).unwrap();
    let load = Command::new("podman")
        .args(podman_args(&p.dir))
        .args(["load", "-q", "-i"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );

    let host = format!("unix://{}", p.socket.display());
    let cache = dir.path().join("cache");
    let analyze = |extra: &[&str], out: &Path, cache: &Path| {
        // The bare name, as `podman run` takes it; Podman lists it as localhost/NAME.
        let mut args = vec![
            "analyze",
            "--docker-host",
            &host,
            &tag,
            "--format",
            "dive-json",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-v", "-o", out.to_str().unwrap()]);
        let run = strata(&args, cache);
        let err = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{err}");
        let doc: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
        (doc, err)
    };
    let dive = without_ids(run_dive(dir.path(), &archive));

    // containers/storage's tar-split files, no export.
    let (ours, err) = analyze(&[], &dir.path().join("store.json"), &cache);
    assert!(
        err.contains("from layer store: 2, from export: 0"),
        "the fast path was not taken: {err}"
    );
    assert_same(
        "podman (layer store) vs dive on its archive",
        &dive,
        &without_ids(ours),
    );

    // Podman's export, for the same figures.
    let (exported, err) = analyze(
        &["--no-layer-store", "--no-cache"],
        &dir.path().join("export.json"),
        &cache,
    );
    assert!(err.contains("from layer store: 0, from export: 2"), "{err}");
    assert_same(
        "podman (export) vs dive on its archive",
        &dive,
        &without_ids(exported),
    );

    // File contents from the overlay diff directories: the final file, and the version
    // that layer 1 deleted but layer 0 still ships.
    let cat = |extra: &[&str]| {
        let mut args = vec!["cat", "--docker-host", &host, &tag];
        args.extend_from_slice(extra);
        strata(&args, &cache)
    };
    let os = cat(&["/etc/os-release"]);
    assert!(
        os.status.success(),
        "{}",
        String::from_utf8_lossy(&os.stderr)
    );
    assert_eq!(os.stdout, b"NAME=podman-test\n");
    let deleted = cat(&["/var/cache.bin", "--layer", "0"]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    assert_eq!(deleted.stdout, vec![3u8; 50_000]);

    let missing = strata(
        &["analyze", "--docker-host", &host, "podman/none:1"],
        &dir.path().join("cache"),
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
}
