//! Real-daemon check: for every layer of an image built here, the index computed from
//! Docker's own tar-split metadata (`layerdb/sha256/<chain-id>/tar-split.json.gz`) equals
//! the index of the layer tar that `docker save` exports. Needs a running dockerd with the
//! overlay2 graph driver; fails (never skips) without one.

use app::layer::index_layer;
use app::limits::Limits;
use app::model::{chain_ids, Digest, EntryKind, LayerIndex};
use app::tar::TarReader;
use app::tarsplit::index_tar_split;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const STEP: &str = r#"set -e
mkdir -p /etc/x/deep
echo hi > /etc/x/f
ln /etc/x/f /etc/x/hl
: > /etc/empty
rm /bin/ls
touch "/etc/$(printf '\377')"
mkdir -p /opt/d && touch /opt/d/a
L=n; for i in 1 2 3 4 5 6 7; do L="$L$L"; done
echo long > "/etc/x/deep/$L"
"#;

const STEP2: &str = "set -e\nrm -rf /opt/d\nmkdir -p /opt/d\necho b > /opt/d/b\n";

fn docker(args: &[&str]) -> Vec<u8> {
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `docker {}`: {e} (is the docker CLI installed?)",
                args.join(" ")
            )
        });
    assert!(
        out.status.success(),
        "`docker {}` failed (is dockerd running?): {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Removes the test image and build context even when an assertion fails.
struct Cleanup {
    tag: String,
    dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        crate::system_docker::remove(&[&self.tag]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn build_image(tag: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    crate::system_docker::copy_busybox(&dir.join("busybox"))
        .expect("this test needs a static /bin/busybox (Debian busybox-static)");
    std::fs::write(dir.join("step.sh"), STEP).unwrap();
    std::fs::write(dir.join("step2.sh"), STEP2).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
         COPY step.sh step2.sh /\n\
         RUN [\"/bin/busybox\", \"sh\", \"/step.sh\"]\n\
         RUN [\"/bin/busybox\", \"sh\", \"/step2.sh\"]\n",
    )
    .unwrap();
    let out = crate::system_docker::build(tag, &[], dir).expect("run docker build");
    assert!(
        out.status.success(),
        "docker build of {tag} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The members of a `docker save` archive, read with our own tar reader.
fn members(save: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut tr = TarReader::new(save, &Limits::default());
    let mut out = HashMap::new();
    while let Some(h) = tr.next_header().unwrap() {
        let mut data = Vec::new();
        tr.payload().read_to_end(&mut data).unwrap();
        out.insert(String::from_utf8(h.path).unwrap(), data);
    }
    out
}

#[test]
fn tar_split_index_equals_exported_layer_index() {
    let tag = crate::system_docker::unique_tag("tarsmith-tarsplit");
    let dir = std::env::temp_dir().join(format!("strata-tarsplit-{}", std::process::id()));
    let _cleanup = Cleanup {
        tag: tag.clone(),
        dir: dir.clone(),
    };
    let driver = String::from_utf8(docker(&["info", "--format", "{{.Driver}}"])).unwrap();
    assert_eq!(
        driver.trim(),
        "overlay2",
        "the daemon must use the overlay2 graph driver"
    );
    let root = String::from_utf8(docker(&["info", "--format", "{{.DockerRootDir}}"])).unwrap();
    let layerdb = PathBuf::from(root.trim()).join("image/overlay2/layerdb/sha256");

    build_image(&tag, &dir);
    let files = members(&docker(&["save", &tag]));
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&files[manifest[0]["Config"].as_str().unwrap()]).unwrap();
    let diff_ids: Vec<Digest> =
        serde_json::from_value(config["rootfs"]["diff_ids"].clone()).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), diff_ids.len());
    assert!(
        diff_ids.len() >= 5,
        "expected the five layers the Dockerfile makes"
    );

    let limits = Limits::default();
    let mut all: Vec<LayerIndex> = Vec::new();
    for ((layer, diff_id), chain) in layers.iter().zip(&diff_ids).zip(chain_ids(&diff_ids)) {
        let tar = &files[layer.as_str().unwrap()];
        let exported = index_layer(tar.as_slice(), Some(diff_id), &limits, &mut |_| {})
            .unwrap_or_else(|e| panic!("indexing exported layer {diff_id}: {e}"));
        let meta = layerdb.join(chain.hex());
        let recorded = std::fs::read_to_string(meta.join("diff")).unwrap();
        assert_eq!(recorded.trim(), diff_id.as_str());
        let split_file = std::fs::File::open(meta.join("tar-split.json.gz")).unwrap();
        let split = index_tar_split(split_file, diff_id.clone(), &limits)
            .unwrap_or_else(|e| panic!("indexing tar-split of {diff_id}: {e}"));
        assert_eq!(split, exported, "layer {diff_id}");
        all.push(split);
    }

    // The layers exercised what they should: a big file with its CRC, hundreds of
    // symlinks, a hard link, a whiteout, an opaque directory, a non-UTF-8 name, a long name.
    let find = |p: &[u8]| all.iter().flat_map(|l| &l.entries).find(|e| &*e.path == p);
    let bb = find(b"bin/busybox").unwrap();
    assert!(bb.size > 100_000 && bb.crc64.is_some());
    assert!(
        all[1]
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Symlink)
            .count()
            > 100
    );
    assert_eq!(find(b"etc/x/hl").unwrap().kind, EntryKind::Hardlink);
    assert!(find(b"bin/.wh.ls").is_some());
    assert!(find(b"opt/d/.wh..wh..opq").is_some());
    assert!(find(b"etc/\xff").is_some());
    let long = format!("etc/x/deep/{}", "n".repeat(128));
    assert!(find(long.as_bytes()).is_some());
}
