//! Subtotals of a file diff: counts of non-directory paths and regular-file bytes by
//! kind of change, summed over the whole diff or one directory group.

use super::clamp_i64;
use super::files::{ChangeKind, FileChange};
use serde::{Deserialize, Serialize};

/// Counts (non-directory paths) and regular-file bytes by kind of change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffTotals {
    pub added: u64,
    pub added_bytes: u64,
    pub removed: u64,
    pub removed_bytes: u64,
    pub changed: u64,
    pub changed_bytes_before: u64,
    pub changed_bytes_after: u64,
    pub attrs_only: u64,
    pub attrs_only_bytes: u64,
    /// Identical in both (content and attributes); zero in groups.
    pub unchanged: u64,
    pub unchanged_bytes: u64,
}

impl DiffTotals {
    /// Paths added, removed, changed or with changed attributes.
    pub fn changes(&self) -> u64 {
        self.added + self.removed + self.changed + self.attrs_only
    }

    /// Bytes that moved: added + removed + both sides of changed files.
    pub fn churn(&self) -> u64 {
        self.added_bytes + self.removed_bytes + self.changed_bytes_before + self.changed_bytes_after
    }

    /// Net byte change from A to B.
    pub fn delta(&self) -> i64 {
        clamp_i64(
            i128::from(self.added_bytes) + i128::from(self.changed_bytes_after)
                - i128::from(self.removed_bytes)
                - i128::from(self.changed_bytes_before),
        )
    }

    /// Paths of A that B still has (changed or not).
    pub fn kept(&self) -> u64 {
        self.changed + self.attrs_only + self.unchanged
    }

    pub(super) fn add(&mut self, c: &FileChange) {
        match c.change {
            ChangeKind::Added => {
                self.added += 1;
                self.added_bytes += c.size_after;
            }
            ChangeKind::Removed => {
                self.removed += 1;
                self.removed_bytes += c.size_before;
            }
            ChangeKind::Changed => {
                self.changed += 1;
                self.changed_bytes_before += c.size_before;
                self.changed_bytes_after += c.size_after;
            }
            ChangeKind::AttrsOnly => {
                self.attrs_only += 1;
                self.attrs_only_bytes += c.size_after;
            }
        }
    }

    pub(super) fn minus(&self, o: &DiffTotals) -> DiffTotals {
        DiffTotals {
            added: self.added.saturating_sub(o.added),
            added_bytes: self.added_bytes.saturating_sub(o.added_bytes),
            removed: self.removed.saturating_sub(o.removed),
            removed_bytes: self.removed_bytes.saturating_sub(o.removed_bytes),
            changed: self.changed.saturating_sub(o.changed),
            changed_bytes_before: self
                .changed_bytes_before
                .saturating_sub(o.changed_bytes_before),
            changed_bytes_after: self
                .changed_bytes_after
                .saturating_sub(o.changed_bytes_after),
            attrs_only: self.attrs_only.saturating_sub(o.attrs_only),
            attrs_only_bytes: self.attrs_only_bytes.saturating_sub(o.attrs_only_bytes),
            unchanged: self.unchanged.saturating_sub(o.unchanged),
            unchanged_bytes: self.unchanged_bytes.saturating_sub(o.unchanged_bytes),
        }
    }
}
