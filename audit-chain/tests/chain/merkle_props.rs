//! Property tests of the Merkle tree: random trees, every proof verifies, every single change to
//! a proof or to what it is checked against makes it fail, and no input makes a verifier panic.

use audit_chain::{
    ChainError, CompactTree, ConsistencyProof, EMPTY_ROOT, Hash, InclusionProof, MemoryTree,
    consistency_path_len, consistency_proof, inclusion_path_len, inclusion_proof, leaf_hash,
    root_at, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

/// A tree of `n` distinct leaves whose contents depend on `seed`.
fn tree(n: u64, seed: u64) -> (Vec<Hash>, MemoryTree) {
    let leaves: Vec<Hash> =
        (0..n).map(|i| leaf_hash(&[seed.to_be_bytes(), i.to_be_bytes()].concat())).collect();
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    (leaves, tree)
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[(bit / 8) % 32] ^= 1 << (bit % 8);
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn inclusion_proofs_verify_and_every_change_fails(
        n in 1u64..200,
        index_pick in any::<u64>(),
        other_pick in any::<u64>(),
        bit in 0usize..256,
        seed in any::<u64>(),
    ) {
        let (leaves, tree) = tree(n, seed);
        let index = index_pick % n;
        let root = root_at(&tree, n).unwrap();
        let leaf = leaves[index as usize];
        let proof = inclusion_proof(&tree, index, n).unwrap();
        prop_assert_eq!(proof.path.len() as u64, inclusion_path_len(index, n).unwrap());
        prop_assert!(proof.path.len() as u64 <= 64 - (n - 1).leading_zeros() as u64);
        prop_assert_eq!(verify_inclusion(&leaf, &proof, &root), Ok(()));

        // Another leaf, or this leaf changed in one bit.
        prop_assert!(verify_inclusion(&flip(&leaf, bit), &proof, &root).is_err());
        if n > 1 {
            let other = (index + 1 + other_pick % (n - 1)) % n;
            prop_assert!(verify_inclusion(&leaves[other as usize], &proof, &root).is_err());
            // Another index, with this leaf.
            let moved = InclusionProof { index: other, ..proof.clone() };
            prop_assert!(verify_inclusion(&leaf, &moved, &root).is_err());
        }
        // An index past the end.
        let past = InclusionProof { index: n + other_pick % 5, ..proof.clone() };
        prop_assert!(verify_inclusion(&leaf, &past, &root).is_err());
        // Another size, checked against the root of that size.
        let other_size = 1 + other_pick % 260;
        if other_size != n {
            let resized = InclusionProof { size: other_size, ..proof.clone() };
            let (_, bigger) = self::tree(other_size.max(n), seed);
            let other_root = root_at(&bigger, other_size).unwrap();
            let same = inclusion_proof(&bigger, index, other_size).is_ok_and(|p| p.path == proof.path);
            prop_assert!(!same, "proofs for sizes {} and {} coincide", n, other_size);
            prop_assert!(verify_inclusion(&leaf, &resized, &other_root).is_err());
        }
        // Another root.
        prop_assert!(verify_inclusion(&leaf, &proof, &flip(&root, bit)).is_err());
        // Each path element changed, dropped or duplicated.
        for j in 0..proof.path.len() {
            let mut changed = proof.clone();
            changed.path[j] = flip(&changed.path[j], bit);
            prop_assert_eq!(verify_inclusion(&leaf, &changed, &root), Err(ChainError::ProofMismatch));
            let mut shorter = proof.clone();
            shorter.path.remove(j);
            let short = matches!(
                verify_inclusion(&leaf, &shorter, &root),
                Err(ChainError::ProofLength { .. })
            );
            prop_assert!(short, "a path missing element {} is refused by length", j);
        }
        let mut longer = proof.clone();
        longer.path.push(root);
        prop_assert!(verify_inclusion(&leaf, &longer, &root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_every_change_fails(
        new in 1u64..200,
        old_pick in any::<u64>(),
        other_pick in any::<u64>(),
        bit in 0usize..256,
        seed in any::<u64>(),
    ) {
        let (_, tree) = tree(new, seed);
        let old = old_pick % (new + 1);
        let old_root = root_at(&tree, old).unwrap();
        let new_root = root_at(&tree, new).unwrap();
        let proof = consistency_proof(&tree, old, new).unwrap();
        prop_assert_eq!(proof.path.len() as u64, consistency_path_len(old, new).unwrap());
        prop_assert!(proof.path.len() as u64 <= 65 - (new - 1).leading_zeros() as u64);
        prop_assert_eq!(verify_consistency(&proof, &old_root, &new_root), Ok(()));

        // From the empty tree nothing is proven about the new root, so only the old one counts.
        prop_assert!(verify_consistency(&proof, &flip(&old_root, bit), &new_root).is_err());
        if old > 0 {
            prop_assert!(verify_consistency(&proof, &old_root, &flip(&new_root, bit)).is_err());
        }
        // Other sizes, checked against the roots of those sizes.
        // The claims below are true (real roots); they must fail because the proof is not the
        // proof for those sizes, so a case where it is (two empty proofs) is skipped.
        let other_old = other_pick % (new + 1);
        if other_old != old && consistency_proof(&tree, other_old, new).unwrap().path != proof.path {
            let moved = ConsistencyProof { old_size: other_old, ..proof.clone() };
            let r = root_at(&tree, other_old).unwrap();
            prop_assert!(verify_consistency(&moved, &r, &new_root).is_err());
        }
        let other_new = old + other_pick % 260;
        let (_, bigger) = self::tree(other_new.max(new), seed);
        if other_new != new && consistency_proof(&bigger, old, other_new).unwrap().path != proof.path {
            let r = root_at(&bigger, other_new).unwrap();
            let moved = ConsistencyProof { new_size: other_new, ..proof.clone() };
            prop_assert!(verify_consistency(&moved, &old_root, &r).is_err());
        }
        for j in 0..proof.path.len() {
            let mut changed = proof.clone();
            changed.path[j] = flip(&changed.path[j], bit);
            prop_assert_eq!(
                verify_consistency(&changed, &old_root, &new_root),
                Err(ChainError::ProofMismatch)
            );
            let mut shorter = proof.clone();
            shorter.path.remove(j);
            prop_assert!(verify_consistency(&shorter, &old_root, &new_root).is_err());
        }
        let mut longer = proof.clone();
        longer.path.push(new_root);
        prop_assert!(verify_consistency(&longer, &old_root, &new_root).is_err());
    }

    #[test]
    fn compact_tree_agrees_with_memory_tree_and_resumes(n in 0u64..150, split in any::<u64>(), seed in any::<u64>()) {
        let (leaves, memory) = tree(n, seed);
        let cut = if n == 0 { 0 } else { split % (n + 1) };
        let mut first = CompactTree::new();
        for leaf in &leaves[..cut as usize] {
            first.push(*leaf);
        }
        prop_assert_eq!(first.root(), root_at(&memory, cut).unwrap());
        let mut resumed = CompactTree::from_frontier(first.size(), first.frontier().to_vec()).unwrap();
        for leaf in &leaves[cut as usize..] {
            resumed.push(*leaf);
        }
        prop_assert_eq!(resumed.size(), n);
        prop_assert_eq!(resumed.root(), memory.root());
        prop_assert_eq!(resumed.root(), if n == 0 { EMPTY_ROOT } else { root_at(&memory, n).unwrap() });
    }
}

fn arbitrary_path() -> impl Strategy<Value = Vec<Hash>> {
    prop::collection::vec(any::<[u8; 32]>(), 0..70)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Hostile proofs (any index, sizes and path) give an error or, by chance, success; never a
    /// panic or overflow.
    #[test]
    fn verifiers_never_panic(
        index in any::<u64>(),
        size in prop_oneof![any::<u64>(), 0u64..70, (u64::MAX - 70)..=u64::MAX],
        old in prop_oneof![any::<u64>(), 0u64..70, (u64::MAX - 70)..=u64::MAX],
        path in arbitrary_path(),
        leaf in any::<[u8; 32]>(),
        root in any::<[u8; 32]>(),
    ) {
        let _ = verify_inclusion(&leaf, &InclusionProof { index, size, path: path.clone() }, &root);
        let _ = verify_inclusion(&leaf, &InclusionProof { index: index % size.max(1), size, path: path.clone() }, &root);
        let _ = verify_consistency(&ConsistencyProof { old_size: old, new_size: size, path: path.clone() }, &leaf, &root);
        let _ = verify_consistency(&ConsistencyProof { old_size: old.min(size), new_size: size, path }, &leaf, &root);
        let _ = inclusion_path_len(index, size);
        let _ = consistency_path_len(old, size);
    }

    #[test]
    fn frontier_restore_never_panics(size in any::<u64>(), frontier in prop::collection::vec(any::<[u8; 32]>(), 0..66), leaf in any::<[u8; 32]>()) {
        if let Ok(mut tree) = CompactTree::from_frontier(size, frontier) {
            tree.push(leaf);
            let _ = tree.root();
        }
    }
}
