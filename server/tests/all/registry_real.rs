//! Registry sources against a real registry (distribution 2.8, `registry_support`):
//! dive parity with the image's `docker save` archive, the blob cache (the second run
//! fetches no blob — counted in the registry's access log), platform selection from a
//! multi-platform index pushed with `skopeo copy --all`, file contents through
//! `strata cat`, progress events, and TLS + basic auth with the credentials of a docker
//! config file.

use crate::dive_parity::{assert_same, run_dive};
use crate::registry_support::{self, Registry, PASSWORD, USER};
use app::model::Digest;
use app::testkit::{gzip, ImageBuilder, LayerBuilder};
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};

fn strata(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("STRATA_CACHE_DIR", cache)
        // Never the machine's own credentials.
        .env("DOCKER_CONFIG", cache.join("no-docker-config"))
        .output()
        .expect("run strata")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sample(tag: &str) -> ImageBuilder {
    ImageBuilder::new()
        .tag(tag)
        .layer(
            "ADD rootfs /",
            &LayerBuilder::new()
                .dir("etc")
                .file("etc/os-release", b"NAME=strata-test\n")
                .dir("var")
                .dir("var/cache")
                .file("var/cache/pkgs", vec![b'k'; 40_000]),
        )
        .empty_step("ENV A=b")
        .layer(
            "RUN rm -rf /var/cache && edit os-release",
            &LayerBuilder::new()
                .dir("etc")
                .file("etc/os-release", b"NAME=strata-test\nVERSION=2\n")
                .dir("var")
                .whiteout("var/cache"),
        )
}

fn push(reg: &Registry, dir: &Path, repo_tag: &str, image: &ImageBuilder) -> std::path::PathBuf {
    let archive = dir.join(format!("{}.tar", repo_tag.replace(['/', ':'], "_")));
    std::fs::write(&archive, image.docker_save()).unwrap();
    reg.push_archive(&archive, repo_tag);
    archive
}

#[test]
fn registry_images_match_dive_and_a_second_run_fetches_no_blob() {
    let reg = registry_support::plain();
    let dir = tempfile::tempdir().unwrap();
    let repo = format!("parity/app-{}", std::process::id());
    let archive = push(
        reg,
        dir.path(),
        &format!("{repo}:1"),
        &sample("parity/app:1"),
    );
    let cache = dir.path().join("cache");
    let out = dir.path().join("strata.json");
    let source = reg.source(&format!("{repo}:1"));
    let first = strata(
        &cache,
        &[
            "analyze",
            &source,
            "--format",
            "dive-json",
            "-v",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("from cache: 0/2") && stderr(&first).contains("from registry: 2"),
        "{}",
        stderr(&first)
    );
    let ours: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let dive = run_dive(dir.path(), &archive);
    assert_same("registry image vs dive on its archive", &dive, &ours);

    // Strata's GETs only: skopeo pushes of other tests HEAD blobs in this repository
    // when they look for blobs to mount.
    let blob_path = format!("\"GET /v2/{repo}/blobs/");
    let blobs_before = reg.requests_matching(&[&blob_path, "strata/"]);
    assert!(blobs_before >= 3, "config and two layers: {blobs_before}");
    let second = strata(&cache, &["analyze", &source, "--format", "dive-json", "-v"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("from cache: 2/2"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        reg.requests_matching(&[&blob_path, "strata/"]),
        blobs_before,
        "the second analysis fetched a blob again"
    );
    let again: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_same("second run", &ours, &again);

    // The file viewer's bytes come from the stored blob, as of any layer.
    let cat = strata(&cache, &["cat", &source, "/etc/os-release"]);
    assert!(cat.status.success(), "{}", stderr(&cat));
    assert_eq!(cat.stdout, b"NAME=strata-test\nVERSION=2\n");
    let deleted = strata(&cache, &["cat", &source, "/var/cache/pkgs", "--layer", "0"]);
    assert_eq!(deleted.stdout, vec![b'k'; 40_000], "{}", stderr(&deleted));
    let absent = strata(&cache, &["cat", &source, "/var/cache/pkgs"]);
    assert_eq!(absent.status.code(), Some(2));

    let missing = strata(&cache, &["analyze", &reg.source(&format!("{repo}:nope"))]);
    assert_eq!(missing.status.code(), Some(2));
    let line = stderr(&missing);
    assert!(
        line.contains("not found in registry") && line.lines().count() == 1,
        "{line}"
    );
}

/// An OCI layout whose index holds one image per architecture, each with a file `/arch`
/// naming it.
fn multi_platform_layout(dir: &Path, arches: &[&str]) -> std::path::PathBuf {
    let layout = dir.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = Digest::of(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        (d.to_string(), bytes.len())
    };
    let mut manifests = Vec::new();
    for arch in arches {
        let layer = LayerBuilder::new().file("arch", arch.as_bytes());
        let image = ImageBuilder::new().layer("ADD arch /", &layer);
        let mut config: Value = serde_json::from_slice(&image.config_json()).unwrap();
        config["architecture"] = json!(arch);
        let (config_digest, config_size) = put(&serde_json::to_vec(&config).unwrap());
        let (layer_digest, layer_size) = put(&gzip(&layer.tar()));
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": layer_digest, "size": layer_size}]
        });
        let (digest, size) = put(&serde_json::to_vec(&manifest).unwrap());
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest, "size": size,
            "platform": {"os": "linux", "architecture": arch}
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests
    });
    let (digest, size) = put(&serde_json::to_vec(&index).unwrap());
    let top = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                       "digest": digest, "size": size}]
    });
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    layout
}

#[test]
fn platform_is_chosen_from_a_multi_platform_index() {
    let reg = registry_support::plain();
    let dir = tempfile::tempdir().unwrap();
    let layout = multi_platform_layout(dir.path(), &["amd64", "arm64"]);
    let repo = format!("multi/app-{}", std::process::id());
    reg.push_layout_all(&layout, &format!("{repo}:1"));
    let source = reg.source(&format!("{repo}:1"));
    let cache = dir.path().join("cache");
    for arch in ["arm64", "amd64"] {
        let platform = format!("linux/{arch}");
        let out = strata(&cache, &["cat", &source, "/arch", "--platform", &platform]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(out.stdout, arch.as_bytes());
    }
    let none = strata(&cache, &["analyze", &source, "--platform", "linux/s390x"]);
    assert_eq!(none.status.code(), Some(2));
    let line = stderr(&none);
    assert!(
        line.contains("no image for platform linux/s390x; the index has linux/amd64, linux/arm64")
            && line.contains("--platform"),
        "{line}"
    );
}

fn docker_config(dir: &Path, password: &str) -> std::path::PathBuf {
    let reg = registry_support::secure();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{password}"));
    let path = dir.join(format!("config-{}.json", password.len()));
    let config = json!({"auths": {reg.addr.clone(): {"auth": auth}}});
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    path
}

#[test]
fn a_private_tls_registry_is_read_with_the_credentials_docker_has() {
    let reg = registry_support::secure();
    let dir = tempfile::tempdir().unwrap();
    let repo = format!("private/app-{}", std::process::id());
    push(
        reg,
        dir.path(),
        &format!("{repo}:1"),
        &sample("private/app:1"),
    );
    let source = reg.source(&format!("{repo}:1"));
    let cache = dir.path().join("cache");
    let ca = reg.ca.as_ref().unwrap().to_str().unwrap().to_owned();
    let good = docker_config(dir.path(), PASSWORD);
    let bad = docker_config(dir.path(), "wrong-password-x");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();

    // No CA: TLS fails, named with both ways out.
    let no_ca = strata(
        &cache,
        &[
            "analyze",
            &source,
            "--registry-config",
            good.to_str().unwrap(),
        ],
    );
    assert_eq!(no_ca.status.code(), Some(2));
    let line = stderr(&no_ca);
    assert!(
        line.contains("TLS with registry") && line.contains("--registry-ca"),
        "{line}"
    );

    // No credentials for it: say where they were looked for and what to run.
    let anon = strata(
        &cache,
        &[
            "analyze",
            &source,
            "--registry-ca",
            &ca,
            "--registry-config",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(anon.status.code(), Some(2));
    let line = stderr(&anon);
    assert!(
        line.contains("needs credentials") && line.contains("docker login"),
        "{line}"
    );

    let wrong = strata(
        &cache,
        &[
            "analyze",
            &source,
            "--registry-ca",
            &ca,
            "--registry-config",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(wrong.status.code(), Some(2));
    let line = stderr(&wrong);
    assert!(line.contains("were rejected"), "{line}");
    assert!(
        !line.contains("wrong-password-x"),
        "a secret leaked: {line}"
    );

    let ok = strata(
        &cache,
        &[
            "analyze",
            &source,
            "--registry-ca",
            &ca,
            "--registry-config",
            good.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    for (what, out) in [("stdout", &ok.stdout), ("stderr", &ok.stderr)] {
        let text = String::from_utf8_lossy(out);
        assert!(!text.contains(PASSWORD), "the password is in {what}");
    }
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        v.pointer("/id").and_then(Value::as_str),
        Some(sample("private/app:1").image_id().as_str()),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
            .chars()
            .take(400)
            .collect::<String>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_report_download_progress_per_layer() {
    use server::engine::{Engine, EngineConfig, LoadOptions};
    use server::progress::LoadProgress;
    use std::sync::{Arc, Mutex};
    let reg = registry_support::plain();
    let dir = tempfile::tempdir().unwrap();
    let repo = format!("progress/app-{}", std::process::id());
    let image = sample("progress/app:1");
    push(reg, dir.path(), &format!("{repo}:1"), &image);
    let engine = Engine::new(EngineConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..EngineConfig::default()
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        move |e: LoadProgress| events.lock().unwrap().push(e)
    };
    let source = server::source::Source::parse(&reg.source(&format!("{repo}:1"))).unwrap();
    let loaded = engine
        .load(
            &source,
            &LoadOptions::default(),
            Arc::new(sink),
            tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(loaded.image.id, image.image_id());
    assert_eq!(loaded.report.from_registry, 2);
    let events = events.lock().unwrap();
    let downloading = events.iter().any(|e| {
        matches!(e, LoadProgress::Stage { stage } if *stage == app::api::LoadStage::Downloading)
    });
    assert!(downloading, "{events:?}");
    let last_bytes = events.iter().rev().find_map(|e| match e {
        LoadProgress::Bytes { done, total } => Some((*done, *total)),
        _ => None,
    });
    let compressed: u64 = loaded
        .image
        .layers
        .iter()
        .map(|l| l.compressed_size.unwrap_or(l.tar_size))
        .sum();
    assert_eq!(
        last_bytes,
        Some((compressed, Some(compressed))),
        "{events:?}"
    );
    let layers = events
        .iter()
        .filter(|e| matches!(e, LoadProgress::Layer { .. }))
        .count();
    assert_eq!(layers, 2);
    // Each layer's own bytes: counting up to its blob's size before it is ready.
    for (index, layer) in loaded.image.layers.iter().enumerate() {
        let size = layer.compressed_size.unwrap_or(layer.tar_size);
        let own: Vec<(u64, u64)> = events
            .iter()
            .filter_map(|e| match e {
                LoadProgress::LayerBytes {
                    index: i,
                    done,
                    total,
                } if *i == index => Some((*done, *total)),
                _ => None,
            })
            .collect();
        assert!(
            own.windows(2).all(|w| w[0].0 < w[1].0),
            "layer {index}: {own:?}"
        );
        assert_eq!(own.last(), Some(&(size, size)), "layer {index}: {own:?}");
        let ready = events
            .iter()
            .position(|e| matches!(e, LoadProgress::Layer { index: i, .. } if *i == index));
        let last_bytes = events
            .iter()
            .rposition(|e| matches!(e, LoadProgress::LayerBytes { index: i, .. } if *i == index));
        assert!(last_bytes < ready, "layer {index}: bytes before ready");
    }
}

#[test]
fn compare_names_the_update_cost_between_two_tags() {
    let reg = registry_support::plain();
    let dir = tempfile::tempdir().unwrap();
    let repo = format!("update/app-{}", std::process::id());
    let one = sample("update/app:1");
    let two = sample("update/app:2").layer(
        "COPY app /app",
        &LayerBuilder::new().file("app", vec![7u8; 30_000]),
    );
    push(reg, dir.path(), &format!("{repo}:1"), &one);
    let archive_two = push(reg, dir.path(), &format!("{repo}:2"), &two);
    let cache = dir.path().join("cache");
    let (a, b) = (
        reg.source(&format!("{repo}:1")),
        reg.source(&format!("{repo}:2")),
    );
    let json = strata(&cache, &["compare", &a, &b, "--format", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    let cost = &v["pairs"][0]["update_cost"];
    assert_eq!(cost["layers"], 1, "{cost}");
    let new_layer = v["images"][1]["download_bytes"].as_u64().unwrap()
        - v["images"][0]["download_bytes"].as_u64().unwrap();
    assert_eq!(cost["bytes"].as_u64(), Some(new_layer), "{cost}");
    let text = strata(&cache, &["compare", &a, &b]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(
        out.contains("updating from A to B downloads") && out.contains("compressed"),
        "{out}"
    );
    // A registry tag against a local archive of the same image: nothing to download.
    let mixed = strata(
        &cache,
        &[
            "compare",
            &format!("docker-archive:{}", archive_two.display()),
            &b,
            "--format",
            "json",
        ],
    );
    assert!(mixed.status.success(), "{}", stderr(&mixed));
    let v: Value = serde_json::from_slice(&mixed.stdout).unwrap();
    assert_eq!(
        v["pairs"][0]["update_cost"]["bytes"], 0,
        "{}",
        v["pairs"][0]
    );
}

#[test]
fn serve_browses_only_configured_registries_and_opens_tags_as_images() {
    use crate::http_support::strata_proc::{split, StrataProc};
    let reg = registry_support::plain();
    let dir = tempfile::tempdir().unwrap();
    let repo = format!("served/app-{}", std::process::id());
    let image = sample("served/app:1");
    push(reg, dir.path(), &format!("{repo}:1"), &image);
    push(
        reg,
        dir.path(),
        &format!("{repo}:2"),
        &sample("served/app:2").env("B=2"),
    );
    let server = StrataProc::start(&["--registry", &format!("team={}", reg.addr)]);

    let (status, body) = server.get("/api/v1/registries");
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list[0]["name"], "team");
    assert_eq!(list[0]["host"], reg.addr.as_str());

    let (status, body) = server.get("/api/v1/registries/team/repositories?n=1000");
    assert_eq!(status, 200, "{body}");
    let repos: Value = serde_json::from_str(&body).unwrap();
    assert!(
        repos["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == repo.as_str()),
        "{body}"
    );

    let (status, body) = server.get(&format!("/api/v1/registries/team/tags?repository={repo}"));
    assert_eq!(status, 200, "{body}");
    let tags: Value = serde_json::from_str(&body).unwrap();
    let mut names: Vec<&str> = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["1", "2"]);

    let (status, body) = server.get(&format!(
        "/api/v1/registries/team/tag?repository={repo}&tag=1"
    ));
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(detail["layer_count"], 2);
    assert_eq!(detail["created"], "2024-01-01T01:00:00Z");
    assert!(detail["compressed_size"].as_u64().unwrap() > 0);

    // SSRF: only names configured at start; never a host or URL from the request.
    for path in [
        "/api/v1/registries/other/repositories".to_owned(),
        format!("/api/v1/registries/{}/repositories", reg.addr),
        "/api/v1/registries/team/tags?repository=..%2F..%2Fx".to_owned(),
        "/api/v1/registries/team/tags?repository=evil.example%2Fx".to_owned(),
    ] {
        let (status, body) = server.get(&path);
        assert!(status == 404 || status == 400, "{path}: {status} {body}");
    }

    let body = serde_json::to_vec(&json!({"repository": repo, "tag": "1"})).unwrap();
    // Like every POST: refused from another origin, and only as JSON.
    let cross = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        write!(
            s,
            "POST /api/v1/registries/team/open HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            server.port,
            body.len()
        )
        .unwrap();
        s.write_all(&body).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        split(&out)
    };
    assert_eq!(cross.0, 403, "{}", cross.1);
    let (status, text) = split(&server.post("/api/v1/registries/team/open", "text/plain", &body));
    assert_eq!(status, 415, "{text}");
    // Open answers with the analysis job that downloads the tag; its events carry the
    // download's progress, and once done the image is listed and analysed.
    let (status, opened) =
        split(&server.post("/api/v1/registries/team/open", "application/json", &body));
    assert_eq!(status, 202, "{opened}");
    let job: Value = serde_json::from_str(&opened).unwrap();
    let id = image.image_id();
    assert_eq!(job["image_id"], id.as_str(), "{opened}");
    let job_id = job["id"].as_str().unwrap();
    let events = server.get(&format!("/api/v1/jobs/{job_id}/events"));
    assert_eq!(events.0, 200, "{}", events.1);
    assert!(events.1.contains("event: done"), "{}", events.1);
    let (status, info) = server.get(&format!("/api/v1/jobs/{job_id}"));
    assert_eq!(status, 200, "{info}");
    let info: Value = serde_json::from_str(&info).unwrap();
    assert_eq!(
        (&info["progress"]["layer"], &info["progress"]["layers"]),
        (&json!(2), &json!(2)),
        "{info}"
    );
    let analysis = format!("/api/v1/images/{id}/analysis");
    let (status, body) = server.get(&analysis);
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.get("/api/v1/images");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(id.as_str()), "{body}");
    // Opening it again joins the finished job: nothing is downloaded twice.
    let (status, again) = split(&server.post(
        "/api/v1/registries/team/open",
        "application/json",
        &serde_json::to_vec(&json!({"repository": repo, "tag": "1"})).unwrap(),
    ));
    assert_eq!(status, 202, "{again}");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(
        (&again["id"], &again["state"]),
        (&job["id"], &json!("done")),
        "{again}"
    );
    // Every open is in the audit log, refused ones included.
    let log = server.log();
    let audited: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("audit") && l.contains("/api/v1/registries/team/open"))
        .collect();
    assert_eq!(audited.len(), 4, "{log}");
    for (line, status) in audited.iter().zip([403, 415, 202, 202]) {
        assert!(line.contains("method=POST"), "{line}");
        assert!(line.contains(&format!("status={status}")), "{line}");
    }
    // Analysed like any image (the loaded image is reused), then its files read from
    // the registry blob.
    let (status, versions) = server.get(&format!(
        "/api/v1/images/{id}/files/versions?path=%2Fetc%2Fos-release"
    ));
    assert_eq!(status, 200, "{versions}");
    let (status, text) = server.get(&format!(
        "/api/v1/images/{id}/layers/1/file?path=%2Fetc%2Fos-release"
    ));
    assert_eq!(
        (status, text.as_str()),
        (200, "NAME=strata-test\nVERSION=2\n")
    );
}
