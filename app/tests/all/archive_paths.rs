//! BAD-INPUTS §2.2 rows A1 (manifest paths) and A5 (symlinked members) against
//! `app::archive`, plus the basic reads; archives are built in memory.

use crate::archive_support::kit;

use app::archive::{ArchiveError, ArchiveFormat, Assembler, PathError};
use app::limits::Limits;
use app::model::Digest;
use kit::*;
use serde_json::json;

// ---------------------------------------------------------------- happy paths

#[test]
fn classic_save_reads_with_diff_ids_and_id() {
    let (a, b) = (l1(), l2());
    let bytes = classic(&[&a, &b], &["demo:1"]);
    let archive = read(&bytes).unwrap();
    assert_eq!(archive.format, ArchiveFormat::DockerSave);
    let img = archive.select(None, None).unwrap();
    assert_eq!(img.tags, vec!["demo:1"]);
    assert_eq!(img.id, Digest::of(&img.config_raw));
    let diff: Vec<Digest> = img.layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(diff, vec![Digest::of(&a), Digest::of(&b)]);
    assert_eq!(img.layers[0].entries[0].path.as_ref(), b"bin/a");
    assert_eq!(img.config.layer_history(), vec![Some(0), Some(1)]);
}

#[test]
fn members_in_any_order_through_the_assembler() {
    // index.json first, blobs after: the assembler must not care.
    let mut oci = Oci::default();
    let (a, b) = (l1(), l2());
    let m = oci.image(&[&a, &b], "amd64", true);
    let limits = Limits::default();
    let mut seen = 0u64;
    let mut progress = |n: u64| seen = seen.max(n);
    let mut asm = Assembler::new(&limits, &mut progress);
    let index = Oci::index_doc(vec![with_ref(m, "x:1")]);
    asm.add_file("index.json", index.len() as u64, &mut &index[..])
        .unwrap();
    for (name, data) in oci.blobs.iter().rev() {
        asm.add_file(&format!("./{name}"), data.len() as u64, &mut &data[..])
            .unwrap();
    }
    let archive = asm.finish().unwrap();
    assert_eq!(archive.format, ArchiveFormat::Oci);
    let img = archive.select(Some("x:1"), None).unwrap();
    assert_eq!(img.layers.len(), 2);
    assert_eq!(img.layers[1].diff_id, Digest::of(&b));
    assert!(
        img.layers[0].compressed_size.is_some(),
        "gzip layer recorded"
    );
    assert!(seen > 0, "progress reported");
}

// ---------------------------------------------------------------- A1

#[test]
fn a1_parent_escape_in_layers_fails() {
    let a = l1();
    let (outer, mut entry, _) = classic_parts(&[&a], &["x:1"]);
    entry["Layers"] = json!(["../../etc/passwd"]);
    let bytes = outer
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    assert!(
        matches!(
            &err,
            ArchiveError::Path {
                source: PathError::Escapes(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("escapes the archive root"),
        "{err}"
    );
}

#[test]
fn a1_parent_escape_in_config_fails() {
    let a = l1();
    let (outer, mut entry, _) = classic_parts(&[&a], &["x:1"]);
    entry["Config"] = json!("blobs/../../../etc/passwd");
    let bytes = outer
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    assert!(matches!(err, ArchiveError::Path { .. }), "{err}");
}

#[test]
fn a1_absolute_path_is_rooted_in_the_archive() {
    // `/etc/passwd` names the member etc/passwd, never the host file: absent here, so
    // the layer is reported missing.
    let a = l1();
    let (outer, mut entry, _) = classic_parts(&[&a], &["x:1"]);
    entry["Layers"] = json!(["/etc/passwd"]);
    let bytes = outer
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let archive = read(&bytes).unwrap();
    match archive.select(None, None).unwrap_err() {
        ArchiveError::MissingLayers { missing, .. } => {
            assert_eq!(missing[0].source, "/etc/passwd")
        }
        other => panic!("expected missing layer, got {other}"),
    }
    // With a member of that name inside the archive, the absolute path resolves to it.
    let (outer, mut entry, _) = classic_parts(&[&a], &["x:1"]);
    entry["Layers"] = json!(["/etc/passwd"]);
    let bytes = outer
        .file("etc/passwd", &a)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let img = read(&bytes).unwrap().select(None, None).unwrap();
    assert_eq!(img.layers[0].diff_id, Digest::of(&a));
}

#[test]
fn a1_windows_path_fails() {
    let a = l1();
    let (outer, mut entry, _) = classic_parts(&[&a], &["x:1"]);
    entry["Layers"] = json!(["C:\\x"]);
    let bytes = outer
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let err = read(&bytes).unwrap().select(None, None).unwrap_err();
    assert!(
        matches!(
            &err,
            ArchiveError::Path {
                source: PathError::Windows(_),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a1_dot_segments_are_normalised() {
    let a = l1();
    let (outer, mut entry, _) = classic_parts(&[&a], &["x:1"]);
    let real = format!("{}/layer.tar", Digest::of(&a).hex());
    entry["Layers"] = json!([format!("./blobs/..//{real}")]);
    let bytes = outer
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let img = read(&bytes).unwrap().select(None, None).unwrap();
    assert_eq!(img.layers[0].diff_id, Digest::of(&a));
}

// ---------------------------------------------------------------- A5

#[test]
fn a5_symlinked_layer_tar_is_followed() {
    let (a, b) = (l1(), l2());
    let config = config_for(&[&a, &b, &a], "amd64");
    let name = format!("{}.json", Digest::of(&config).hex());
    let entry = json!({"Config": name, "RepoTags": ["x:1"],
        "Layers": ["aa/layer.tar", "bb/layer.tar", "cc/layer.tar"]});
    let bytes = Outer::new()
        .file("aa/layer.tar", &a)
        .file("bb/layer.tar", &b)
        .symlink("cc/layer.tar", "../aa/layer.tar")
        .file(&name, &config)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let img = read(&bytes).unwrap().select(None, None).unwrap();
    assert_eq!(img.layers.len(), 3);
    assert!(std::sync::Arc::ptr_eq(&img.layers[0], &img.layers[2]));
}

fn symlink_case(
    links: &[(&str, &str)],
    layer_path: &str,
) -> Result<app::model::Image, ArchiveError> {
    let a = l1();
    let config = config_for(&[&a], "amd64");
    let name = format!("{}.json", Digest::of(&config).hex());
    let entry = json!({"Config": name, "Layers": [layer_path]});
    let mut outer = Outer::new().file("real/layer.tar", &a);
    for (from, to) in links {
        outer = outer.symlink(from, to);
    }
    let bytes = outer
        .file(&name, &config)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    read(&bytes).unwrap().select(None, None)
}

#[test]
fn a5_symlink_cycle_fails() {
    let err = symlink_case(&[("x", "x")], "x").unwrap_err();
    assert!(matches!(err, ArchiveError::Symlink { .. }), "{err}");
    let err = symlink_case(
        &[
            ("a/layer.tar", "../b/layer.tar"),
            ("b/layer.tar", "../a/layer.tar"),
        ],
        "a/layer.tar",
    )
    .unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
}

#[test]
fn a5_symlink_outside_the_archive_fails() {
    let err = symlink_case(&[("a/layer.tar", "../../etc/passwd")], "a/layer.tar").unwrap_err();
    assert!(matches!(err, ArchiveError::Symlink { .. }), "{err}");
    assert!(err.to_string().contains("escapes"), "{err}");
}

#[test]
fn a5_symlink_chain_over_eight_hops_fails() {
    let names: Vec<String> = (0..10).map(|i| format!("l{i}")).collect();
    let mut links: Vec<(&str, &str)> = names
        .windows(2)
        .map(|w| (w[0].as_str(), w[1].as_str()))
        .collect();
    links.push(("l9", "real/layer.tar"));
    let err = symlink_case(&links, "l0").unwrap_err();
    assert!(err.to_string().contains("more than 8 hops"), "{err}");
    // Eight hops are fine.
    let ok: Vec<(&str, &str)> = links[2..].to_vec();
    let img = symlink_case(&ok, "l2").unwrap();
    assert_eq!(img.layers[0].entries[0].path.as_ref(), b"bin/a");
}

#[test]
fn hardlinked_member_resolves_from_the_archive_root() {
    // GNU tar stores hard-linked files of a layout as `1` entries naming the first copy.
    let a = l1();
    let config = config_for(&[&a], "amd64");
    let name = format!("{}.json", Digest::of(&config).hex());
    let entry = json!({"Config": name, "Layers": ["copy/layer.tar"]});
    let mut outer = Outer::new().file("orig/layer.tar", &a);
    let h = header("copy/layer.tar", 0, tar::EntryType::Link, "orig/layer.tar");
    outer.0.append(&h, &[][..]).unwrap();
    let bytes = outer
        .file(&name, &config)
        .file(
            "manifest.json",
            &serde_json::to_vec(&json!([entry])).unwrap(),
        )
        .bytes();
    let img = read(&bytes).unwrap().select(None, None).unwrap();
    assert_eq!(img.layers[0].diff_id, Digest::of(&a));
}

#[test]
fn archive_and_errors_cross_threads() {
    // The server reads in spawn_blocking and hands the result to async code.
    let a = l1();
    let archive = read(&classic(&[&a], &["x:1"])).unwrap();
    let err = read(b"not a tar at all, just some bytes").unwrap_err();
    let (id, msg) = std::thread::spawn(move || {
        let id = archive
            .select(None, None)
            .map(|i| i.layers[0].diff_id.clone());
        (id, err.to_string())
    })
    .join()
    .unwrap();
    assert_eq!(id.unwrap(), Digest::of(&a));
    assert!(!msg.is_empty());
}

/// Yields at most 7 bytes per read, as sockets and decoders may.
struct ShortReads<'a>(&'a [u8], usize);

impl std::io::Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 = self.1 % 7 + 1;
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn short_reads_give_the_same_archive() {
    let (a, b) = (l1(), l2());
    let mut oci = Oci::default();
    let m = oci.image(&[&a, &b], "amd64", true);
    let bytes = oci.outer(vec![with_ref(m, "x:1")]).bytes();
    let whole = read(&bytes).unwrap().select(None, None).unwrap();
    let limits = Limits::default();
    let mut last = 0;
    let archive =
        app::archive::read_archive(ShortReads(&bytes, 0), &limits, &mut |n| last = n).unwrap();
    let short = archive.select(None, None).unwrap();
    assert_eq!(short.id, whole.id);
    assert_eq!(short.layers, whole.layers);
    assert!(last > 0, "progress reported");
}
