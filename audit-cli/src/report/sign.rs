//! The report as evidence: its own SHA-256 on its last line, an optional signature beside it,
//! and `audit report-check` for the auditor.
//!
//! Embedded digest: the line holding `report-sha256` (the last line of Markdown and HTML, the
//! last member of the JSON object) carries the SHA-256, in hex, of every byte before that line.
//! It shows that the file is whole and unedited since it was written, to anyone; it does not
//! show who wrote it, since anyone can recompute it.
//!
//! Signature: `report --output FILE --sign KEYFILE` writes `FILE.sig`, a C2SP signed note
//! (Ed25519) whose text is
//!
//! ```text
//! audit-report/v1
//! <SHA-256 of the whole report file, hex>
//! <the report's file name>
//! ```
//!
//! signed with the signed-note private key in KEYFILE (`PRIVATE+KEY+<name>+<keyid>+<base64>`,
//! the form of a log's `signing.key`). `audit report-check FILE --public-key PUB` checks both.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use audit_chain::{ChainError, NoteSigner, NoteVerifier, Zeroizing, open_note};
use audit_events::to_hex;
use input_validation::display_safe;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Ctx;
use crate::cli::{ReportCheckArgs, ReportFormat};
use crate::error::{ExitStatus, usage};
use crate::keyfile::{KEY_FILE_CAP, load_trust_anchor, read_text, read_text_capped};
use crate::output::print_json;

/// The first line of a report signature's text.
pub(crate) const SIGNATURE_HEADER: &str = "audit-report/v1";
/// The marker of the line that carries the embedded digest.
const MARKER: &str = "report-sha256";
/// The largest report `report-check` reads.
const REPORT_CAP: u64 = 256 * 1024 * 1024;

fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// Appends the line carrying the SHA-256 of everything before it.
pub(crate) fn with_digest_line(body: String, format: ReportFormat) -> String {
    match format {
        ReportFormat::Md => {
            let digest = sha256_hex(body.as_bytes());
            format!("{body}{MARKER}: {digest} (SHA-256 of every byte above this line)\n")
        }
        ReportFormat::Html => {
            let digest = sha256_hex(body.as_bytes());
            format!(
                "{body}<footer><p>{MARKER}: <code>{digest}</code> (SHA-256 of every byte above \
                 this line)</p></footer></body></html>\n"
            )
        }
        ReportFormat::Json => {
            let open = body.trim_end().strip_suffix('}').unwrap_or(&body).trim_end();
            let prefix = format!("{open},\n");
            let digest = sha256_hex(prefix.as_bytes());
            format!("{prefix}  \"{MARKER}\": \"{digest}\"\n}}\n")
        }
    }
}

/// Checks the embedded digest: `Ok(digest)` when it matches the bytes before its line.
pub(crate) fn check_digest_line(text: &str) -> Result<String, String> {
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.contains(MARKER) {
            start = Some((offset, line));
        }
        offset += line.len();
    }
    let Some((start, line)) = start else {
        return Err(format!("no `{MARKER}` line: not a report written by `audit report`"));
    };
    let after = &line[line.find(MARKER).map_or(0, |i| i + MARKER.len())..];
    let claimed = after
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|run| run.len() == 64)
        .unwrap_or_default();
    if claimed.len() != 64 {
        return Err(format!("the `{MARKER}` line holds no SHA-256"));
    }
    let actual = sha256_hex(&text.as_bytes()[..start]);
    if actual == claimed.to_ascii_lowercase() {
        Ok(actual)
    } else {
        Err(format!(
            "the report was changed after it was written: its `{MARKER}` line says {claimed}, \
             the {start} bytes above it hash to {actual}"
        ))
    }
}

/// Reads a signed-note private key. Its text never appears in a message.
pub(crate) fn load_signer(path: &Path) -> anyhow::Result<NoteSigner> {
    let text = Zeroizing::new(read_text_capped(path, KEY_FILE_CAP)?);
    NoteSigner::from_private_key_string(text.trim()).map_err(|e| {
        usage(format!(
            "{} does not hold a signed-note private key (PRIVATE+KEY+<name>+<keyid>+<base64>): {}",
            path.display(),
            match e {
                ChainError::MalformedKey { reason } => reason.to_owned(),
                _ => "unusable key".to_owned(),
            }
        ))
    })
}

/// The signature file of a report.
fn signature_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// The text a report signature signs.
fn signed_text(digest: &str, file_name: &str) -> String {
    format!("{SIGNATURE_HEADER}\n{digest}\n{file_name}\n")
}

fn file_name(path: &Path) -> String {
    display_safe(&path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()).into_owned()
}

/// Signs the report written at `path` (its bytes are `bytes`); returns the signature's path.
pub(crate) fn sign_report(
    path: &Path,
    bytes: &[u8],
    signer: &NoteSigner,
) -> anyhow::Result<PathBuf> {
    let note = signer
        .sign(&signed_text(&sha256_hex(bytes), &file_name(path)))
        .context("signing the report")?;
    let sig = signature_path(path);
    std::fs::write(&sig, note.as_bytes()).with_context(|| format!("writing {}", sig.display()))?;
    Ok(sig)
}

/// `audit report-check`.
pub(crate) fn run_check(args: &ReportCheckArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let text = read_text_capped(&args.report, REPORT_CAP)?;
    let shown = display_safe(&args.report.display().to_string()).into_owned();
    let digest = check_digest_line(&text);
    let signature = match &args.public_key {
        None => None,
        Some(public_key) => {
            let verifier = load_trust_anchor(public_key)?.note_verifier()?;
            let sig_path = args.signature.clone().unwrap_or_else(|| signature_path(&args.report));
            let note = read_text(&sig_path)?;
            Some((check_signature(&text, &note, &verifier, &sig_path), verifier))
        }
    };
    let failed = digest.is_err() || matches!(signature, Some((Err(_), _)));
    let status = if failed { ExitStatus::Finding } else { ExitStatus::Success };
    if args.format.json() {
        let verdict = match (&signature, failed) {
            (_, true) => "FAIL",
            (None, false) => "NOT PROVEN",
            (Some(_), false) => "PASS",
        };
        let digest = match &digest {
            Ok(sha256) => json!({ "ok": true, "sha256": sha256 }),
            Err(reason) => json!({ "ok": false, "reason": reason }),
        };
        let signature = signature.as_ref().map(|(result, verifier)| match result {
            Ok(name) => json!({
                "ok": true,
                "sha256": sha256_hex(text.as_bytes()),
                "signed_as": name,
                "signer": verifier.to_string(),
            }),
            Err(reason) => json!({ "ok": false, "reason": reason }),
        });
        print_json(
            ctx.out,
            &json!({
                "verdict": verdict,
                "report": args.report.display().to_string(),
                "digest": digest,
                "signature": signature,
            }),
        )?;
        return Ok(status);
    }
    match &digest {
        Ok(digest) => writeln!(
            ctx.out,
            "{shown}: its embedded SHA-256 ({digest}) matches the content above it"
        )?,
        Err(reason) => writeln!(ctx.out, "FAIL: {shown}: {}", display_safe(reason))?,
    }
    match &signature {
        None => writeln!(
            ctx.out,
            "NOT PROVEN: no --public-key was given, so nothing shows who wrote the report (anyone \
             can recompute an embedded digest)"
        )?,
        Some((Ok(name), verifier)) => writeln!(
            ctx.out,
            "PASS: {shown} (SHA-256 {}, signed as {}) is signed by {}",
            sha256_hex(text.as_bytes()),
            display_safe(name),
            display_safe(&verifier.to_string())
        )?,
        Some((Err(reason), _)) => writeln!(ctx.out, "FAIL: {}", display_safe(reason))?,
    }
    Ok(status)
}

/// Checks the signed note `note` over the report `text`: the signer's name on success.
fn check_signature(
    text: &str,
    note: &str,
    verifier: &NoteVerifier,
    sig_path: &Path,
) -> Result<String, String> {
    let digest = sha256_hex(text.as_bytes());
    match open_note(note, std::slice::from_ref(verifier)) {
        Err(e) => Err(format!("the signature {} does not verify: {e}", sig_path.display())),
        Ok(opened) => {
            let mut lines = opened.text.lines();
            match (lines.next(), lines.next(), lines.next()) {
                (Some(SIGNATURE_HEADER), Some(signed), Some(name)) if signed == digest => {
                    Ok(name.to_owned())
                }
                (Some(SIGNATURE_HEADER), Some(signed), _) => Err(format!(
                    "the signature is for a report whose SHA-256 is {signed}, not this file's \
                     {digest}"
                )),
                _ => Err("the signed note is not a report signature".to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_line_covers_every_byte_above_it_in_each_format() {
        for (format, body) in [
            (ReportFormat::Md, "# Report\n\ntext\n\n".to_owned()),
            (ReportFormat::Html, "<!DOCTYPE html>\n<html><body><p>x</p>\n".to_owned()),
            (ReportFormat::Json, "{\n  \"a\": 1\n}".to_owned()),
        ] {
            let text = with_digest_line(body, format);
            assert!(check_digest_line(&text).is_ok(), "{text}");
            let edited = text.replacen("text", "texT", 1).replacen("<p>x", "<p>y", 1);
            let edited = edited.replacen("\"a\": 1", "\"a\": 2", 1);
            assert_ne!(edited, text);
            assert!(check_digest_line(&edited).is_err(), "{edited}");
        }
        let json = with_digest_line("{\n  \"a\": 1\n}".to_owned(), ReportFormat::Json);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["a"], 1);
        assert!(check_digest_line("no marker here\n").is_err());
    }
}
