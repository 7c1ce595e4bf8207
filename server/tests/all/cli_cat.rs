//! `strata cat` end to end: the final filesystem and each layer's stored version of a
//! path (a deleted version included), `--diff` between layers, links followed inside the
//! image only, one-line errors with exit 2 — over a `docker save` archive, a daemon image
//! (read from overlay2 when the layer store is readable) and a gzip OCI layout.

use crate::docker_support::image::TestImage;
use app::testkit::{ImageBuilder, LayerBuilder};
use std::process::{Command, Output};

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env_remove("DOCKER_HOST")
        .env("STRATA_CACHE_DIR", "/nonexistent/strata-test-cache")
        .output()
        .expect("run strata")
}

fn ok(o: &Output) -> Vec<u8> {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout.clone()
}

fn one_line_error(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("strata: "), "{err:?}");
    assert!(o.stdout.is_empty());
    err
}

fn archive(dir: &std::path::Path) -> String {
    let image = ImageBuilder::new()
        .layer(
            "COPY app.conf /etc/",
            &LayerBuilder::new()
                .dir("etc")
                .file("etc/app.conf", b"version=1\n")
                .file("bin/tool", b"\x7fELF tool")
                .hardlink("bin/alias", "bin/tool"),
        )
        .layer(
            "RUN rewrite",
            &LayerBuilder::new().file("etc/app.conf", b"version=2\nextra\n"),
        )
        .layer(
            "RUN rm /etc/app.conf",
            &LayerBuilder::new()
                .whiteout("etc/app.conf")
                .symlink("evil", "../../../../etc/passwd")
                .symlink("environ", "/proc/self/environ")
                .symlink("conf", "etc/gone")
                .symlink("alias-link", "/bin/alias"),
        );
    let path = dir.join("img.tar");
    std::fs::write(&path, image.docker_save()).unwrap();
    format!("docker-archive:{}", path.display())
}

#[test]
fn cat_reads_every_layers_version_and_explains_what_is_absent() {
    let dir = tempfile::tempdir().unwrap();
    let src = archive(dir.path());
    assert_eq!(
        ok(&strata(&["cat", &src, "/etc/app.conf", "--layer", "0"])),
        b"version=1\n"
    );
    assert_eq!(
        ok(&strata(&["cat", &src, "etc/app.conf", "--layer", "1"])),
        b"version=2\nextra\n"
    );
    let gone = one_line_error(&strata(&["cat", &src, "/etc/app.conf"]));
    assert!(
        gone.contains("/etc/app.conf: not in the final filesystem; present in layers 0, 1"),
        "{gone}"
    );
    let not_here = one_line_error(&strata(&["cat", &src, "/etc/app.conf", "--layer", "2"]));
    assert!(
        not_here.contains("not in layer 2; present in layers 0, 1"),
        "{not_here}"
    );
    let dir_err = one_line_error(&strata(&["cat", &src, "/etc", "--layer", "0"]));
    assert!(dir_err.contains("is a directory"), "{dir_err}");
    let no_layer = one_line_error(&strata(&["cat", &src, "/etc/app.conf", "--layer", "9"]));
    assert!(
        no_layer.contains("no layer 9: the image has 3 layers"),
        "{no_layer}"
    );
    // hard links open their target; a symlink to a hard link too
    assert_eq!(ok(&strata(&["cat", &src, "/bin/alias"])), b"\x7fELF tool");
    assert_eq!(ok(&strata(&["cat", &src, "/alias-link"])), b"\x7fELF tool");
}

#[test]
fn cat_diff_prints_a_unified_diff_of_two_layers() {
    let dir = tempfile::tempdir().unwrap();
    let src = archive(dir.path());
    let out = String::from_utf8(ok(&strata(&[
        "cat",
        &src,
        "/etc/app.conf",
        "--diff",
        "0",
        "1",
    ])))
    .unwrap();
    assert_eq!(
        out,
        "--- layer0/etc/app.conf\n+++ layer1/etc/app.conf\n@@ -1,1 +1,2 @@\n-version=1\n+version=2\n+extra\n"
    );
    let same =
        String::from_utf8(ok(&strata(&["cat", &src, "/bin/tool", "--diff", "0", "0"]))).unwrap();
    assert!(same.contains("identical"), "{same}");
    let absent = one_line_error(&strata(&["cat", &src, "/etc/app.conf", "--diff", "0", "2"]));
    assert!(absent.contains("not in layer 2"), "{absent}");
}

#[test]
fn hostile_symlinks_resolve_inside_the_image_never_on_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let src = archive(dir.path());
    for link in ["/evil", "/environ", "/conf"] {
        let e = one_line_error(&strata(&["cat", &src, link]));
        assert!(e.contains("no such file in the image"), "{link}: {e}");
        assert!(!e.contains("root:"), "{link}: host bytes leaked: {e}");
    }
}

#[test]
fn cat_reads_daemon_images_and_gzip_oci_layouts_byte_exact() {
    let img = TestImage::build(
        "cat",
        "FROM scratch\nCOPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\",\"sh\",\"-c\",\"echo hello > /greeting; /bin/busybox ln -s ../../../../etc/passwd /evil\"]\n",
    );
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let docker = format!("docker:{}", img.tag);
    assert_eq!(ok(&strata(&["cat", &docker, "/greeting"])), b"hello\n");
    assert!(ok(&strata(&["cat", &docker, "/bin/busybox"])) == busybox);
    let e = one_line_error(&strata(&["cat", &docker, "/evil"]));
    assert!(e.contains("no such file in the image"), "{e}");
    // without Docker's layer store, the bytes come from the image's export
    let exported = strata(&["--no-layer-store", "cat", &docker, "/bin/busybox"]);
    assert!(ok(&exported) == busybox);

    let layout = tempfile::tempdir().unwrap();
    img.skopeo_copy(&format!("oci:{}:v1", layout.path().display()));
    let oci = format!("oci:{}", layout.path().display());
    assert_eq!(ok(&strata(&["cat", &oci, "/greeting"])), b"hello\n");
    assert!(ok(&strata(&["cat", &oci, "/bin/busybox", "--layer", "0"])) == busybox);
}
