//! Writes `docker save` archives (classic layout: `manifest.json`, `<id>.json`,
//! `<n>/layer.tar`) straight to disk, so an image with a layer of hundreds of MB of
//! incompressible bytes never sits in memory. Digests come from `sha256sum`, which is

//! much faster than a debug-built hasher.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::process::Command;

/// What the archive holds.
pub struct BigImage {
    /// `sha256:<hex>` of the config (the image ID after `docker load`).
    pub id: String,
    pub tag: String,
}

/// Writes `<dir>/<name>.tar`: layer 0 holds `big/blob`, `big_bytes` bytes from
/// /dev/urandom; layer 1 holds `etc/marker` with `marker` as contents (so two archives
/// written with different markers are different images).
pub fn write_archive(dir: &Path, name: &str, tag: &str, big_bytes: u64, marker: &str) -> BigImage {
    let work = dir.join(format!("{name}.d"));
    std::fs::create_dir_all(&work).expect("create archive work dir");
    let l0 = work.join("0.tar");
    let l1 = work.join("1.tar");
    {
        let mut b = tar::Builder::new(BufWriter::new(File::create(&l0).expect("create layer")));
        append_dir(&mut b, "big/");
        let mut h = header(tar::EntryType::Regular, 0o644, big_bytes);
        let random = File::open("/dev/urandom")
            .expect("open /dev/urandom")
            .take(big_bytes);
        b.append_data(&mut h, "big/blob", random)
            .expect("write big file");
        b.into_inner()
            .and_then(|mut w| w.flush())
            .expect("finish layer");
    }
    {
        let mut b = tar::Builder::new(BufWriter::new(File::create(&l1).expect("create layer")));
        append_dir(&mut b, "etc/");
        let mut h = header(tar::EntryType::Regular, 0o644, marker.len() as u64);
        b.append_data(&mut h, "etc/marker", marker.as_bytes())
            .expect("write marker");
        b.into_inner()
            .and_then(|mut w| w.flush())
            .expect("finish layer");
    }
    let diff_ids = vec![sha256_file(&l0), sha256_file(&l1)];
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Env": ["PATH=/bin"], "Labels": { "strata.test": tag } },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": [
            { "created_by": "ADD big/blob" },
            { "created_by": "ADD etc/marker" }
        ]
    });
    let config = serde_json::to_vec(&config).expect("config json");
    let config_hex = sha256_bytes(&config);
    let manifest = serde_json::json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": [tag],
        "Layers": ["0/layer.tar", "1/layer.tar"]
    }]);
    let manifest = serde_json::to_vec(&manifest).expect("manifest json");
    let out = dir.join(format!("{name}.tar"));
    let mut b = tar::Builder::new(BufWriter::new(File::create(&out).expect("create archive")));
    for (i, layer) in [&l0, &l1].iter().enumerate() {
        append_dir(&mut b, &format!("{i}/"));
        b.append_path_with_name(layer, format!("{i}/layer.tar"))
            .expect("append layer");
    }
    append_bytes(&mut b, &format!("{config_hex}.json"), &config);
    append_bytes(&mut b, "manifest.json", &manifest);
    b.into_inner()
        .and_then(|mut w| w.flush())
        .expect("finish archive");
    let _ = std::fs::remove_dir_all(&work);
    BigImage {
        id: format!("sha256:{config_hex}"),
        tag: tag.to_owned(),
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn append_dir<W: Write>(b: &mut tar::Builder<W>, path: &str) {
    let mut h = header(tar::EntryType::Directory, 0o755, 0);
    b.append_data(&mut h, path, std::io::empty())
        .expect("append dir");
}

fn append_bytes<W: Write>(b: &mut tar::Builder<W>, path: &str, data: &[u8]) {
    let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
    b.append_data(&mut h, path, data).expect("append file");
}

/// `sha256:<hex>` of a file, by `sha256sum`.
pub fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(out.status.success(), "sha256sum failed");
    let hex = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    format!("sha256:{hex}")
}

fn sha256_bytes(data: &[u8]) -> String {
    app::model::Digest::of(data)
        .as_str()
        .trim_start_matches("sha256:")
        .to_owned()
}

/// An image loaded into the system daemon, removed (`docker rmi -f`) on drop.
pub struct Loaded {
    pub image: BigImage,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        crate::system_docker::remove(&[&self.image.tag]);
    }
}

/// [`write_archive`], then `docker load` into the system daemon; the archive is
/// deleted once loaded.
pub fn load_into_system_daemon(
    dir: &Path,
    name: &str,
    tag: &str,
    big_bytes: u64,
    marker: &str,
) -> Loaded {
    let image = write_archive(dir, name, tag, big_bytes, marker);
    let archive = dir.join(format!("{name}.tar"));
    let lock = crate::system_docker::DaemonLock::shared();
    let out = Command::new("docker")
        .args(["load", "-q", "-i"])
        .arg(&archive)
        .output()
        .expect("run docker load");
    drop(lock);
    assert!(
        out.status.success(),
        "docker load failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&archive);
    Loaded { image }
}
