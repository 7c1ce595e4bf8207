//! Diff marks: how a node rewritten at layer k compares with its version at k-1.

use super::DiffMark;
use crate::model::{Entry, EntryKind};

/// Same bytes: kind, size, crc64 (files; unknown crc64 is never "same"), link target.
pub(crate) fn same_content(a: &Entry, b: &Entry) -> bool {
    a.kind == b.kind
        && a.size == b.size
        && match a.kind {
            EntryKind::File => a.crc64.is_some() && a.crc64 == b.crc64,
            EntryKind::Symlink | EntryKind::Hardlink => a.link == b.link,
            _ => true,
        }
}

fn same_attrs(a: &Entry, b: &Entry) -> bool {
    a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime == b.mtime
}

/// The mark of a node present before and after layer k, rewritten at k.
pub(crate) fn rewrite_mark(before: Option<&Entry>, now: Option<&Entry>) -> DiffMark {
    match (before, now) {
        (Some(a), Some(b)) => {
            if a.kind != b.kind {
                DiffMark::Modified
            } else if b.kind == EntryKind::Dir {
                if a.mode != b.mode || a.uid != b.uid || a.gid != b.gid {
                    DiffMark::AttrsOnly
                } else {
                    DiffMark::Unchanged
                }
            } else if !same_content(a, b) {
                DiffMark::Modified
            } else if b.kind == EntryKind::File || !same_attrs(a, b) {
                DiffMark::AttrsOnly
            } else {
                DiffMark::Unchanged
            }
        }
        (None, None) => DiffMark::Unchanged,
        (Some(a), None) | (None, Some(a)) => {
            if a.kind == EntryKind::Dir {
                DiffMark::Unchanged
            } else {
                DiffMark::Modified
            }
        }
    }
}
