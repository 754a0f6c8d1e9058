//! The key files of a log directory: the current seal-key state and the checkpoint signing key.
//!
//! `seal.key` holds `SealKey::to_state_bytes()` followed by the SHA-256 of those bytes (so a torn
//! or damaged key file is recognised instead of producing wrong seals). It is replaced atomically
//! each time the key evolves, so the previous epoch's state is unlinked. Whether its blocks are
//! erased from the medium depends on the filesystem and device; FORMAT.md says more.
//!
//! `signing.key` holds the Ed25519 key in the signed-note private key form
//! (`PRIVATE+KEY+<name>+<keyid>+<base64>`), one line.

use std::path::Path;

use audit_chain::{NoteSigner, SealKey, Zeroizing};
use sha2::{Digest as _, Sha256};

use crate::error::StoreError;
use crate::io::{Io, SMALL_FILE_CAP, read_capped, read_capped_text};
use crate::layout::{SEAL_KEY_FILE, SIGNING_KEY_FILE};

/// Writes the seal-key state atomically.
pub(crate) fn write_seal_key(io: &dyn Io, dir: &Path, key: &SealKey) -> Result<(), StoreError> {
    let state = key.to_state_bytes();
    let mut bytes = Zeroizing::new(Vec::with_capacity(state.len() + 32));
    bytes.extend_from_slice(&state);
    bytes.extend_from_slice(&Sha256::digest(&state[..]));
    let path = dir.join(SEAL_KEY_FILE);
    io.write_atomic(&path, &bytes).map_err(|e| StoreError::io("writing", path, e))
}

/// Reads and checks the seal-key state.
pub(crate) fn read_seal_key(dir: &Path) -> Result<SealKey, StoreError> {
    let path = dir.join(SEAL_KEY_FILE);
    let bytes = Zeroizing::new(
        read_capped(&path, SMALL_FILE_CAP).map_err(|e| StoreError::io("reading", &path, e))?,
    );
    let damaged = || StoreError::Damaged {
        file: SEAL_KEY_FILE.to_owned(),
        offset: 0,
        reason: "seal key state fails its checksum".to_owned(),
    };
    let split = bytes.len().checked_sub(32).ok_or_else(damaged)?;
    let (state, check) = bytes.split_at(split);
    if Sha256::digest(state)[..] != *check {
        return Err(damaged());
    }
    Ok(SealKey::from_state_bytes(state)?)
}

/// Writes the signing key (a new file only).
pub(crate) fn write_signing_key(
    io: &dyn Io,
    dir: &Path,
    signer: &NoteSigner,
) -> Result<(), StoreError> {
    let mut text = signer.to_private_key_string();
    text.push('\n');
    let path = dir.join(SIGNING_KEY_FILE);
    io.write_atomic(&path, text.as_bytes()).map_err(|e| StoreError::io("writing", path, e))
}

/// Reads the signing key.
pub(crate) fn read_signing_key(dir: &Path) -> Result<NoteSigner, StoreError> {
    let path = dir.join(SIGNING_KEY_FILE);
    let text = Zeroizing::new(
        read_capped_text(&path, SMALL_FILE_CAP).map_err(|e| StoreError::io("reading", &path, e))?,
    );
    Ok(NoteSigner::from_private_key_string(text.trim_end_matches('\n'))?)
}

/// 32 bytes from the operating system's generator.
pub(crate) fn random_secret() -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let mut secret = Zeroizing::new([0u8; 32]);
    getrandom::fill(secret.as_mut()).map_err(|_| StoreError::Random)?;
    Ok(secret)
}
