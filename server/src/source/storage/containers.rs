//! containers/storage, the image store of Podman, Buildah and CRI-O, read-only:
//! `<graphroot>/<driver>-layers/layers.json` lists the layers (ID, parent, diff digest),
//! `<driver>-layers/<id>.tar-split.gz` holds each layer's tar-split (the same format as
//! Docker's), `<driver>-images/<image-id>/=<base64 of "sha256:<id>">` the config, and the
//! overlay driver unpacks a layer into `overlay/<id>/diff`.
//!
//! Layer IDs are not chain IDs (containers/image derives them from the parent's ID), so
//! opening the store computes every layer's chain ID from its parent chain's recorded
//! diff digests; an image's layer is then found by the chain ID its config implies, which
//! checks the whole stack below it, as Docker's layerdb does. Parent loops, deep chains,
//! incomplete layers and IDs that are not plain names are skipped, never followed.

use super::{is_plain_name, no_diff_dir, read_capped, StorageError};
use app::model::Digest;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Bigger than any real `layers.json` (about 1 KiB per layer).
const MAX_LAYERS_JSON: u64 = 64 << 20;
/// Deeper than any image Docker or Podman can build (127 layers for overlay).
const MAX_DEPTH: usize = 4096;

/// One opened store: where it lives and its layers by chain ID.
#[derive(Debug)]
pub(super) struct ContainersStore {
    root: PathBuf,
    driver: String,
    /// Chain ID → (layer ID, recorded diff digest).
    by_chain: HashMap<Digest, (String, Digest)>,
}

/// A record of `layers.json`; fields Strata does not need are ignored.
#[derive(Debug, Deserialize)]
struct LayerRecord {
    id: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(rename = "diff-digest", default)]
    diff_digest: Option<String>,
    #[serde(default)]
    flags: HashMap<String, serde_json::Value>,
}

impl ContainersStore {
    /// Reads `<root>/<driver>-layers/layers.json` (and `volatile-layers.json`, which
    /// holds layers of transient stores).
    pub(super) fn open(root: &Path, driver: &str) -> Result<Self, StorageError> {
        let dir = root.join(format!("{driver}-layers"));
        let mut records = read_records(&dir.join("layers.json"))?;
        let volatile = dir.join("volatile-layers.json");
        if volatile.exists() {
            records.extend(read_records(&volatile)?);
        }
        Ok(ContainersStore {
            root: root.to_owned(),
            driver: driver.to_owned(),
            by_chain: chains(records),
        })
    }

    /// `<driver>-images/<id>/=<base64("sha256:<id>")>`, the config as containers/image
    /// stores it (the image ID is the config's digest).
    pub(super) fn config_path(&self, id: &Digest) -> PathBuf {
        let key = base64::engine::general_purpose::STANDARD.encode(id.as_str());
        self.root
            .join(format!("{}-images", self.driver))
            .join(id.hex())
            .join(format!("={key}"))
    }

    /// `<driver>-layers/<layer-id>.tar-split.gz` of the layer at `chain_id`.
    pub(super) fn tar_split_path(
        &self,
        chain_id: &Digest,
        diff_id: &Digest,
    ) -> Result<PathBuf, StorageError> {
        let id = self.layer_id(chain_id, diff_id)?;
        Ok(self
            .root
            .join(format!("{}-layers", self.driver))
            .join(format!("{id}.tar-split.gz")))
    }

    /// `overlay/<layer-id>/diff`; only the overlay driver keeps a layer's own changes
    /// in a directory.
    pub(super) fn diff_dir(
        &self,
        chain_id: &Digest,
        diff_id: &Digest,
    ) -> Result<PathBuf, StorageError> {
        let id = self.layer_id(chain_id, diff_id)?;
        if self.driver != "overlay" {
            return Err(no_diff_dir(self.root.clone(), &self.driver, id));
        }
        Ok(self.root.join("overlay").join(id).join("diff"))
    }

    pub(super) fn driver(&self) -> &str {
        &self.driver
    }

    fn layer_id(&self, chain_id: &Digest, diff_id: &Digest) -> Result<&str, StorageError> {
        let path = || {
            self.root
                .join(format!("{}-layers/layers.json", self.driver))
        };
        match self.by_chain.get(chain_id) {
            Some((id, recorded)) if recorded == diff_id => Ok(id),
            Some((_, recorded)) => Err(StorageError::DiffMismatch {
                path: path(),
                expected: diff_id.clone(),
                found: recorded.to_string(),
            }),
            None => Err(StorageError::Io {
                path: path(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no layer with chain ID {chain_id}"),
                ),
            }),
        }
    }
}

fn read_records(path: &Path) -> Result<Vec<LayerRecord>, StorageError> {
    let bytes = read_capped(path, MAX_LAYERS_JSON)?;
    serde_json::from_slice(&bytes).map_err(|e| StorageError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// Every usable layer by its chain ID.
fn chains(records: Vec<LayerRecord>) -> HashMap<Digest, (String, Digest)> {
    let layers: HashMap<String, (Option<String>, Digest)> = records
        .into_iter()
        .filter(|r| is_plain_name(&r.id) && !r.flags.contains_key("incomplete"))
        .filter_map(|r| {
            let diff = Digest::parse(r.diff_digest.as_deref()?).ok()?;
            Some((r.id, (r.parent.filter(|p| !p.is_empty()), diff)))
        })
        .collect();
    let mut memo: HashMap<&str, Option<Digest>> = HashMap::new();
    for id in layers.keys() {
        chain_of(id, &layers, &mut memo);
    }
    memo.into_iter()
        .filter_map(|(id, chain)| {
            let diff = layers.get(id)?.1.clone();
            Some((chain?, (id.to_owned(), diff)))
        })
        .collect()
}

/// The chain ID of layer `id` (None for a broken parent chain), walking parents
/// iteratively and remembering every layer on the way.
fn chain_of<'a>(
    id: &'a str,
    layers: &'a HashMap<String, (Option<String>, Digest)>,
    memo: &mut HashMap<&'a str, Option<Digest>>,
) -> Option<Digest> {
    // Down from `id` to a layer whose chain is known, the bottom layer, or a break.
    // `below`: Err for a break, Ok(None) under the bottom layer, Ok(Some) a known chain.
    let mut path: Vec<(&'a str, &'a Digest)> = Vec::new();
    let mut seen: std::collections::HashSet<&'a str> = std::collections::HashSet::new();
    let mut cur = id;
    let mut below: Result<Option<Digest>, ()> = loop {
        if let Some(known) = memo.get(cur) {
            break known.clone().map(Some).ok_or(());
        }
        if path.len() >= MAX_DEPTH || !seen.insert(cur) {
            break Err(());
        }
        let Some((key, (parent, diff))) = layers.get_key_value(cur) else {
            break Err(());
        };
        path.push((key.as_str(), diff));
        match parent {
            None => break Ok(None),
            Some(p) => cur = p.as_str(),
        }
    };
    while let Some((layer, diff)) = path.pop() {
        below = below.map(|b| {
            Some(match b {
                None => diff.clone(),
                Some(b) => Digest::of(format!("{b} {diff}").as_bytes()),
            })
        });
        memo.insert(layer, below.clone().ok().flatten());
    }
    below.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::chain_ids;
    use serde_json::json;

    fn store_with(layers: serde_json::Value) -> (tempfile::TempDir, ContainersStore) {
        let dir = tempfile::tempdir().unwrap();
        let layers_dir = dir.path().join("overlay-layers");
        std::fs::create_dir_all(&layers_dir).unwrap();
        std::fs::write(layers_dir.join("layers.json"), layers.to_string()).unwrap();
        let store = ContainersStore::open(dir.path(), "overlay").unwrap();
        (dir, store)
    }

    #[test]
    fn layers_are_found_by_the_chain_id_of_their_parents() {
        let diffs: Vec<Digest> = [b"a", b"b", b"c"].iter().map(|d| Digest::of(*d)).collect();
        let (dir, store) = store_with(json!([
            {"id": "c3", "parent": "b2", "diff-digest": diffs[2].as_str()},
            {"id": "a1", "diff-digest": diffs[0].as_str()},
            {"id": "b2", "parent": "a1", "diff-digest": diffs[1].as_str()},
        ]));
        let chains = chain_ids(&diffs);
        assert_eq!(
            store.tar_split_path(&chains[2], &diffs[2]).unwrap(),
            dir.path().join("overlay-layers/c3.tar-split.gz")
        );
        assert_eq!(
            store.diff_dir(&chains[0], &diffs[0]).unwrap(),
            dir.path().join("overlay/a1/diff")
        );
        // The right diff at the wrong position is not found.
        assert!(store.tar_split_path(&diffs[1], &diffs[1]).is_err());
        // A chain that records another diff is a mismatch.
        assert!(matches!(
            store.tar_split_path(&chains[1], &diffs[2]),
            Err(StorageError::DiffMismatch { .. })
        ));
    }

    #[test]
    fn loops_missing_parents_incomplete_and_unsafe_ids_are_skipped() {
        let d = Digest::of(b"x");
        let (_dir, store) = store_with(json!([
            {"id": "l1", "parent": "l2", "diff-digest": d.as_str()},
            {"id": "l2", "parent": "l1", "diff-digest": d.as_str()},
            {"id": "orphan", "parent": "gone", "diff-digest": d.as_str()},
            {"id": "half", "diff-digest": d.as_str(), "flags": {"incomplete": true}},
            {"id": "../../etc", "diff-digest": d.as_str()},
            {"id": "nodiff"},
            {"id": "ok", "diff-digest": d.as_str()},
        ]));
        assert_eq!(store.by_chain.len(), 1);
        assert_eq!(store.by_chain[&d].0, "ok");
    }

    #[test]
    fn a_deep_chain_is_read_without_recursion() {
        let d = Digest::of(b"d");
        let mut records = vec![json!({"id": "l0", "diff-digest": d.as_str()})];
        for i in 1..3000 {
            records.push(json!({"id": format!("l{i}"), "parent": format!("l{}", i - 1), "diff-digest": d.as_str()}));
        }
        let (_dir, store) = store_with(serde_json::Value::Array(records));
        let chains = chain_ids(&vec![d.clone(); 3000]);
        assert_eq!(store.layer_id(&chains[2999], &d).unwrap(), "l2999");
    }

    #[test]
    fn configs_are_named_as_containers_storage_names_big_data() {
        // The name Podman 4.3 wrote for this image's config.
        let id = Digest::parse(
            "sha256:e6d35e3c59bb5b9e8e9c1ebff7fe03ae5bba16b5bad0f59c4a4620c49f4546cb",
        )
        .unwrap();
        let (dir, store) = store_with(json!([]));
        assert_eq!(
            store.config_path(&id),
            dir.path().join(format!(
                "overlay-images/{}/=c2hhMjU2OmU2ZDM1ZTNjNTliYjViOWU4ZTljMWViZmY3ZmUwM2FlNWJiYTE2YjViYWQwZjU5YzRhNDYyMGM0OWY0NTQ2Y2I=",
                id.hex()
            ))
        );
    }

    #[test]
    fn unreadable_or_bad_metadata_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ContainersStore::open(dir.path(), "overlay").is_err());
        std::fs::create_dir_all(dir.path().join("vfs-layers")).unwrap();
        std::fs::write(dir.path().join("vfs-layers/layers.json"), b"{not json").unwrap();
        let err = ContainersStore::open(dir.path(), "vfs").unwrap_err();
        assert!(err.to_string().contains("layers.json"), "{err}");
    }
}
