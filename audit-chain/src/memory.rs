//! Where proofs get their hashes: the [`LeafHashes`] source trait, and [`MemoryTree`], a source
//! that keeps every level of the tree in memory.

use crate::error::ChainError;
use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// A source of leaf hashes (and, optionally, cached perfect subtree roots) for building roots
/// and proofs.
///
/// The store implements this over its leaf-hash files. Only `leaf_hash` is required; a source
/// that also caches the roots of perfect subtrees makes proofs cost `O(log n)` lookups instead of
/// `O(n)` leaf reads.
pub trait LeafHashes {
    /// Why the source could not return a hash.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The leaf hash at `index`.
    fn leaf_hash(&self, index: u64) -> Result<Hash, Self::Error>;

    /// The root of the perfect subtree of `2^level` leaves starting at leaf `index << level`, if
    /// the source has it cached; `Ok(None)` makes the caller compute it from its two halves.
    ///
    /// A source must return `Some` only for a subtree whose leaves it holds completely.
    fn perfect_subtree(&self, level: u32, index: u64) -> Result<Option<Hash>, Self::Error> {
        let _ = (level, index);
        Ok(None)
    }
}

/// A Merkle tree with every level in memory: `2n - 1` hashes for `n` leaves (64 bytes a leaf).
///
/// [`perfect_subtree`](LeafHashes::perfect_subtree) answers every level in `O(1)`, so roots and
/// proofs built from it take `O(log n)` hashes at most. Meant for tests, benchmarks and small
/// logs; the store serves proofs from disk instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][i]` is the root of the perfect subtree of leaves `[i << l, (i + 1) << l)`;
    /// only complete subtrees are stored.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree with room for `leaves` leaves on every level, so that building a large tree
    /// does not reallocate.
    pub fn with_capacity(leaves: u64) -> Self {
        let mut levels = Vec::new();
        let mut n = leaves;
        while n > 0 {
            levels.push(Vec::with_capacity(usize::try_from(n).unwrap_or(0)));
            n >>= 1;
        }
        Self { levels }
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends one leaf hash, completing every perfect subtree it closes.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            let len = row.len();
            if len % 2 == 1 {
                return;
            }
            hash = node_hash(&row[len - 2], &row[len - 1]);
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The root of the whole tree ([`EMPTY_ROOT`] when empty).
    pub fn root(&self) -> Hash {
        let size = self.size();
        // The perfect subtrees of the tree, one per set bit of the size, right to left.
        let mut root: Option<Hash> = None;
        let mut end = size;
        for level in 0..u64::BITS {
            if size & (1 << level) == 0 {
                continue;
            }
            end -= 1 << level;
            let Some(subtree) = self.stored(level, end >> level) else { return EMPTY_ROOT };
            root = Some(match root {
                None => subtree,
                Some(right) => node_hash(&subtree, &right),
            });
        }
        root.unwrap_or(EMPTY_ROOT)
    }

    fn stored(&self, level: u32, index: u64) -> Option<Hash> {
        let row = self.levels.get(usize::try_from(level).ok()?)?;
        row.get(usize::try_from(index).ok()?).copied()
    }
}

impl LeafHashes for MemoryTree {
    type Error = ChainError;

    fn leaf_hash(&self, index: u64) -> Result<Hash, ChainError> {
        self.stored(0, index).ok_or(ChainError::IndexOutOfRange { index, size: self.size() })
    }

    fn perfect_subtree(&self, level: u32, index: u64) -> Result<Option<Hash>, ChainError> {
        Ok(self.stored(level, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::CompactTree;

    #[test]
    fn root_matches_the_compact_tree_at_every_size() {
        let mut memory = MemoryTree::with_capacity(40);
        let mut compact = CompactTree::new();
        assert_eq!(memory.root(), EMPTY_ROOT);
        for i in 0u32..100 {
            let leaf = leaf_hash(&i.to_le_bytes());
            memory.push(leaf);
            compact.push(leaf);
            assert_eq!(memory.size(), compact.size());
            assert_eq!(memory.root(), compact.root(), "size {}", i + 1);
        }
    }

    #[test]
    fn perfect_subtrees_are_served_only_when_complete() {
        let tree = MemoryTree::from_leaves((0u32..6).map(|i| leaf_hash(&i.to_be_bytes())));
        assert!(tree.perfect_subtree(1, 2).unwrap().is_some(), "leaves 4 and 5");
        assert!(tree.perfect_subtree(2, 1).unwrap().is_none(), "leaves 4 to 7 are not all there");
        assert!(tree.perfect_subtree(40, 0).unwrap().is_none());
        assert_eq!(
            tree.leaf_hash(6),
            Err(ChainError::IndexOutOfRange { index: 6, size: 6 }),
            "a leaf past the end is an error, not a panic"
        );
    }
}
