//! dive's own file trees, reproduced node for node: one tree per layer built with
//! `AddPath` (whiteout files kept as `.wh.NAME` nodes, opaque markers dropped, implicit
//! parents with an empty `FileInfo`), stacking with `Stack` (whiteouts remove, everything
//! else overwrites the `FileInfo`, children are never dropped) and `Efficiency`.
//!
//! The arena and the walks are iterative; names are raw bytes and children are kept in
//! byte order, as Go's `sort.Strings` orders them.

use crate::model::{EntryFlag, EntryKind, LayerIndex};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const WHITEOUT: &[u8] = b".wh.";
const DOUBLE_WHITEOUT: &[u8] = b".wh..wh..";

#[derive(Debug, Clone)]
struct DNode {
    name: Box<[u8]>,
    parent: u32,
    children: BTreeMap<Box<[u8]>, u32>,
    /// `(layer, entry)` of the `FileInfo`; `None` is Go's zero `FileInfo{}`.
    info: Option<(u32, u32)>,
}

/// One dive `FileTree`.
#[derive(Debug, Clone)]
pub(crate) struct DiveTree {
    nodes: Vec<DNode>,
}

impl DiveTree {
    fn new() -> DiveTree {
        DiveTree {
            nodes: vec![DNode {
                name: Box::from(&b""[..]),
                parent: 0,
                children: BTreeMap::new(),
                info: None,
            }],
        }
    }

    /// `processLayerTar`: every entry through `AddPath`, in tar order.
    pub(crate) fn from_layer(k: u32, layer: &LayerIndex) -> DiveTree {
        let mut t = DiveTree::new();
        for (i, e) in layer.entries.iter().enumerate() {
            if e.flags.contains(&EntryFlag::EscapesRoot) {
                continue;
            }
            let comps: Vec<&[u8]> = e.path.split(|b| *b == b'/').collect();
            t.add_path(&comps, Some((k, i as u32)));
        }
        t
    }

    /// `FileTree.AddPath`.
    fn add_path(&mut self, comps: &[&[u8]], info: Option<(u32, u32)>) {
        let mut node = 0u32;
        for (i, name) in comps.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if let Some(&c) = self.nodes[node as usize].children.get(*name) {
                node = c;
            } else {
                if name.starts_with(DOUBLE_WHITEOUT) {
                    return;
                }
                let id = self.nodes.len() as u32;
                self.nodes.push(DNode {
                    name: Box::from(*name),
                    parent: node,
                    children: BTreeMap::new(),
                    info: None,
                });
                self.nodes[node as usize]
                    .children
                    .insert(Box::from(*name), id);
                node = id;
            }
            if i == comps.len() - 1 {
                self.nodes[node as usize].info = info;
            }
        }
    }

    /// `FileTree.GetNode` on components (empty ones skipped).
    fn get_node(&self, comps: &[&[u8]]) -> Option<u32> {
        let mut node = 0u32;
        for name in comps {
            if name.is_empty() {
                continue;
            }
            node = *self.nodes[node as usize].children.get(*name)?;
        }
        Some(node)
    }

    /// `FileTree.RemovePath`; errors (missing path, the root) are ignored as `Stack` does.
    fn remove_path(&mut self, comps: &[&[u8]]) {
        if let Some(n) = self.get_node(comps) {
            if n != 0 {
                let parent = self.nodes[n as usize].parent;
                let name = self.nodes[n as usize].name.clone();
                self.nodes[parent as usize].children.remove(&name);
            }
        }
    }

    /// Children first (in name order), then the node; the root is not visited.
    pub(crate) fn post_order(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<u32> = self.nodes[0].children.values().copied().collect();
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(self.nodes[n as usize].children.values().copied());
        }
        out.reverse();
        out
    }

    fn is_whiteout(&self, n: u32) -> bool {
        self.nodes[n as usize].name.starts_with(WHITEOUT)
    }

    /// Names from the root to `n`, with `.wh.` stripped from `n`'s own name (`Path()`).
    fn comps(&self, n: u32) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = Vec::new();
        let mut cur = n;
        while cur != 0 {
            let name: &[u8] = &self.nodes[cur as usize].name;
            out.push(if cur == n {
                name.strip_prefix(WHITEOUT).unwrap_or(name)
            } else {
                name
            });
            cur = self.nodes[cur as usize].parent;
        }
        out.reverse();
        out
    }

    /// `FileNode.Path()`: `/` + names joined by `/`, then `//` collapsed.
    pub(crate) fn path(&self, n: u32) -> Vec<u8> {
        let mut p = Vec::new();
        for c in self.comps(n) {
            p.push(b'/');
            p.extend_from_slice(c);
        }
        if p.is_empty() {
            p.push(b'/');
        }
        let mut out = Vec::with_capacity(p.len());
        let mut i = 0;
        while i < p.len() {
            if p[i] == b'/' && p.get(i + 1) == Some(&b'/') {
                out.push(b'/');
                i += 2;
            } else {
                out.push(p[i]);
                i += 1;
            }
        }
        out
    }

    pub(crate) fn info(&self, n: u32) -> Option<(u32, u32)> {
        self.nodes[n as usize].info
    }

    /// `Stack(upper)`: graft every node of `upper`, children first.
    fn stack(&mut self, upper: &DiveTree) {
        for n in upper.post_order() {
            let comps = upper.comps(n);
            if upper.is_whiteout(n) {
                self.remove_path(&comps);
            } else {
                self.add_path(&comps, upper.nodes[n as usize].info);
            }
        }
    }
}

/// Size and directory bit of a `FileInfo` (`Size`, `IsDir`).
fn size_of(layers: &[Arc<LayerIndex>], info: Option<(u32, u32)>) -> (i64, bool) {
    info.and_then(|(l, e)| layers.get(l as usize)?.entries.get(e as usize))
        .map_or((0, false), |e| (e.size as i64, e.kind == EntryKind::Dir))
}

/// One path dive saw in two or more layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inefficiency {
    pub(crate) path: Vec<u8>,
    pub(crate) count: usize,
    pub(crate) cumulative: i64,
}

struct Data {
    cumulative: i64,
    min: i64,
    count: usize,
}

/// `filetree.Efficiency`: the score and the inefficient paths, sorted as `sort.Sort`
/// leaves them (ascending cumulative size).
pub(crate) fn efficiency(
    layers: &[Arc<LayerIndex>],
    trees: &[DiveTree],
) -> (f64, Vec<Inefficiency>) {
    let mut map: HashMap<Vec<u8>, Data> = HashMap::new();
    let mut matches: Vec<Vec<u8>> = Vec::new();
    let mut stacked = trees.first().cloned().unwrap_or_else(DiveTree::new);
    for (k, tree) in trees.iter().enumerate() {
        if k >= 1 {
            stacked.stack(&trees[k - 1]);
        }
        for n in tree.post_order() {
            if !tree.nodes[n as usize].children.is_empty() {
                continue;
            }
            let path = tree.path(n);
            let data = map.entry(path.clone()).or_insert(Data {
                cumulative: 0,
                min: -1,
                count: 0,
            });
            let size = if tree.is_whiteout(n) {
                let Some(prev) = stacked.get_node(&tree.comps(n)) else {
                    // dive's visitor returns "path does not exist": the rest of this layer
                    // is skipped and the new entry keeps its -1 minimum
                    break;
                };
                if size_of(layers, stacked.nodes[prev as usize].info).1 {
                    let mut sum = 0i64;
                    let mut todo = vec![prev];
                    while let Some(x) = todo.pop() {
                        sum += size_of(layers, stacked.nodes[x as usize].info).0;
                        todo.extend(stacked.nodes[x as usize].children.values().copied());
                    }
                    sum
                } else {
                    0
                }
            } else {
                size_of(layers, tree.nodes[n as usize].info).0
            };
            data.cumulative += size;
            if data.min < 0 || size < data.min {
                data.min = size;
            }
            data.count += 1;
            if data.count == 2 {
                matches.push(path);
            }
        }
    }
    let (mut min_sum, mut cum_sum) = (0i64, 0i64);
    for d in map.values() {
        min_sum += d.min;
        cum_sum += d.cumulative;
    }
    let score = if cum_sum == 0 {
        1.0
    } else {
        min_sum as f64 / cum_sum as f64
    };
    let mut out: Vec<Inefficiency> = matches
        .into_iter()
        .map(|p| {
            let d = &map[&p];
            Inefficiency {
                count: d.count,
                cumulative: d.cumulative,
                path: p,
            }
        })
        .collect();
    super::gosort::sort(&mut out, |a, b| a.cumulative < b.cumulative);
    (score, out)
}
