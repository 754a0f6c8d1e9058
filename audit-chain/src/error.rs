//! The crate's error type, and the wrapper that proof generation uses to carry a failure of the
//! caller's leaf-hash source.
//!
//! Messages hold numbers and static text only, with one exception: the name of a configured
//! verifier key, which is rendered with every character outside printable ASCII written as
//! `U+XXXX`. Nothing read from a note, a proof or a key string is ever echoed, and no key
//! material appears in any message.

use std::fmt;

/// Why an operation of this crate failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An inclusion proof was requested or checked for a tree of size 0, which has no leaves.
    #[error("the tree is empty: there is no leaf to prove")]
    EmptyTree,

    /// An inclusion proof was requested or checked for a leaf index at or past the tree size,
    /// or a leaf-hash source was asked for a leaf it does not hold.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size the index was checked against.
        size: u64,
    },

    /// A consistency proof was requested or checked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeOutOfOrder {
        /// The size of the earlier tree.
        old_size: u64,
        /// The size of the later tree.
        new_size: u64,
    },

    /// A proof does not have the number of hashes that RFC 9162 prescribes for its index and
    /// sizes.
    #[error("the proof has {actual} hashes, {expected} expected for its index and sizes")]
    ProofLength {
        /// The path length the index and sizes call for.
        expected: u64,
        /// The path length of the proof as given.
        actual: u64,
    },

    /// A well-formed proof does not lead to the root (or roots) it was checked against: the leaf,
    /// a proof hash or a root differs from what was committed to.
    #[error("the proof does not match the given root hash")]
    ProofMismatch,

    /// [`CompactTree::from_frontier`](crate::CompactTree::from_frontier) was given a frontier
    /// whose length is not the number of set bits in the tree size.
    #[error("a frontier for tree size {size} has {expected} hashes, not {actual}")]
    FrontierLength {
        /// The tree size.
        size: u64,
        /// The number of set bits in `size`.
        expected: u64,
        /// The number of hashes given.
        actual: u64,
    },

    /// The tree already holds `u64::MAX` leaves and cannot take another one.
    #[error("the tree is full")]
    TreeFull,

    /// A seal was made or checked with a key for a different epoch than the seal input names.
    #[error("the seal input is for epoch {input_epoch} but the key is for epoch {key_epoch}")]
    EpochMismatch {
        /// The epoch of the key.
        key_epoch: u64,
        /// The epoch in the seal input.
        input_epoch: u64,
    },

    /// A seal key was asked for an epoch before its own: keys only move forward.
    #[error("cannot derive the key of epoch {requested} from the key of epoch {current}")]
    EpochBackwards {
        /// The epoch of the key asked.
        current: u64,
        /// The earlier epoch that was requested.
        requested: u64,
    },

    /// The requested epoch is past the last one the seal key schedule provides
    /// ([`MAX_SEAL_EPOCH`](crate::MAX_SEAL_EPOCH)).
    #[error("epoch {requested} is past the last epoch of the seal key schedule")]
    EpochsExhausted {
        /// The epoch that was requested.
        requested: u64,
    },

    /// A seal tag does not verify: the sealed values or the tag were changed, or the tag was made
    /// with another key.
    #[error("the seal does not verify")]
    SealMismatch,

    /// Persisted seal key state could not be decoded.
    #[error("malformed seal key state: {reason}")]
    MalformedSealState {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },

    /// A signed note breaks the C2SP signed-note syntax.
    #[error("malformed note: {reason}")]
    MalformedNote {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },

    /// Text given to [`NoteSigner::sign`](crate::NoteSigner::sign) cannot be the text of a
    /// signed note (empty, no final newline, or a control character).
    #[error("text cannot be signed as a note: {reason}")]
    InvalidNoteText {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },

    /// A signature line names a known key (same name and key id) but its signature does not
    /// verify; the whole note is rejected.
    #[error("invalid signature for key {}+{key_id:08x}", SafeName(name))]
    InvalidSignature {
        /// The name of the configured verifier key.
        name: String,
        /// The key id of the configured verifier key.
        key_id: u32,
    },

    /// No signature in the note comes from a known key.
    #[error("note has no verifiable signatures")]
    NoVerifiedSignature,

    /// A checkpoint carries no cosignature from the witness key it was checked with.
    #[error("the checkpoint carries no cosignature from the witness key")]
    NoCosignature,

    /// A key name is empty or contains a space, a plus sign or a control character.
    #[error("invalid key name: {reason}")]
    InvalidKeyName {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },

    /// A verifier key or private key string is malformed, uses an unsupported algorithm, holds an
    /// invalid public key, or its key id does not match its name and key.
    #[error("malformed key: {reason}")]
    MalformedKey {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },

    /// A checkpoint body breaks the C2SP tlog-checkpoint syntax, or a checkpoint to be signed
    /// could not be written as a valid body.
    #[error("malformed checkpoint: {reason}")]
    MalformedCheckpoint {
        /// What is wrong, in fixed words.
        reason: &'static str,
    },

    /// The checkpoint's origin line is not the name of the key that signs or verifies it.
    #[error("the checkpoint origin does not match the key name")]
    OriginMismatch,

    /// Signing failed inside the Ed25519 implementation.
    #[error("signing failed")]
    SigningFailed,
}

/// A failure to produce a root or proof from a [`LeafHashes`](crate::LeafHashes) source.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E> {
    /// The request itself is invalid (index or sizes out of range).
    #[error(transparent)]
    Invalid(#[from] ChainError),

    /// The source could not provide a hash it was asked for; the source's error is attached.
    #[error("the leaf hash source failed")]
    Source(#[source] E),
}

/// Renders a key name with everything outside printable ASCII as `U+XXXX`.
struct SafeName<'a>(&'a str);

impl fmt::Display for SafeName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_ascii_graphic() {
                write!(f, "{c}")?;
            } else {
                write!(f, "U+{:04X}", u32::from(c))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_error_names_the_key_without_raw_controls() {
        let err = ChainError::InvalidSignature { name: "PeterNeumann".into(), key_id: 0xc74f20a3 };
        assert_eq!(err.to_string(), "invalid signature for key PeterNeumann+c74f20a3");
        let err = ChainError::InvalidSignature { name: "a\u{202e}b".into(), key_id: 1 };
        assert_eq!(err.to_string(), "invalid signature for key aU+202Eb+00000001");
    }
}
