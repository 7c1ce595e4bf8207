//! File-level diff of two filesystems: the stacked tree of image A as of layer `ka`
//! against that of image B as of layer `kb` (usually both final). One merge walk over the
//! two sorted child lists, iterative, visiting each node of both trees once; a subtree
//! present on one side only is walked once to list its contents. Non-directories are
//! compared (kind, size, crc64, link target, then mode/uid/gid/mtime); directories are
//! not listed themselves, their contents are.

use super::group::group_changes;
pub use super::totals::DiffTotals;
use super::{clamp_i64, stack, CompareError};
use crate::filetree::{DiffMark, NodeId, NodeInfo, StackedTree};
use crate::fmt::display_path;
use crate::model::{Entry, EntryKind, Image};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Caps on the grouping and the change list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffOptions {
    /// Most groups reported (directories and their remainders).
    pub max_groups: usize,
    /// Deepest directory a group may be (`/usr/lib/gcc` is depth 3).
    pub max_depth: usize,
    /// A subdirectory becomes its own group only if it holds at least this share of all
    /// changed bytes (0.0–1.0).
    pub min_group_share: f64,
    /// Most individual changes listed (largest first); the totals count every change.
    pub max_changes: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            max_groups: 12,
            max_depth: 3,
            min_group_share: 0.01,
            max_changes: 1000,
        }
    }
}

/// How a path differs from A to B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// In both with different content (kind, size, crc64 or link target).
    Changed,
    /// In both with the same content; mode, owner or mtime differ.
    AttrsOnly,
}

/// Attribute differences of a path in both images (`None` where equal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrChange {
    pub mode: Option<(u32, u32)>,
    pub uid: Option<(u64, u64)>,
    pub gid: Option<(u64, u64)>,
    pub mtime: Option<(i64, i64)>,
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Raw path without the leading `/`.
    pub path: Box<[u8]>,
    /// `/path` for display.
    pub display: String,
    pub change: ChangeKind,
    pub kind_before: Option<EntryKind>,
    pub kind_after: Option<EntryKind>,
    /// Regular-file bytes in A (0 when absent or not a file).
    pub size_before: u64,
    pub size_after: u64,
    /// For [`ChangeKind::AttrsOnly`] and [`ChangeKind::Changed`]: what else differs.
    pub attrs: Option<AttrChange>,
}

impl FileChange {
    /// `size_after - size_before`.
    pub fn delta(&self) -> i64 {
        clamp_i64(i128::from(self.size_after) - i128::from(self.size_before))
    }
}

/// A directory that explains part of the diff, with subtotals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffGroup {
    /// Raw directory path without the leading `/` (empty for the root).
    pub path: Box<[u8]>,
    /// `/usr/lib/gcc`.
    pub display: String,
    /// True when the group holds only what its listed subdirectories do not: files
    /// directly in the directory and subdirectories too small for a group of their own.
    pub rest: bool,
    /// Whether the directory exists in A's / B's filesystem (a group "not in B" was
    /// dropped whole).
    pub in_a: bool,
    pub in_b: bool,
    pub totals: DiffTotals,
}

/// One side of a file diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeSide {
    /// `A`, `B`, ... or the caller's label.
    pub label: String,
    /// Layer of the stacked view compared; `None` for an image without layers.
    pub layer: Option<u32>,
    /// Non-directory paths present.
    pub files: u64,
    /// Regular-file bytes present.
    pub bytes: u64,
}

/// The diff of two filesystems.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDiff {
    pub a: TreeSide,
    pub b: TreeSide,
    /// Every change counted.
    pub totals: DiffTotals,
    /// Directories explaining the changes, most churned bytes first; their totals add up
    /// to [`FileDiff::totals`] (minus the unchanged counts).
    pub groups: Vec<DiffGroup>,
    /// The largest changes (by bytes before + after, then path), at most
    /// [`DiffOptions::max_changes`].
    pub changes: Vec<FileChange>,
    /// Changes counted in the totals but not listed.
    pub changes_omitted: u64,
    /// Removed files whose exact content (size and crc64) B has at an added path:
    /// moved or renamed rather than gone. Counted inside the removed totals too.
    pub relocated: Relocated,
}

/// Files of A found again, byte for byte, at other paths in B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relocated {
    pub files: u64,
    pub bytes: u64,
}

/// One side of the walk: a tree and the layer viewed, or nothing (no layers).
#[derive(Clone, Copy)]
struct View<'a> {
    tree: &'a StackedTree,
    k: Option<u32>,
}

impl<'a> View<'a> {
    /// Children shown as present at k (removed ones excluded), sorted by raw name.
    fn children(&self, n: NodeId) -> Vec<NodeInfo<'a>> {
        let Some(k) = self.k else {
            return Vec::new();
        };
        let mut kids = self.tree.children(n, k);
        kids.retain(|c| c.mark != DiffMark::Removed);
        kids
    }

    /// Whether a directory exists at `path` (literal components).
    fn has_dir(&self, path: &[u8]) -> bool {
        let Some(k) = self.k else {
            return false;
        };
        self.tree
            .lookup(path, k)
            .and_then(|n| self.tree.info(n, k))
            .is_some_and(|i| i.mark != DiffMark::Removed && i.kind == EntryKind::Dir)
    }
}

/// Diffs tree `a` as of layer `ka` against tree `b` as of layer `kb` (the same tree may
/// be passed twice to diff two layers of one image).
pub fn diff_trees(
    a: &StackedTree,
    ka: u32,
    b: &StackedTree,
    kb: u32,
    opts: &DiffOptions,
) -> Result<FileDiff, CompareError> {
    for (t, k, name) in [(a, ka, "A"), (b, kb, "B")] {
        if k >= t.layer_count() {
            return Err(CompareError::NoSuchLayer {
                image: name.to_owned(),
                layer: k,
                count: t.layer_count(),
            });
        }
    }
    Ok(diff_views(
        View {
            tree: a,
            k: Some(ka),
        },
        "A",
        View {
            tree: b,
            k: Some(kb),
        },
        "B",
        opts,
    ))
}

/// Diffs the final filesystems of two images (stacking both).
pub fn diff_images(a: &Image, b: &Image, opts: &DiffOptions) -> Result<FileDiff, CompareError> {
    let ta = stack(a)?;
    let tb = stack(b)?;
    Ok(diff_final(&ta, "A", &tb, "B", opts))
}

pub(super) fn diff_final(
    a: &StackedTree,
    label_a: &str,
    b: &StackedTree,
    label_b: &str,
    opts: &DiffOptions,
) -> FileDiff {
    let top = |t: &StackedTree| t.layer_count().checked_sub(1);
    diff_views(
        View { tree: a, k: top(a) },
        label_a,
        View { tree: b, k: top(b) },
        label_b,
        opts,
    )
}

struct Walk {
    changes: Vec<FileChange>,
    totals: DiffTotals,
    side_a: (u64, u64),
    side_b: (u64, u64),
    /// (size, crc64) of removed non-empty files, and counts of added ones.
    removed_content: Vec<(u64, u64)>,
    added_content: HashMap<(u64, u64), u64>,
}

fn file_bytes(info: &NodeInfo<'_>) -> u64 {
    if info.kind == EntryKind::File {
        info.size
    } else {
        0
    }
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + 1 + name.len());
    if !dir.is_empty() {
        p.extend_from_slice(dir);
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

fn attr_change(a: &NodeInfo<'_>, b: &NodeInfo<'_>) -> AttrChange {
    let pick = |x, y| (x != y).then_some((x, y));
    AttrChange {
        mode: (a.mode != b.mode).then_some((a.mode, b.mode)),
        uid: pick(a.uid, b.uid),
        gid: pick(a.gid, b.gid),
        mtime: (a.mtime != b.mtime).then_some((a.mtime, b.mtime)),
    }
}

/// Same bytes: kind, size, crc64 (an unknown crc64 is never "same"), link target; the
/// rule the tree's diff marks use.
fn same_entry_content(a: Option<&Entry>, b: Option<&Entry>) -> bool {
    let (Some(x), Some(y)) = (a, b) else {
        return false;
    };
    x.kind == y.kind
        && x.size == y.size
        && match x.kind {
            EntryKind::File => x.crc64.is_some() && x.crc64 == y.crc64,
            EntryKind::Symlink | EntryKind::Hardlink => x.link == y.link,
            _ => true,
        }
}

impl Walk {
    fn one_side(&mut self, path: Vec<u8>, info: &NodeInfo<'_>, added: bool) {
        let bytes = file_bytes(info);
        if let Some(crc) = info.entry.and_then(|e| e.crc64).filter(|_| bytes > 0) {
            if added {
                *self.added_content.entry((bytes, crc)).or_insert(0) += 1;
            } else {
                self.removed_content.push((bytes, crc));
            }
        }
        let change = FileChange {
            display: String::new(),
            path: path.into_boxed_slice(),
            change: if added {
                ChangeKind::Added
            } else {
                ChangeKind::Removed
            },
            kind_before: (!added).then_some(info.kind),
            kind_after: added.then_some(info.kind),
            size_before: if added { 0 } else { bytes },
            size_after: if added { bytes } else { 0 },
            attrs: None,
        };
        self.totals.add(&change);
        self.changes.push(change);
    }

    /// Lists every non-directory of a subtree (or the node itself) as added or removed.
    fn subtree(&mut self, view: View<'_>, path: Vec<u8>, info: &NodeInfo<'_>, added: bool) {
        if info.kind != EntryKind::Dir {
            self.count(added, info);
            self.one_side(path, info, added);
            return;
        }
        let mut stack = vec![(info.id, path)];
        while let Some((n, dir)) = stack.pop() {
            for c in view.children(n) {
                let p = join(&dir, c.name);
                if c.kind == EntryKind::Dir {
                    stack.push((c.id, p));
                } else {
                    self.count(added, &c);
                    self.one_side(p, &c, added);
                }
            }
        }
    }

    fn count(&mut self, b_side: bool, info: &NodeInfo<'_>) {
        let side = if b_side {
            &mut self.side_b
        } else {
            &mut self.side_a
        };
        side.0 += 1;
        side.1 += file_bytes(info);
    }

    fn both(&mut self, path: Vec<u8>, x: &NodeInfo<'_>, y: &NodeInfo<'_>) {
        self.count(false, x);
        self.count(true, y);
        let attrs = attr_change(x, y);
        let same_attrs = attrs == AttrChange::default();
        let change = if x.kind == y.kind && same_entry_content(x.entry, y.entry) {
            if same_attrs {
                self.totals.unchanged += 1;
                self.totals.unchanged_bytes += file_bytes(y);
                return;
            }
            ChangeKind::AttrsOnly
        } else {
            ChangeKind::Changed
        };
        let change = FileChange {
            display: String::new(),
            path: path.into_boxed_slice(),
            change,
            kind_before: Some(x.kind),
            kind_after: Some(y.kind),
            size_before: file_bytes(x),
            size_after: file_bytes(y),
            attrs: (!same_attrs).then_some(attrs),
        };
        self.totals.add(&change);
        self.changes.push(change);
    }
}

/// `/` + lossy, escaped path.
pub(super) fn display_of(path: &[u8]) -> String {
    format!("/{}", display_path(path))
}

fn diff_views(
    a: View<'_>,
    label_a: &str,
    b: View<'_>,
    label_b: &str,
    opts: &DiffOptions,
) -> FileDiff {
    let mut w = Walk {
        changes: Vec::new(),
        totals: DiffTotals::default(),
        side_a: (0, 0),
        side_b: (0, 0),
        removed_content: Vec::new(),
        added_content: HashMap::new(),
    };
    let mut stack: Vec<(NodeId, NodeId, Vec<u8>)> = vec![(NodeId::ROOT, NodeId::ROOT, Vec::new())];
    while let Some((na, nb, dir)) = stack.pop() {
        let ka = a.children(na);
        let kb = b.children(nb);
        let (mut i, mut j) = (0, 0);
        while i < ka.len() || j < kb.len() {
            let order = match (ka.get(i), kb.get(j)) {
                (Some(x), Some(y)) => x.name.cmp(y.name),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Less => {
                    let x = &ka[i];
                    w.subtree(a, join(&dir, x.name), x, false);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    let y = &kb[j];
                    w.subtree(b, join(&dir, y.name), y, true);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    let (x, y) = (&ka[i], &kb[j]);
                    let p = join(&dir, x.name);
                    match (x.kind == EntryKind::Dir, y.kind == EntryKind::Dir) {
                        (true, true) => stack.push((x.id, y.id, p)),
                        (false, false) => w.both(p, x, y),
                        _ => {
                            w.subtree(a, p.clone(), x, false);
                            w.subtree(b, p, y, true);
                        }
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
    }
    let mut relocated = Relocated::default();
    for key in &w.removed_content {
        if let Some(n) = w.added_content.get_mut(key).filter(|n| **n > 0) {
            *n -= 1;
            relocated.files += 1;
            relocated.bytes += key.0;
        }
    }
    let mut groups = group_changes(&w.changes, opts);
    for g in &mut groups {
        g.in_a = a.has_dir(&g.path);
        g.in_b = b.has_dir(&g.path);
    }
    let mut changes = w.changes;
    let total = changes.len() as u64;
    changes.sort_by(|x, y| {
        (y.size_before + y.size_after)
            .cmp(&(x.size_before + x.size_after))
            .then_with(|| x.path.cmp(&y.path))
    });
    changes.truncate(opts.max_changes);
    // display strings only for the changes listed (the walk may see 300k paths)
    for c in &mut changes {
        c.display = display_of(&c.path);
    }
    FileDiff {
        a: TreeSide {
            label: label_a.to_owned(),
            layer: a.k,
            files: w.side_a.0,
            bytes: w.side_a.1,
        },
        b: TreeSide {
            label: label_b.to_owned(),
            layer: b.k,
            files: w.side_b.0,
            bytes: w.side_b.1,
        },
        totals: w.totals,
        groups,
        changes_omitted: total - changes.len() as u64,
        changes,
        relocated,
    }
}
