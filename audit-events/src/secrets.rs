//! Types that make secrets unrepresentable: token fingerprints, prompt digests and validated
//! digests. None of them can hold the secret itself, and their `Debug` shows only the fingerprint.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::EventError;
use crate::hex;

/// Domain tag for token fingerprints, so they never equal another SHA-256 use of the same bytes.
const TOKEN_FINGERPRINT_TAG: &[u8] = b"audit-events/token-fingerprint/v1\0";
/// Domain tag for prompt digests.
const PROMPT_DIGEST_TAG: &[u8] = b"audit-events/prompt-digest/v1\0";

/// A short fingerprint of a token: the first 6 bytes of a domain-separated SHA-256 of the token,
/// shown as 12 lowercase hex characters.
///
/// It lets an auditor correlate uses of one token without the log ever holding the token. 48 bits
/// cannot be reversed for tokens of realistic entropy; it is not meant to resist a guess of a
/// low-entropy token.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenFingerprint([u8; 6]);

impl TokenFingerprint {
    /// Fingerprints a token. The token is only hashed, never kept.
    pub fn of_token(token: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(TOKEN_FINGERPRINT_TAG);
        hasher.update(token.as_bytes());
        let digest = hasher.finalize();
        let mut out = [0u8; 6];
        out.copy_from_slice(&digest[..6]);
        Self(out)
    }

    /// The fingerprint bytes.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }
}

impl fmt::Display for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex::write(f, &self.0)
    }
}

impl fmt::Debug for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenFingerprint({self})")
    }
}

impl FromStr for TokenFingerprint {
    type Err = EventError;
    /// Parses a fingerprint (12 lowercase hex characters), not a token.
    fn from_str(s: &str) -> Result<Self, EventError> {
        hex::decode_array::<6>(s, "token fingerprint").map(Self)
    }
}

impl Serialize for TokenFingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.collect_str(self) } else { self.0.serialize(s) }
    }
}

impl<'de> Deserialize<'de> for TokenFingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 6]>::deserialize(d).map(Self)
        }
    }
}

/// The hash algorithms a [`Digest`] may name. Variants are only ever appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256 (32 bytes).
    Sha256,
    /// BLAKE3 (32 bytes).
    Blake3,
}

impl DigestAlgorithm {
    /// The prefix used in the text form (`sha256:`, `blake3:`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Blake3 => "blake3",
        }
    }
}

/// A validated digest: an algorithm and exactly that algorithm's number of bytes.
///
/// Text form: `<algorithm>:<lowercase hex>`, e.g. `blake3:af13...` (64 hex digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum Digest {
    /// A SHA-256 digest.
    Sha256([u8; 32]),
    /// A BLAKE3 digest.
    Blake3([u8; 32]),
}

impl Digest {
    /// The SHA-256 digest of `data`.
    pub fn sha256(data: &[u8]) -> Self {
        Self::Sha256(Sha256::digest(data).into())
    }

    /// The algorithm.
    pub const fn algorithm(&self) -> DigestAlgorithm {
        match self {
            Self::Sha256(_) => DigestAlgorithm::Sha256,
            Self::Blake3(_) => DigestAlgorithm::Blake3,
        }
    }

    /// The digest bytes.
    pub const fn bytes(&self) -> &[u8; 32] {
        match self {
            Self::Sha256(b) | Self::Blake3(b) => b,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm().name())?;
        f.write_str(":")?;
        hex::write(f, self.bytes())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, EventError> {
        let (alg, hex_part) = s.split_once(':').ok_or(EventError::InvalidHex {
            what: "digest",
            reason: "missing `algorithm:` prefix",
        })?;
        let bytes = hex::decode_array::<32>(hex_part, "digest")?;
        match alg {
            "sha256" => Ok(Self::Sha256(bytes)),
            "blake3" => Ok(Self::Blake3(bytes)),
            _ => Err(EventError::InvalidHex { what: "digest", reason: "unknown algorithm" }),
        }
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() { s.collect_str(self) } else { Digest::serialize(self, s) }
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            Digest::deserialize(d)
        }
    }
}

/// What the log keeps of a prompt: its length in bytes and a domain-separated SHA-256, never
/// the text. A hash lets an auditor confirm a prompt they already hold; it does not hide a prompt
/// that can be guessed.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptDigest {
    /// The prompt's length in UTF-8 bytes.
    pub length: u64,
    /// SHA-256 over a domain tag and the prompt bytes.
    pub hash: Digest,
}

impl PromptDigest {
    /// Digests a prompt. The text is only hashed, never kept.
    pub fn of_prompt(prompt: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(PROMPT_DIGEST_TAG);
        hasher.update(prompt.as_bytes());
        Self {
            length: u64::try_from(prompt.len()).unwrap_or(u64::MAX),
            hash: Digest::Sha256(hasher.finalize().into()),
        }
    }
}

impl fmt::Debug for PromptDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PromptDigest {{ length: {}, hash: {} }}", self.length, self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_do_not_contain_the_token() {
        let fp = TokenFingerprint::of_token("secret-token-value");
        assert_eq!(fp, TokenFingerprint::of_token("secret-token-value"));
        assert_ne!(fp, TokenFingerprint::of_token("secret-token-valuf"));
        let shown = format!("{fp} {fp:?}");
        assert!(!shown.contains("secret"));
        assert_eq!(fp.to_string().len(), 12);
        assert_eq!(fp.to_string().parse::<TokenFingerprint>(), Ok(fp));
        assert!("secret-token-value".parse::<TokenFingerprint>().is_err());
    }

    #[test]
    fn digests_parse_strictly() {
        let d = Digest::sha256(b"abc");
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
        assert!(
            "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
                .parse::<Digest>()
                .is_err()
        );
        assert!(
            "md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                .parse::<Digest>()
                .is_err()
        );
        assert!("ba7816bf".parse::<Digest>().is_err());
        assert!("blake3:ba78".parse::<Digest>().is_err());
    }

    #[test]
    fn prompt_digests_keep_no_text() {
        let p = PromptDigest::of_prompt("tell me the launch codes");
        assert_eq!(p.length, 24);
        let shown = format!("{p:?}");
        assert!(!shown.contains("launch"));
        assert_eq!(p, PromptDigest::of_prompt("tell me the launch codes"));
        assert_ne!(p.hash, Digest::sha256(b"tell me the launch codes"));
    }
}
