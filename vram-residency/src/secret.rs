//! The worker secret and the seal key derived from it.
//!
//! There is one derivation, fixed here and in the crate docs:
//! `seal_key = HKDF-SHA256(salt = "vram-residency/seal-key/v1", ikm = worker secret (32 bytes),
//! info = "shard-seal", L = 32)`. Both values are zeroized on drop and neither has a `Debug`
//! that shows bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// HKDF salt of the seal key derivation (ASCII, no terminator).
pub const SEAL_KEY_SALT: &[u8] = b"vram-residency/seal-key/v1";
/// HKDF info of the seal key derivation (ASCII, no terminator).
pub const SEAL_KEY_INFO: &[u8] = b"shard-seal";

/// The 32-byte secret a worker seals with, provisioned by the deployment (never generated or
/// stored by this crate).
///
/// Zeroized on drop. `Debug` prints `WorkerSecret(..)`. [`VramManager::new`] consumes it: only
/// the derived seal key is kept, so the secret itself is erased as soon as the manager exists.
/// The caller should erase its own copy of the bytes it passed in.
///
/// [`VramManager::new`]: crate::VramManager::new
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct WorkerSecret([u8; 32]);

impl WorkerSecret {
    /// Wraps the secret bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for WorkerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerSecret(..)")
    }
}

/// The HMAC-SHA256 key seals are made and checked with.
pub(crate) struct SealKey(Zeroizing<[u8; 32]>);

impl SealKey {
    /// Derives the seal key from the worker secret (see the module docs for the exact inputs),
    /// through the workspace's one HKDF, `audit_chain::hkdf_sha256`, whose intermediate values
    /// (the PRK among them) are wiped; its doc comment says why it is not the `hkdf` crate.
    pub(crate) fn derive(secret: &WorkerSecret) -> Self {
        let okm = audit_chain::hkdf_sha256::<1>(SEAL_KEY_SALT, &secret.0, SEAL_KEY_INFO);
        Self(Zeroizing::new(okm[0]))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC zero-pads a key shorter than the hash's block to the block size (RFC 2104), so
        // padding it here gives the same MAC through the infallible constructor.
        let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
        block[..self.0.len()].copy_from_slice(self.0.as_ref());
        let mac = <Hmac<Sha256> as KeyInit>::new(&block);
        block.as_mut_slice().zeroize();
        mac
    }

    /// HMAC-SHA256 of `message` under this key.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC-SHA256 of `message`, compared in constant time.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8; 32]) -> bool {
        let mut mac = self.mac();
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        base16ct::mixed::decode_vec(s).unwrap()
    }

    fn vector_file(name: &str) -> String {
        let path = format!("{}/../testdata/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    }

    /// `KEY = ..` style lines, grouped per case in file order.
    fn cases(text: &str, keys: &[&str]) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut current: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        for line in text.lines() {
            let Some((name, value)) = line.split_once('=') else { continue };
            if let Some(i) = keys.iter().position(|k| *k == name.trim()) {
                current[i] = Some(unhex(value.trim()));
                if current.iter().all(Option::is_some) {
                    out.push(current.iter_mut().map(|v| v.take().unwrap()).collect());
                }
            }
        }
        out
    }

    #[test]
    fn seal_key_is_hkdf_sha256_of_the_documented_inputs() {
        // RFC 5869 A.1's inputs and first 32 output bytes, through the same function, show that
        // `derive` is plain HKDF-SHA256 (the full vectors run in audit-chain).
        let cases = cases(&vector_file("hkdf_sha256_rfc5869.txt"), &["IKM", "salt", "info", "OKM"]);
        assert_eq!(cases.len(), 3);
        for case in cases {
            let (ikm, salt, info, okm) = (&case[0], &case[1], &case[2], &case[3]);
            let out = audit_chain::hkdf_sha256::<1>(salt, ikm, info);
            assert_eq!(&out[0][..], &okm[..32]);
        }
        let secret = [9u8; 32];
        let key = SealKey::derive(&WorkerSecret::new(secret));
        let expected = audit_chain::hkdf_sha256::<1>(SEAL_KEY_SALT, &secret, SEAL_KEY_INFO);
        assert_eq!(*key.0, expected[0]);
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let cases = cases(&vector_file("hmac_sha256_rfc4231.txt"), &["KEY", "INPUT", "TAG"]);
        assert!(cases.len() >= 6);
        for case in cases {
            let (key, input, tag) = (&case[0], &case[1], &case[2]);
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
            mac.update(input);
            let full: [u8; 32] = mac.finalize().into_bytes().into();
            // Case 5 of RFC 4231 is truncated to 128 bits.
            assert_eq!(&full[..tag.len()], tag.as_slice());
        }
    }

    #[test]
    fn the_seal_key_is_the_documented_derivation() {
        // Computed independently (Python `hmac`/`hashlib`) from secret = 0x00..0x1f.
        let secret: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let key = SealKey::derive(&WorkerSecret::new(secret));
        assert_eq!(
            key.0.as_ref(),
            unhex("c40a75cdfe4219eaded8ff5ce8a9098ab1910f41a6b70b9604e5b69f19e3d9f3").as_slice(),
        );
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let key = SealKey::derive(&WorkerSecret::new([7; 32]));
        let other = SealKey::derive(&WorkerSecret::new([8; 32]));
        let tag = key.sign(b"message");
        assert!(key.verify(b"message", &tag));
        assert!(!key.verify(b"messagf", &tag));
        assert!(!other.verify(b"message", &tag));
        let mut flipped = tag;
        flipped[31] ^= 1;
        assert!(!key.verify(b"message", &flipped));
    }

    #[test]
    fn debug_never_shows_secret_bytes() {
        let secret = WorkerSecret::new([0xAB; 32]);
        assert_eq!(format!("{secret:?}"), "WorkerSecret(..)");
        let key = SealKey::derive(&secret);
        assert_eq!(format!("{key:?}"), "SealKey(..)");
    }
}
