//! C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys: signing, strict parsing and
//! verification, and the text forms of verifier and private keys.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::error::ChainError;
use crate::hash::sha256;

/// Em dash and space: the start of every signature line.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";
/// Signature lines accepted in one note; the spec requires at least 16.
pub const MAX_NOTE_SIGNATURES: usize = 100;
/// Signature type byte of Ed25519 in key ids and key strings.
const ED25519: u8 = 0x01;
pub(crate) const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// `SHA-256(name || 0x0A || 0x01 || public key)[:4]`, big-endian.
fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    typed_key_id(name, ED25519, public_key)
}

/// `SHA-256(name || 0x0A || signature type || public key)[:4]`, big-endian.
pub(crate) fn typed_key_id(name: &str, sig_type: u8, public_key: &[u8; 32]) -> u32 {
    let h = sha256(&[name.as_bytes(), b"\n", &[sig_type], public_key]);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// The signed-note rule for a key name: non-empty, no Unicode space, no `+`.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.chars().any(char::is_whitespace) {
        Some("contains a space")
    } else if name.contains('+') {
        Some("contains a plus sign")
    } else {
        None
    }
}

/// The rule for names this crate creates or is configured with: the signed-note rule, and no
/// control character (C0, DEL or C1) either.
pub(crate) fn check_own_name(name: &str) -> Result<(), ChainError> {
    if let Some(reason) = name_problem(name) {
        return Err(ChainError::InvalidKeyName { reason });
    }
    if name.chars().any(char::is_control) {
        return Err(ChainError::InvalidKeyName { reason: "contains a control character" });
    }
    Ok(())
}

/// Why `text` cannot be note text, if it cannot: notes are UTF-8 without ASCII controls other
/// than newline.
pub(crate) fn control_in(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

/// Splits `name+keyid+base64` into its checked name, key id and decoded key bytes.
fn split_key(s: &str) -> Result<(&str, u32, Zeroizing<Vec<u8>>), ChainError> {
    split_typed_key(s, ED25519)
}

/// [`split_key`] for keys of signature type `sig_type` (`0x01` note signatures, `0x04`
/// cosignatures).
pub(crate) fn split_typed_key(
    s: &str,
    sig_type: u8,
) -> Result<(&str, u32, Zeroizing<Vec<u8>>), ChainError> {
    let malformed = |reason| ChainError::MalformedKey { reason };
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("expected name+keyid+key"));
    };
    check_own_name(name)?;
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(malformed("key id is not 8 lowercase hex digits"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| malformed("key id is not hex"))?;
    let bytes = Zeroizing::new(STANDARD.decode(key).map_err(|_| malformed("key is not base64"))?);
    if bytes.len() != 33 {
        return Err(malformed("wrong key length"));
    }
    if bytes[0] != sig_type {
        return Err(malformed("unsupported signature algorithm"));
    }
    Ok((name, id, bytes))
}

/// Parses a verifier key `<name>+<keyid>+<base64(sig_type || public key)>` strictly: the key id
/// must match the name and key, and the key must be a valid Ed25519 point of large order.
pub(crate) fn parse_typed_verifier(
    vkey: &str,
    sig_type: u8,
) -> Result<(String, u32, VerifyingKey), ChainError> {
    let (name, id, bytes) = split_typed_key(vkey, sig_type)?;
    let mut public = [0u8; 32];
    public.copy_from_slice(&bytes[1..]);
    let key = VerifyingKey::from_bytes(&public)
        .map_err(|_| ChainError::MalformedKey { reason: "not an Ed25519 public key" })?;
    if key.is_weak() {
        return Err(ChainError::MalformedKey { reason: "weak Ed25519 public key" });
    }
    if typed_key_id(name, sig_type, &public) != id {
        return Err(ChainError::MalformedKey { reason: "key id does not match" });
    }
    Ok((name.to_owned(), id, key))
}

/// Writes the verifier key `<name>+<keyid>+<base64(sig_type || public key)>`.
pub(crate) fn write_verifier_key(
    f: &mut fmt::Formatter<'_>,
    sig_type: u8,
    name: &str,
    key_id: u32,
    key: &VerifyingKey,
) -> fmt::Result {
    let mut raw = [0u8; 33];
    raw[0] = sig_type;
    raw[1..].copy_from_slice(key.as_bytes());
    write!(f, "{name}+{key_id:08x}+{}", STANDARD.encode(raw))
}

/// `PRIVATE+KEY+<name>+<keyid>+<base64(sig_type || seed)>`, in memory that is wiped when dropped.
pub(crate) fn private_key_string(
    sig_type: u8,
    name: &str,
    key_id: u32,
    seed: &[u8; 32],
) -> Zeroizing<String> {
    let mut raw = Zeroizing::new(Vec::with_capacity(33));
    raw.push(sig_type);
    raw.extend_from_slice(seed);
    let encoded = Zeroizing::new(STANDARD.encode(&*raw));
    let id = format!("+{key_id:08x}+");
    // Sized up front so that the string holding the key is never reallocated (which would leave
    // a copy behind).
    let mut out = Zeroizing::new(String::with_capacity(
        PRIVATE_PREFIX.len() + name.len() + id.len() + encoded.len(),
    ));
    out.push_str(PRIVATE_PREFIX);
    out.push_str(name);
    out.push_str(&id);
    out.push_str(&encoded);
    out
}

/// A note signing key: an Ed25519 key with a name.
///
/// `Debug` shows the name and key id only; the key is wiped when dropped.
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed (RFC 8032 private key).
    ///
    /// Fails with [`ChainError::InvalidKeyName`] if the name is empty or holds a space, a plus
    /// sign or a control character.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, ChainError> {
        let seed = Zeroizing::new(seed);
        check_own_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self { name: name.to_owned(), key_id, key })
    }

    /// A signer from `PRIVATE+KEY+<name>+<keyid>+<base64(0x01 || seed)>`.
    ///
    /// Fails with [`ChainError::MalformedKey`] if the string is malformed, for another algorithm,
    /// or its key id does not match the name and key.
    pub fn from_private_key_string(s: &str) -> Result<Self, ChainError> {
        let rest = s
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(ChainError::MalformedKey { reason: "not a private key" })?;
        let (name, id, bytes) = split_key(rest)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes[1..]);
        let signer = Self::from_seed(name, *seed)?;
        if signer.key_id != id {
            return Err(ChainError::MalformedKey { reason: "key id does not match" });
        }
        Ok(signer)
    }

    /// The private key string (`PRIVATE+KEY+...`), for the operator to store off the log host.
    pub fn to_private_key_string(&self) -> Zeroizing<String> {
        private_key_string(ED25519, &self.name, self.key_id, self.key.as_bytes())
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id: `SHA-256(name || 0x0A || 0x01 || public key)[:4]`.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier key string: `<name>+<keyid>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> String {
        self.verifier().to_string()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key_id: self.key_id, key: self.key.verifying_key() }
    }

    /// Signs `text` and returns the whole note: the text, a blank line and one signature line.
    ///
    /// Fails with [`ChainError::InvalidNoteText`] unless the text is non-empty, ends with a
    /// newline and has no ASCII control character other than newline.
    pub fn sign(&self, text: &str) -> Result<String, ChainError> {
        let invalid = |reason| ChainError::InvalidNoteText { reason };
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if !text.ends_with('\n') {
            return Err(invalid("does not end with a newline"));
        }
        if control_in(text) {
            return Err(invalid("contains a control character"));
        }
        let signature =
            self.key.try_sign(text.as_bytes()).map_err(|_| ChainError::SigningFailed)?;
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!("{text}\n{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(blob)))
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A note verifier key: a name, key id and Ed25519 public key.
///
/// `Display` writes the verifier key string `<name>+<keyid>+<base64(0x01 || public key)>`.
#[derive(Clone, PartialEq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<keyid>+<base64(0x01 || public key)>`.
    ///
    /// Strict: the key id must be 8 lowercase hex digits and match the name and key, the base64
    /// must be canonical with padding, the algorithm must be Ed25519 and the key a valid point
    /// of large order. Fails with [`ChainError::MalformedKey`] or [`ChainError::InvalidKeyName`].
    pub fn parse(vkey: &str) -> Result<Self, ChainError> {
        let (name, key_id, key) = parse_typed_verifier(vkey, ED25519)?;
        Ok(Self { name, key_id, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn verifies(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else { return false };
        self.key.verify_strict(text, &Signature::from_bytes(&bytes)).is_ok()
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_verifier_key(f, ED25519, &self.name, self.key_id, &self.key)
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteVerifier")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// A note whose signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The signed text, final newline included.
    pub text: String,
    /// Indices into the verifier slice of the keys whose signatures verified, in the order their
    /// first signature appears; never empty.
    pub verified_by: Vec<usize>,
    /// How many signature lines came from keys not in the verifier slice (ignored, as the spec
    /// requires).
    pub unknown_signatures: usize,
}

/// One parsed signature line.
struct SignatureLine<'a> {
    name: &'a str,
    key_id: u32,
    signature: Vec<u8>,
}

/// Opens a note given as bytes: see [`open_note`]; bytes that are not UTF-8 are a malformed note.
pub fn open_note_bytes(note: &[u8], verifiers: &[NoteVerifier]) -> Result<OpenedNote, ChainError> {
    let note =
        std::str::from_utf8(note).map_err(|_| ChainError::MalformedNote { reason: "not UTF-8" })?;
    open_note(note, verifiers)
}

/// Parses a signed note strictly and verifies the signatures of the known keys.
///
/// The note is rejected as [`ChainError::MalformedNote`] if it has an ASCII control character
/// other than newline, no blank line before the signatures, no signature, a last line without
/// a newline, a line after the blank line that is not `— <name> <base64>`, a key name that is
/// empty or holds a space or `+`, a signature that is not canonical base64 of at least 5 bytes,
/// or more than [`MAX_NOTE_SIGNATURES`] signature lines. The whole note is checked before any
/// signature is. Then every signature whose name and key id match a verifier must verify
/// ([`ChainError::InvalidSignature`] otherwise), signatures from other keys are counted and
/// ignored, and at least one must verify ([`ChainError::NoVerifiedSignature`]).
pub fn open_note(note: &str, verifiers: &[NoteVerifier]) -> Result<OpenedNote, ChainError> {
    let malformed = |reason| ChainError::MalformedNote { reason };
    if control_in(note) {
        return Err(malformed("contains a control character"));
    }
    let split = note.rfind("\n\n").ok_or(malformed("no blank line before the signatures"))?;
    let (text, block) = (&note[..=split], &note[split + 2..]);
    if block.is_empty() {
        return Err(malformed("no signature"));
    }
    let block =
        block.strip_suffix('\n').ok_or(malformed("last line does not end with a newline"))?;
    let mut lines = Vec::new();
    for line in block.split('\n') {
        if lines.len() == MAX_NOTE_SIGNATURES {
            return Err(malformed("too many signatures"));
        }
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(malformed("not a signature line"))?;
        let (name, encoded) =
            rest.split_once(' ').ok_or(malformed("signature line without signature"))?;
        if name_problem(name).is_some() {
            return Err(malformed("invalid key name in a signature line"));
        }
        let raw = STANDARD.decode(encoded).map_err(|_| malformed("signature is not base64"))?;
        if raw.len() < 5 {
            return Err(malformed("signature too short"));
        }
        let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        lines.push(SignatureLine { name, key_id, signature: raw[4..].to_vec() });
    }
    let mut verified_by = Vec::new();
    let mut unknown_signatures = 0;
    for line in &lines {
        let known = verifiers.iter().position(|v| v.name == line.name && v.key_id == line.key_id);
        let Some(index) = known else {
            unknown_signatures += 1;
            continue;
        };
        let verifier = &verifiers[index];
        if !verifier.verifies(text.as_bytes(), &line.signature) {
            return Err(ChainError::InvalidSignature {
                name: verifier.name.clone(),
                key_id: verifier.key_id,
            });
        }
        if !verified_by.contains(&index) {
            verified_by.push(index);
        }
    }
    if verified_by.is_empty() {
        return Err(ChainError::NoVerifiedSignature);
    }
    Ok(OpenedNote { text: text.to_owned(), verified_by, unknown_signatures })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("example.com/log", [9; 32]).unwrap()
    }

    #[test]
    fn sign_then_open_round_trips() {
        let s = signer();
        let note = s.sign("hello\n\nworld\n").unwrap();
        let opened = open_note(&note, &[s.verifier()]).unwrap();
        assert_eq!(opened.text, "hello\n\nworld\n");
        assert_eq!(opened.verified_by, vec![0]);
        assert_eq!(opened.unknown_signatures, 0);
    }

    #[test]
    fn text_that_cannot_be_a_note_is_refused() {
        let s = signer();
        assert!(matches!(s.sign(""), Err(ChainError::InvalidNoteText { .. })));
        assert!(matches!(s.sign("no newline"), Err(ChainError::InvalidNoteText { .. })));
        assert!(matches!(s.sign("bell\u{7}\n"), Err(ChainError::InvalidNoteText { .. })));
        assert!(matches!(s.sign("cr\r\n"), Err(ChainError::InvalidNoteText { .. })));
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\u{7f}b", "a\u{85}b", "a\tb"] {
            assert!(
                matches!(
                    NoteSigner::from_seed(bad, [1; 32]),
                    Err(ChainError::InvalidKeyName { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_output_never_holds_key_bytes() {
        let s = signer();
        let seed_b64 = STANDARD.encode([9u8; 32]);
        let debug = format!("{s:?}");
        assert!(debug.contains("example.com/log"));
        assert!(!debug.contains(&seed_b64[..20]));
        assert!(!debug.contains("9, 9, 9"));
    }

    #[test]
    fn private_key_string_round_trips_and_is_checked() {
        let s = signer();
        let text = s.to_private_key_string();
        let back = NoteSigner::from_private_key_string(&text).unwrap();
        assert_eq!(back.verifier_key(), s.verifier_key());
        let wrong_id = text.replacen(&format!("+{:08x}+", s.key_id()), "+00000000+", 1);
        assert_eq!(
            NoteSigner::from_private_key_string(&wrong_id).unwrap_err(),
            ChainError::MalformedKey { reason: "key id does not match" }
        );
        assert!(NoteSigner::from_private_key_string(&s.verifier_key()).is_err());
    }
}
