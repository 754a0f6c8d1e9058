//! C2SP tlog-cosignature v1 (c2sp.org/tlog-cosignature) with Ed25519: a witness's timestamped
//! statement that a checkpoint is the largest consistent tree head it has seen for the log.
//!
//! A cosignature is a signed-note signature line on the checkpoint:
//! `— <witness name> base64(key id || timestamp (u64 BE) || Ed25519 signature)`, with key id
//! `SHA-256(name || 0x0A || 0x04 || public key)[:4]`, over the message
//! `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint body.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::checkpoint::Checkpoint;
use crate::error::ChainError;
use crate::note::{
    NoteVerifier, PRIVATE_PREFIX, SIG_PREFIX, check_own_name, open_note, parse_typed_verifier,
    private_key_string, split_typed_key, typed_key_id, write_verifier_key,
};

/// Signature type byte of Ed25519 cosignatures (v1) in key ids and key strings.
const COSIGNATURE_V1: u8 = 0x04;
/// The largest timestamp the format allows.
const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// The message a v1 cosignature signs.
fn message(body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// A witness's cosigning key: an Ed25519 key with a name.
///
/// `Debug` shows the name and key id only; the key is wiped when dropped.
pub struct Cosigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner from a 32-byte Ed25519 seed. Fails with [`ChainError::InvalidKeyName`] for a
    /// name that is empty or holds a space, a plus sign or a control character.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, ChainError> {
        let seed = Zeroizing::new(seed);
        check_own_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = typed_key_id(name, COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(Self { name: name.to_owned(), key_id, key })
    }

    /// A cosigner from `PRIVATE+KEY+<name>+<keyid>+<base64(0x04 || seed)>`.
    pub fn from_private_key_string(s: &str) -> Result<Self, ChainError> {
        let rest = s
            .trim_end_matches('\n')
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(ChainError::MalformedKey { reason: "not a private key" })?;
        let (name, id, bytes) = split_typed_key(rest, COSIGNATURE_V1)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes[1..]);
        let cosigner = Self::from_seed(name, *seed)?;
        if cosigner.key_id != id {
            return Err(ChainError::MalformedKey { reason: "key id does not match" });
        }
        Ok(cosigner)
    }

    /// The private key string (`PRIVATE+KEY+...`), to be stored by the witness only.
    pub fn to_private_key_string(&self) -> Zeroizing<String> {
        private_key_string(COSIGNATURE_V1, &self.name, self.key_id, self.key.as_bytes())
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The cosignature line (ending in a newline) on `checkpoint` at `timestamp` (POSIX
    /// seconds, non-zero).
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> Result<String, ChainError> {
        checkpoint.validate()?;
        if timestamp == 0 || timestamp > MAX_TIMESTAMP {
            return Err(ChainError::MalformedNote { reason: "cosignature time out of range" });
        }
        let body = checkpoint.to_body();
        let signature = self
            .key
            .try_sign(message(&body, timestamp).as_bytes())
            .map_err(|_| ChainError::SigningFailed)?;
        let mut blob = Vec::with_capacity(4 + 8 + 64);
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(blob)))
    }
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A witness's public key for v1 cosignatures.
///
/// `Display` writes the vkey `<name>+<keyid>+<base64(0x04 || public key)>`.
#[derive(Clone, PartialEq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses `<name>+<keyid>+<base64(0x04 || public key)>`, as strictly as
    /// [`NoteVerifier::parse`].
    pub fn parse(vkey: &str) -> Result<Self, ChainError> {
        let (name, key_id, key) =
            parse_typed_verifier(vkey.trim_end_matches('\n'), COSIGNATURE_V1)?;
        Ok(Self { name, key_id, key })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_verifier_key(f, COSIGNATURE_V1, &self.name, self.key_id, &self.key)
    }
}

impl fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignatureVerifier")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A checkpoint with its log signature and a witness cosignature checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// When the witness cosigned it (POSIX seconds), the newest of its valid cosignatures.
    pub timestamp: u64,
}

/// Opens a cosigned checkpoint: the log's signature must verify with `log` (as
/// [`open_checkpoint`](crate::open_checkpoint) requires), and at least one signature line must
/// be a valid v1 cosignature from `witness`. A line with the witness's name and key id whose
/// signature does not verify rejects the note ([`ChainError::InvalidSignature`]); no such line
/// at all is [`ChainError::NoCosignature`].
pub fn open_cosigned(
    note: &str,
    log: &NoteVerifier,
    witness: &CosignatureVerifier,
) -> Result<Cosigned, ChainError> {
    let checkpoint = crate::checkpoint::open_checkpoint(note, log)?;
    // `open_checkpoint` checked the note's layout; the witness's lines are among the signature
    // lines it counted as unknown.
    let opened = open_note(note, std::slice::from_ref(log))?;
    let block = &note[opened.text.len() + 1..];
    let mut newest = None;
    for line in block.lines() {
        let Some(rest) = line.strip_prefix(SIG_PREFIX) else { continue };
        let Some((name, encoded)) = rest.split_once(' ') else { continue };
        if name != witness.name {
            continue;
        }
        let Ok(raw) = STANDARD.decode(encoded) else { continue };
        if raw.len() < 4 || u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) != witness.key_id {
            continue;
        }
        let invalid =
            || ChainError::InvalidSignature { name: witness.name.clone(), key_id: witness.key_id };
        let Ok(bytes) = <[u8; 72]>::try_from(&raw[4..]) else { return Err(invalid()) };
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&bytes[..8]);
        let timestamp = u64::from_be_bytes(ts);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&bytes[8..]);
        let verified = timestamp != 0
            && timestamp <= MAX_TIMESTAMP
            && witness
                .key
                .verify_strict(
                    message(&opened.text, timestamp).as_bytes(),
                    &Signature::from_bytes(&sig),
                )
                .is_ok();
        if !verified {
            return Err(invalid());
        }
        newest = newest.max(Some(timestamp));
    }
    let timestamp = newest.ok_or(ChainError::NoCosignature)?;
    Ok(Cosigned { checkpoint, timestamp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NoteSigner, sign_checkpoint};

    fn checkpoint() -> Checkpoint {
        Checkpoint { origin: "audit/svc/00".into(), size: 3, root: [7; 32], extensions: Vec::new() }
    }

    fn cosigned_note(witness: &Cosigner, time: u64) -> (String, NoteVerifier) {
        let log = NoteSigner::from_seed("audit/svc/00", [1; 32]).unwrap();
        let note = sign_checkpoint(&checkpoint(), &log).unwrap();
        let line = witness.cosign(&checkpoint(), time).unwrap();
        (format!("{note}{line}"), log.verifier())
    }

    #[test]
    fn a_cosignature_verifies_with_the_witness_key_only() {
        let witness = Cosigner::from_seed("witness.example/w1", [2; 32]).unwrap();
        let (note, log) = cosigned_note(&witness, 1_679_315_147);
        let opened = open_cosigned(&note, &log, &witness.verifier()).unwrap();
        assert_eq!(opened.checkpoint, checkpoint());
        assert_eq!(opened.timestamp, 1_679_315_147);
        let other = Cosigner::from_seed("witness.example/w1", [3; 32]).unwrap();
        assert_eq!(open_cosigned(&note, &log, &other.verifier()), Err(ChainError::NoCosignature));
        // The log's own signature still verifies as a plain checkpoint.
        assert_eq!(crate::open_checkpoint(&note, &log).unwrap(), checkpoint());
    }

    #[test]
    fn a_changed_time_or_body_breaks_the_cosignature() {
        let witness = Cosigner::from_seed("w", [2; 32]).unwrap();
        let (note, log) = cosigned_note(&witness, 1_000);
        let line = note.lines().last().unwrap().to_owned();
        let encoded = line.rsplit(' ').next().unwrap();
        let mut raw = STANDARD.decode(encoded).unwrap();
        raw[11] ^= 1; // the timestamp's last byte
        let forged = note.replace(encoded, &STANDARD.encode(&raw));
        assert!(matches!(
            open_cosigned(&forged, &log, &witness.verifier()),
            Err(ChainError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn keys_print_back_as_parsed_and_hide_the_secret() {
        let witness = Cosigner::from_seed("witness.example/w1", [5; 32]).unwrap();
        let vkey = witness.verifier().to_string();
        assert_eq!(CosignatureVerifier::parse(&vkey).unwrap().to_string(), vkey);
        let skey = witness.to_private_key_string();
        let again = Cosigner::from_private_key_string(&skey).unwrap();
        assert_eq!(again.verifier(), witness.verifier());
        assert!(!format!("{witness:?}").contains(&skey[12..]));
        // A note-signature key is not a cosignature key.
        let log = NoteSigner::from_seed("w", [5; 32]).unwrap();
        assert!(CosignatureVerifier::parse(&log.verifier_key()).is_err());
    }
}
