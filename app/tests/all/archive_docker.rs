//! Real-format tests: images built by this machine's dockerd (`FROM scratch` + busybox),
//! exported with `docker save`, and converted to OCI layouts with skopeo (uncompressed,
//! gzip and zstd layers) and `oci-archive` tars; read back through `app::archive` and
//! compared with `docker inspect` (tags, layer count, `RootFS.Layers`, image ID).
//! Images are tagged `strata-test/archivist-*` and removed when each test ends.

use app::archive::{read_archive, Archive, ArchiveError, ArchiveFormat, Assembler};
use app::limits::Limits;
use app::model::{Compression, Digest, Image};
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch directory and the images built for one test; both removed on drop.
struct Fixture {
    dir: PathBuf,
    tags: Vec<String>,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("strata-archivist-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Fixture {
            dir,
            tags: Vec::new(),
        }
    }

    /// Builds `FROM scratch`, busybox, then one small file; returns the tag: `tag` made
    /// unique to this process and call (`strata-test/<name>-<pid>-<n>:<tag>`), since
    /// other test runs may share the daemon.
    fn build(&mut self, tag: &str, file: &str, content: &str) -> String {
        let (name, version) = tag
            .strip_prefix("strata-test/")
            .and_then(|t| t.split_once(':'))
            .expect("a strata-test/NAME:TAG tag");
        let tag = &crate::system_docker::unique_tag_with(name, version);
        let ctx = self.dir.join(format!("ctx-{}", self.tags.len()));
        std::fs::create_dir_all(&ctx).unwrap();
        crate::system_docker::copy_busybox(&ctx.join("busybox")).unwrap();
        std::fs::write(ctx.join("payload"), content).unwrap();
        std::fs::write(
            ctx.join("Dockerfile"),
            format!("FROM scratch\nCOPY busybox /bin/busybox\nCOPY payload {file}\nENV STRATA=test\nCMD [\"/bin/busybox\", \"sh\"]\n"),
        )
        .unwrap();
        self.tags.push(tag.to_owned());
        let out = crate::system_docker::build(tag, &[], &ctx).expect("run docker build");
        assert!(
            out.status.success(),
            "docker build of {tag} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tag.to_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let tags: Vec<&str> = self.tags.iter().map(String::as_str).collect();
        crate::system_docker::remove(&tags);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `docker inspect`: (image ID, RootFS.Layers, RepoTags).
fn inspect(tag: &str) -> (Digest, Vec<Digest>, Vec<String>) {
    let out = run(Command::new("docker").args(["image", "inspect", tag]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let img = &v[0];
    let id = Digest::parse(img["Id"].as_str().unwrap()).unwrap();
    let layers = img["RootFS"]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| Digest::parse(l.as_str().unwrap()).unwrap())
        .collect();
    let tags = img["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    (id, layers, tags)
}

fn read_file(path: &Path) -> Result<Archive, ArchiveError> {
    let f = std::fs::File::open(path).unwrap();
    read_archive(std::io::BufReader::new(f), &Limits::default(), &mut |_| {})
}

/// Drives the assembler from a directory walk, as the server does for `oci:DIR`.
fn read_dir(root: &Path) -> Result<Archive, ArchiveError> {
    let limits = Limits::default();
    let mut progress = |_| {};
    let mut asm = Assembler::new(&limits, &mut progress);
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                asm.add_symlink(&rel, target.to_str().unwrap());
            } else if meta.is_dir() {
                stack.push(p);
            } else {
                let mut f = std::fs::File::open(&p).unwrap();
                asm.add_file(&rel, meta.len(), &mut f)?;
            }
        }
    }
    asm.finish()
}

/// Checks diff IDs and contents against `docker inspect`, and the image ID: the daemon's
/// for `docker save` output.
fn assert_matches_inspect(img: &Image, tag: &str) {
    let (id, _, _) = inspect(tag);
    assert_eq!(img.id, id, "image id of {tag}");
    assert_layers_match(img, tag);
}

/// skopeo rewrites the config as an OCI config, so the ID of a converted layout is the
/// digest skopeo's manifest names; the layers (diff IDs) stay the daemon's.
fn assert_matches_layout(img: &Image, tag: &str, layout_ref: &str) {
    let raw = run(Command::new("skopeo").args(["inspect", "--raw", layout_ref]));
    let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let config = Digest::parse(manifest["config"]["digest"].as_str().unwrap()).unwrap();
    assert_eq!(img.id, config, "image id of {layout_ref}");
    assert_layers_match(img, tag);
}

fn assert_layers_match(img: &Image, tag: &str) {
    let (_, layers, _) = inspect(tag);
    let diff: Vec<Digest> = img.layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(diff, layers, "diff ids of {tag}");
    assert_eq!(img.config.rootfs.diff_ids, layers);
    let busybox = std::fs::metadata("/bin/busybox").unwrap().len();
    assert!(
        img.layers[0]
            .entries
            .iter()
            .any(|e| e.path.as_ref() == b"bin/busybox" && e.size == busybox),
        "busybox in layer 0 of {tag}"
    );
}

#[test]
fn docker_save_single_and_combined() {
    let mut fx = Fixture::new("save");
    let a = fx.build(
        "strata-test/archivist-save-a:1",
        "/hello.txt",
        "hello from a\n",
    );
    let b = fx.build(
        "strata-test/archivist-save-b:1",
        "/etc/other.txt",
        "other file in b\n",
    );

    // One image.
    let single = fx.path("a.tar");
    run(Command::new("docker")
        .args(["save", "-o"])
        .arg(&single)
        .arg(&a));
    let archive = read_file(&single).unwrap();
    assert_eq!(archive.format, ArchiveFormat::DockerSave);
    let img = archive.select(None, None).unwrap();
    assert_eq!(img.tags, vec![a.clone()]);
    assert_eq!(img.layers.len(), 2);
    assert_matches_inspect(&img, &a);
    let payload = img.layers[1]
        .entries
        .iter()
        .find(|e| e.path.as_ref() == b"hello.txt")
        .unwrap();
    assert_eq!(payload.size, 13);
    assert_eq!(
        img.config.config.env.as_deref().unwrap().last().unwrap(),
        "STRATA=test"
    );
    assert_eq!(img.config.layer_history().len(), 2);

    // Both images in one archive: the user picks; the shared busybox layer is one index.
    let both = fx.path("ab.tar");
    run(Command::new("docker")
        .args(["save", "-o"])
        .arg(&both)
        .args([&a, &b]));
    let archive = read_file(&both).unwrap();
    assert_eq!(archive.images().len(), 2);
    let err = archive.select(None, None).unwrap_err();
    assert!(matches!(err, ArchiveError::SeveralImages { .. }), "{err}");
    assert!(
        err.to_string().contains(&a) && a.starts_with("strata-test/archivist-save-a-"),
        "{err}"
    );
    let ia = archive.select(Some(&a), None).unwrap();
    let ib = archive.select(Some(&b), None).unwrap();
    assert_matches_inspect(&ia, &a);
    assert_matches_inspect(&ib, &b);
    assert_eq!(ib.tags, vec![b.clone()]);
    assert_eq!(ia.layers[0].diff_id, ib.layers[0].diff_id);
    assert!(std::sync::Arc::ptr_eq(&ia.layers[0], &ib.layers[0]));
    let (id_b, _, _) = inspect(&b);
    assert_eq!(
        archive.select(Some(&id_b.hex()[..12]), None).unwrap().id,
        id_b
    );
}

#[test]
fn skopeo_oci_layouts_and_oci_archive() {
    let mut fx = Fixture::new("oci");
    let a = fx.build(
        "strata-test/archivist-oci-a:1",
        "/hello.txt",
        "hello from the oci test\n",
    );
    let saved = fx.path("a.tar");
    run(Command::new("docker")
        .args(["save", "-o"])
        .arg(&saved)
        .arg(&a));
    let src = format!("docker-archive:{}", saved.display());

    // skopeo's default: gzip-compressed layers.
    let gz_dir = fx.path("layout-gz");
    run(Command::new("skopeo")
        .args(["copy", "-q", &src])
        .arg(format!("oci:{}:v1", gz_dir.display())));
    let archive = read_dir(&gz_dir).unwrap();
    assert_eq!(archive.format, ArchiveFormat::Oci);
    assert_eq!(archive.images()[0].ref_names, vec!["v1"]);
    let img = archive.select(Some("v1"), None).unwrap();
    assert_matches_layout(&img, &a, &format!("oci:{}:v1", gz_dir.display()));
    assert!(img
        .layers
        .iter()
        .all(|l| l.compression == Compression::Gzip));
    assert!(img.layers.iter().all(|l| l.blob_digest.is_some()));

    // Uncompressed layers.
    let raw_dir = fx.path("layout-raw");
    run(Command::new("skopeo")
        .args(["copy", "-q", "--dest-oci-accept-uncompressed-layers", &src])
        .arg(format!("oci:{}:raw", raw_dir.display())));
    let img = read_dir(&raw_dir)
        .unwrap()
        .select(Some("raw"), None)
        .unwrap();
    assert_matches_layout(&img, &a, &format!("oci:{}:raw", raw_dir.display()));
    assert!(img
        .layers
        .iter()
        .all(|l| l.compression == Compression::None));

    // zstd layers.
    let zstd_dir = fx.path("layout-zstd");
    run(Command::new("skopeo")
        .args(["copy", "-q", "--dest-compress-format", "zstd", &src])
        .arg(format!("oci:{}:z", zstd_dir.display())));
    let img = read_dir(&zstd_dir).unwrap().select(None, None).unwrap();
    assert_matches_layout(&img, &a, &format!("oci:{}:z", zstd_dir.display()));
    assert!(img
        .layers
        .iter()
        .all(|l| l.compression == Compression::Zstd));

    // oci-archive: the layout as one tar, read as a stream.
    let oci_tar = fx.path("a-oci.tar");
    run(Command::new("skopeo")
        .args(["copy", "-q", &src])
        .arg(format!("oci-archive:{}:v2", oci_tar.display())));
    let archive = read_file(&oci_tar).unwrap();
    assert_eq!(archive.format, ArchiveFormat::Oci);
    let img = archive.select(Some("v2"), None).unwrap();
    assert_matches_layout(&img, &a, &format!("oci-archive:{}:v2", oci_tar.display()));

    // A missing blob in a real layout: the image is partial, never complete.
    let layer_blob = img.layers[1].blob_digest.clone().unwrap();
    std::fs::remove_file(gz_dir.join("blobs/sha256").join(layer_blob.hex())).unwrap();
    let archive = read_dir(&gz_dir).unwrap();
    let err = archive.select(Some("v1"), None).unwrap_err();
    assert!(matches!(err, ArchiveError::MissingLayers { .. }), "{err}");
    let partial = archive.select_partial(Some("v1"), None).unwrap();
    assert_eq!(partial.missing[0].index, 1);
}

#[test]
fn umoci_layout_reads() {
    let mut fx = Fixture::new("umoci");
    let a = fx.build("strata-test/archivist-umoci-a:1", "/u.txt", "umoci\n");
    let saved = fx.path("a.tar");
    run(Command::new("docker")
        .args(["save", "-o"])
        .arg(&saved)
        .arg(&a));
    let dir = fx.path("layout");
    run(Command::new("skopeo")
        .args(["copy", "-q", &format!("docker-archive:{}", saved.display())])
        .arg(format!("oci:{}:base", dir.display())));
    // umoci adds a tag pointing at the same manifest: two ref names, one image.
    run(Command::new("umoci")
        .args(["tag", "--image"])
        .arg(format!("{}:base", dir.display()))
        .arg("second"));
    let archive = read_dir(&dir).unwrap();
    assert_eq!(archive.images().len(), 1);
    let mut refs = archive.images()[0].ref_names.clone();
    refs.sort();
    assert_eq!(refs, vec!["base", "second"]);
    let img = archive.select(Some("second"), None).unwrap();
    assert_matches_layout(&img, &a, &format!("oci:{}:second", dir.display()));
}
