//! Path resolution inside the stacked tree, the way Docker's extraction resolves a tar
//! entry's parent directories: symlinks are followed inside the virtual tree with chroot
//! semantics (absolute targets start at the root, `..` stops at the root), at most 40
//! hops (ELOOP beyond); missing directories are created implicitly when asked.

use super::stacked::{StackedTree, IMPLICIT};
use super::{components, TreeError, TreeFlag, TreeFlags};
use crate::model::{Entry, EntryKind};

const MAX_HOPS: u32 = 40;

/// Where a parent path leads.
pub(super) enum Resolved {
    Dir(u32, bool),
    Missing,
    NotDir,
    Loop,
}

impl StackedTree {
    /// Walks `dirs` from the root, following symlinks inside the tree (chroot semantics,
    /// ≤ 40 hops); with `create`, missing directories are created implicitly at layer `k`.
    pub(super) fn resolve_dir(
        &mut self,
        dirs: &[&[u8]],
        k: u32,
        create: bool,
    ) -> Result<Resolved, TreeError> {
        let mut created: Vec<u32> = Vec::new();
        let resolved = self.walk_dirs(dirs, k, create, &mut created);
        // a chain of new directories: one count update per node, then one walk up,
        // instead of a walk to the root for every new level
        let m = created.len() as u64;
        for (i, n) in created.iter().enumerate() {
            let a = self.cur_agg(*n);
            self.set_agg(*n, k, a.bytes, a.count + (m - 1 - i as u64));
        }
        if let Some(first) = created.first() {
            self.adjust(*first, k, (0, m), (0, 0));
        }
        resolved
    }

    fn walk_dirs(
        &mut self,
        dirs: &[&[u8]],
        k: u32,
        create: bool,
        created: &mut Vec<u32>,
    ) -> Result<Resolved, TreeError> {
        let mut queue: Vec<Box<[u8]>> = dirs.iter().rev().map(|c| Box::from(*c)).collect();
        let mut cur = 0u32;
        let mut hops = 0u32;
        let mut through = false;
        while let Some(c) = queue.pop() {
            if c.is_empty() || &*c == b"." {
                continue;
            }
            if &*c == b".." {
                cur = self.nodes[cur as usize].parent.0;
                continue;
            }
            let found = self.child(cur, &c).filter(|n| self.current(*n).present());
            let Some(n) = found else {
                if !create {
                    return Ok(Resolved::Missing);
                }
                let n = self.child_or_create(cur, &c)?;
                let mut flags = TreeFlags::default();
                flags.insert(TreeFlag::Implicit);
                if through {
                    flags.insert(TreeFlag::ThroughSymlink);
                }
                self.set_version(n, k, IMPLICIT, flags);
                created.push(n);
                cur = n;
                continue;
            };
            let v = self.current(n);
            match self.kind_of(&v) {
                EntryKind::Dir => cur = n,
                EntryKind::Symlink => {
                    hops += 1;
                    if hops > MAX_HOPS {
                        return Ok(Resolved::Loop);
                    }
                    through = true;
                    let target: Vec<u8> = self
                        .entry_of(&v)
                        .and_then(|e| e.link.as_deref())
                        .map(|l| l.to_vec())
                        .unwrap_or_default();
                    if target.first() == Some(&b'/') {
                        cur = 0;
                    }
                    for t in target.split(|b| *b == b'/').rev() {
                        queue.push(Box::from(t));
                    }
                }
                _ => return Ok(Resolved::NotDir),
            }
        }
        Ok(Resolved::Dir(cur, through))
    }

    pub(super) fn hardlink_resolves(&mut self, e: &Entry, k: u32) -> Result<bool, TreeError> {
        let Some(link) = e.link.as_deref() else {
            return Ok(false);
        };
        let comps: Vec<&[u8]> = components(link).collect();
        // a link to itself: Docker removes the path first, then link(2) fails
        if comps.iter().copied().eq(components(&e.path)) {
            return Ok(false);
        }
        let Some((last, dirs)) = comps.split_last() else {
            return Ok(false);
        };
        Ok(match self.resolve_dir(dirs, k, false)? {
            // link(2) refuses directories
            Resolved::Dir(p, _) => self.child(p, last).is_some_and(|n| {
                let v = self.current(n);
                v.present() && self.kind_of(&v) != EntryKind::Dir
            }),
            _ => false,
        })
    }
}
