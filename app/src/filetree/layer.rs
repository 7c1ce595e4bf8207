//! The per-layer tree: one layer's own change set with whiteouts interpreted. A node is
//! content this layer writes (`entry`), a deletion of what lies below (`whiteout`), a
//! directory whose lower children disappear (`opaque`), or an implicit parent directory.
//!
//! Processing follows tar order the way Docker's extraction does: `foo` then `.wh.foo`
//! leaves foo removed (F4, flagged); `.wh.foo` then `foo` re-creates it (F6); duplicates
//! replace (last wins) unless both are directories (metadata merges) (D10); the opaque
//! marker applies to lower children only, whatever its position (F3).

use super::{
    components, NodeId, TreeError, TreeFlag, TreeFlags, META_PREFIX, OPAQUE, WHITEOUT_PREFIX,
};
use crate::model::{Entry, EntryFlag, EntryKind, LayerIndex};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One node of a [`LayerTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerNode {
    pub name: Box<[u8]>,
    pub parent: NodeId,
    /// Sorted by raw name bytes.
    pub children: Vec<NodeId>,
    /// Index into the layer's entries of the entry that wins at this path, if any.
    pub entry: Option<u32>,
    /// The layer deletes the lower copy of this path (a `.wh.` whiteout).
    pub whiteout: bool,
    /// The layer hides every lower child of this directory (`.wh..wh..opq`).
    pub opaque: bool,
    pub flags: TreeFlags,
}

/// Layer-level conditions found while building a [`LayerTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayerWarningKind {
    /// `.wh.`, `.wh..`, `.wh...` or an unknown `.wh..wh.*` name: ignored (F5).
    InvalidWhiteout,
    /// AUFS metadata under `/.wh..wh.*`: skipped as moby does (F5).
    AufsMetadata,
    /// Quarantined entry whose name escapes the root (D1): not in the tree.
    EscapesRoot,
    /// An entry beneath a path that is not a directory (Docker fails such a layer).
    ParentNotDir,
    /// A symlink chain longer than 40 hops or a loop while placing an entry (E1).
    SymlinkLoop,
    /// A whiteout of a path that does not exist below: a no-op (F1).
    WhiteoutOfNothing,
}

/// A warning about one entry of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeWarning {
    pub kind: LayerWarningKind,
    /// Raw path of the entry concerned.
    pub path: Box<[u8]>,
}

/// One layer's own change set as a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerTree {
    nodes: Vec<LayerNode>,
    warnings: Vec<TreeWarning>,
}

struct Builder {
    nodes: Vec<LayerNode>,
    index: HashMap<(u32, Box<[u8]>), u32>,
    warnings: Vec<TreeWarning>,
}

impl Builder {
    fn child(&self, parent: u32, name: &[u8]) -> Option<u32> {
        self.index.get(&(parent, Box::from(name))).copied()
    }

    fn get_or_create(&mut self, parent: u32, name: &[u8]) -> Result<u32, TreeError> {
        if let Some(id) = self.child(parent, name) {
            return Ok(id);
        }
        let id = u32::try_from(self.nodes.len()).map_err(|_| TreeError::TooManyNodes(u32::MAX))?;
        self.nodes.push(LayerNode {
            name: Box::from(name),
            parent: NodeId(parent),
            children: Vec::new(),
            entry: None,
            whiteout: false,
            opaque: false,
            flags: TreeFlags::default(),
        });
        self.nodes[parent as usize].children.push(NodeId(id));
        self.index.insert((parent, Box::from(name)), id);
        Ok(id)
    }

    /// Drops everything this layer wrote below `id` (its children), keeping `id` itself.
    fn clear_children(&mut self, id: u32) {
        let mut stack: Vec<NodeId> = std::mem::take(&mut self.nodes[id as usize].children);
        while let Some(n) = stack.pop() {
            let node = &mut self.nodes[n.idx()];
            stack.append(&mut node.children);
            let key = (node.parent.0, node.name.clone());
            self.index.remove(&key);
        }
    }

    fn warn(&mut self, kind: LayerWarningKind, path: &[u8]) {
        self.warnings.push(TreeWarning {
            kind,
            path: Box::from(path),
        });
    }

    fn add(&mut self, idx: u32, entry: &Entry) -> Result<(), TreeError> {
        if entry.flags.contains(&EntryFlag::EscapesRoot) {
            self.warn(LayerWarningKind::EscapesRoot, &entry.path);
            return Ok(());
        }
        let comps: Vec<&[u8]> = components(&entry.path).collect();
        let Some((last, dirs)) = comps.split_last() else {
            return Ok(());
        };
        if dirs.first().is_some_and(|c| c.starts_with(META_PREFIX))
            || (dirs.is_empty() && last.starts_with(META_PREFIX) && *last != OPAQUE)
        {
            self.warn(LayerWarningKind::AufsMetadata, &entry.path);
            return Ok(());
        }
        let mut parent = 0u32;
        for d in dirs {
            parent = self.get_or_create(parent, d)?;
        }
        let odd = !(entry.kind == EntryKind::File && entry.size == 0);
        if *last == OPAQUE {
            let node = &mut self.nodes[parent as usize];
            node.opaque = true;
            node.flags.insert(TreeFlag::Opaque);
            if odd {
                node.flags.insert(TreeFlag::OddWhiteout);
            }
            return Ok(());
        }
        if last.starts_with(META_PREFIX) {
            self.warn(LayerWarningKind::InvalidWhiteout, &entry.path);
            return Ok(());
        }
        if let Some(name) = last.strip_prefix(WHITEOUT_PREFIX) {
            if name.is_empty() || name == b"." || name == b".." {
                self.warn(LayerWarningKind::InvalidWhiteout, &entry.path);
                return Ok(());
            }
            let id = self.get_or_create(parent, name)?;
            let had_content = {
                let n = &self.nodes[id as usize];
                n.entry.is_some() || !n.children.is_empty()
            };
            self.clear_children(id);
            let node = &mut self.nodes[id as usize];
            if had_content {
                node.flags.insert(TreeFlag::SameLayerWhiteout);
            }
            if odd {
                node.flags.insert(TreeFlag::OddWhiteout);
            }
            node.entry = None;
            node.opaque = false;
            node.whiteout = true;
            return Ok(());
        }
        let id = self.get_or_create(parent, last)?;
        if self.nodes[id as usize].entry.is_some() {
            self.nodes[id as usize].flags.insert(TreeFlag::Duplicate);
        }
        if entry.kind != EntryKind::Dir {
            // replace: whatever this layer wrote below the path is gone
            self.clear_children(id);
        }
        self.nodes[id as usize].entry = Some(idx);
        Ok(())
    }
}

impl LayerTree {
    /// Interprets one layer's entries (in tar order) into its change-set tree.
    pub fn build(layer: &LayerIndex) -> Result<LayerTree, TreeError> {
        let mut b = Builder {
            nodes: vec![LayerNode {
                name: Box::from(&b""[..]),
                parent: NodeId::ROOT,
                children: Vec::new(),
                entry: None,
                whiteout: false,
                opaque: false,
                flags: TreeFlags::default(),
            }],
            index: HashMap::new(),
            warnings: Vec::new(),
        };
        for (i, e) in layer.entries.iter().enumerate() {
            let idx = u32::try_from(i).map_err(|_| TreeError::TooManyNodes(u32::MAX))?;
            b.add(idx, e)?;
        }
        let mut nodes = b.nodes;
        for i in 0..nodes.len() {
            let mut kids = std::mem::take(&mut nodes[i].children);
            kids.sort_by(|a, c| nodes[a.idx()].name.cmp(&nodes[c.idx()].name));
            if nodes[i].entry.is_none() && !nodes[i].whiteout && i != 0 {
                nodes[i].flags.insert(TreeFlag::Implicit);
            }
            nodes[i].children = kids;
        }
        Ok(LayerTree {
            nodes,
            warnings: b.warnings,
        })
    }

    /// The node with this id (ids come from this tree).
    pub fn node(&self, id: NodeId) -> Option<&LayerNode> {
        self.nodes.get(id.idx())
    }

    /// Children of `id`, sorted by raw name.
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        self.nodes
            .get(id.idx())
            .map(|n| n.children.as_slice())
            .unwrap_or(&[])
    }

    /// Looks a path up literally (no symlink following).
    pub fn lookup(&self, path: &[u8]) -> Option<NodeId> {
        let mut cur = NodeId::ROOT;
        for c in components(path) {
            let kids = self.children(cur);
            let pos = kids
                .binary_search_by(|k| self.nodes[k.idx()].name.as_ref().cmp(c))
                .ok()?;
            cur = kids[pos];
        }
        Some(cur)
    }

    /// The raw path of a node, `a/b/c` (empty for the root).
    pub fn path_of(&self, id: NodeId) -> Vec<u8> {
        path_from_parents(id, |n| {
            let node = &self.nodes[n.idx()];
            (node.parent, &node.name)
        })
    }

    /// Every node except the root, parents before children, siblings by name.
    pub fn iter(&self) -> impl Iterator<Item = NodeId> + '_ {
        PreOrder::new(self.children(NodeId::ROOT), move |n| self.children(n))
    }

    /// Number of nodes including the root.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the layer changes nothing.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// Warnings found while interpreting the layer.
    pub fn warnings(&self) -> &[TreeWarning] {
        &self.warnings
    }
}

/// Builds `a/b/c` by walking parent links (iteratively) up to the root.
pub(crate) fn path_from_parents<'a>(
    id: NodeId,
    step: impl Fn(NodeId) -> (NodeId, &'a Box<[u8]>),
) -> Vec<u8> {
    let mut names: Vec<&[u8]> = Vec::new();
    let mut cur = id;
    while cur != NodeId::ROOT {
        let (parent, name) = step(cur);
        names.push(name);
        cur = parent;
    }
    let mut out = Vec::new();
    for (i, n) in names.iter().rev().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(n);
    }
    out
}

/// Iterative pre-order walk over a tree given a children function.
pub(crate) struct PreOrder<'a, F: Fn(NodeId) -> &'a [NodeId]> {
    stack: Vec<NodeId>,
    children: F,
}

impl<'a, F: Fn(NodeId) -> &'a [NodeId]> PreOrder<'a, F> {
    pub(crate) fn new(roots: &'a [NodeId], children: F) -> Self {
        PreOrder {
            stack: roots.iter().rev().copied().collect(),
            children,
        }
    }
}

impl<'a, F: Fn(NodeId) -> &'a [NodeId]> Iterator for PreOrder<'a, F> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        let n = self.stack.pop()?;
        self.stack.extend((self.children)(n).iter().rev().copied());
        Some(n)
    }
}
