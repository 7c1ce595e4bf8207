//! Read access to a [`StackedTree`] as of one layer: node rows with diff marks, children,
//! path lookup, iteration for search, per-layer statistics, the directories a layer
//! changes below, and hidden copies.

use super::layer::{path_from_parents, TreeWarning};
use super::marks::rewrite_mark;
use super::stacked::{HiddenCopy, LayerStats, NodeInfo, StackedTree, Version, IMPLICIT};
use super::{components, DiffMark, NodeId};
use crate::model::{Entry, EntryKind, LayerIndex};
use std::collections::HashMap;
use std::sync::Arc;

/// Mode shown for a directory that has no tar entry of its own.
const IMPLICIT_DIR_MODE: u32 = 0o755;

impl StackedTree {
    /// Number of layers stacked so far.
    pub fn layer_count(&self) -> u32 {
        self.layers.len() as u32
    }

    /// The index of layer `k`.
    pub fn layer(&self, k: u32) -> Option<&Arc<LayerIndex>> {
        self.layers.get(k as usize)
    }

    /// The tar entry `idx` of layer `k`.
    pub fn entry(&self, k: u32, idx: u32) -> Option<&Entry> {
        self.layers.get(k as usize)?.entries.get(idx as usize)
    }

    /// The node as seen at layer `k`: present at k, or removed at k (mark `Removed`,
    /// attributes and sizes as of k-1). `None` when the node is not shown at k.
    pub fn info(&self, n: NodeId, k: u32) -> Option<NodeInfo<'_>> {
        if k >= self.layer_count() {
            return None;
        }
        let node = self.nodes.get(n.idx())?;
        let now = self
            .version_at(n, k)
            .filter(|v| v.entry != super::stacked::ABSENT);
        let before = if k == 0 {
            None
        } else {
            self.version_at(n, k - 1)
                .filter(|v| v.entry != super::stacked::ABSENT)
        };
        let (shown, at, mark) = match (before, now) {
            (_, Some(v)) if n == NodeId::ROOT => (v, k, DiffMark::Unchanged),
            (None, Some(v)) => (v, k, DiffMark::Added),
            (Some(b), Some(v)) => {
                let mark = if v.layer == k {
                    rewrite_mark(self.entry_of(&b), self.entry_of(&v))
                } else {
                    DiffMark::Unchanged
                };
                (v, k, mark)
            }
            (Some(b), None) => (b, k - 1, DiffMark::Removed),
            (None, None) => return None,
        };
        let mut info = self.describe(n, &node.name, shown, at, mark);
        if mark == DiffMark::Removed {
            // how it was removed (same-layer whiteout, odd whiteout) is on the deletion
            if let Some(gone) = self.version_at(n, k) {
                info.flags = gone.flags;
            }
        }
        Some(info)
    }

    fn describe<'a>(
        &'a self,
        n: NodeId,
        name: &'a [u8],
        v: Version,
        at: u32,
        mark: DiffMark,
    ) -> NodeInfo<'a> {
        let entry = self.entry_of(&v);
        let kind = self.kind_of(&v);
        let agg = self.agg_at(n, at);
        let size = match kind {
            EntryKind::File => entry.map_or(0, |e| e.size),
            EntryKind::Dir => agg.bytes,
            _ => 0,
        };
        NodeInfo {
            id: n,
            name,
            kind,
            size,
            mark,
            mode: entry.map_or(IMPLICIT_DIR_MODE, |e| e.mode),
            uid: entry.map_or(0, |e| e.uid),
            gid: entry.map_or(0, |e| e.gid),
            mtime: entry.map_or(0, |e| e.mtime),
            link: entry.and_then(|e| e.link.as_deref()),
            descendants: if kind == EntryKind::Dir { agg.count } else { 0 },
            layer: v.layer,
            flags: v.flags,
            entry: if v.entry >= IMPLICIT { None } else { entry },
        }
    }

    /// Children of `n` shown at layer `k` (present, or removed at k), sorted by raw name.
    pub fn children(&self, n: NodeId, k: u32) -> Vec<NodeInfo<'_>> {
        let Some(node) = self.nodes.get(n.idx()) else {
            return Vec::new();
        };
        node.children
            .iter()
            .filter_map(|c| self.info(*c, k))
            .collect()
    }

    /// Children of the node at `path` (literal, see [`StackedTree::lookup`]) at layer `k`.
    pub fn children_of_path(&self, path: &[u8], k: u32) -> Option<Vec<NodeInfo<'_>>> {
        self.lookup(path, k).map(|n| self.children(n, k))
    }

    /// The node at a path (literal components, no symlink following) shown at layer `k`.
    pub fn lookup(&self, path: &[u8], k: u32) -> Option<NodeId> {
        let mut cur = NodeId::ROOT;
        self.info(cur, k)?;
        for c in components(path) {
            let kids = &self.nodes[cur.idx()].children;
            let pos = kids
                .binary_search_by(|x| self.nodes[x.idx()].name.as_ref().cmp(c))
                .ok()?;
            cur = kids[pos];
            self.info(cur, k)?;
        }
        Some(cur)
    }

    /// The raw path of a node, `a/b/c` (empty for the root).
    pub fn path_of(&self, n: NodeId) -> Vec<u8> {
        if n.idx() >= self.nodes.len() {
            return Vec::new();
        }
        path_from_parents(n, |x| {
            let node = &self.nodes[x.idx()];
            (node.parent, &node.name)
        })
    }

    /// The raw name of a node.
    pub fn name(&self, n: NodeId) -> &[u8] {
        self.nodes.get(n.idx()).map_or(&[][..], |x| &x.name)
    }

    /// Every node shown at layer `k` except the root, parents first, siblings by name
    /// (iterative; removed subtrees are included with mark `Removed`).
    pub fn iter_at(&self, k: u32) -> impl Iterator<Item = NodeId> + '_ {
        let mut stack: Vec<NodeId> = Vec::new();
        if k < self.layer_count() {
            stack.extend(self.nodes[0].children.iter().rev().copied());
        }
        std::iter::from_fn(move || loop {
            let n = stack.pop()?;
            if self.info(n, k).is_none() {
                continue;
            }
            stack.extend(self.nodes[n.idx()].children.iter().rev().copied());
            return Some(n);
        })
    }

    /// Calls `f(node, path)` for every node of [`StackedTree::iter_at`], in the same
    /// order, with its raw path (`a/b/c`) built incrementally in one buffer (no
    /// allocation per node; searches over 300k-node trees use this).
    pub fn for_each_path_at(&self, k: u32, mut f: impl FnMut(NodeId, &[u8])) {
        if k >= self.layer_count() {
            return;
        }
        let mut path: Vec<u8> = Vec::new();
        let mut stack: Vec<(NodeId, usize)> = self.nodes[0]
            .children
            .iter()
            .rev()
            .map(|c| (*c, 0))
            .collect();
        while let Some((n, parent_len)) = stack.pop() {
            if self.info(n, k).is_none() {
                continue;
            }
            path.truncate(parent_len);
            if parent_len > 0 {
                path.push(b'/');
            }
            path.extend_from_slice(&self.nodes[n.idx()].name);
            f(n, &path);
            let len = path.len();
            stack.extend(self.nodes[n.idx()].children.iter().rev().map(|c| (*c, len)));
        }
    }

    /// Nodes whose version changed at layer `k` (sorted by id).
    pub fn changes(&self, k: u32) -> &[NodeId] {
        self.changes.get(k as usize).map_or(&[], |c| c.as_slice())
    }

    /// Directories (as of layer `k`) with at least one change of layer `k` below them,
    /// each with the regular-file bytes layer `k` itself writes below it (its own bytes).
    pub fn changed_dirs(&self, k: u32) -> HashMap<NodeId, u64> {
        let mut dirs: HashMap<NodeId, u64> = HashMap::new();
        for &n in self.changes(k) {
            let own = self
                .info(n, k)
                .filter(|i| i.kind == EntryKind::File && i.mark != DiffMark::Removed)
                .map_or(0, |i| i.size);
            let path = self.path_of(n);
            let mut end = 0;
            while let Some(pos) = path[end..].iter().position(|b| *b == b'/') {
                end += pos;
                if let Some(d) = self.lookup(&path[..end], k) {
                    *dirs.entry(d).or_default() += own;
                }
                end += 1;
            }
        }
        dirs
    }

    /// What layer `k` added, modified, rewrote and removed.
    pub fn stats(&self, k: u32) -> Option<&LayerStats> {
        self.stats.get(k as usize)
    }

    /// Every stored file copy that a later entry hid, in stacking order.
    pub fn hidden_copies(&self) -> &[HiddenCopy] {
        &self.hidden
    }

    /// Warnings found while stacking layer `k`.
    pub fn warnings(&self, k: u32) -> &[TreeWarning] {
        self.warnings.get(k as usize).map_or(&[], |w| w.as_slice())
    }

    /// Regular files present at layer `k` with their entries.
    pub fn files_at(&self, k: u32) -> impl Iterator<Item = (NodeId, &Entry)> + '_ {
        self.iter_at(k).filter_map(move |n| {
            let v = self.version_at(n, k)?;
            let e = self.entry_of(&v)?;
            (v.entry != super::stacked::ABSENT && e.kind == EntryKind::File).then_some((n, e))
        })
    }
}
