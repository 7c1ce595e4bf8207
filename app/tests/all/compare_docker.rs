//! `app::compare` on real `docker save` output: a single-stage image (busybox, then a RUN
//! that leaves a toolchain, sources and a cache behind and builds `/out/app`) against
//! the multistage image of the same Dockerfile (busybox, then only `/out/app` copied
//! from the build stage). Figures are checked against `docker inspect`.
//! Images are tagged `strata-test/comparer-*` and removed when the test ends.

use crate::system_docker::TestImage;
use app::archive::read_archive;
use app::compare::{compare, fail_if_larger, render_markdown, ChangeKind, CompareOptions};
use app::limits::Limits;
use app::model::{Digest, Image};
use std::path::{Path, PathBuf};
use std::process::Command;

const DOCKERFILE: &str = r#"FROM scratch AS build
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "B=/bin/busybox; $B mkdir -p /toolchain/lib /src /root/.cache/build /out && $B dd if=/dev/zero of=/toolchain/lib/cc1 bs=1024 count=300 2>/dev/null && $B seq 1 5000 > /src/main.c && $B seq 1 3000 > /root/.cache/build/main.o && echo 'the app binary' > /out/app && $B chmod 755 /out/app"]

FROM scratch
COPY busybox /bin/busybox
COPY --from=build /out/app /app
CMD ["/app"]
"#;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The build context and the two images (tags unique to this process and call, as other
/// test runs may share the daemon); removed on drop.
struct Fixture {
    dir: PathBuf,
    single: TestImage,
    multi: TestImage,
}

/// `docker build` of the context in `dir`, up to the stage `target` if given.
fn build_image(name: &str, target: Option<&str>, dir: &Path) -> TestImage {
    let tag = crate::system_docker::unique_tag_with(name, "latest");
    let args: &[&str] = match target {
        Some(t) => &["--target", t],
        None => &[],
    };
    let out = crate::system_docker::build(&tag, args, dir).expect("run docker build");
    assert!(
        out.status.success(),
        "docker build of {tag} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    TestImage { tag, id }
}

impl Fixture {
    fn build() -> Fixture {
        let dir = std::env::temp_dir().join(format!("strata-comparer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        crate::system_docker::copy_busybox(&dir.join("busybox")).unwrap();
        std::fs::write(dir.join("Dockerfile"), DOCKERFILE).unwrap();
        let single = build_image("comparer-single", Some("build"), &dir);
        let multi = build_image("comparer-multi", None, &dir);
        Fixture { dir, single, multi }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Inspect {
    id: Digest,
    size: u64,
    layers: Vec<Digest>,
}

fn inspect(tag: &str) -> Inspect {
    let out = run(Command::new("docker").args(["inspect", tag]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v = &v[0];
    Inspect {
        id: Digest::parse(v["Id"].as_str().unwrap()).unwrap(),
        size: v["Size"].as_u64().unwrap(),
        layers: v["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| Digest::parse(l.as_str().unwrap()).unwrap())
            .collect(),
    }
}

fn diff_ids(image: &Image) -> Vec<Digest> {
    image.layers.iter().map(|l| l.diff_id.clone()).collect()
}

#[test]
fn docker_single_stage_vs_multistage_matches_docker_inspect() {
    let fx = Fixture::build();
    let (single_tag, multi_tag) = (fx.single.tag.as_str(), fx.multi.tag.as_str());
    let tar = fx.dir.join("both.tar");
    run(Command::new("docker")
        .args(["save", "-o"])
        .arg(&tar)
        .args([single_tag, multi_tag]));
    let file = std::fs::File::open(&tar).unwrap();
    let archive = read_archive(
        std::io::BufReader::new(file),
        &Limits::default(),
        &mut |_| {},
    )
    .expect("docker save archive");
    let single = archive
        .select(Some(single_tag), None)
        .expect("single-stage image");
    let multi = archive
        .select(Some(multi_tag), None)
        .expect("multistage image");
    let (si, mi) = (inspect(single_tag), inspect(multi_tag));
    assert_eq!(
        si.id.as_str(),
        fx.single.id,
        "the ID `docker build` printed"
    );
    assert_eq!(single.id, si.id);
    assert_eq!(multi.id, mi.id);
    assert_eq!(diff_ids(&single), si.layers);
    assert_eq!(diff_ids(&multi), mi.layers);

    let c = compare(&[&single, &multi], &CompareOptions::default()).unwrap();
    let (a, b) = (&c.images[0], &c.images[1]);
    // docker's image size is the sum of its layers' file payloads: our content bytes
    assert_eq!(a.content_bytes, si.size);
    assert_eq!(b.content_bytes, mi.size);
    assert_eq!(b.content_delta.bytes, mi.size as i64 - si.size as i64);

    // the busybox layer is the same build-cache layer in both: the common base
    assert_eq!(si.layers[0], mi.layers[0]);
    let p = &c.pairs[0];
    assert_eq!(p.shared_prefix.layers, 1);
    assert_eq!(c.layers.common_prefix, 1);
    let busybox = std::fs::metadata("/bin/busybox").unwrap().len();
    assert_eq!(p.shared_prefix.content_bytes, busybox);
    assert_eq!(b.unique_bytes, mi.size - busybox);
    assert_eq!(a.unique_bytes, si.size - busybox);

    // what the multistage build left behind
    let d = p.files.as_ref().unwrap();
    let cc1 = d
        .changes
        .iter()
        .find(|x| x.display == "/toolchain/lib/cc1")
        .expect("cc1 listed");
    assert_eq!(
        (cc1.change, cc1.size_before),
        (ChangeKind::Removed, 300 * 1024)
    );
    let app = d.changes.iter().find(|x| x.display == "/app").unwrap();
    assert_eq!(app.change, ChangeKind::Added);
    assert_eq!(app.size_after, "the app binary\n".len() as u64);
    assert_eq!(d.totals.unchanged, 1, "/bin/busybox");
    assert_eq!(d.b.bytes, mi.size);
    assert_eq!(d.a.bytes, si.size);
    let toolchain = d
        .groups
        .iter()
        .find(|g| g.display == "/toolchain/lib" || g.display == "/toolchain")
        .expect("toolchain group");
    assert!(!toolchain.in_b);
    assert_eq!(toolchain.totals.removed_bytes, 300 * 1024);

    let s = c.summary();
    assert!(
        s[0].starts_with("B is ") && s[0].contains("smaller than A"),
        "{s:#?}"
    );
    assert_eq!(
        s[1],
        format!(
            "the first layer ({}) is shared: the common base",
            app::fmt::size(busybox)
        )
    );
    assert!(s.iter().any(|l| l.starts_with("A's /toolchain")), "{s:#?}");
    assert!(!fail_if_larger(&c, 0.0).failed);
    assert!(render_markdown(&c).contains(multi_tag));
}
