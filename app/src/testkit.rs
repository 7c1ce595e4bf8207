//! Test kit (feature `testkit`, also on in this crate's own tests): builds layer tars and
//! `docker save` archives in memory from a short description, so tests across the
//! workspace make the images they need (whiteouts, opaque dirs, hardlinks, chmod copies,
//! odd names, many layers) without a registry. Only for tests: it writes with the `tar`
//! crate, which Strata never uses to read.

use crate::model::Digest;
use std::io::Write;

/// One entry to write into a layer tar.
#[derive(Debug, Clone)]
enum Item {
    File {
        path: Vec<u8>,
        data: Vec<u8>,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    Dir {
        path: Vec<u8>,
        mode: u32,
    },
    Symlink {
        path: Vec<u8>,
        target: Vec<u8>,
    },
    Hardlink {
        path: Vec<u8>,
        target: Vec<u8>,
    },
}

/// Builds one layer tar. Paths are written as given (no leading `/`); parent directories
/// are not added implicitly, as with real layers that may omit them.
#[derive(Debug, Clone, Default)]
pub struct LayerBuilder {
    items: Vec<Item>,
    mtime: u64,
}

impl LayerBuilder {
    pub fn new() -> Self {
        LayerBuilder {
            items: Vec::new(),
            mtime: 1_700_000_000,
        }
    }

    /// A regular file, mode 0644, root-owned.
    pub fn file(self, path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Self {
        self.file_with(path, data, 0o644, 0, 0)
    }

    /// A regular file with explicit mode and owner.
    pub fn file_with(
        mut self,
        path: impl AsRef<[u8]>,
        data: impl AsRef<[u8]>,
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> Self {
        self.items.push(Item::File {
            path: path.as_ref().to_vec(),
            data: data.as_ref().to_vec(),
            mode,
            uid,
            gid,
        });
        self
    }

    /// A directory, mode 0755.
    pub fn dir(mut self, path: impl AsRef<[u8]>) -> Self {
        self.items.push(Item::Dir {
            path: path.as_ref().to_vec(),
            mode: 0o755,
        });
        self
    }

    pub fn symlink(mut self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        self.items.push(Item::Symlink {
            path: path.as_ref().to_vec(),
            target: target.as_ref().to_vec(),
        });
        self
    }

    pub fn hardlink(mut self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        self.items.push(Item::Hardlink {
            path: path.as_ref().to_vec(),
            target: target.as_ref().to_vec(),
        });
        self
    }

    /// A whiteout deleting `path` from lower layers (`dir/.wh.name`).
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (format!("{d}/"), n),
            None => (String::new(), path),
        };
        self.file(format!("{dir}.wh.{name}"), b"")
    }

    /// An opaque marker: `dir`'s lower children disappear.
    pub fn opaque(self, dir: &str) -> Self {
        self.file(format!("{dir}/.wh..wh..opq"), b"")
    }

    /// The uncompressed layer tar (GNU format, long names as GNU `L` entries).
    pub fn tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for item in &self.items {
            // Writing into a Vec cannot fail except on names tar cannot encode; tests
            // only describe encodable layers, so a failure is a test bug worth a panic.
            append(&mut b, item, self.mtime).unwrap_or_else(|e| panic!("testkit: {e}"));
        }
        b.into_inner()
            .unwrap_or_else(|e| panic!("testkit: finishing tar: {e}"))
    }

    /// The layer tar, gzip-compressed.
    pub fn tar_gz(&self) -> Vec<u8> {
        gzip(&self.tar())
    }
}

fn os_path(raw: &[u8]) -> std::path::PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::path::PathBuf::from(std::ffi::OsStr::from_bytes(raw))
    }
    #[cfg(not(unix))]
    {
        std::path::PathBuf::from(String::from_utf8_lossy(raw).into_owned())
    }
}

fn append(b: &mut tar::Builder<Vec<u8>>, item: &Item, mtime: u64) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_mtime(mtime);
    match item {
        Item::File {
            path,
            data,
            mode,
            uid,
            gid,
        } => {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(*mode);
            h.set_uid(*uid);
            h.set_gid(*gid);
            h.set_size(data.len() as u64);
            b.append_data(&mut h, os_path(path), data.as_slice())
        }
        Item::Dir { path, mode } => {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(*mode);
            h.set_size(0);
            b.append_data(&mut h, os_path(path), std::io::empty())
        }
        Item::Symlink { path, target } => {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            b.append_link(&mut h, os_path(path), os_path(target))
        }
        Item::Hardlink { path, target } => {
            h.set_entry_type(tar::EntryType::Link);
            h.set_mode(0o644);
            h.set_size(0);
            b.append_link(&mut h, os_path(path), os_path(target))
        }
    }
}

/// Gzip `data` (one member).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data)
        .unwrap_or_else(|e| panic!("testkit: gzip: {e}"));
    enc.finish()
        .unwrap_or_else(|e| panic!("testkit: gzip: {e}"))
}

/// One build step of an [`ImageBuilder`]: a layer or an empty (metadata-only) step.
#[derive(Debug, Clone)]
struct Step {
    created_by: String,
    layer: Option<Vec<u8>>,
}

/// Builds an image config and a classic (Docker ≤ 24) `docker save` archive.
#[derive(Debug, Clone, Default)]
pub struct ImageBuilder {
    steps: Vec<Step>,
    tags: Vec<String>,
    env: Vec<String>,
    cmd: Vec<String>,
}

impl ImageBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A step that made `layer`, with the history command `created_by`.
    pub fn layer(mut self, created_by: &str, layer: &LayerBuilder) -> Self {
        self.steps.push(Step {
            created_by: created_by.to_owned(),
            layer: Some(layer.tar()),
        });
        self
    }

    /// A step that made a layer from raw uncompressed tar bytes.
    pub fn raw_layer(mut self, created_by: &str, tar: Vec<u8>) -> Self {
        self.steps.push(Step {
            created_by: created_by.to_owned(),
            layer: Some(tar),
        });
        self
    }

    /// A metadata-only step (`empty_layer: true`), e.g. `ENV A=b`.
    pub fn empty_step(mut self, created_by: &str) -> Self {
        self.steps.push(Step {
            created_by: created_by.to_owned(),
            layer: None,
        });
        self
    }

    pub fn tag(mut self, tag: &str) -> Self {
        self.tags.push(tag.to_owned());
        self
    }

    pub fn env(mut self, kv: &str) -> Self {
        self.env.push(kv.to_owned());
        self
    }

    pub fn cmd(mut self, args: &[&str]) -> Self {
        self.cmd = args.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The uncompressed layer tars, bottom first.
    pub fn layer_tars(&self) -> Vec<&[u8]> {
        self.steps
            .iter()
            .filter_map(|s| s.layer.as_deref())
            .collect()
    }

    /// The diff IDs of the layers, bottom first.
    pub fn diff_ids(&self) -> Vec<Digest> {
        self.layer_tars().into_iter().map(Digest::of).collect()
    }

    /// The image config JSON (its digest is the image ID).
    pub fn config_json(&self) -> Vec<u8> {
        let history: Vec<serde_json::Value> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut h = serde_json::json!({
                    "created": format!("2024-01-01T00:{:02}:{:02}Z", i / 60 % 60, i % 60),
                    "created_by": s.created_by,
                });
                if s.layer.is_none() {
                    h["empty_layer"] = serde_json::Value::Bool(true);
                }
                h
            })
            .collect();
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "created": "2024-01-01T01:00:00Z",
            "config": {
                "Env": self.env,
                "Cmd": self.cmd,
            },
            "rootfs": {
                "type": "layers",
                "diff_ids": self.diff_ids().iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            },
            "history": history,
        });
        serde_json::to_vec(&config).unwrap_or_else(|e| panic!("testkit: config: {e}"))
    }

    /// The image ID: the digest of [`Self::config_json`].
    pub fn image_id(&self) -> Digest {
        Digest::of(&self.config_json())
    }

    /// A classic `docker save` archive (manifest.json, `<config-hex>.json`,
    /// `<layer-hex>/layer.tar`), loadable by `docker load` and readable by dive.
    pub fn docker_save(&self) -> Vec<u8> {
        let config = self.config_json();
        let config_name = format!("{}.json", Digest::of(&config).hex());
        let mut b = tar::Builder::new(Vec::new());
        let mut layer_paths = Vec::new();
        for tar_bytes in self.layer_tars() {
            let dir = Digest::of(tar_bytes).hex().to_owned();
            let path = format!("{dir}/layer.tar");
            if !layer_paths.contains(&path) {
                put(&mut b, &format!("{dir}/VERSION"), b"1.0");
                put(&mut b, &path, tar_bytes);
            }
            layer_paths.push(path);
        }
        put(&mut b, &config_name, &config);
        let manifest = serde_json::json!([{
            "Config": config_name,
            "RepoTags": if self.tags.is_empty() { serde_json::Value::Null } else { serde_json::json!(self.tags) },
            "Layers": layer_paths,
        }]);
        let manifest = serde_json::to_vec(&manifest).unwrap_or_else(|e| panic!("testkit: {e}"));
        put(&mut b, "manifest.json", &manifest);
        b.into_inner()
            .unwrap_or_else(|e| panic!("testkit: finishing archive: {e}"))
    }
}

fn put(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, name, data)
        .unwrap_or_else(|e| panic!("testkit: {name}: {e}"));
}
