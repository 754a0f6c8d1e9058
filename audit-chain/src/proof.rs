//! Roots, inclusion proofs and consistency proofs built from a [`LeafHashes`] source, and their
//! verifiers (RFC 9162 sections 2.1.3 and 2.1.4).

use crate::error::{ChainError, ProofError};
use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::memory::LeafHashes;

/// Proof that the leaf at `index` is in the tree of `size` leaves (RFC 9162 section 2.1.3).
///
/// `path` runs from the leaf's sibling up to the child of the root; its length is exactly
/// [`inclusion_path_len`]`(index, size)`, at most `ceil(log2(size))`, so the proof is 32 bytes
/// times that length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index of the proven leaf, from 0.
    pub index: u64,
    /// Size of the tree the proof is for.
    pub size: u64,
    /// Sibling hashes, bottom-up.
    pub path: Vec<Hash>,
}

/// Proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves
/// (RFC 9162 section 2.1.4).
///
/// `path` has exactly [`consistency_path_len`]`(old_size, new_size)` hashes, at most
/// `ceil(log2(new_size)) + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Size of the earlier tree.
    pub old_size: u64,
    /// Size of the later tree.
    pub new_size: u64,
    /// Proof hashes in RFC 9162 order.
    pub path: Vec<Hash>,
}

/// The number of hashes in the inclusion proof for leaf `index` in a tree of `size` leaves.
///
/// Fails with [`ChainError::EmptyTree`] for `size == 0` and [`ChainError::IndexOutOfRange`] for
/// `index >= size`.
pub fn inclusion_path_len(index: u64, size: u64) -> Result<u64, ChainError> {
    if size == 0 {
        return Err(ChainError::EmptyTree);
    }
    if index >= size {
        return Err(ChainError::IndexOutOfRange { index, size });
    }
    Ok(path_len(index, size))
}

/// The number of hashes in the consistency proof from `old_size` to `new_size`: 0 when
/// `old_size` is 0 or equal to `new_size`.
///
/// Fails with [`ChainError::SizeOutOfOrder`] for `old_size > new_size`.
pub fn consistency_path_len(old_size: u64, new_size: u64) -> Result<u64, ChainError> {
    if old_size > new_size {
        return Err(ChainError::SizeOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(0);
    }
    // The proof is the inclusion path of the last perfect subtree of the old tree within the
    // new tree, seen from that subtree's level, preceded by the subtree's own root unless the
    // old tree is that one subtree (the verifier then already holds it as the old root).
    let level = old_size.trailing_zeros();
    let index = (old_size - 1) >> level;
    let size = ((new_size - 1) >> level) + 1;
    Ok(path_len(index, size) + u64::from(!old_size.is_power_of_two()))
}

/// Requires `index < size`.
fn path_len(index: u64, size: u64) -> u64 {
    // Levels below the point where the paths to `index` and to the last leaf part, each with a
    // sibling; above it the leaf lies on the right border, with a left sibling for each one bit.
    let inner = u64::BITS - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    u64::from(inner + border)
}

/// The largest power of two below `n`, for `n >= 2`: where RFC 9162 splits a tree of `n` leaves.
fn split_point(n: u64) -> u64 {
    1 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// The root of the perfect subtree of `2^level` leaves starting at leaf `index << level`.
fn perfect_root<S: LeafHashes>(
    src: &S,
    level: u32,
    index: u64,
) -> Result<Hash, ProofError<S::Error>> {
    if level == 0 {
        return src.leaf_hash(index).map_err(ProofError::Source);
    }
    if let Some(hash) = src.perfect_subtree(level, index).map_err(ProofError::Source)? {
        return Ok(hash);
    }
    let left = perfect_root(src, level - 1, index << 1)?;
    let right = perfect_root(src, level - 1, (index << 1) | 1)?;
    Ok(node_hash(&left, &right))
}

/// The root of leaves `[start, start + len)`, for `len >= 1` and `start` a multiple of the
/// largest power of two not above `len` (true of every subtree in the RFC 9162 recursion).
fn range_root<S: LeafHashes>(src: &S, start: u64, len: u64) -> Result<Hash, ProofError<S::Error>> {
    // One perfect subtree per set bit of `len`, largest on the left; fold from the right.
    let mut end = start + len;
    let mut root: Option<Hash> = None;
    for level in 0..u64::BITS {
        if len & (1 << level) == 0 {
            continue;
        }
        end -= 1 << level;
        let subtree = perfect_root(src, level, end >> level)?;
        root = Some(match root {
            None => subtree,
            Some(right) => node_hash(&subtree, &right),
        });
    }
    root.ok_or(ProofError::Invalid(ChainError::EmptyTree))
}

/// The root of the first `size` leaves of `src` ([`EMPTY_ROOT`] for `size == 0`).
pub fn root_at<S: LeafHashes>(src: &S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    range_root(src, 0, size)
}

/// The inclusion proof for leaf `index` in the tree of the first `size` leaves of `src`.
///
/// Fails with [`ChainError::EmptyTree`] for `size == 0` and [`ChainError::IndexOutOfRange`] for
/// `index >= size` (wrapped in [`ProofError::Invalid`]), or with the source's error.
pub fn inclusion_proof<S: LeafHashes>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<InclusionProof, ProofError<S::Error>> {
    let len = inclusion_path_len(index, size)?;
    let mut path = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // Walk down from the root, keeping the subtree [lo, lo + n) that holds the leaf.
    let (mut lo, mut n) = (0u64, size);
    while n > 1 {
        let k = split_point(n);
        if index - lo < k {
            path.push(range_root(src, lo + k, n - k)?);
            n = k;
        } else {
            let level = k.trailing_zeros();
            path.push(perfect_root(src, level, lo >> level)?);
            lo += k;
            n -= k;
        }
    }
    path.reverse();
    Ok(InclusionProof { index, size, path })
}

/// The consistency proof from the tree of the first `old_size` leaves of `src` to the tree of the
/// first `new_size` leaves.
///
/// Empty when `old_size == new_size` or `old_size == 0` (see the crate docs for why the empty
/// tree gets an empty proof). Fails with [`ChainError::SizeOutOfOrder`] for
/// `old_size > new_size`, or with the source's error.
pub fn consistency_proof<S: LeafHashes>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, ProofError<S::Error>> {
    let len = consistency_path_len(old_size, new_size)?;
    let mut path = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    if old_size != 0 && old_size != new_size {
        // RFC 9162 SUBPROOF(m, D[lo:lo+n], whole), unrolled: `whole` stays true while the old
        // tree is a left-aligned subtree whose root the verifier already holds.
        let (mut lo, mut n, mut m, mut whole) = (0u64, new_size, old_size, true);
        while m != n {
            let k = split_point(n);
            if m <= k {
                path.push(range_root(src, lo + k, n - k)?);
                n = k;
            } else {
                let level = k.trailing_zeros();
                path.push(perfect_root(src, level, lo >> level)?);
                lo += k;
                n -= k;
                m -= k;
                whole = false;
            }
        }
        if !whole {
            path.push(range_root(src, lo, n)?);
        }
        path.reverse();
    }
    Ok(ConsistencyProof { old_size, new_size, path })
}

fn check_len(expected: u64, path: &[Hash]) -> Result<(), ChainError> {
    let actual = path.len() as u64;
    if actual == expected { Ok(()) } else { Err(ChainError::ProofLength { expected, actual }) }
}

/// Checks that `leaf` is at `proof.index` in the tree of `proof.size` leaves whose root is
/// `root` (RFC 9162 section 2.1.3.2).
///
/// A proof is bound to a (size, root) pair: the caller must check that `proof.size` is the size
/// that `root` belongs to (for example the size of a verified checkpoint), because RFC 9162
/// proofs do not commit to the size by themselves.
pub fn verify_inclusion(
    leaf: &Hash,
    proof: &InclusionProof,
    root: &Hash,
) -> Result<(), ChainError> {
    check_len(inclusion_path_len(proof.index, proof.size)?, &proof.path)?;
    let mut f = proof.index;
    let mut s = proof.size - 1;
    let mut r = *leaf;
    for p in &proof.path {
        if s == 0 {
            return Err(ChainError::ProofMismatch);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // Skip the levels where the node is the last one and has no right sibling.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root { Ok(()) } else { Err(ChainError::ProofMismatch) }
}

/// Checks that the tree of `proof.old_size` leaves with root `old_root` is a prefix of the tree
/// of `proof.new_size` leaves with root `new_root` (RFC 9162 section 2.1.4.2).
///
/// Edge cases: equal sizes need an empty proof and equal roots; old size 0 needs an empty proof
/// and `old_root == EMPTY_ROOT` (any tree extends the empty tree). As for inclusion, the caller
/// must check that each size is the one its root belongs to.
pub fn verify_consistency(
    proof: &ConsistencyProof,
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ChainError> {
    let (old_size, new_size) = (proof.old_size, proof.new_size);
    check_len(consistency_path_len(old_size, new_size)?, &proof.path)?;
    if old_size == new_size {
        return if old_root == new_root { Ok(()) } else { Err(ChainError::ProofMismatch) };
    }
    if old_size == 0 {
        return if *old_root == EMPTY_ROOT { Ok(()) } else { Err(ChainError::ProofMismatch) };
    }
    // When the old tree is a perfect subtree, its root is the first node of the proof.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof.path.as_slice())
    } else {
        match proof.path.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(ChainError::ProofMismatch),
        }
    };
    let mut f = old_size - 1;
    let mut s = new_size - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut old_r = *seed;
    let mut new_r = *seed;
    for c in rest {
        if s == 0 {
            return Err(ChainError::ProofMismatch);
        }
        if f & 1 == 1 || f == s {
            old_r = node_hash(c, &old_r);
            new_r = node_hash(c, &new_r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            new_r = node_hash(&new_r, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && old_r == *old_root && new_r == *new_root {
        Ok(())
    } else {
        Err(ChainError::ProofMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::memory::MemoryTree;

    /// A source without any cache, so that proofs are computed from leaves alone.
    struct LeavesOnly(Vec<Hash>);

    impl LeafHashes for LeavesOnly {
        type Error = ChainError;
        fn leaf_hash(&self, index: u64) -> Result<Hash, ChainError> {
            self.0
                .get(usize::try_from(index).unwrap_or(usize::MAX))
                .copied()
                .ok_or(ChainError::IndexOutOfRange { index, size: self.0.len() as u64 })
        }
    }

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn proofs_from_leaves_alone_equal_proofs_from_cached_levels() {
        let hashes = leaves(37);
        let cached = MemoryTree::from_leaves(hashes.iter().copied());
        let plain = LeavesOnly(hashes);
        for size in 1..=37 {
            assert_eq!(root_at(&plain, size).unwrap(), root_at(&cached, size).unwrap());
            for index in 0..size {
                let a = inclusion_proof(&plain, index, size).unwrap();
                let b = inclusion_proof(&cached, index, size).unwrap();
                assert_eq!(a, b);
                assert_eq!(a.path.len() as u64, inclusion_path_len(index, size).unwrap());
            }
            for old in 0..=size {
                let a = consistency_proof(&plain, old, size).unwrap();
                assert_eq!(a, consistency_proof(&cached, old, size).unwrap());
                assert_eq!(a.path.len() as u64, consistency_path_len(old, size).unwrap());
            }
        }
    }

    #[test]
    fn a_source_that_lacks_leaves_reports_its_own_error() {
        let plain = LeavesOnly(leaves(4));
        match inclusion_proof(&plain, 1, 9) {
            Err(ProofError::Source(ChainError::IndexOutOfRange { size: 4, .. })) => {}
            other => panic!("expected the source error, got {other:?}"),
        }
        assert!(matches!(root_at(&plain, 5), Err(ProofError::Source(_))));
    }

    #[test]
    fn edge_cases_follow_the_documented_policy() {
        let tree = MemoryTree::from_leaves(leaves(8));
        assert!(matches!(
            inclusion_proof(&tree, 0, 0),
            Err(ProofError::Invalid(ChainError::EmptyTree))
        ));
        assert!(matches!(
            inclusion_proof(&tree, 5, 5),
            Err(ProofError::Invalid(ChainError::IndexOutOfRange { index: 5, size: 5 }))
        ));
        assert!(matches!(
            consistency_proof(&tree, 6, 5),
            Err(ProofError::Invalid(ChainError::SizeOutOfOrder { old_size: 6, new_size: 5 }))
        ));
        let same = consistency_proof(&tree, 5, 5).unwrap();
        assert!(same.path.is_empty());
        let r5 = root_at(&tree, 5).unwrap();
        let r6 = root_at(&tree, 6).unwrap();
        assert_eq!(verify_consistency(&same, &r5, &r5), Ok(()));
        assert_eq!(verify_consistency(&same, &r5, &r6), Err(ChainError::ProofMismatch));
        let from_empty = consistency_proof(&tree, 0, 6).unwrap();
        assert!(from_empty.path.is_empty());
        assert_eq!(verify_consistency(&from_empty, &EMPTY_ROOT, &r6), Ok(()));
        assert_eq!(verify_consistency(&from_empty, &r5, &r6), Err(ChainError::ProofMismatch));
        let both_empty = ConsistencyProof { old_size: 0, new_size: 0, path: Vec::new() };
        assert_eq!(verify_consistency(&both_empty, &EMPTY_ROOT, &EMPTY_ROOT), Ok(()));
        assert_eq!(
            verify_consistency(&both_empty, &EMPTY_ROOT, &r5),
            Err(ChainError::ProofMismatch)
        );
        let padded = ConsistencyProof { old_size: 5, new_size: 5, path: vec![r5] };
        assert_eq!(
            verify_consistency(&padded, &r5, &r5),
            Err(ChainError::ProofLength { expected: 0, actual: 1 })
        );
        let bad = InclusionProof { index: 0, size: 0, path: Vec::new() };
        assert_eq!(verify_inclusion(&EMPTY_ROOT, &bad, &EMPTY_ROOT), Err(ChainError::EmptyTree));
    }

    #[test]
    fn extreme_sizes_do_not_overflow() {
        assert_eq!(inclusion_path_len(u64::MAX - 1, u64::MAX), Ok(63));
        assert_eq!(inclusion_path_len(0, u64::MAX), Ok(64));
        assert_eq!(inclusion_path_len(0, 1), Ok(0));
        assert_eq!(consistency_path_len(1, u64::MAX), Ok(64));
        assert_eq!(consistency_path_len(u64::MAX - 1, u64::MAX), Ok(64));
        let proof = InclusionProof { index: u64::MAX - 1, size: u64::MAX, path: vec![[0; 32]; 63] };
        assert_eq!(verify_inclusion(&[0; 32], &proof, &[0; 32]), Err(ChainError::ProofMismatch));
        let proof = ConsistencyProof {
            old_size: u64::MAX - 1,
            new_size: u64::MAX,
            path: vec![[0; 32]; 64],
        };
        assert_eq!(verify_consistency(&proof, &[0; 32], &[0; 32]), Err(ChainError::ProofMismatch));
    }
}
