//! Reading the trust anchors an operator keeps off the host: verifier material (from
//! `audit init`) or a bare checkpoint public key, and signed checkpoint notes.

use std::path::Path;

use anyhow::Context as _;
use audit_chain::NoteVerifier;
use audit_store::VerifierMaterial;

use crate::error::usage;

/// What a key file held.
pub(crate) enum TrustAnchor {
    /// The full verifier material: seal MACs and checkpoints can be checked.
    Material(VerifierMaterial),
    /// Only the checkpoint public key (`name+keyid+base64`).
    PublicKey(String),
}

impl TrustAnchor {
    /// The checkpoint verifier key either form holds.
    pub(crate) fn public_key(&self) -> &str {
        match self {
            Self::Material(m) => &m.public_key,
            Self::PublicKey(k) => k,
        }
    }

    /// A parsed verifier for checkpoints.
    pub(crate) fn note_verifier(&self) -> anyhow::Result<NoteVerifier> {
        NoteVerifier::parse(self.public_key()).map_err(|e| usage(format!("public key: {e}")))
    }

    /// How verification was anchored, for reports.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Self::Material(_) => "verifier material (seal MACs and checkpoint signatures checked)",
            Self::PublicKey(_) => {
                "checkpoint public key (signatures checked; seal MACs checked for consistency only)"
            }
        }
    }
}

/// Reads a file named on the command line as text; a missing or unreadable file is an
/// operational error that names it.
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
            .context("reading standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads verifier material or a public-key file.
pub(crate) fn load_trust_anchor(path: &Path) -> anyhow::Result<TrustAnchor> {
    let text = read_text(path)?;
    if text.starts_with("audit-verifier-material") {
        return VerifierMaterial::parse(&text)
            .map(TrustAnchor::Material)
            .map_err(|e| usage(format!("{}: {e}", path.display())));
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    if let (Some(key), None) = (lines.next(), lines.next())
        && NoteVerifier::parse(key).is_ok()
    {
        return Ok(TrustAnchor::PublicKey(key.to_owned()));
    }
    Err(usage(format!(
        "{} holds neither verifier material (from `audit init`) nor a checkpoint public key \
         (one line: name+keyid+base64)",
        path.display()
    )))
}
