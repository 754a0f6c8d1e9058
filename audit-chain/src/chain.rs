//! The per-record hash chain: a genesis value derived from the log id, then one link per record
//! over the previous chain hash and the record's leaf hash.

use crate::hash::{Hash, sha256};

/// Version byte of the chain construction; a change to it starts a different chain.
pub const CHAIN_VERSION: u8 = 1;

/// Domain tag of the genesis chain value.
pub const GENESIS_TAG: &[u8; 25] = b"audit-chain/chain-genesis";

/// Domain tag of every chain link.
pub const CHAIN_LINK_TAG: &[u8; 22] = b"audit-chain/chain-link";

/// The chain hash before the first record of the log identified by `log_id`:
/// `SHA-256("audit-chain/chain-genesis" || 0x01 || log_id)`.
///
/// Two logs with different ids never share a chain value, so a record cannot be moved from one
/// log to another with its chain intact.
pub fn genesis_chain_hash(log_id: &[u8; 16]) -> Hash {
    sha256(&[GENESIS_TAG, &[CHAIN_VERSION], log_id])
}

/// The chain hash after a record: `SHA-256("audit-chain/chain-link" || 0x01 || prev || leaf)`,
/// where `leaf` is the record's [`leaf_hash`](crate::leaf_hash).
///
/// Every input has a fixed length (tag, one byte, 32, 32), so the concatenation needs no length
/// prefixes to be unambiguous; the record's variable-length bytes enter only through their leaf
/// hash, which binds their exact length and content.
pub fn chain_hash(prev: &Hash, leaf: &Hash) -> Hash {
    sha256(&[CHAIN_LINK_TAG, &[CHAIN_VERSION], prev, leaf])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn genesis_depends_on_the_log_id() {
        assert_ne!(genesis_chain_hash(&[0; 16]), genesis_chain_hash(&[1; 16]));
        let mut id = [0u8; 16];
        id[15] = 1;
        assert_ne!(genesis_chain_hash(&[0; 16]), genesis_chain_hash(&id));
    }

    #[test]
    fn chain_is_order_sensitive_and_distinct_from_the_merkle_hashes() {
        let g = genesis_chain_hash(&[7; 16]);
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let ab = chain_hash(&chain_hash(&g, &a), &b);
        let ba = chain_hash(&chain_hash(&g, &b), &a);
        assert_ne!(ab, ba);
        assert_ne!(chain_hash(&g, &a), crate::hash::node_hash(&g, &a));
    }

    fn hex(h: &Hash) -> String {
        base16ct::lower::encode_string(h)
    }

    #[test]
    fn chain_values_are_frozen() {
        // Golden values (computed independently with Python's hashlib): the store's file format
        // depends on these exact bytes.
        let g = genesis_chain_hash(&[0; 16]);
        assert_eq!(hex(&g), "71b7ed4e635a20309e9204cfb97773c4e4f798678c432fb04000ed1f946136fe");
        let link = chain_hash(&g, &leaf_hash(b""));
        assert_eq!(hex(&link), "1a5cb1ecb87ea50dabb491bb1a9fcb5107a5d087b171eb1657fbce6c22796829");
    }
}
