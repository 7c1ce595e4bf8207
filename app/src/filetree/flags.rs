//! Tree-level flags: conditions found while interpreting or stacking a layer (entry-level
//! flags from the reader stay on the entry, see [`crate::model::EntryFlag`]).

use serde::{Deserialize, Serialize};

/// One tree-level condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TreeFlag {
    /// The same path appeared more than once in one layer; the last one wins (D10).
    Duplicate,
    /// A whiteout named something that did not exist below (F1).
    WhiteoutOfNothing,
    /// `foo` and `.wh.foo` in the same layer: Docker removes foo, the OCI spec keeps it (F4).
    SameLayerWhiteout,
    /// A whiteout that is not an empty regular file, applied by name (F7).
    OddWhiteout,
    /// The path was written through a symlinked directory and placed where Docker puts it (E2).
    ThroughSymlink,
    /// The entry replaced a symlink (symlink then directory or file, E3).
    ReplacedSymlink,
    /// A hard link whose target does not exist in the layer or below (E4).
    UnresolvedHardlink,
    /// A directory made opaque by `.wh..wh..opq` (F3).
    Opaque,
    /// A directory that only exists because a deeper path needed it (no own tar entry).
    Implicit,
}

const ALL: [TreeFlag; 9] = [
    TreeFlag::Duplicate,
    TreeFlag::WhiteoutOfNothing,
    TreeFlag::SameLayerWhiteout,
    TreeFlag::OddWhiteout,
    TreeFlag::ThroughSymlink,
    TreeFlag::ReplacedSymlink,
    TreeFlag::UnresolvedHardlink,
    TreeFlag::Opaque,
    TreeFlag::Implicit,
];

/// A compact set of [`TreeFlag`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TreeFlags(u16);

impl TreeFlags {
    fn bit(flag: TreeFlag) -> u16 {
        1 << ALL.iter().position(|f| *f == flag).unwrap_or(0)
    }

    /// Adds a flag.
    pub fn insert(&mut self, flag: TreeFlag) {
        self.0 |= Self::bit(flag);
    }

    /// True when the flag is set.
    pub fn contains(self, flag: TreeFlag) -> bool {
        self.0 & Self::bit(flag) != 0
    }

    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = TreeFlag> {
        ALL.into_iter().filter(move |f| self.contains(*f))
    }

    /// Both sets together.
    pub fn union(self, other: TreeFlags) -> TreeFlags {
        TreeFlags(self.0 | other.0)
    }
}

impl FromIterator<TreeFlag> for TreeFlags {
    fn from_iter<I: IntoIterator<Item = TreeFlag>>(iter: I) -> Self {
        let mut set = TreeFlags::default();
        for f in iter {
            set.insert(f);
        }
        set
    }
}

impl Serialize for TreeFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for TreeFlags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<TreeFlag>::deserialize(d)?;
        Ok(list.into_iter().collect())
    }
}
