//! The append-only compact tree: the O(log n) frontier of perfect subtree roots from which the
//! root of the whole tree is recomputed after every append.

use crate::error::ChainError;
use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Append-only Merkle tree state that keeps only the frontier: one hash per set bit of the size.
///
/// The frontier lists the roots of the perfect subtrees that make up the tree, left to right,
/// so the largest subtree comes first. For a tree of size 13 (`0b1101`) it holds the roots of
/// leaves `[0, 8)`, `[8, 12)` and `[12, 13)`. An append merges equal-sized subtrees like a binary
/// counter carries, so it costs one leaf plus at most `log2(size)` node hashes; [`root`] folds the
/// frontier from the right in at most `log2(size)` node hashes.
///
/// [`root`]: CompactTree::root
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactTree {
    size: u64,
    frontier: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes a tree from a persisted size and frontier (as returned by [`frontier`]).
    ///
    /// Fails with [`ChainError::FrontierLength`] unless `frontier.len()` is the number of set
    /// bits of `size`, and with [`ChainError::TreeFull`] for `size == u64::MAX` (such a tree
    /// could take no further leaf). The hashes themselves cannot be checked here: that is what
    /// the store's verification of the leaves against a sealed root is for.
    ///
    /// [`frontier`]: CompactTree::frontier
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<Self, ChainError> {
        let expected = u64::from(size.count_ones());
        let actual = frontier.len() as u64;
        if expected != actual {
            return Err(ChainError::FrontierLength { size, expected, actual });
        }
        if size == u64::MAX {
            return Err(ChainError::TreeFull);
        }
        Ok(Self { size, frontier })
    }

    /// Appends one leaf hash.
    ///
    /// A tree of `u64::MAX` leaves cannot grow: at a billion appends a second it takes 584 years
    /// to get there, and [`from_frontier`](CompactTree::from_frontier) refuses that size, so the
    /// limit is never met in practice; [`try_push`](CompactTree::try_push) reports it, this
    /// method leaves such a tree unchanged.
    pub fn push(&mut self, leaf: Hash) {
        let _unreachable_in_practice = self.try_push(leaf);
    }

    /// Appends one leaf hash, or fails with [`ChainError::TreeFull`] if the tree already holds
    /// `u64::MAX` leaves.
    pub fn try_push(&mut self, leaf: Hash) -> Result<(), ChainError> {
        self.try_push_reporting(leaf, |_, _| {})
    }

    /// [`try_push`](CompactTree::try_push), also handing `completed` the root of every perfect
    /// subtree the leaf completes, as `(level, root)` from level 1 upwards (a subtree of level
    /// `l` has `2^l` leaves). A caller that keeps some levels of the tree (such as Merkle tiles)
    /// gets them without hashing again.
    pub fn try_push_reporting(
        &mut self,
        leaf: Hash,
        mut completed: impl FnMut(u32, &Hash),
    ) -> Result<(), ChainError> {
        let new_size = self.size.checked_add(1).ok_or(ChainError::TreeFull)?;
        let mut carry = leaf;
        // Each trailing one bit of the old size is a subtree of the same height as `carry`.
        for level in 1..=self.size.trailing_ones() {
            let Some(left) = self.frontier.pop() else { break };
            carry = node_hash(&left, &carry);
            completed(level, &carry);
        }
        self.frontier.push(carry);
        self.size = new_size;
        Ok(())
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the tree ([`EMPTY_ROOT`] when empty).
    pub fn root(&self) -> Hash {
        let mut hashes = self.frontier.iter().rev();
        let Some(last) = hashes.next() else { return EMPTY_ROOT };
        hashes.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The frontier, largest subtree first; persist it with the size to resume the tree later.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    /// The RFC 9162 definition, recursively over a slice of leaf hashes.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn root_after_every_append_matches_the_recursive_definition() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = CompactTree::new();
        assert_eq!(tree.root(), EMPTY_ROOT);
        for (i, leaf) in leaves.iter().enumerate() {
            tree.push(*leaf);
            assert_eq!(tree.size(), i as u64 + 1);
            assert_eq!(tree.frontier().len(), tree.size().count_ones() as usize);
            assert_eq!(tree.root(), mth(&leaves[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn every_completed_subtree_is_reported_once_with_its_root() {
        let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = CompactTree::new();
        let mut reported = Vec::new();
        for leaf in &leaves {
            let size = tree.size() + 1;
            tree.try_push_reporting(*leaf, |level, root| reported.push((size, level, *root)))
                .unwrap();
        }
        let mut expected = Vec::new();
        for size in 1..=37usize {
            for level in 1..6u32 {
                let width = 1usize << level;
                if size % width == 0 {
                    expected.push((size as u64, level, mth(&leaves[size - width..size])));
                }
            }
        }
        assert_eq!(reported, expected);
    }

    #[test]
    fn resumes_from_a_persisted_frontier() {
        let mut a = CompactTree::new();
        for i in 0u32..13 {
            a.push(leaf_hash(&i.to_be_bytes()));
        }
        let mut b = CompactTree::from_frontier(a.size(), a.frontier().to_vec()).unwrap();
        assert_eq!(b, a);
        for i in 13u32..40 {
            a.push(leaf_hash(&i.to_be_bytes()));
            b.push(leaf_hash(&i.to_be_bytes()));
        }
        assert_eq!(a.root(), b.root());
    }

    #[test]
    fn a_frontier_of_the_wrong_length_is_refused() {
        assert_eq!(
            CompactTree::from_frontier(13, vec![[0; 32]; 2]),
            Err(ChainError::FrontierLength { size: 13, expected: 3, actual: 2 })
        );
        assert!(CompactTree::from_frontier(0, vec![[0; 32]]).is_err());
        assert_eq!(
            CompactTree::from_frontier(u64::MAX, vec![[0; 32]; 64]),
            Err(ChainError::TreeFull)
        );
        assert!(CompactTree::from_frontier(0, Vec::new()).is_ok());
    }

    #[test]
    fn a_tree_one_short_of_full_takes_one_more_leaf_then_refuses() {
        let mut tree = CompactTree::from_frontier(u64::MAX - 1, vec![[7; 32]; 63]).unwrap();
        assert_eq!(tree.try_push([1; 32]), Ok(()));
        assert_eq!(tree.size(), u64::MAX);
        let before = tree.clone();
        assert_eq!(tree.try_push([2; 32]), Err(ChainError::TreeFull));
        tree.push([2; 32]);
        assert_eq!(tree, before);
    }
}
