//! Choosing the treemap's nodes: breadth-first from one directory, largest first,
//! within a node budget, folding what does not fit into one node per directory.

use crate::filetree::{DiffMark, NodeId, StackedTree};
use crate::model::EntryKind;

/// What a plan item stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    /// A node of the stacked tree (shown at the layer, not removed).
    Entry(NodeId),
    /// The `count` smallest entries of the parent directory.
    Folded { count: u64 },
}

/// One item of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanItem {
    /// Index of the parent item in [`TreemapPlan::items`]; `None` below the root.
    pub parent: Option<u32>,
    /// 1 for children of the requested directory.
    pub depth: u32,
    pub kind: PlanKind,
    /// Entry or folded bytes.
    pub size: u64,
}

/// The selected nodes and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreemapPlan {
    pub items: Vec<PlanItem>,
    /// Entries removed at the layer inside expanded directories (not drawn).
    pub removed: u64,
}

/// Selects at most `limit` descendants of `dir` as of layer `k`, down to `depth`
/// levels, breadth-first. Each level's budget is shared among its directories in
/// proportion to their sizes (what one does not use passes to the next); a directory
/// lists its children largest first, and those beyond its share (and, when they do not
/// all fit, those of zero bytes) become one folded item.
pub fn plan(tree: &StackedTree, k: u32, dir: NodeId, depth: u32, limit: usize) -> TreemapPlan {
    let mut out = TreemapPlan::default();
    if limit == 0 || depth == 0 {
        return out;
    }
    // directories to expand at this level: (item index or None for `dir`, node, bytes)
    let mut level: Vec<(Option<u32>, NodeId, u64)> = vec![(None, dir, 0)];
    for current_depth in 1..=depth {
        let mut next: Vec<(Option<u32>, NodeId, u64)> = Vec::new();
        let mut left_bytes: u128 = level.iter().map(|d| u128::from(d.2)).sum();
        let mut left_dirs = level.len();
        for (parent, node, bytes) in level {
            let budget = limit.saturating_sub(out.items.len());
            if budget == 0 {
                return out;
            }
            let share = fair_share(budget, bytes, left_bytes, left_dirs);
            left_bytes = left_bytes.saturating_sub(u128::from(bytes));
            left_dirs = left_dirs.saturating_sub(1);
            let expand = current_depth < depth;
            list_children(
                tree,
                k,
                node,
                parent,
                current_depth,
                share,
                expand,
                &mut out,
                &mut next,
            );
        }
        level = next;
        if level.is_empty() {
            break;
        }
    }
    out
}

/// `budget × bytes / left_bytes`, rounded up, at least 1; an even split when the
/// directories left hold no bytes.
fn fair_share(budget: usize, bytes: u64, left_bytes: u128, left_dirs: usize) -> usize {
    let share = if left_bytes == 0 {
        budget.div_ceil(left_dirs.max(1))
    } else {
        let num = (budget as u128).saturating_mul(u128::from(bytes));
        usize::try_from(num.div_ceil(left_bytes)).unwrap_or(budget)
    };
    share.clamp(1, budget)
}

/// Adds `node`'s children (largest first, at most `share` items, the rest folded) and
/// queues the directories among them when `expand`.
#[allow(clippy::too_many_arguments)]
fn list_children(
    tree: &StackedTree,
    k: u32,
    node: NodeId,
    parent: Option<u32>,
    depth: u32,
    share: usize,
    expand: bool,
    out: &mut TreemapPlan,
    next: &mut Vec<(Option<u32>, NodeId, u64)>,
) {
    let mut kids: Vec<(NodeId, u64, bool)> = Vec::new();
    for c in tree.children(node, k) {
        if c.mark == DiffMark::Removed {
            out.removed += 1;
        } else {
            kids.push((c.id, c.size, c.kind == EntryKind::Dir));
        }
    }
    kids.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // entries without bytes have no area: when not all fit, they are folded first
    let with_bytes = kids.iter().take_while(|k| k.1 > 0).count();
    let shown = if kids.len() <= share {
        kids.len()
    } else {
        share.saturating_sub(1).min(with_bytes)
    };
    for &(id, size, is_dir) in &kids[..shown] {
        let index = u32::try_from(out.items.len()).unwrap_or(u32::MAX);
        out.items.push(PlanItem {
            parent,
            depth,
            kind: PlanKind::Entry(id),
            size,
        });
        if is_dir && expand {
            next.push((Some(index), id, size));
        }
    }
    if let Some(rest) = kids.get(shown..).filter(|r| !r.is_empty()) {
        out.items.push(PlanItem {
            parent,
            depth,
            kind: PlanKind::Folded {
                count: rest.len() as u64,
            },
            size: rest.iter().fold(0u64, |s, r| s.saturating_add(r.1)),
        });
    }
}
