//! File versions and opening a path for its bytes: every state a path went through across
//! an image's layers (what the file viewer's version picker lists), and the resolution of
//! a path to the one tar entry that holds its bytes — as of layer k in the stacked view,
//! or as stored in layer n's own tar (even when a later layer hides or deletes it).
//!
//! Symlinks are followed inside the image's tree only, with chroot semantics (absolute
//! targets start at the image root, `..` stops there), at most [`MAX_HOPS`] hops; hard
//! links open their target (an earlier entry of the same layer, else the path as of that
//! layer). Nothing here touches a host path: lookups are by raw path bytes.

use super::marks::rewrite_mark;
use super::stacked::{StackedTree, Version, IMPLICIT};
use super::{components, DiffMark, NodeId};
use crate::model::{Entry, EntryKind};

#[cfg(test)]
mod tests;

/// Symlink and hard-link hops followed when opening one path.
pub const MAX_HOPS: u32 = 40;

/// What a layer did to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChange {
    /// The path did not exist below.
    Added,
    /// Rewritten with other content (or another kind of node).
    Modified,
    /// Rewritten with the same content: only attributes changed, the bytes are stored again.
    AttrsOnly,
    /// Deleted (by a whiteout of the path or of a directory above, or an opaque marker).
    Deleted,
}

/// One state of a path: written or deleted by `layer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathVersion<'a> {
    pub layer: u32,
    pub change: VersionChange,
    /// The entry the layer wrote; `None` for a deletion or an implicit directory.
    pub entry: Option<&'a Entry>,
    /// The next layer that replaced or deleted this version; `None` if it is still
    /// visible in the final filesystem.
    pub replaced_at: Option<u32>,
}

/// The tar entry whose bytes a read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedFile<'a> {
    /// Layer whose tar holds the bytes.
    pub layer: u32,
    pub entry: &'a Entry,
    /// The path finally read (after following links).
    pub path: Vec<u8>,
    /// Links followed on the way.
    pub hops: u32,
}

/// Why a path cannot be opened for its bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No such path where it was looked for.
    #[error("{}", absent_message(.layer, .present_in))]
    Absent {
        /// The layer looked in (`None`: the final filesystem).
        layer: Option<u32>,
        /// Layers whose tar holds an entry at the path.
        present_in: Vec<u32>,
    },
    /// A directory has no bytes of its own.
    #[error("is a directory")]
    Directory,
    /// A device, FIFO or unknown entry type.
    #[error("is a {0}, not a regular file")]
    NotAFile(&'static str),
    /// A symlink whose target is not in the image.
    #[error("symlink to {}: no such file in the image (links resolve inside the image, never on the host)", String::from_utf8_lossy(.target))]
    Dangling { target: Vec<u8> },
    /// More than [`MAX_HOPS`] links (a loop).
    #[error("too many levels of symbolic links (more than {MAX_HOPS})")]
    Loop,
    /// No such layer.
    #[error("no layer {layer}: the image has {count} layers (0 to {})", .count.saturating_sub(1))]
    NoLayer { layer: u32, count: u32 },
}

fn absent_message(layer: &Option<u32>, present_in: &[u32]) -> String {
    let looked = match layer {
        Some(n) => format!("not in layer {n}"),
        None => "not in the final filesystem".to_owned(),
    };
    match present_in {
        [] => format!("{looked}; no layer has this path"),
        [one] => format!("{looked}; present in layer {one}"),
        many => {
            let list: Vec<String> = many.iter().map(u32::to_string).collect();
            format!("{looked}; present in layers {}", list.join(", "))
        }
    }
}

/// How to treat a symlink at the path itself (links in parent directories are always
/// followed, as the kernel does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Open what it points to (like `cat`).
    Yes,
    /// Return the symlink entry itself (the viewer shows its target).
    No,
}

impl StackedTree {
    /// The node of a literal path (no link following), whether present at any layer.
    pub fn node_of_path(&self, path: &[u8]) -> Option<NodeId> {
        let mut cur = 0u32;
        for c in components(path) {
            cur = self.child(cur, c)?;
        }
        Some(NodeId(cur))
    }

    /// Every state of the literal `path`, bottom layer first.
    pub fn versions_of(&self, path: &[u8]) -> Vec<PathVersion<'_>> {
        let Some(n) = self.node_of_path(path) else {
            return Vec::new();
        };
        let vs = &self.nodes[n.idx()].versions;
        let mut out: Vec<PathVersion<'_>> = Vec::new();
        let mut before: Option<&Version> = None;
        for (i, v) in vs.iter().enumerate() {
            let change = match (before.filter(|b| b.present()), v.present()) {
                (_, false) => VersionChange::Deleted,
                (None, true) => VersionChange::Added,
                (Some(b), true) => match rewrite_mark(self.entry_of(b), self.entry_of(v)) {
                    DiffMark::AttrsOnly | DiffMark::Unchanged => VersionChange::AttrsOnly,
                    _ => VersionChange::Modified,
                },
            };
            before = Some(v);
            if change == VersionChange::Deleted && out.last().is_none() {
                continue;
            }
            out.push(PathVersion {
                layer: v.layer,
                change,
                entry: self.entry_of(v),
                replaced_at: vs.get(i + 1).map(|next| next.layer),
            });
        }
        out
    }

    /// Layers whose own tar holds an entry at the literal `path`.
    pub fn layers_holding(&self, path: &[u8]) -> Vec<u32> {
        self.versions_of(path)
            .iter()
            .filter(|v| v.entry.is_some())
            .map(|v| v.layer)
            .collect()
    }

    /// The entry holding the bytes of `path` as of layer `k` in the stacked view.
    pub fn open_at(
        &self,
        path: &[u8],
        k: u32,
        follow: Follow,
    ) -> Result<OpenedFile<'_>, OpenError> {
        self.check_layer(k)?;
        let mut hops = 0u32;
        let (node, v) = self
            .walk(path, k, &mut hops)?
            .ok_or_else(|| OpenError::Absent {
                layer: (k + 1 < self.layer_count()).then_some(k),
                present_in: self.layers_holding(path),
            })?;
        self.finish(node, v, k, follow, hops)
    }

    /// The entry for `path` stored in layer `n`'s own tar (the last one, if the layer
    /// wrote the path twice), whatever later layers did; links are followed as of layer n.
    pub fn open_in_layer(
        &self,
        path: &[u8],
        n: u32,
        follow: Follow,
    ) -> Result<OpenedFile<'_>, OpenError> {
        self.check_layer(n)?;
        let absent = || OpenError::Absent {
            layer: Some(n),
            present_in: self.layers_holding(path),
        };
        let node = self.node_of_path(path).ok_or_else(absent)?;
        let v = self.nodes[node.idx()]
            .versions
            .iter()
            .find(|v| v.layer == n && v.present() && v.entry < IMPLICIT)
            .copied()
            .ok_or_else(absent)?;
        self.finish(node, v, n, follow, 0)
    }

    fn check_layer(&self, k: u32) -> Result<(), OpenError> {
        if k < self.layer_count() {
            Ok(())
        } else {
            Err(OpenError::NoLayer {
                layer: k,
                count: self.layer_count(),
            })
        }
    }

    /// Turns the version found for a path into the entry with bytes: a symlink (when
    /// followed) or a hard link continues as a lookup as of layer `k`.
    fn finish(
        &self,
        mut node: NodeId,
        mut v: Version,
        k: u32,
        follow: Follow,
        mut hops: u32,
    ) -> Result<OpenedFile<'_>, OpenError> {
        loop {
            let entry = self.entry_of(&v).ok_or(OpenError::Directory)?;
            let next: Vec<u8> = match entry.kind {
                EntryKind::File => {
                    return Ok(OpenedFile {
                        layer: v.layer,
                        entry,
                        path: self.path_of(node),
                        hops,
                    })
                }
                EntryKind::Symlink if follow == Follow::No => {
                    return Ok(OpenedFile {
                        layer: v.layer,
                        entry,
                        path: self.path_of(node),
                        hops,
                    })
                }
                EntryKind::Dir => return Err(OpenError::Directory),
                EntryKind::Symlink => {
                    let target = entry.link.as_deref().unwrap_or_default();
                    let mut joined = if target.first() == Some(&b'/') {
                        Vec::new()
                    } else {
                        let mut parent = self.path_of(self.nodes[node.idx()].parent);
                        parent.push(b'/');
                        parent
                    };
                    joined.extend_from_slice(target);
                    joined
                }
                EntryKind::Hardlink => {
                    let target = entry.link.as_deref().unwrap_or_default().to_vec();
                    if let Some(found) = self.earlier_in_layer(v, &target) {
                        return Ok(OpenedFile {
                            layer: v.layer,
                            entry: found,
                            path: target,
                            hops: hops + 1,
                        });
                    }
                    target
                }
                EntryKind::CharDevice => return Err(OpenError::NotAFile("character device")),
                EntryKind::BlockDevice => return Err(OpenError::NotAFile("block device")),
                EntryKind::Fifo => return Err(OpenError::NotAFile("FIFO")),
                EntryKind::Other(_) => return Err(OpenError::NotAFile("special entry")),
            };
            hops += 1;
            if hops > MAX_HOPS {
                return Err(OpenError::Loop);
            }
            let link_target = entry.link.as_deref().unwrap_or_default().to_vec();
            (node, v) = self.walk(&next, k, &mut hops)?.ok_or(OpenError::Dangling {
                target: link_target,
            })?;
        }
    }

    /// A regular file named `target` written earlier in the tar of `v`'s layer (a hard
    /// link's usual target).
    fn earlier_in_layer(&self, v: Version, target: &[u8]) -> Option<&Entry> {
        let entries = &self.layers.get(v.layer as usize)?.entries;
        let before = entries.get(..v.entry as usize)?;
        let wanted: Vec<&[u8]> = components(target).collect();
        before
            .iter()
            .rev()
            .find(|e| components(&e.path).eq(wanted.iter().copied()))
            .filter(|e| e.kind == EntryKind::File)
    }

    /// Resolves `path` at layer `k`: symlinks in parent directories are followed (chroot
    /// semantics), the last component never (the caller decides). `Ok(None)` when the
    /// path is absent at k.
    fn walk(
        &self,
        path: &[u8],
        k: u32,
        hops: &mut u32,
    ) -> Result<Option<(NodeId, Version)>, OpenError> {
        let mut queue: Vec<Vec<u8>> = path
            .split(|b| *b == b'/')
            .rev()
            .map(<[u8]>::to_vec)
            .collect();
        let mut cur = NodeId::ROOT;
        let mut cur_v: Option<Version> = self.version_at(cur, k);
        while let Some(c) = queue.pop() {
            if c.is_empty() || c == b"." {
                continue;
            }
            if c == b".." {
                cur = self.nodes[cur.idx()].parent;
                cur_v = self.version_at(cur, k);
                continue;
            }
            let Some(n) = self.child(cur.0, &c).map(NodeId) else {
                return Ok(None);
            };
            let Some(v) = self.version_at(n, k).filter(Version::present) else {
                return Ok(None);
            };
            let last = queue.iter().all(|q| q.is_empty() || q == b".");
            match self.kind_of(&v) {
                EntryKind::Symlink if !last => {
                    *hops += 1;
                    if *hops > MAX_HOPS {
                        return Err(OpenError::Loop);
                    }
                    let target = self
                        .entry_of(&v)
                        .and_then(|e| e.link.as_deref())
                        .unwrap_or_default();
                    if target.first() == Some(&b'/') {
                        cur = NodeId::ROOT;
                        cur_v = self.version_at(cur, k);
                    }
                    for t in target.split(|b| *b == b'/').rev() {
                        queue.push(t.to_vec());
                    }
                }
                EntryKind::Dir => {
                    cur = n;
                    cur_v = Some(v);
                }
                _ if last => {
                    cur = n;
                    cur_v = Some(v);
                }
                _ => return Ok(None),
            }
        }
        Ok(cur_v.map(|v| (cur, v)))
    }
}
