//! Integrity primitives over bytes: the RFC 9162 Merkle tree, the per-record chain hash,
//! forward-secure seal keys and signed checkpoints.
//!
//! This crate knows nothing about events or files and depends on no other workspace crate. Every
//! function is pure over its arguments; `audit-store` wires them into the file format, whose
//! `FORMAT.md` refers to the definitions below. No function panics on any input, and nothing
//! here prints or returns key material except the explicit state and key-string exports.
//!
//! ```
//! use audit_chain::*;
//!
//! // The writer appends leaf hashes and chains the records.
//! let records: [&[u8]; 3] = [b"login alice", b"load model", b"logout alice"];
//! let mut tree = CompactTree::new();
//! let mut memory = MemoryTree::new();
//! let mut chain = genesis_chain_hash(&[7; 16]);
//! for record in records {
//!     let leaf = leaf_hash(record);
//!     tree.push(leaf);
//!     memory.push(leaf);
//!     chain = chain_hash(&chain, &leaf);
//! }
//!
//! // Seal the epoch, then move the key on: the old key is gone.
//! let mut key = SealKey::from_initial([42; 32]);
//! let input = SealInput { epoch: 0, tree_size: 3, root: tree.root(), last_chain: chain, time_ns: 1 };
//! let tag = key.seal(&input)?;
//! key.evolve()?;
//! assert!(key.verify(&input, &tag).is_err());
//! SealKey::from_initial([42; 32]).verify(&input, &tag)?; // the verifier holds the initial key
//!
//! // Sign a checkpoint; anyone with the verifier key can check it and the proofs under it.
//! let signer = NoteSigner::from_seed("audit.example/log", [5; 32])?;
//! let cp = Checkpoint { origin: "audit.example/log".into(), size: 3, root: tree.root(), extensions: vec![] };
//! let note = sign_checkpoint(&cp, &signer)?;
//! let verifier = NoteVerifier::parse(&signer.verifier_key())?;
//! let opened = open_checkpoint(&note, &verifier)?;
//! let proof = inclusion_proof(&memory, 1, opened.size)?;
//! verify_inclusion(&leaf_hash(b"load model"), &proof, &opened.root)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Merkle tree
//!
//! RFC 9162 section 2.1 with SHA-256: a leaf is `SHA-256(0x00 || bytes)` ([`leaf_hash`]), an
//! interior node `SHA-256(0x01 || left || right)` ([`node_hash`]), the empty tree's root is
//! `SHA-256("")` ([`EMPTY_ROOT`]), and a tree of `n > 1` leaves splits at the largest power of
//! two below `n`. The writer keeps a [`CompactTree`]: the roots of the perfect subtrees that
//! make up the tree, one per set bit of the size, largest first, so appends and roots cost
//! `O(log n)` and the frontier can be persisted and resumed. Roots at past sizes and proofs come
//! from a [`LeafHashes`] source ([`root_at`], [`inclusion_proof`], [`consistency_proof`]);
//! [`MemoryTree`] is an in-memory source holding every level.
//!
//! ## Proof sizes
//!
//! Proofs are the RFC 9162 paths, nothing added: 32 bytes per hash.
//! - Inclusion of leaf `i` in a tree of `n` leaves: [`inclusion_path_len`]`(i, n)` hashes,
//!   which is `inner + border` where `inner` is the bit length of `i XOR (n - 1)` and `border`
//!   the number of one bits of `i >> inner`; at most `ceil(log2 n)` (20 hashes, 640 bytes, at a
//!   million leaves; 27 at 10^8).
//! - Consistency from `m` to `n` leaves: [`consistency_path_len`]`(m, n)` hashes, the inclusion
//!   path of the old tree's last perfect subtree (of `2^k` leaves, `k` the number of trailing
//!   zeros of `m`) in the new tree seen from level `k`, plus that subtree's root unless `m` is a
//!   power of two; at most `ceil(log2 n) + 1`.
//!
//! The verifiers reject a path of any other length with [`ChainError::ProofLength`] before
//! hashing, and a well-formed path that does not reproduce the root with
//! [`ChainError::ProofMismatch`].
//!
//! ## Edge cases
//!
//! - Inclusion in a tree of size 0: [`ChainError::EmptyTree`], when generating and verifying.
//! - Inclusion with `index >= size`: [`ChainError::IndexOutOfRange`].
//! - Consistency with `old_size > new_size`: [`ChainError::SizeOutOfOrder`].
//! - Consistency with `old_size == new_size`: the empty proof, which verifies exactly when the
//!   two roots are equal.
//! - Consistency from size 0: RFC 9162 defines no proof, since the empty tree is a prefix of
//!   every tree. This crate returns the empty proof, and it verifies exactly when the old root
//!   is [`EMPTY_ROOT`] (and, if the new size is 0 too, the new root as well): it proves nothing
//!   beyond that, and refusing it would only make callers special-case the first checkpoint.
//! - A proof does not commit to its sizes by itself: a caller must check that the sizes in a
//!   proof are the sizes its roots belong to (those of verified checkpoints or seals).
//!
//! # Record chain
//!
//! Each record extends a hash chain that starts from a value derived from the 16-byte log id:
//!
//! ```text
//! chain_0 = SHA-256("audit-chain/chain-genesis" || 0x01 || log_id)
//! chain_n = SHA-256("audit-chain/chain-link"    || 0x01 || chain_{n-1} || leaf_hash_n)
//! ```
//!
//! ([`genesis_chain_hash`], [`chain_hash`]; `0x01` is [`CHAIN_VERSION`]). The tags are ASCII
//! without terminator. Every input is fixed-length, so no length prefixes are needed for the
//! encoding to be unambiguous; the record's own bytes, of any length, enter through their leaf
//! hash, which commits to their exact length and content. Distinct log ids give distinct
//! chains, and the tags keep chain values apart from Merkle leaf and node hashes.
//!
//! # Forward-secure seals
//!
//! Each epoch has its own HMAC key; a seal is a tag over the log's state at the end of the
//! epoch. Keys are the leaves of a binary tree of depth [`SEAL_TREE_DEPTH`] = 48 (a GGM tree),
//! so epochs run from 0 to [`MAX_SEAL_EPOCH`] = `2^48 - 1`: 535 million years of one-minute
//! epochs. With `S` the 32-byte initial secret:
//!
//! ```text
//! root             = HKDF-SHA256(salt = "audit-chain/seal-root", IKM = S,
//!                                info = 0x01 || 0x30, L = 32)
//! child(K, side)   = HMAC-SHA256(K, "audit-chain/seal-node" || 0x01 || side)
//!                    side = 0x00 for the left child, 0x01 for the right child
//! node(48, 0)      = root
//! node(h - 1, 2i)  = child(node(h, i), 0x00)
//! node(h - 1, 2i+1)= child(node(h, i), 0x01)
//! key(e)           = node(0, e)
//! ```
//!
//! (`0x01` is [`SEAL_VERSION`], `0x30` the depth 48.) Node `(h, i)` covers epochs
//! `[i * 2^h, (i + 1) * 2^h)`; the path to epoch `e` turns right at height `h` when bit `h - 1`
//! of `e` is set. A [`SealKey`] for epoch `e` holds `key(e)` and, for each height `h` in
//! `0..48` where bit `h` of `e` is 0, the right sibling `node(h, (e >> h) | 1)`, whose epochs all
//! come after `e`. Nothing in that state is an ancestor of, or equal to, the key of any epoch
//! before `e`, and HMAC cannot be inverted to climb from a child to its parent, so a thief who
//! takes the host's state at epoch `e` can derive the keys of epochs `e` and later only.
//! [`SealKey::evolve`] takes the sibling at the lowest 0 bit of `e` and walks down to `e + 1`
//! (two HMACs amortised), overwriting `key(e)` and that sibling; [`SealKey::seek`] walks down
//! from the sibling at the highest bit where `e` and the target differ (at most 96 HMACs), and
//! refuses earlier epochs. Key state is wiped when dropped (`zeroize`), as are the HMAC and
//! SHA-256 states that held key-derived values.
//!
//! The seal of epoch `e` is `HMAC-SHA256(key(e), m)` with the 109-byte message `m`:
//!
//! | bytes | content |
//! |---|---|
//! | 0..20 | `"audit-chain/seal-mac"` (ASCII) |
//! | 20 | version `0x01` |
//! | 21..29 | epoch, u64 big-endian |
//! | 29..37 | tree size, u64 big-endian |
//! | 37..69 | Merkle root at that size |
//! | 69..101 | chain hash of the last record |
//! | 101..109 | time, i64 big-endian nanoseconds since the Unix epoch |
//!
//! [`SealKey::seal`] and [`SealKey::verify`] refuse an input whose epoch is not the key's;
//! verification compares tags in constant time (`subtle`).
//!
//! The host persists [`SealKey::to_state_bytes`] (version 1): `"ACSK"`, `0x01`, `0x30`, the
//! epoch (u64 big-endian), `key(e)`, then the held right siblings from height 47 down to 0:
//! `46 + 32 * (48 - popcount(e))` bytes. The initial secret goes to the verifier and must not be
//! kept on the host.
//!
//! # Signed checkpoints
//!
//! A [`Checkpoint`] is the C2SP tlog-checkpoint body (`origin`, decimal size, base64 root,
//! optional extension lines, each ending in a newline) inside a C2SP signed note signed with
//! Ed25519: the text, a blank line, and lines `— <name> <base64(key id || signature)>`, where
//! the key id is the first four bytes, big-endian, of `SHA-256(name || 0x0A || 0x01 ||
//! public key)`. Verifier keys are written `<name>+<key id in 8 hex digits>+<base64(0x01 ||
//! public key)>` and private keys `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`.
//! Parsing is strict (see [`open_note`], [`Checkpoint::parse_body`], [`NoteVerifier::parse`]),
//! signatures are checked with Ed25519 `verify_strict`, and this crate requires the origin of a
//! checkpoint it signs or opens to be the key name (the spec says it should be).

mod chain;
mod checkpoint;
mod cosign;
mod error;
mod hash;
mod mac;
mod memory;
mod note;
mod proof;
mod seal;
mod tree;

pub use chain::{CHAIN_LINK_TAG, CHAIN_VERSION, GENESIS_TAG, chain_hash, genesis_chain_hash};
pub use checkpoint::{Checkpoint, open_checkpoint, sign_checkpoint};
pub use cosign::{CosignatureVerifier, Cosigned, Cosigner, open_cosigned};
pub use error::{ChainError, ProofError};
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use mac::hkdf_sha256;
pub use memory::{LeafHashes, MemoryTree};
pub use note::{
    MAX_NOTE_SIGNATURES, NoteSigner, NoteVerifier, OpenedNote, open_note, open_note_bytes,
};
pub use proof::{
    ConsistencyProof, InclusionProof, consistency_path_len, consistency_proof, inclusion_path_len,
    inclusion_proof, root_at, verify_consistency, verify_inclusion,
};
pub use seal::{MAX_SEAL_EPOCH, SEAL_TREE_DEPTH, SEAL_VERSION, SealInput, SealKey, SealTag};
pub use tree::CompactTree;
pub use zeroize::Zeroizing;
