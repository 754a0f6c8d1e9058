//! BLAKE3 digests of shard bytes, multi-threaded for large inputs.
//!
//! BLAKE3 is a tree hash, so hashing on several threads (`update_rayon`) and in several calls
//! gives exactly the digest of one single-threaded pass over the same bytes. That is what lets
//! the CUDA backend hash a shard chunk by chunk through a staging buffer.

use audit_events::Digest;

/// Inputs at least this long are hashed with rayon on all cores; below it the thread hand-off
/// costs more than it saves.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 20;

/// An incremental shard digest: feed the bytes in order, in pieces of any size.
pub(crate) struct ShardHasher {
    hasher: blake3::Hasher,
}

impl ShardHasher {
    pub(crate) fn new() -> Self {
        Self { hasher: blake3::Hasher::new() }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        if bytes.len() >= PARALLEL_THRESHOLD {
            self.hasher.update_rayon(bytes);
        } else {
            self.hasher.update(bytes);
        }
    }

    pub(crate) fn finalize(&self) -> [u8; 32] {
        *self.hasher.finalize().as_bytes()
    }
}

/// The raw BLAKE3 digest of `bytes`.
pub(crate) fn digest_bytes(bytes: &[u8]) -> [u8; 32] {
    let mut hasher = ShardHasher::new();
    hasher.update(bytes);
    hasher.finalize()
}

/// The BLAKE3 digest a shard of these bytes is sealed with, for callers that want to compare
/// a seal with a digest they computed themselves (for example from the model file).
pub fn shard_digest(bytes: &[u8]) -> Digest {
    Digest::Blake3(digest_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterned(len: usize) -> Vec<u8> {
        (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
    }

    fn hex(bytes: &[u8]) -> String {
        base16ct::lower::encode_string(bytes)
    }

    #[test]
    fn matches_the_official_blake3_vectors() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/vectors/blake3_test_vectors.json");
        let text = std::fs::read_to_string(path).unwrap();
        let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 30);
        for case in cases {
            let len = usize::try_from(case["input_len"].as_u64().unwrap()).unwrap();
            let expected = &case["hash"].as_str().unwrap()[..64];
            assert_eq!(hex(&digest_bytes(&patterned(len))), expected, "input_len {len}");
        }
    }

    #[test]
    fn parallel_chunked_and_single_pass_digests_agree() {
        // Longer than the threshold and not a multiple of any chunk size.
        let bytes = patterned(2 * PARALLEL_THRESHOLD + 12_345);
        let mut single = blake3::Hasher::new();
        single.update(&bytes);
        let expected = *single.finalize().as_bytes();
        assert_eq!(digest_bytes(&bytes), expected);

        let mut chunked = ShardHasher::new();
        for piece in bytes.chunks(PARALLEL_THRESHOLD + 7) {
            chunked.update(piece);
        }
        assert_eq!(chunked.finalize(), expected);
        assert_eq!(shard_digest(&bytes), Digest::Blake3(expected));
    }
}
