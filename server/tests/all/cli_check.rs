//! `strata check` on `docker save` archives made by the test kit: planted fake secrets
//! (one deleted by a later layer, which still ships it), a `.env`, a credential in ENV
//! and one passed as a build argument (masked everywhere), apt lists left by an install; the text report, the JSON document, `--fail-on` and its exit codes, a clean
//! image, and bad flags as one line.

use app::testkit::{ImageBuilder, LayerBuilder};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// A fake credentials file planted by the test (never a real key).
const CREDS: &[u8] = b"[default]\naws_access_key_id=FAKEFAKE\n";

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--no-cache")
        .args(args)
        .output()
        .expect("run strata")
}

fn archive(dir: &Path, name: &str, image: &ImageBuilder) -> String {
    let path = dir.join(name);
    std::fs::write(&path, image.docker_save()).unwrap();
    format!("docker-archive:{}", path.display())
}

#[test]
fn planted_secrets_and_leftovers_are_found_with_their_layers() {
    let dir = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .tag("check/app:1")
        .env("DB_PASSWORD=hunter2-hunter2")
        .layer(
            "COPY creds /root/.aws/credentials",
            &LayerBuilder::new().dir("root").dir("root/.aws").file(
                "root/.aws/credentials",
                b"[default]\naws_access_key_id=FAKEFAKE\n",
            ),
        )
        .layer(
            "|1 NPM_TOKEN=npm_0123456789abcdef /bin/sh -c apt-get update && apt-get install -y curl",
            &LayerBuilder::new()
                .dir("var")
                .dir("var/lib")
                .dir("var/lib/apt")
                .dir("var/lib/apt/lists")
                .file("var/lib/apt/lists/deb_Packages", vec![b'p'; 40_000])
                .file("var/lib/apt/lists/lock", b""),
        )
        .layer(
            "COPY . /app",
            &LayerBuilder::new()
                .dir("app")
                .file("app/.env", b"TOKEN=fake\n")
                .file("app/main.js", b"console.log(1)\n"),
        )
        .layer(
            "RUN rm -rf /root/.aws",
            &LayerBuilder::new().dir("root").whiteout("root/.aws"),
        );
    let src = archive(dir.path(), "app.tar", &image);

    let o = strata(&["check", &src]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "high findings fail by default: {text}"
    );
    assert!(
        text.starts_with("strata check: check/app:1: 5 findings (4 high, 0 medium, 1 low)"),
        "{text}"
    );
    assert!(
        text.contains("HIGH   secret.aws-credentials: AWS credentials file"),
        "{text}"
    );
    assert!(
        text.contains("deleted or replaced in layer 3, but still shipped in layer 0"),
        "{text}"
    );
    assert!(
        !text.contains("FAKEFAKE"),
        "no secret value in the report: {text}"
    );

    let o = strata(&["check", &src, "--format", "json", "--fail-on", "low"]);
    assert_eq!(o.status.code(), Some(1));
    let json = String::from_utf8_lossy(&o.stdout);
    for secret in ["FAKEFAKE", "hunter2-hunter2", "npm_0123456789abcdef"] {
        assert!(!json.contains(secret), "{secret} in the JSON: {json}");
    }
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let summary: Vec<(&str, Option<u64>, Option<u64>, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["layer"].as_u64(),
                f["hidden_at"].as_u64(),
                f["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "secret.aws-credentials",
                Some(0),
                Some(3),
                CREDS.len() as u64
            ),
            ("secret.build-arg", Some(1), None, 0),
            ("secret.dotenv", Some(2), None, 11),
            ("secret.config-env", None, None, 0),
            ("leftover.apt-lists", Some(1), None, 40_000),
        ]
    );
}

#[test]
fn a_clean_image_passes_and_bad_flags_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new().tag("check/clean:1").layer(
        "COPY app /app",
        &LayerBuilder::new()
            .dir("app")
            .file("app/main.js", b"1\n")
            .file("app/id_rsa.pub", b"ssh-ed25519 AAAA")
            .file("app/test/fixtures/.env", b"EXAMPLE=1\n"),
    );
    let src = archive(dir.path(), "clean.tar", &image);
    let o = strata(&["check", &src, "--fail-on", "low"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("strata check: check/clean:1: 0 findings")
    );

    let o = strata(&["check", &src, "--fail-on", "severe"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        err.trim(),
        "strata: --fail-on \"severe\": use low, medium or high"
    );
}
