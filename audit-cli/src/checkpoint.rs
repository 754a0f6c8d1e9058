//! Signed checkpoints and Merkle proofs: `audit checkpoint`, `audit prove`, `audit
//! verify-proof` (offline, with the public key only) and `audit consistency`.
//!
//! The proof bundle `prove` prints is one JSON object:
//! `{"seq", "leaf_index", "tree_size", "record_hex", "record", "proof", "checkpoint"}`: the
//! record's exact stored bytes in hex, its export-schema JSON (with chain hashes), the RFC 9162
//! inclusion path (hex hashes, bottom-up) and the signed checkpoint note whose root the path
//! leads to. `verify-proof` needs nothing else but the public key.

use anyhow::Context as _;
use audit_chain::{
    Checkpoint, InclusionProof, NoteVerifier, chain_hash, leaf_hash, open_checkpoint,
    verify_consistency, verify_inclusion,
};
use audit_events::{HashValue, Record, to_hex};
use audit_store::{
    LogReader, ProofSource, StoreError, consistency_proof, inclusion_proof, latest_checkpoint,
};
use input_validation::display_safe;
use serde_json::{Value, json};

use crate::Ctx;
use crate::cli::{CheckpointArgs, ConsistencyArgs, ProveArgs, ResultFormat, VerifyProofArgs};
use crate::error::{ExitStatus, usage};
use crate::keyfile::{load_trust_anchor, read_text};
use crate::output::{json_pretty, print_json, record_json, safe_lines, text_line};
use crate::verify::{
    exit_status, failure_place, kind_name, load_anchor, options, report_json, run_verify,
    verdict_line,
};

pub(crate) fn run_checkpoint(
    args: &CheckpointArgs,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<ExitStatus> {
    let (note, checkpoint) = latest_checkpoint(&args.dir)
        .with_context(|| format!("reading the latest checkpoint of {}", args.dir.display()))?;
    if args.format == ResultFormat::Json {
        print_json(
            ctx.out,
            &json!({
                "origin": checkpoint.origin,
                "size": checkpoint.size,
                "root": to_hex(&checkpoint.root),
                "note": note,
            }),
        )?;
    } else {
        ctx.out.write_all(safe_lines(&note).as_bytes())?;
    }
    writeln!(
        ctx.err,
        "checkpoint of tree size {}; keep a copy off this host and pass it to \
         `audit verify --trusted-checkpoint FILE` or `audit consistency --old FILE` later",
        checkpoint.size
    )?;
    Ok(ExitStatus::Success)
}

pub(crate) fn run_prove(args: &ProveArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let bundle = inclusion_proof(&args.dir, args.seq, args.size)
        .with_context(|| format!("proving seq {} in {}", args.seq, args.dir.display()))?;
    // The proof was checked against the checkpoint's root before it was returned, whichever
    // source it came from; a proof from the records says why the tiles were not used.
    if let ProofSource::Records { reason } = &bundle.source {
        writeln!(
            ctx.err,
            "note: the Merkle tiles were not used ({}); the proof was computed from the records",
            display_safe(reason)
        )?;
    }
    let record = Record::decode(&bundle.record)?;
    let value = json!({
        "seq": bundle.seq,
        "leaf_index": bundle.proof.index,
        "tree_size": bundle.proof.size,
        "record_hex": to_hex(&bundle.record),
        "record": record_json(&record, &bundle.prev_chain, &bundle.chain)?,
        "proof": bundle.proof.path.iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
        "checkpoint": bundle.checkpoint,
    });
    if args.format == ResultFormat::Json {
        writeln!(ctx.out, "{}", json_pretty(&value))?;
        return Ok(ExitStatus::Success);
    }
    writeln!(
        ctx.out,
        "record seq {} (leaf index {}) in the tree of size {}, {} hash(es) in its inclusion path:",
        bundle.seq,
        bundle.proof.index,
        bundle.proof.size,
        bundle.proof.path.len()
    )?;
    writeln!(ctx.out, "{}", text_line(&record))?;
    for hash in &bundle.proof.path {
        writeln!(ctx.out, "  {}", to_hex(hash))?;
    }
    writeln!(ctx.out, "signed checkpoint:")?;
    ctx.out.write_all(safe_lines(&bundle.checkpoint).as_bytes())?;
    Ok(ExitStatus::Success)
}

/// A failed check: the reason is printed and the command exits 1.
struct Fail(String);

pub(crate) fn run_verify_proof(
    args: &VerifyProofArgs,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<ExitStatus> {
    let text = read_text(&args.bundle)?;
    let bundle: Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{} is not a proof bundle: {e}", args.bundle.display())))?;
    let verifier = load_trust_anchor(&args.public_key)?.note_verifier()?;
    let fields = BundleFields::parse(&bundle)?;
    let json = args.format.json();
    match check_bundle(&fields, &verifier) {
        Ok((record, root)) if json => {
            print_json(
                ctx.out,
                &json!({
                    "verdict": "PASS",
                    "seq": fields.seq,
                    "tree_size": fields.tree_size,
                    "root": to_hex(&root),
                    "origin": verifier.name(),
                    "record": record.to_json_value(None, None)?,
                }),
            )?;
            Ok(ExitStatus::Success)
        }
        Err(Fail(reason)) if json => {
            print_json(ctx.out, &json!({ "verdict": "FAIL", "reason": reason }))?;
            Ok(ExitStatus::Finding)
        }
        Ok((record, root)) => {
            writeln!(
                ctx.out,
                "PASS: record seq {} is in log {} at tree size {} (root {}); the checkpoint's \
                 signature verifies with the key given",
                fields.seq,
                display_safe(verifier.name()),
                fields.tree_size,
                to_hex(&root),
            )?;
            writeln!(ctx.out, "{}", text_line(&record))?;
            Ok(ExitStatus::Success)
        }
        Err(Fail(reason)) => {
            writeln!(ctx.out, "FAIL: {}", display_safe(&reason))?;
            Ok(ExitStatus::Finding)
        }
    }
}

/// The members of a bundle, with types checked (a malformed bundle is a usage error).
struct BundleFields {
    seq: u64,
    leaf_index: u64,
    tree_size: u64,
    record: Vec<u8>,
    record_json: Option<Value>,
    path: Vec<[u8; 32]>,
    checkpoint: String,
}

impl BundleFields {
    fn parse(bundle: &Value) -> anyhow::Result<Self> {
        let number = |key: &str| {
            bundle
                .get(key)
                .and_then(Value::as_u64)
                .ok_or_else(|| usage(format!("the bundle has no `{key}` number")))
        };
        let string = |key: &str| {
            bundle
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| usage(format!("the bundle has no `{key}` string")))
        };
        let record = decode_hex(string("record_hex")?)
            .ok_or_else(|| usage("`record_hex` is not lowercase hex"))?;
        let mut path = Vec::new();
        for item in bundle
            .get("proof")
            .and_then(Value::as_array)
            .ok_or_else(|| usage("the bundle has no `proof` list"))?
        {
            let hash = item
                .as_str()
                .and_then(decode_hex)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| usage("a `proof` entry is not a 32-byte hex hash"))?;
            path.push(hash);
        }
        Ok(Self {
            seq: number("seq")?,
            leaf_index: number("leaf_index")?,
            tree_size: number("tree_size")?,
            record,
            record_json: bundle.get("record").cloned(),
            path,
            checkpoint: string("checkpoint")?.to_owned(),
        })
    }
}

fn check_bundle(b: &BundleFields, verifier: &NoteVerifier) -> Result<(Record, [u8; 32]), Fail> {
    let checkpoint = open_checkpoint(&b.checkpoint, verifier)
        .map_err(|e| Fail(format!("the checkpoint does not verify with this key: {e}")))?;
    if b.tree_size != checkpoint.size {
        return Err(Fail(format!(
            "the bundle claims tree size {} but its checkpoint is of size {}",
            b.tree_size, checkpoint.size
        )));
    }
    if b.leaf_index != b.seq {
        return Err(Fail(format!(
            "leaf index {} is not the record's sequence number {}",
            b.leaf_index, b.seq
        )));
    }
    let leaf = leaf_hash(&b.record);
    let proof = InclusionProof { index: b.leaf_index, size: b.tree_size, path: b.path.clone() };
    verify_inclusion(&leaf, &proof, &checkpoint.root)
        .map_err(|e| Fail(format!("the record is not in the tree the checkpoint signs: {e}")))?;
    let record = Record::decode(&b.record)
        .map_err(|e| Fail(format!("the proven bytes are not a record: {e}")))?;
    if record.seq != b.seq {
        return Err(Fail(format!("the proven record carries seq {}, not {}", record.seq, b.seq)));
    }
    if let Some(value) = &b.record_json {
        let (shown, prev, hash) = Record::from_json_value(value.clone())
            .map_err(|e| Fail(format!("the bundle's `record` JSON does not parse: {e}")))?;
        if shown != record {
            return Err(Fail(
                "the bundle's `record` JSON differs from the proven record bytes".to_owned(),
            ));
        }
        if let (Some(HashValue(prev)), Some(HashValue(hash))) = (prev, hash)
            && chain_hash(&prev, &leaf) != hash
        {
            return Err(Fail(
                "the bundle's `hash` is not the chain hash of `prev_hash` and the record"
                    .to_owned(),
            ));
        }
    }
    Ok((record, checkpoint.root))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    base16ct::lower::decode_vec(text).ok()
}

/// `audit consistency`: the log must extend the old checkpoint (Merkle consistency proof to the
/// latest checkpoint), and `verify`, with the old checkpoint as a trusted one and the key or
/// material given, must find no failure: the range the old checkpoint covers is vouched for
/// only after every check `verify` makes. The verdict then says what was proven.
pub(crate) fn run_consistency(
    args: &ConsistencyArgs,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<ExitStatus> {
    let anchor = load_anchor(args.public_key.as_deref(), args.require, "--public-key")?;
    let old_note = read_text(&args.old)?;
    let key_given = anchor.is_some();
    let verifier = match &anchor {
        Some(anchor) => anchor.note_verifier()?,
        None => {
            let reader = LogReader::open(&args.dir)
                .with_context(|| format!("opening {}", args.dir.display()))?;
            writeln!(
                ctx.err,
                "warning: no --public-key: checkpoints are checked with the key in log.meta, \
                 which proves consistency but not who signed them"
            )?;
            NoteVerifier::parse(&reader.meta().public_key)
                .map_err(|e| anyhow::anyhow!("log.meta holds an unusable public key: {e}"))?
        }
    };
    let mut options = options(anchor.as_ref(), &[], None)?;
    options.trusted_checkpoints.push(old_note.clone());
    let json = args.format.json();
    let report = run_verify(&args.dir, &options, ctx.err_is_terminal && !json)?;
    let verify_json = || report_json(&report, anchor.as_ref());
    let fail = |ctx: &mut Ctx<'_>, reason: String, verify: Option<Value>| {
        if json {
            print_json(ctx.out, &json!({ "verdict": "FAIL", "reason": reason, "verify": verify }))?;
        } else {
            writeln!(ctx.out, "FAIL: {}", display_safe(&reason))?;
        }
        anyhow::Ok(ExitStatus::Finding)
    };
    if let Some(failure) = &report.failure {
        let reason = format!(
            "verify, with the old checkpoint as a trusted one, found: {} ({}): {}",
            failure_place(failure),
            kind_name(failure.kind),
            failure.reason
        );
        return fail(ctx, reason, Some(verify_json()));
    }
    let old = match open_checkpoint(&old_note, &verifier) {
        Ok(old) => old,
        Err(e) => {
            let reason = format!("the old checkpoint does not verify with this key: {e}");
            return fail(ctx, reason, None);
        }
    };
    match check_consistency(args, &old, &verifier)? {
        Ok((new, bundle)) => {
            if let ProofSource::Records { reason } = &bundle.source {
                writeln!(
                    ctx.err,
                    "note: the Merkle tiles were not used ({}); the proof was computed from the \
                     records",
                    display_safe(reason)
                )?;
            }
            if let Some(path) = &args.proof_out {
                write_witness_request(path, old.size, &bundle)?;
            }
            let key = if key_given { "the key given" } else { "the key in log.meta" };
            if json {
                print_json(
                    ctx.out,
                    &json!({
                        "verdict": report.verdict().word(),
                        "old_size": old.size,
                        "new_size": new,
                        "key": if key_given { "given" } else { "log_meta" },
                        "proof_out": args.proof_out.as_ref().map(|p| p.display().to_string()),
                        "verify": verify_json(),
                    }),
                )?;
                return exit_status(report.verdict(), args.require, ctx.err);
            }
            writeln!(
                ctx.out,
                "{}: the log at tree size {new} extends the old checkpoint of size {}: the \
                 old checkpoint verifies with {key}, the log's Merkle tree at that size has \
                 its root, the latest checkpoint is consistent with it (Merkle consistency \
                 proof), and verify found no failure",
                report.verdict(),
                old.size
            )?;
            writeln!(ctx.out, "verify: {}", verdict_line(&report))?;
            exit_status(report.verdict(), args.require, ctx.err)
        }
        Err(Fail(reason)) => fail(ctx, reason, Some(verify_json())),
    }
}

/// Writes the body of a C2SP tlog-witness `add-checkpoint` request: `old <size>`, the proof
/// hashes one per line in base64, an empty line, then the checkpoint note.
fn write_witness_request(
    path: &std::path::Path,
    old_size: u64,
    bundle: &audit_store::ConsistencyBundle,
) -> anyhow::Result<()> {
    use base64::Engine as _;
    let mut body = format!("old {old_size}\n");
    for hash in &bundle.proof.path {
        body.push_str(&base64::engine::general_purpose::STANDARD.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&bundle.checkpoint);
    std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))
}

fn check_consistency(
    args: &ConsistencyArgs,
    old: &Checkpoint,
    verifier: &NoteVerifier,
) -> anyhow::Result<Result<(u64, audit_store::ConsistencyBundle), Fail>> {
    let bundle = match consistency_proof(&args.dir, old.size, None) {
        Ok(bundle) => bundle,
        Err(StoreError::OutOfRange { size, .. }) => {
            return Ok(Err(Fail(format!(
                "the log holds {size} records but the old checkpoint covers {}: records were \
                 removed from the end, or the log was rolled back",
                old.size
            ))));
        }
        Err(StoreError::Damaged { file, offset, reason }) => {
            return Ok(Err(Fail(format!(
                "the log is damaged in {file} at offset {offset}: {reason} (run `audit verify`)"
            ))));
        }
        Err(e) => return Err(e).context("computing the consistency proof"),
    };
    let new = match open_checkpoint(&bundle.checkpoint, verifier) {
        Ok(new) => new,
        Err(e) => {
            return Ok(Err(Fail(format!(
                "the log's latest checkpoint does not verify with this key: {e}"
            ))));
        }
    };
    if bundle.old_root != old.root {
        return Ok(Err(Fail(format!(
            "the log's first {} records do not have the old checkpoint's root: the log was \
             rewritten or forked",
            old.size
        ))));
    }
    if let Err(e) = verify_consistency(&bundle.proof, &old.root, &new.root) {
        return Ok(Err(Fail(format!(
            "the log's latest checkpoint (size {}) is not consistent with the old one: {e}",
            new.size
        ))));
    }
    Ok(Ok((new.size, bundle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decoding_is_strict() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 255, 16]));
        for bad in ["0", "0g", "FF", " 0"] {
            assert_eq!(decode_hex(bad), None, "{bad}");
        }
    }
}
