//! Sealed shards and the exact bytes their seal covers.
//!
//! Seal input, version 1 (all integers big-endian):
//!
//! ```text
//! 0x01                                   format version
//! u32 len || shard id (ASCII)            len <= 256
//! u32 4   || gpu device (u32)
//! u32 8   || size in bytes (u64)
//! u32 32  || BLAKE3 digest of the shard
//! u32 8   || sealed-at, nanoseconds since the Unix epoch, UTC (i64)
//! ```
//!
//! The seal is HMAC-SHA256 of these bytes under the seal key (see [`crate::WorkerSecret`]).
//! Every field carries its length, so no two different shards share an input.

use std::fmt;

use audit_events::Digest;
use input_validation::{MAX_IDENTIFIER_BYTES, validate_identifier};

use crate::error::VramError;
use crate::secret::SealKey;

/// Version byte at the start of every seal input. A new layout takes a new version.
pub const SEAL_FORMAT_VERSION: u8 = 1;

/// A shard sealed in device memory: what was sealed, where, when, and the seal over it.
///
/// It holds no pointer or allocation handle: [`VramManager`](crate::VramManager) keeps the
/// allocation table and finds the allocation by device and shard id, so a `SealedShard`
/// cannot be pointed at other memory. It can be stored or sent elsewhere and rebuilt with
/// [`SealedShard::from_parts`]; any change to a field makes verification fail.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedShard {
    shard_id: String,
    gpu_device: u32,
    vram_bytes: u64,
    digest: [u8; 32],
    sealed_at_ns: i64,
    signature: [u8; 32],
}

impl SealedShard {
    /// Rebuilds a seal from its parts (for example after it was stored or sent). Nothing is
    /// trusted here: [`VramManager::verify_sealed`](crate::VramManager::verify_sealed) checks
    /// the signature and the bytes.
    ///
    /// # Errors
    ///
    /// [`VramError::InvalidShardId`] if `shard_id` is not a valid identifier.
    pub fn from_parts(
        shard_id: &str,
        gpu_device: u32,
        vram_bytes: u64,
        digest: [u8; 32],
        sealed_at_ns: i64,
        signature: [u8; 32],
    ) -> Result<Self, VramError> {
        let shard_id = validate_identifier(shard_id, MAX_IDENTIFIER_BYTES)
            .map_err(|reason| VramError::InvalidShardId { reason })?
            .into_inner();
        Ok(Self { shard_id, gpu_device, vram_bytes, digest, sealed_at_ns, signature })
    }

    /// Signs a new seal. `shard_id` must already be validated.
    pub(crate) fn sign(
        key: &SealKey,
        shard_id: String,
        gpu_device: u32,
        vram_bytes: u64,
        digest: [u8; 32],
        sealed_at_ns: i64,
    ) -> Self {
        let mut shard =
            Self { shard_id, gpu_device, vram_bytes, digest, sealed_at_ns, signature: [0; 32] };
        shard.signature = key.sign(&shard.signed_message());
        shard
    }

    /// Whether the signature matches the metadata under `key` (constant-time comparison).
    pub(crate) fn signature_valid(&self, key: &SealKey) -> bool {
        key.verify(&self.signed_message(), &self.signature)
    }

    /// The shard id (a validated identifier).
    pub fn shard_id(&self) -> &str {
        &self.shard_id
    }

    /// The GPU device index the shard was sealed on.
    pub const fn gpu_device(&self) -> u32 {
        self.gpu_device
    }

    /// Size of the shard in bytes.
    pub const fn vram_bytes(&self) -> u64 {
        self.vram_bytes
    }

    /// The sealed BLAKE3 digest.
    pub const fn digest(&self) -> Digest {
        Digest::Blake3(self.digest)
    }

    /// The sealed BLAKE3 digest as raw bytes.
    pub const fn digest_bytes(&self) -> &[u8; 32] {
        &self.digest
    }

    /// When the shard was sealed: nanoseconds since the Unix epoch, UTC.
    pub const fn sealed_at_ns(&self) -> i64 {
        self.sealed_at_ns
    }

    /// The seal: HMAC-SHA256 over [`signed_message`](Self::signed_message).
    pub const fn signature(&self) -> &[u8; 32] {
        &self.signature
    }

    /// The exact bytes the seal covers (the layout in the module docs).
    pub fn signed_message(&self) -> Vec<u8> {
        let id = self.shard_id.as_bytes();
        let mut out = Vec::with_capacity(1 + 5 * 4 + id.len() + 4 + 8 + 32 + 8);
        out.push(SEAL_FORMAT_VERSION);
        push_field(&mut out, id);
        push_field(&mut out, &self.gpu_device.to_be_bytes());
        push_field(&mut out, &self.vram_bytes.to_be_bytes());
        push_field(&mut out, &self.digest);
        push_field(&mut out, &self.sealed_at_ns.to_be_bytes());
        out
    }
}

/// Appends `u32 BE length || bytes`. Every field is at most 256 bytes (validated ids, fixed
/// width integers and digests), so the length always fits.
fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

impl fmt::Debug for SealedShard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedShard")
            .field("shard_id", &self.shard_id)
            .field("gpu_device", &self.gpu_device)
            .field("vram_bytes", &self.vram_bytes)
            .field("digest", &self.digest())
            .field("sealed_at_ns", &self.sealed_at_ns)
            .field("signature", &audit_events::to_hex(&self.signature))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::WorkerSecret;

    fn golden_key() -> SealKey {
        let secret: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        SealKey::derive(&WorkerSecret::new(secret))
    }

    // Golden vectors computed independently (Python `hmac`, `hashlib`, `struct`) from the
    // layout in the module docs and the key derivation in `secret.rs`; they freeze the format.
    #[test]
    fn seal_input_and_mac_match_the_golden_vectors() {
        let cases = [
            (
                SealedShard::sign(
                    &golden_key(),
                    "llama-7b.shard-00".to_owned(),
                    1,
                    1_048_576,
                    [0xAA; 32],
                    1_700_000_000_123_456_789,
                ),
                "01000000116c6c616d612d37622e73686172642d3030000000040000000100000008000000000010\
                 000000000020aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0000\
                 000817979cfe3d85cd15",
                "fe6aaebfe5d9f855c5b65292012fe64ffdb817d7c84a5fb7aea277cdf34d149b",
            ),
            (
                SealedShard::sign(&golden_key(), "a".to_owned(), 0, 1, [0; 32], -5),
                "0100000001610000000400000000000000080000000000000001000000200000000000000000000000\
                 00000000000000000000000000000000000000000000000008fffffffffffffffb",
                "a37cc7c7f934474baf3ed2aac8ba0c6dd8d8290b4657a9d91118961fa6f3e5ba",
            ),
        ];
        for (shard, message, tag) in cases {
            assert_eq!(audit_events::to_hex(&shard.signed_message()), message);
            assert_eq!(audit_events::to_hex(shard.signature()), tag);
            assert!(shard.signature_valid(&golden_key()));
        }
    }

    #[test]
    fn changing_any_field_invalidates_the_seal() {
        let key = golden_key();
        let shard = SealedShard::sign(&key, "shard-1".to_owned(), 2, 4096, [3; 32], 42);
        let rebuilt = |id: &str, dev, size, digest, at| {
            SealedShard::from_parts(id, dev, size, digest, at, *shard.signature()).unwrap()
        };
        assert!(rebuilt("shard-1", 2, 4096, [3; 32], 42).signature_valid(&key));
        for altered in [
            rebuilt("shard-2", 2, 4096, [3; 32], 42),
            rebuilt("shard-1", 3, 4096, [3; 32], 42),
            rebuilt("shard-1", 2, 4097, [3; 32], 42),
            rebuilt("shard-1", 2, 4096, [4; 32], 42),
            rebuilt("shard-1", 2, 4096, [3; 32], 43),
        ] {
            assert!(!altered.signature_valid(&key), "{altered:?}");
        }
    }

    #[test]
    fn length_prefixes_keep_shifted_fields_apart() {
        // Without lengths, id "ab" + device bytes could collide with id "a" + other bytes.
        let key = golden_key();
        let a = SealedShard::sign(&key, "ab".to_owned(), 0, 1, [0; 32], 0);
        let b = SealedShard::sign(&key, "a".to_owned(), 0, 1, [0; 32], 0);
        assert_ne!(a.signed_message(), b.signed_message());
        assert_ne!(a.signature(), b.signature());
    }

    #[test]
    fn from_parts_rejects_invalid_ids() {
        for bad in ["", "../etc", "a b", "x\u{202E}y", "-rf"] {
            assert!(matches!(
                SealedShard::from_parts(bad, 0, 1, [0; 32], 0, [0; 32]),
                Err(VramError::InvalidShardId { .. })
            ));
        }
    }
}
