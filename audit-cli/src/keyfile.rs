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

    /// The service id the anchor authenticates: from the origin in the material, or the name of
    /// the public key (also the origin, `audit/<service id>/<log id>`).
    pub(crate) fn service_id(&self) -> Option<String> {
        match self {
            Self::Material(m) => m.service_id().map(str::to_owned),
            Self::PublicKey(k) => {
                let key = NoteVerifier::parse(k).ok()?;
                let (service, _log) = key.name().strip_prefix("audit/")?.rsplit_once('/')?;
                (!service.is_empty()).then(|| service.to_owned())
            }
        }
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

/// The service identity to show for a log: authenticated by the trust anchor when one is given,
/// otherwise what `log.meta` claims, labelled as such (anyone who can write the log directory
/// can edit it).
pub(crate) fn service_identity(
    anchor: Option<&TrustAnchor>,
    meta: &audit_store::LogMeta,
) -> String {
    match anchor.and_then(TrustAnchor::service_id) {
        Some(service) => service,
        None => format!("{} (claimed by log.meta, not authenticated)", meta.service_id),
    }
}

/// Cap on a proof bundle or checkpoint note named on the command line (a bundle holds one record
/// of at most 64 KiB, in hex and JSON, and a proof path).
pub(crate) const GIVEN_FILE_CAP: u64 = 4 * 1024 * 1024;
/// Cap on verifier material and public-key files (each under 1 KiB).
pub(crate) const KEY_FILE_CAP: u64 = 64 * 1024;

/// Reads a file named on the command line as text, at most [`GIVEN_FILE_CAP`] bytes.
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    read_text_capped(path, GIVEN_FILE_CAP)
}

/// Reads a file named on the command line (or standard input for `-`) as text. A symbolic link
/// is followed (the operator chose it), but the file must be a regular file of at most `cap`
/// bytes: a FIFO, a device such as `/dev/zero` or an oversized file is a usage error (exit 2)
/// instead of a hang or exhausted memory. A missing or unreadable file is an operational error
/// that names it.
pub(crate) fn read_text_capped(path: &Path, cap: u64) -> anyhow::Result<String> {
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::io::stdin().lock(), cap.saturating_add(1)),
            &mut bytes,
        )
        .context("reading standard input")?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap {
            return Err(usage(format!("standard input: more than {cap} bytes")));
        }
        bytes
    } else {
        match audit_store::io::read_given_file(path, cap) {
            Ok(bytes) => bytes,
            Err(e) => {
                if let Some(reason) = audit_store::io::unsafe_reason(&e) {
                    return Err(usage(format!("refusing {}: {reason}", path.display())));
                }
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
        }
    };
    String::from_utf8(bytes).map_err(|_| usage(format!("{}: not UTF-8 text", path.display())))
}

/// Reads verifier material or a public-key file.
pub(crate) fn load_trust_anchor(path: &Path) -> anyhow::Result<TrustAnchor> {
    let text = read_text_capped(path, KEY_FILE_CAP)?;
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
