//! RFC 9162 section 2.1.1 hashing with SHA-256: leaf hashes, interior node hashes and the root of
//! the empty tree.

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, node hash, root, chain hash or seal tag.
pub type Hash = [u8; 32];

/// The root of the empty tree, `SHA-256("")` (RFC 9162 section 2.1.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The prefix byte of a leaf hash input; interior nodes use [`NODE_PREFIX`]. The two prefixes
/// keep a leaf from being passed off as an interior node (second-preimage resistance).
const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The leaf hash of a record's bytes: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = [0u8; 65];
    input[0] = NODE_PREFIX;
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    Sha256::digest(input).into()
}

/// SHA-256 over the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_the_hash_of_nothing() {
        assert_eq!(EMPTY_ROOT, sha256(&[]));
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let a = leaf_hash(b"x");
        let b = leaf_hash(b"y");
        let mut as_leaf = Vec::from(a);
        as_leaf.extend_from_slice(&b);
        // The bytes of a node, presented as a leaf, hash differently from the node itself.
        assert_ne!(leaf_hash(&as_leaf), node_hash(&a, &b));
        assert_eq!(node_hash(&a, &b), sha256(&[&[1], &a, &b]));
    }
}
