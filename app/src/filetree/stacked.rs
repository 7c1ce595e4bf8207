//! The stacked tree of a whole image as a timeline: one arena holds every path that exists
//! in any layer's merged view, and each node keeps the list of versions it went through
//! (written by layer k, deleted at layer k) plus its directory totals per layer. The view
//! "as of layer k" is read by binary search over those short lists, so stacking layer k
//! costs O(entries of k × depth + nodes it deletes), never a re-stack of lower layers.
//!
//! Overlay rules applied (ARCHITECTURE.md "Domain facts", bad-input rows F/E/D): tar
//! order, an entry replaces its path unless both are directories (metadata merges);
//! `.wh.X` deletes X and its subtree; `.wh..wh..opq` hides lower children before the
//! layer's own entries land; parent paths through symlinks are resolved inside the tree
//! (≤ 40 hops) and flagged.

use super::layer::{LayerWarningKind, TreeWarning};
use super::marks::same_content;
use super::resolve::Resolved;
use super::{
    components, DiffMark, NodeId, TreeError, TreeFlag, TreeFlags, OPAQUE, WHITEOUT_PREFIX,
};
use crate::model::{Entry, EntryFlag, EntryKind, LayerIndex};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) const ABSENT: u32 = u32::MAX;
pub(super) const IMPLICIT: u32 = u32::MAX - 1;

/// One state of a node: written (or deleted) by `layer`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Version {
    pub(super) layer: u32,
    /// Index into `layers[layer].entries`, or [`ABSENT`] / [`IMPLICIT`].
    pub(super) entry: u32,
    pub(super) flags: TreeFlags,
}

impl Version {
    pub(super) fn present(&self) -> bool {
        self.entry != ABSENT
    }
}

/// Regular-file bytes and node count below a directory, as of `layer`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Agg {
    layer: u32,
    pub(super) bytes: u64,
    pub(super) count: u64,
}

#[derive(Debug)]
pub(super) struct SNode {
    pub(super) name: Box<[u8]>,
    pub(super) parent: NodeId,
    pub(super) children: Vec<NodeId>,
    pub(super) versions: Vec<Version>,
    aggs: Vec<Agg>,
}

/// Why a stored copy of a file stopped being visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HideCause {
    /// A later layer wrote different content at the path (or another kind of node).
    Overwritten,
    /// A later layer wrote the same content again (chmod/chown/touch copy).
    AttrsOnly,
    /// A whiteout of the path itself.
    Whiteout,
    /// A whiteout of a directory above it (`rm -rf dir`).
    DirWhiteout,
    /// An opaque marker on a directory above it.
    Opaque,
    /// A directory above it was replaced by a non-directory.
    ParentReplaced,
    /// The same layer wrote the path again (duplicate entry; both copies are in the tar).
    DuplicateInLayer,
}

/// A stored copy of a regular file that the final view no longer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenCopy {
    pub node: NodeId,
    /// Layer whose tar holds the bytes.
    pub added_layer: u32,
    /// Index of the entry in that layer.
    pub entry: u32,
    /// Layer that hid it.
    pub hidden_layer: u32,
    pub bytes: u64,
    pub cause: HideCause,
}

/// What one layer changed in the merged view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStats {
    pub added: u64,
    pub added_bytes: u64,
    pub modified: u64,
    pub modified_bytes: u64,
    pub attrs_only: u64,
    pub attrs_only_bytes: u64,
    pub removed: u64,
    pub removed_bytes: u64,
    /// Regular-file payload bytes stored in the layer's tar.
    pub content_bytes: u64,
    /// Tar entries in the layer.
    pub entries: u64,
}

/// A node as seen at one layer: what the server shows in a tree row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo<'a> {
    pub id: NodeId,
    pub name: &'a [u8],
    pub kind: EntryKind,
    /// File size, or for a directory the regular-file bytes below it.
    pub size: u64,
    pub mark: DiffMark,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    /// Symlink target verbatim, or hard-link target.
    pub link: Option<&'a [u8]>,
    /// Nodes below (0 for non-directories).
    pub descendants: u64,
    /// Layer that wrote the version shown.
    pub layer: u32,
    pub flags: TreeFlags,
    /// The tar entry shown (`None` for an implicit directory).
    pub entry: Option<&'a Entry>,
}

/// The merged view of an image at every layer; see the module docs.
#[derive(Debug)]
pub struct StackedTree {
    pub(super) nodes: Vec<SNode>,
    index: HashMap<(u32, Box<[u8]>), u32>,
    pub(super) layers: Vec<Arc<LayerIndex>>,
    pub(super) stats: Vec<LayerStats>,
    pub(super) changes: Vec<Vec<NodeId>>,
    pub(super) hidden: Vec<HiddenCopy>,
    pub(super) warnings: Vec<Vec<TreeWarning>>,
    dirty: Vec<u32>,
}

impl Default for StackedTree {
    fn default() -> Self {
        Self::new()
    }
}

impl StackedTree {
    /// An empty image (no layers).
    pub fn new() -> StackedTree {
        StackedTree {
            nodes: vec![SNode {
                name: Box::from(&b""[..]),
                parent: NodeId::ROOT,
                children: Vec::new(),
                versions: vec![Version {
                    layer: 0,
                    entry: IMPLICIT,
                    flags: TreeFlags::default(),
                }],
                aggs: Vec::new(),
            }],
            index: HashMap::new(),
            layers: Vec::new(),
            stats: Vec::new(),
            changes: Vec::new(),
            hidden: Vec::new(),
            warnings: Vec::new(),
            dirty: Vec::new(),
        }
    }

    /// Stacks every layer in order.
    pub fn from_layers<I: IntoIterator<Item = Arc<LayerIndex>>>(
        layers: I,
    ) -> Result<StackedTree, TreeError> {
        let mut t = StackedTree::new();
        for l in layers {
            t.push_layer(l)?;
        }
        Ok(t)
    }

    /// Applies the next layer on top; returns its index.
    pub fn push_layer(&mut self, layer: Arc<LayerIndex>) -> Result<u32, TreeError> {
        let k = u32::try_from(self.layers.len()).map_err(|_| TreeError::TooManyLayers)?;
        self.layers.push(layer.clone());
        self.changes.push(Vec::new());
        self.warnings.push(Vec::new());
        // opaque markers first: they hide lower children only, whatever their tar position
        for e in layer.entries.iter() {
            if e.flags.contains(&EntryFlag::EscapesRoot) {
                continue;
            }
            let comps: Vec<&[u8]> = components(&e.path).collect();
            if let Some((last, dirs)) = comps.split_last() {
                if *last == OPAQUE {
                    self.apply_opaque(dirs, k)?;
                }
            }
        }
        for (i, e) in layer.entries.iter().enumerate() {
            let idx = u32::try_from(i).map_err(|_| TreeError::TooManyNodes(u32::MAX))?;
            self.apply_entry(k, idx, e)?;
        }
        self.finish_layer(k, &layer);
        Ok(k)
    }

    fn finish_layer(&mut self, k: u32, layer: &LayerIndex) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for p in dirty {
            let mut kids = std::mem::take(&mut self.nodes[p as usize].children);
            kids.sort_by(|a, b| self.nodes[a.idx()].name.cmp(&self.nodes[b.idx()].name));
            self.nodes[p as usize].children = kids;
        }
        let ku = k as usize;
        let mut changed = std::mem::take(&mut self.changes[ku]);
        changed.sort_unstable();
        changed.dedup();
        let mut st = LayerStats {
            content_bytes: layer.content_size(),
            entries: layer.entries.len() as u64,
            ..LayerStats::default()
        };
        for &n in &changed {
            let Some(info) = self.info(n, k) else {
                continue;
            };
            let file_bytes = if info.kind == EntryKind::File {
                info.size
            } else {
                0
            };
            match info.mark {
                DiffMark::Added => {
                    st.added += 1;
                    st.added_bytes += file_bytes;
                }
                DiffMark::Modified => {
                    st.modified += 1;
                    st.modified_bytes += file_bytes;
                }
                DiffMark::AttrsOnly => {
                    st.attrs_only += 1;
                    st.attrs_only_bytes += file_bytes;
                }
                DiffMark::Removed => {
                    st.removed += 1;
                    st.removed_bytes += file_bytes;
                }
                DiffMark::Unchanged => {}
            }
        }
        self.changes[ku] = changed;
        self.stats.push(st);
    }

    fn warn(&mut self, k: u32, kind: LayerWarningKind, path: &[u8]) {
        self.warnings[k as usize].push(TreeWarning {
            kind,
            path: Box::from(path),
        });
    }

    fn apply_opaque(&mut self, dirs: &[&[u8]], k: u32) -> Result<(), TreeError> {
        let Resolved::Dir(d, _) = self.resolve_dir(dirs, k, false)? else {
            return Ok(());
        };
        let kids: Vec<NodeId> = self.nodes[d as usize].children.clone();
        for c in kids {
            if self.current(c.0).present() {
                self.remove_subtree(c.0, k, HideCause::Opaque, HideCause::Opaque);
            }
        }
        Ok(())
    }

    fn apply_entry(&mut self, k: u32, idx: u32, e: &Entry) -> Result<(), TreeError> {
        if e.flags.contains(&EntryFlag::EscapesRoot) {
            self.warn(k, LayerWarningKind::EscapesRoot, &e.path);
            return Ok(());
        }
        let comps: Vec<&[u8]> = components(&e.path).collect();
        let Some((last, dirs)) = comps.split_last() else {
            return Ok(());
        };
        if dirs
            .first()
            .is_some_and(|c| c.starts_with(super::META_PREFIX))
            || (last.starts_with(super::META_PREFIX) && *last != OPAQUE && dirs.is_empty())
        {
            self.warn(k, LayerWarningKind::AufsMetadata, &e.path);
            return Ok(());
        }
        if *last == OPAQUE {
            if let Resolved::Dir(d, _) = self.resolve_dir(dirs, k, false)? {
                self.add_flag(d, k, TreeFlag::Opaque);
            }
            return Ok(());
        }
        if last.starts_with(super::META_PREFIX) {
            self.warn(k, LayerWarningKind::InvalidWhiteout, &e.path);
            return Ok(());
        }
        if let Some(name) = last.strip_prefix(WHITEOUT_PREFIX) {
            if name.is_empty() || name == b"." || name == b".." {
                self.warn(k, LayerWarningKind::InvalidWhiteout, &e.path);
                return Ok(());
            }
            return self.apply_whiteout(k, e, dirs, name);
        }
        let (parent, through) = match self.resolve_dir(dirs, k, true)? {
            Resolved::Dir(p, through) => (p, through),
            Resolved::NotDir => {
                self.warn(k, LayerWarningKind::ParentNotDir, &e.path);
                return Ok(());
            }
            Resolved::Loop | Resolved::Missing => {
                self.warn(k, LayerWarningKind::SymlinkLoop, &e.path);
                return Ok(());
            }
        };
        let mut flags = TreeFlags::default();
        if through {
            flags.insert(TreeFlag::ThroughSymlink);
        }
        if e.kind == EntryKind::Hardlink && !self.hardlink_resolves(e, k)? {
            flags.insert(TreeFlag::UnresolvedHardlink);
        }
        let n = self.child_or_create(parent, last)?;
        self.replace(n, k, idx, e, flags);
        Ok(())
    }

    fn apply_whiteout(
        &mut self,
        k: u32,
        e: &Entry,
        dirs: &[&[u8]],
        name: &[u8],
    ) -> Result<(), TreeError> {
        let target = match self.resolve_dir(dirs, k, false)? {
            Resolved::Dir(p, _) => self.child(p, name).filter(|n| self.current(*n).present()),
            _ => None,
        };
        let Some(t) = target else {
            // F1: nothing below to delete, a no-op in Docker; recorded on the layer
            self.warn(k, LayerWarningKind::WhiteoutOfNothing, &e.path);
            return Ok(());
        };
        let same_layer = self.current(t).layer == k;
        self.remove_subtree(t, k, HideCause::Whiteout, HideCause::DirWhiteout);
        let mut flags = TreeFlags::default();
        if same_layer {
            flags.insert(TreeFlag::SameLayerWhiteout);
        }
        if !(e.kind == EntryKind::File && e.size == 0) {
            flags.insert(TreeFlag::OddWhiteout);
        }
        for f in flags.iter() {
            self.add_flag(t, k, f);
        }
        Ok(())
    }

    fn replace(&mut self, n: u32, k: u32, idx: u32, e: &Entry, mut flags: TreeFlags) {
        let cur = self.current(n);
        let old_own = self.own(&cur);
        if cur.present() {
            let old_kind = self.kind_of(&cur);
            if cur.layer == k && cur.entry != IMPLICIT {
                flags.insert(TreeFlag::Duplicate);
            }
            if old_kind == EntryKind::Symlink && e.kind != EntryKind::Symlink {
                flags.insert(TreeFlag::ReplacedSymlink);
            }
            if old_kind == EntryKind::File {
                let cause = if cur.layer == k {
                    HideCause::DuplicateInLayer
                } else if self.entry_of(&cur).is_some_and(|old| same_content(old, e)) {
                    HideCause::AttrsOnly
                } else {
                    HideCause::Overwritten
                };
                self.record_hidden(n, &cur, k, cause);
            }
            if !(old_kind == EntryKind::Dir && e.kind == EntryKind::Dir) {
                let kids = self.nodes[n as usize].children.clone();
                for c in kids {
                    self.remove_subtree(
                        c.0,
                        k,
                        HideCause::ParentReplaced,
                        HideCause::ParentReplaced,
                    );
                }
            }
        }
        self.set_version(n, k, idx, flags);
        let new_own = self.own(&self.current(n));
        self.adjust(n, k, new_own, old_own);
    }

    fn remove_subtree(&mut self, n: u32, k: u32, cause_self: HideCause, cause_below: HideCause) {
        let cur = self.current(n);
        if !cur.present() {
            return;
        }
        let own = self.own(&cur);
        let agg = self.cur_agg(n);
        let mut stack = vec![(n, true)];
        while let Some((x, top)) = stack.pop() {
            let v = self.current(x);
            if !v.present() {
                continue;
            }
            if self.kind_of(&v) == EntryKind::File {
                self.record_hidden(x, &v, k, if top { cause_self } else { cause_below });
            }
            self.set_version(x, k, ABSENT, TreeFlags::default());
            self.set_agg(x, k, 0, 0);
            stack.extend(self.nodes[x as usize].children.iter().map(|c| (c.0, false)));
        }
        self.adjust(n, k, (0, 0), (own.0 + agg.bytes, own.1 + agg.count));
    }

    fn record_hidden(&mut self, n: u32, v: &Version, k: u32, cause: HideCause) {
        let bytes = self.entry_of(v).map_or(0, |e| e.size);
        if bytes > 0 {
            self.hidden.push(HiddenCopy {
                node: NodeId(n),
                added_layer: v.layer,
                entry: v.entry,
                hidden_layer: k,
                bytes,
                cause,
            });
        }
    }

    pub(super) fn child(&self, parent: u32, name: &[u8]) -> Option<u32> {
        self.index.get(&(parent, Box::from(name))).copied()
    }

    pub(super) fn child_or_create(&mut self, parent: u32, name: &[u8]) -> Result<u32, TreeError> {
        if let Some(n) = self.child(parent, name) {
            return Ok(n);
        }
        let n = u32::try_from(self.nodes.len()).map_err(|_| TreeError::TooManyNodes(u32::MAX))?;
        self.nodes.push(SNode {
            name: Box::from(name),
            parent: NodeId(parent),
            children: Vec::new(),
            versions: Vec::new(),
            aggs: Vec::new(),
        });
        self.nodes[parent as usize].children.push(NodeId(n));
        self.index.insert((parent, Box::from(name)), n);
        self.dirty.push(parent);
        Ok(n)
    }

    pub(super) fn current(&self, n: u32) -> Version {
        self.nodes[n as usize]
            .versions
            .last()
            .copied()
            .unwrap_or(Version {
                layer: 0,
                entry: ABSENT,
                flags: TreeFlags::default(),
            })
    }

    fn add_flag(&mut self, n: u32, k: u32, flag: TreeFlag) {
        if let Some(v) = self.nodes[n as usize].versions.last_mut() {
            if v.layer == k {
                v.flags.insert(flag);
            }
        }
    }

    pub(super) fn set_version(&mut self, n: u32, k: u32, entry: u32, flags: TreeFlags) {
        let vs = &mut self.nodes[n as usize].versions;
        match vs.last_mut() {
            Some(v) if v.layer == k => {
                v.entry = entry;
                v.flags = v.flags.union(flags);
            }
            _ => vs.push(Version {
                layer: k,
                entry,
                flags,
            }),
        }
        self.changes[k as usize].push(NodeId(n));
    }

    pub(super) fn cur_agg(&self, n: u32) -> Agg {
        self.nodes[n as usize]
            .aggs
            .last()
            .copied()
            .unwrap_or_default()
    }

    pub(super) fn set_agg(&mut self, n: u32, k: u32, bytes: u64, count: u64) {
        let aggs = &mut self.nodes[n as usize].aggs;
        match aggs.last_mut() {
            Some(a) if a.layer == k => {
                a.bytes = bytes;
                a.count = count;
            }
            _ => aggs.push(Agg {
                layer: k,
                bytes,
                count,
            }),
        }
    }

    /// Adds `add` and subtracts `sub` (bytes, count) on every ancestor of `n`.
    pub(super) fn adjust(&mut self, n: u32, k: u32, add: (u64, u64), sub: (u64, u64)) {
        if n == 0 || add == sub {
            return;
        }
        let mut p = self.nodes[n as usize].parent.0;
        loop {
            let a = self.cur_agg(p);
            let bytes = (a.bytes + add.0).saturating_sub(sub.0);
            let count = (a.count + add.1).saturating_sub(sub.1);
            self.set_agg(p, k, bytes, count);
            if p == 0 {
                break;
            }
            p = self.nodes[p as usize].parent.0;
        }
    }

    fn own(&self, v: &Version) -> (u64, u64) {
        if !v.present() {
            return (0, 0);
        }
        match self.entry_of(v) {
            Some(e) if e.kind == EntryKind::File => (e.size, 1),
            _ => (0, 1),
        }
    }

    pub(super) fn entry_of(&self, v: &Version) -> Option<&Entry> {
        if v.entry >= IMPLICIT {
            return None;
        }
        self.layers
            .get(v.layer as usize)?
            .entries
            .get(v.entry as usize)
    }

    pub(super) fn kind_of(&self, v: &Version) -> EntryKind {
        self.entry_of(v).map_or(EntryKind::Dir, |e| e.kind)
    }

    pub(super) fn version_at(&self, n: NodeId, k: u32) -> Option<Version> {
        let vs = &self.nodes.get(n.idx())?.versions;
        let i = vs.partition_point(|v| v.layer <= k);
        (i > 0).then(|| vs[i - 1])
    }

    pub(super) fn agg_at(&self, n: NodeId, k: u32) -> Agg {
        let aggs = &self.nodes[n.idx()].aggs;
        let i = aggs.partition_point(|a| a.layer <= k);
        if i == 0 {
            Agg::default()
        } else {
            aggs[i - 1]
        }
    }
}
