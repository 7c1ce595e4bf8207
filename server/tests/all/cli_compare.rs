//! `strata compare` and `strata sharing` end to end against the real dockerd: a
//! single-stage and a multistage build of the same small busybox app (the build stage
//! makes a fake toolchain, sources and a cache; the final stage copies one artifact),
//! two images on a common base, a daemon image against a `docker save` archive of
//! another, the `--fail-if-larger` gate, and the sharing map against `docker system df`.
//! Images are built with the legacy builder from one context (so equal steps hit the
//! build cache and give equal layers), tagged `strata-test/cmp-*` and removed afterwards.

use crate::docker_support::image as support;

use serde_json::Value;
use std::collections::HashMap;
use std::process::{Command, Output};
use support::{unique_tag, TestImage};

const KIB: i64 = 1024;
/// Bytes the build stage leaves behind that the multistage image drops. Every step's
/// output is deterministic (the artifact is `seq` output, not random): with concurrent
/// test runs the build cache may hold several equal chains, and any of them must give
/// the multistage build the single-stage image's artifact byte for byte.
const TOOLCHAIN: i64 = 256 * KIB + 128 * KIB;
const SOURCES: i64 = 30_000 + 20_000;
const CACHE: i64 = 64 * KIB;
const ARTIFACT: i64 = 40 * KIB;

const BUILD_STEPS: &str = "FROM scratch\n\
COPY busybox /bin/busybox\n\
RUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\n\
RUN mkdir -p /toolchain/bin /toolchain/lib /src /cache \
 && dd if=/dev/zero of=/toolchain/bin/cc bs=1024 count=256 2>/dev/null \
 && dd if=/dev/zero of=/toolchain/lib/libcc.a bs=1024 count=128 2>/dev/null \
 && dd if=/dev/zero of=/src/main.c bs=1000 count=30 2>/dev/null \
 && dd if=/dev/zero of=/src/util.c bs=1000 count=20 2>/dev/null\n\
RUN mkdir -p /out && dd if=/dev/zero of=/cache/obj.o bs=1024 count=64 2>/dev/null \
 && seq 1 10000 | head -c 40960 > /out/app\n";

/// A build context holding busybox, shared by every image of one test.
struct Context {
    dir: tempfile::TempDir,
    /// Labels of dangling build-stage images to prune afterwards.
    prune_label: String,
}

impl Context {
    fn new() -> Context {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::system_docker::copy_busybox(&dir.path().join("busybox")).expect("copy busybox");
        let prune_label = unique_tag("cmp-stage").replace([':', '/'], "-");
        Context { dir, prune_label }
    }

    /// Builds `dockerfile` with the legacy builder, tagged `strata-test/cmp-<name>-...`.
    fn build(&self, name: &str, dockerfile: &str) -> TestImage {
        let tag = unique_tag(&format!("cmp-{name}"));
        let file = self.dir.path().join(format!("Dockerfile.{name}"));
        // A label makes the image ID unique: with another test run's image of equal
        // content the daemon would report that run's tag for ours.
        let dockerfile = format!(
            "{}LABEL strata.test=\"{tag}\"\n",
            dockerfile.replace("@STAGE_LABEL@", &self.prune_label)
        );
        std::fs::write(&file, dockerfile).expect("write Dockerfile");
        let file = file.to_str().expect("UTF-8 temp path");
        let out = crate::system_docker::build(&tag, &["-f", file], self.dir.path())
            .expect("run docker build");
        assert!(
            out.status.success(),
            "docker build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(id.starts_with("sha256:"), "unexpected build output {id:?}");
        TestImage { tag, id }
    }

    fn single_stage(&self) -> TestImage {
        self.build("single", &format!("{BUILD_STEPS}CMD [\"/out/app\"]\n"))
    }

    fn multistage(&self) -> TestImage {
        self.build(
            "multi",
            &format!(
                "{}LABEL strata.test.stage=\"@STAGE_LABEL@\"\n\
                 FROM scratch\nCOPY busybox /bin/busybox\n\
                 COPY --from=0 /out/app /app/app\nCMD [\"/app/app\"]\n",
                BUILD_STEPS.replacen("FROM scratch", "FROM scratch AS build", 1)
            ),
        )
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // Only the dangling build stage carries the label; other tests' images do not.
        // Pruning also removes its untagged parents, hence the exclusive lock.
        let _lock = crate::system_docker::DaemonLock::exclusive();
        let _ = Command::new("docker")
            .args([
                "image",
                "prune",
                "-f",
                "--filter",
                &format!("label=strata.test.stage={}", self.prune_label),
            ])
            .output();
    }
}

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env_remove("DOCKER_HOST")
        .env("STRATA_CACHE_DIR", "/nonexistent/strata-test-cache")
        .output()
        .expect("run strata")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("json on stdout")
}

fn compare_json(a: &str, b: &str) -> Value {
    json(&strata(&[
        "compare",
        a,
        b,
        "--format",
        "json",
        "--no-cache",
    ]))
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// Sums one total over the groups whose directory starts with `prefix`.
fn group_sum(files: &Value, prefix: &str, field: &str) -> i64 {
    files["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter(|g| g["display"].as_str().is_some_and(|d| d.starts_with(prefix)))
        .map(|g| int(&g["totals"][field]))
        .sum()
}

fn assert_single_vs_multi(v: &Value, single: &TestImage, multi: &TestImage) {
    let (a, b) = (&v["images"][0], &v["images"][1]);
    assert_eq!(a["id"], single.id.as_str());
    assert_eq!(b["id"], multi.id.as_str());
    assert_eq!(int(&a["layer_count"]), 4);
    assert_eq!(int(&b["layer_count"]), 2);
    let delta = -(TOOLCHAIN + SOURCES + CACHE);
    assert_eq!(int(&b["content_delta"]["bytes"]), delta);
    assert_eq!(
        int(&b["content_bytes"]) - int(&a["content_bytes"]),
        delta,
        "{v}"
    );
    let pct = b["content_delta"]["pct"].as_f64().expect("pct");
    let expected = delta as f64 / int(&a["content_bytes"]) as f64 * 100.0;
    assert!((pct - expected).abs() < 1e-9, "{pct} vs {expected}");

    // Shared: the busybox layer at the bottom (same build-cache layer in both).
    let busybox = int(&v["layers"]["rows"][0]["cells"][0]["content_bytes"]);
    assert!(busybox > 500_000, "busybox layer is {busybox} bytes");
    let pair = &v["pairs"][0];
    assert_eq!(int(&pair["shared_prefix"]["layers"]), 1);
    assert_eq!(int(&pair["shared_prefix"]["content_bytes"]), busybox);
    assert_eq!(int(&v["layers"]["common_prefix"]), 1);
    assert_eq!(v["layers"]["rows"][0]["cells"][0]["sharing"], "CommonBase");
    assert_eq!(v["layers"]["rows"][0]["cells"][1]["sharing"], "CommonBase");
    assert_eq!(int(&a["shared_bytes"]), busybox);
    assert_eq!(int(&b["shared_bytes"]), busybox);
    assert_eq!(
        int(&a["unique_bytes"]),
        TOOLCHAIN + SOURCES + CACHE + ARTIFACT
    );
    assert_eq!(int(&b["unique_bytes"]), ARTIFACT);

    // The file diff: what the final stage left behind, grouped by directory.
    let files = &pair["files"];
    assert_eq!(int(&files["totals"]["added"]), 1, "{files}");
    assert_eq!(int(&files["totals"]["added_bytes"]), ARTIFACT);
    assert_eq!(
        int(&files["totals"]["removed_bytes"]),
        TOOLCHAIN + SOURCES + CACHE + ARTIFACT
    );
    assert_eq!(int(&files["totals"]["changed"]), 0);
    assert_eq!(group_sum(files, "/toolchain", "removed_bytes"), TOOLCHAIN);
    assert_eq!(group_sum(files, "/toolchain", "removed"), 2);
    assert_eq!(group_sum(files, "/src", "removed_bytes"), SOURCES);
    assert_eq!(group_sum(files, "/src", "removed"), 2);
    assert_eq!(group_sum(files, "/cache", "removed_bytes"), CACHE);
    assert_eq!(group_sum(files, "/toolchain", "added"), 0);
    for g in files["groups"].as_array().expect("groups") {
        let d = g["display"].as_str().unwrap_or_default();
        if d.starts_with("/toolchain") || d.starts_with("/cache") || d.starts_with("/src") {
            assert_eq!(g["in_b"], false, "{g}");
        }
    }
    // The artifact moved from /out/app to /app/app: found again, byte for byte.
    assert_eq!(int(&files["relocated"]["files"]), 1);
    assert_eq!(int(&files["relocated"]["bytes"]), ARTIFACT);
    let summary = pair["summary"].as_array().expect("summary");
    assert!(
        summary[0]
            .as_str()
            .is_some_and(|s| s.starts_with("B is ") && s.contains("smaller than A")),
        "{summary:?}"
    );
}

#[test]
fn single_stage_vs_multistage_deltas_shared_layers_and_grouped_removals() {
    let ctx = Context::new();
    let single = ctx.single_stage();
    let multi = ctx.multistage();

    let v = compare_json(&single.tag, &multi.tag);
    assert_single_vs_multi(&v, &single, &multi);

    // Markdown for a pull-request comment: the table and the summary.
    let md = strata(&["compare", &single.tag, &multi.tag, "--format", "markdown"]);
    assert_eq!(md.status.code(), Some(0), "{}", stderr(&md));
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("| | Image | ID | Layers | Size | Change |"),
        "{md}"
    );
    assert!(md.contains(&format!("| A | {} |", single.tag)), "{md}");
    assert!(md.contains("**Summary**"), "{md}");
    let first = v["pairs"][0]["summary"][0].as_str().expect("sentence");
    assert!(md.contains(&format!("- {first}")), "{first:?} not in {md}");

    // The CI gate: the single-stage image is far larger than the multistage one.
    let grew = strata(&["compare", &multi.tag, &single.tag, "--fail-if-larger", "10"]);
    assert_eq!(grew.status.code(), Some(1), "{}", stderr(&grew));
    let err = stderr(&grew);
    assert!(
        err.contains("B is ") && err.contains("larger than A"),
        "{err}"
    );
    assert!(err.contains("limit 10.0%: fail"), "{err}");
    let shrank = strata(&["compare", &single.tag, &multi.tag, "--fail-if-larger", "10"]);
    assert_eq!(shrank.status.code(), Some(0), "{}", stderr(&shrank));
    assert!(stderr(&shrank).contains(": pass"), "{}", stderr(&shrank));
    let roomy = strata(&[
        "compare",
        &multi.tag,
        &single.tag,
        "--fail-if-larger",
        "100000%",
        "--format",
        "json",
    ]);
    let check = &json(&roomy)["size_check"];
    assert_eq!(check["failed"], false);
    assert!(check["worst_pct"].as_f64().expect("worst") > 10.0);

    // A daemon image against a `docker save` archive of the other: the same figures.
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("multi.tar");
    multi.save(&archive);
    let mixed = compare_json(
        &format!("docker:{}", single.tag),
        &format!("docker-archive:{}", archive.display()),
    );
    assert_single_vs_multi(&mixed, &single, &multi);
    assert_eq!(mixed["pairs"][0]["files"], v["pairs"][0]["files"]);

    // Two chosen layers: what the toolchain step added on top of busybox + applets.
    let layers = json(&strata(&[
        "compare",
        &single.tag,
        &multi.tag,
        "--layers",
        "A:1",
        "A:2",
        "--format",
        "json",
    ]));
    let d = &layers["layer_diff"];
    assert_eq!(d["a"]["label"], "A");
    assert_eq!(int(&d["a"]["layer"]), 1);
    assert_eq!(int(&d["b"]["layer"]), 2);
    assert_eq!(int(&d["totals"]["added"]), 4, "{d}");
    assert_eq!(int(&d["totals"]["added_bytes"]), TOOLCHAIN + SOURCES);
    assert_eq!(int(&d["totals"]["removed"]), 0);
    let text = strata(&["compare", &single.tag, &multi.tag, "--layers", "A:1", "A:2"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    assert!(String::from_utf8_lossy(&text.stdout).contains("Layers A layer 1 → A layer 2"));
}

#[test]
fn images_on_a_common_base_share_its_prefix() {
    let ctx = Context::new();
    let base = ctx.build(
        "base",
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\n",
    );
    let one = ctx.build(
        "app1",
        &format!(
            "FROM {}\nRUN dd if=/dev/zero of=/app.bin bs=1024 count=10 2>/dev/null\n",
            base.tag
        ),
    );
    let two = ctx.build(
        "app2",
        &format!(
            "FROM {}\nRUN dd if=/dev/zero of=/app.bin bs=1024 count=30 2>/dev/null\nENV V=2\n",
            base.tag
        ),
    );
    let v = compare_json(&one.tag, &two.tag);
    let pair = &v["pairs"][0];
    assert_eq!(int(&pair["shared_prefix"]["layers"]), 2, "{pair}");
    assert_eq!(int(&v["layers"]["common_prefix"]), 2);
    let base_bytes = int(&v["layers"]["rows"][0]["cells"][0]["content_bytes"])
        + int(&v["layers"]["rows"][1]["cells"][0]["content_bytes"]);
    assert_eq!(int(&pair["shared_prefix"]["content_bytes"]), base_bytes);
    assert_eq!(int(&v["layers"]["common_prefix_bytes"]), base_bytes);
    for cell in [0, 1] {
        assert_eq!(v["layers"]["rows"][2]["cells"][cell]["sharing"], "Unique");
    }
    assert_eq!(int(&v["images"][1]["content_delta"]["bytes"]), 20 * KIB);
    assert_eq!(int(&v["images"][0]["unique_bytes"]), 10 * KIB);
    assert_eq!(int(&v["images"][1]["unique_bytes"]), 30 * KIB);
    let files = &pair["files"];
    assert_eq!(int(&files["totals"]["changed"]), 1);
    assert_eq!(int(&files["totals"]["changed_bytes_before"]), 10 * KIB);
    assert_eq!(int(&files["totals"]["changed_bytes_after"]), 30 * KIB);
    let env = &pair["config"]["env"]["added"];
    assert_eq!(env["V"], "2", "{}", pair["config"]);

    // Three images: the base itself is the common prefix of all.
    let three = json(&strata(&[
        "compare", &base.tag, &one.tag, &two.tag, "--format", "json",
    ]));
    assert_eq!(int(&three["layers"]["common_prefix"]), 2);
    assert_eq!(three["images"].as_array().map(Vec::len), Some(3));
    assert_eq!(int(&three["images"][0]["unique_bytes"]), 0);
}

/// `docker system df -v` per image ID.
struct DiskUsage {
    /// (shared, unique) bytes from `GET /system/df`, the API the CLI calls.
    exact: HashMap<String, (i64, i64)>,
    /// (SharedSize, UniqueSize) as `docker system df -v --format '{{json .}}'` prints them.
    shown: HashMap<String, (String, String)>,
}

/// One reading of both; `Err` when the daemon refused (it runs one disk-usage
/// operation at a time, and other tests may be asking too).
fn try_system_df() -> Result<DiskUsage, String> {
    let api = Command::new("curl")
        .args([
            "-s",
            "--unix-socket",
            "/var/run/docker.sock",
            "http://localhost/v1.41/system/df",
        ])
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    let api: Value = serde_json::from_slice(&api.stdout)
        .map_err(|e| format!("system/df: {e}: {}", String::from_utf8_lossy(&api.stdout)))?;
    let exact = api["Images"]
        .as_array()
        .ok_or_else(|| format!("system/df: {api}"))?
        .iter()
        .map(|i| {
            let (size, shared) = (int(&i["Size"]), int(&i["SharedSize"]));
            (
                i["Id"].as_str().unwrap_or_default().to_owned(),
                (shared, size - shared),
            )
        })
        .collect();
    let cli = Command::new("docker")
        .args(["system", "df", "-v", "--format", "{{json .}}"])
        .output()
        .map_err(|e| format!("docker system df: {e}"))?;
    let cli: Value = serde_json::from_slice(&cli.stdout)
        .map_err(|e| format!("docker system df: {e}: {}", stderr(&cli)))?;
    let shown = cli["Images"]
        .as_array()
        .ok_or_else(|| format!("docker system df: {cli}"))?
        .iter()
        .map(|i| {
            (
                i["ID"].as_str().unwrap_or_default().to_owned(),
                (
                    i["SharedSize"].as_str().unwrap_or_default().to_owned(),
                    i["UniqueSize"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect();
    Ok(DiskUsage { exact, shown })
}

fn system_df() -> DiskUsage {
    let mut last = String::new();
    for _ in 0..40 {
        match try_system_df() {
            Ok(d) => return d,
            Err(e) => last = e,
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("docker system df kept failing: {last}");
}

/// go-units `HumanSize` (what `docker system df` prints): decimal units, Go's `%.4g`.
fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let (mut v, mut i) = (bytes as f64, 0);
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let sci = format!("{v:.3e}");
    let exp: i32 = sci
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let mut s = if exp >= 4 {
        let (m, _) = sci.split_once('e').unwrap_or((&sci, ""));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e+{exp:02}")
    } else {
        format!("{v:.*}", (3 - exp).max(0) as usize)
    };
    if s.contains('.') && !s.contains('e') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    format!("{s}{}", UNITS[i])
}

#[test]
fn human_size_matches_go_units() {
    assert_eq!(human_size(0), "0B");
    assert_eq!(human_size(1_988_683), "1.989MB");
    assert_eq!(human_size(198_900_084), "198.9MB");
    assert_eq!(human_size(1_400_000_000), "1.4GB");
    assert_eq!(human_size(47_484_800), "47.48MB");
    assert_eq!(human_size(999), "999B");
    assert_eq!(human_size(10_240), "10.24kB");
}

#[test]
fn sharing_map_matches_docker_system_df() {
    let ctx = Context::new();
    let base = ctx.build(
        "shbase",
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\",\"--install\",\"-s\",\"/bin\"]\n",
    );
    let one = ctx.build(
        "sh1",
        &format!(
            "FROM {}\nRUN dd if=/dev/urandom of=/one.bin bs=1024 count=12 2>/dev/null\nENV ONE=1\n",
            base.tag
        ),
    );
    let two = ctx.build(
        "sh2",
        &format!(
            "FROM {}\nWORKDIR /w\nRUN dd if=/dev/urandom of=/w/two.bin bs=1024 count=7 2>/dev/null\nCMD [\"sh\"]\n",
            base.tag
        ),
    );
    let ours = [&base, &one, &two];
    // The apps' layers are random bytes, so no other run's image can share them.
    // Other tests add and remove images meanwhile, which can change shared sizes:
    // retry until the daemon's figures are the same before and after our run.
    for attempt in 0.. {
        let before = system_df();
        let out = strata(&["sharing", "--format", "json"]);
        let after = system_df();
        let map = json(&out);
        let stable = ours
            .iter()
            .all(|i| before.exact.get(&i.id) == after.exact.get(&i.id));
        if !stable && attempt < 5 {
            continue;
        }
        let images = map["images"].as_array().expect("images");
        for img in ours {
            let row = images
                .iter()
                .find(|r| r["id"] == img.id.as_str())
                .unwrap_or_else(|| panic!("{} not in the map", img.tag));
            assert!(
                row["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == img.tag.as_str())),
                "{row}"
            );
            let (shared, unique) = (int(&row["shared_size"]), int(&row["unique_size"]));
            assert_eq!(
                before.exact.get(&img.id),
                Some(&(shared, unique)),
                "{}",
                img.tag
            );
            let (s, u) = &before.shown[&img.id];
            assert_eq!(
                (s.as_str(), u.as_str()),
                (human_size(shared).as_str(), human_size(unique).as_str())
            );
        }
        // The base's layers are used by all three images; each app's top is its own.
        let row = |i: &TestImage| {
            images
                .iter()
                .find(|r| r["id"] == i.id.as_str())
                .cloned()
                .unwrap_or_default()
        };
        let base_size = int(&row(&base)["size"]);
        assert_eq!(int(&row(&base)["shared_size"]), base_size);
        assert_eq!(int(&row(&base)["unique_size"]), 0);
        assert_eq!(int(&row(&one)["unique_size"]), 12 * KIB);
        assert_eq!(int(&row(&two)["unique_size"]), 7 * KIB);
        assert!(int(&map["savings"]) >= 2 * base_size, "{}", map["savings"]);
        assert_eq!(
            int(&map["savings"]),
            int(&map["total_virtual"]) - int(&map["total_stored"])
        );
        break;
    }
    let text = strata(&["sharing"]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("saved by sharing"), "{text}");
    assert!(text.contains(&one.tag), "{text}");
}

#[test]
fn bad_compare_arguments_are_one_line_errors() {
    let one = strata(&["compare", "docker:strata-test/none:x"]);
    assert_eq!(one.status.code(), Some(2));
    let five = strata(&["compare", "a", "b", "c", "d", "e"]);
    assert_eq!(five.status.code(), Some(2));
    for (args, want) in [
        (
            vec!["compare", "/nonexistent/a.tar", "/nonexistent/b.tar"],
            "",
        ),
        (
            vec!["compare", "a:1", "b:1", "--layers", "C:0", "A:0"],
            "--layers C:0: only 2 images given",
        ),
        (
            vec!["compare", "a:1", "b:1", "--platform", "nope/"],
            "--platform",
        ),
        (
            vec![
                "compare",
                "docker:strata-test/none-such:x",
                "docker:strata-test/none-such:y",
            ],
            "not found",
        ),
    ] {
        let o = strata(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err:?}");
        assert!(err.starts_with("strata: ") && err.contains(want), "{err:?}");
    }
    let bad_pct = strata(&["compare", "a", "b", "--fail-if-larger", "ten"]);
    assert_eq!(bad_pct.status.code(), Some(2));
    assert!(stderr(&bad_pct).contains("not a percentage"));
}
