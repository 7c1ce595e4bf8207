//! Groups a file diff by directory so it reads at a glance ("/usr/lib/gcc: 412 MB
//! removed, 1,204 files"). Subtotals are summed into every ancestor directory down to
//! [`DiffOptions::max_depth`]; then, starting from the root, the group with the most
//! churned bytes is split into its subdirectories that each hold at least
//! [`DiffOptions::min_group_share`] of all churned bytes, the rest staying behind as a
//! "rest" group, while the number of groups fits [`DiffOptions::max_groups`]. A split
//! into a single subdirectory with nothing left behind just descends a chain
//! (`/root` → `/root/.cache`). The groups partition the changes exactly.

use super::files::{display_of, DiffOptions, DiffTotals, FileChange};
use super::DiffGroup;
use std::collections::HashMap;

struct Dir {
    path: Vec<u8>,
    children: Vec<usize>,
    totals: DiffTotals,
}

struct Arena {
    dirs: Vec<Dir>,
    index: HashMap<(usize, Vec<u8>), usize>,
}

impl Arena {
    fn child(&mut self, parent: usize, name: &[u8]) -> usize {
        if let Some(&c) = self.index.get(&(parent, name.to_vec())) {
            return c;
        }
        let c = self.dirs.len();
        let mut path = self.dirs[parent].path.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        self.dirs.push(Dir {
            path,
            children: Vec::new(),
            totals: DiffTotals::default(),
        });
        self.dirs[parent].children.push(c);
        self.index.insert((parent, name.to_vec()), c);
        c
    }
}

/// One candidate group: a directory (its whole subtree) or its rest.
#[derive(Clone, Copy)]
struct Cand {
    dir: usize,
    rest: bool,
    totals: DiffTotals,
    /// Known not to split further.
    done: bool,
}

pub(super) fn group_changes(changes: &[FileChange], opts: &DiffOptions) -> Vec<DiffGroup> {
    let mut arena = Arena {
        dirs: vec![Dir {
            path: Vec::new(),
            children: Vec::new(),
            totals: DiffTotals::default(),
        }],
        index: HashMap::new(),
    };
    let mut grand = DiffTotals::default();
    for c in changes {
        grand.add(c);
        arena.dirs[0].totals.add(c);
        let comps: Vec<&[u8]> = c.path.split(|b| *b == b'/').collect();
        let dirs = &comps[..comps.len().saturating_sub(1)];
        let mut cur = 0;
        for name in dirs.iter().take(opts.max_depth) {
            cur = arena.child(cur, name);
            arena.dirs[cur].totals.add(c);
        }
    }
    if changes.is_empty() {
        return Vec::new();
    }
    // weigh by churned bytes; when nothing has bytes (empty files, attributes), by count
    let by_bytes = grand.churn() > 0;
    let weight = |t: &DiffTotals| if by_bytes { t.churn() } else { t.changes() };
    let total_weight = weight(&grand);
    let threshold = ((total_weight as f64) * opts.min_group_share.clamp(0.0, 1.0)).ceil() as u64;
    let threshold = threshold.max(1);
    let max_groups = opts.max_groups.max(1);
    let mut groups = vec![Cand {
        dir: 0,
        rest: false,
        totals: arena.dirs[0].totals,
        done: false,
    }];
    loop {
        let pick = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.done && !g.rest)
            .max_by_key(|(_, g)| weight(&g.totals))
            .map(|(i, _)| i);
        let Some(i) = pick else {
            break;
        };
        let g = groups[i];
        let big: Vec<usize> = arena.dirs[g.dir]
            .children
            .iter()
            .copied()
            .filter(|&c| weight(&arena.dirs[c].totals) >= threshold)
            .collect();
        let mut rest = g.totals;
        for &c in &big {
            rest = rest.minus(&arena.dirs[c].totals);
        }
        let has_rest = rest.changes() > 0;
        let new_len = groups.len() - 1 + big.len() + usize::from(has_rest);
        if big.is_empty() || new_len > max_groups {
            groups[i].done = true;
            continue;
        }
        groups.remove(i);
        groups.extend(big.iter().map(|&c| Cand {
            dir: c,
            rest: false,
            totals: arena.dirs[c].totals,
            done: false,
        }));
        if has_rest {
            groups.push(Cand {
                dir: g.dir,
                rest: true,
                totals: rest,
                done: true,
            });
        }
    }
    let mut out: Vec<DiffGroup> = groups
        .into_iter()
        .map(|g| {
            let path = arena.dirs[g.dir].path.clone();
            DiffGroup {
                display: if path.is_empty() {
                    "/".to_owned()
                } else {
                    display_of(&path)
                },
                path: path.into_boxed_slice(),
                rest: g.rest,
                in_a: false,
                in_b: false,
                totals: g.totals,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        weight(&y.totals)
            .cmp(&weight(&x.totals))
            .then_with(|| x.path.cmp(&y.path))
            .then_with(|| x.rest.cmp(&y.rest))
    });
    out
}
