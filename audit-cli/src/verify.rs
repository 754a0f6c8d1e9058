//! `audit verify`: PASS/FAIL per segment, the first failure with file, offset, sequence number
//! and reason, a summary of which records are proven, warnings, restarts, recoveries and drops,
//! and the verdict (PASS, PARTIAL, ANCHORED, CHAINED or FAIL) with a sentence saying exactly what
//! was proven. Exit 1 on FAIL, or on a verdict weaker than `--require-key` or
//! `--require-anchor` demand; 0 otherwise.

use std::io::Write;
use std::path::Path;

use audit_store::{
    FailureKind, SegmentReport, SegmentStatus, Verdict, VerifyFailure, VerifyOptions, VerifyReport,
    verify_with_progress,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use input_validation::display_safe;
use serde_json::{Value, json};

use crate::Ctx;
use crate::cli::{Require, VerifyArgs};
use crate::error::{ExitStatus, usage};
use crate::keyfile::{TrustAnchor, load_trust_anchor, read_text};
use crate::output::json_pretty;

/// Logs smaller than this verify too fast for a progress bar to be worth drawing.
const PROGRESS_MIN_BYTES: u64 = 32 * 1024 * 1024;

pub(crate) fn run(args: &VerifyArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<ExitStatus> {
    let anchor = load_anchor(args.verification_key.as_deref(), args.require, "--verification-key")?;
    require_log(&args.dir)?;
    let mut options = options(anchor.as_ref(), &args.trusted_checkpoint, args.min_retention_days)?;
    for path in &args.witness_key {
        options.witness_keys.push(read_text(path)?.trim().to_owned());
    }
    let json = args.json || args.format.json();
    let report = run_verify(&args.dir, &options, ctx.err_is_terminal && !json)?;
    if json {
        writeln!(ctx.out, "{}", json_pretty(&report_json(&report, anchor.as_ref())))?;
    } else {
        write_text(ctx.out, &report, anchor.as_ref())?;
    }
    exit_status(report.verdict(), args.require, ctx.err)
}

/// Loads the trust anchor named by `flag`, if any. With `--require-key`, anything but verifier
/// material is a usage error, found before the log is read.
pub(crate) fn load_anchor(
    path: Option<&Path>,
    require: Require,
    flag: &str,
) -> anyhow::Result<Option<TrustAnchor>> {
    let anchor = path.map(load_trust_anchor).transpose()?;
    if require.require_key && !matches!(anchor, Some(TrustAnchor::Material(_))) {
        let what = match (&anchor, path) {
            (Some(_), Some(path)) => format!("{} holds only a public key", path.display()),
            _ => format!("no {flag} was given"),
        };
        return Err(usage(format!(
            "--require-key needs the log's verifier material (from `audit init`) given with \
             {flag}: {what}"
        )));
    }
    Ok(anchor)
}

/// The exit status for a verdict under what the script demanded; says on standard error why a
/// verdict without failure still exits 1.
pub(crate) fn exit_status(
    verdict: Verdict,
    require: Require,
    err: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    if verdict == Verdict::Fail {
        return Ok(ExitStatus::Finding);
    }
    if require.require_key && verdict != Verdict::Pass {
        writeln!(
            err,
            "audit: --require-key: the verdict is {verdict}, not PASS: not every record present \
             is authenticated with the verifier material"
        )?;
        return Ok(ExitStatus::Finding);
    }
    if require.require_anchor && !verdict.is_authenticated() {
        writeln!(
            err,
            "audit: --require-anchor: the verdict is {verdict}: nothing was authenticated by \
             verifier material or a checkpoint held off the host"
        )?;
        return Ok(ExitStatus::Finding);
    }
    Ok(ExitStatus::Success)
}

/// A directory with neither `log.meta` nor a segment file is not a log at all (a usage error);
/// one with segments but no `log.meta` is a log whose metadata is missing, which verification
/// reports as a finding.
fn require_log(dir: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    let mut names = entries.filter_map(Result::ok).map(|e| e.file_name());
    let is_log = names.any(|n| {
        n.to_str()
            .is_some_and(|n| n == "log.meta" || (n.starts_with("seg-") && n.ends_with(".log")))
    });
    if is_log {
        Ok(())
    } else {
        Err(usage(format!("{} holds no audit log (no log.meta, no segment)", dir.display())))
    }
}

/// Verify options from what the operator gave.
pub(crate) fn options(
    anchor: Option<&TrustAnchor>,
    trusted: &[std::path::PathBuf],
    min_retention_days: Option<u32>,
) -> anyhow::Result<VerifyOptions> {
    let mut options = VerifyOptions::default();
    options.min_retention_days = min_retention_days;
    match anchor {
        Some(TrustAnchor::Material(m)) => options.material = Some(m.clone()),
        Some(TrustAnchor::PublicKey(k)) => options.public_key = Some(k.clone()),
        None => {}
    }
    for path in trusted {
        options.trusted_checkpoints.push(read_text(path)?);
    }
    Ok(options)
}

/// Runs verification, with a progress bar on standard error for large logs when `progress`.
pub(crate) fn run_verify(
    dir: &Path,
    options: &VerifyOptions,
    progress: bool,
) -> anyhow::Result<VerifyReport> {
    let mut bar: Option<ProgressBar> = None;
    let mut on_progress = |done: u64, total: u64| {
        if !progress || total < PROGRESS_MIN_BYTES {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "verifying {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            bar
        });
        bar.set_position(done);
    };
    let report = verify_with_progress(dir, options, &mut on_progress)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

/// The word for one segment: FAIL or SKIP, or for a segment without failure what was proven of
/// its records: PASS (authenticated with the verifier material), ANCHORED (by a checkpoint held
/// off the host), PARTIAL (its first records only) or CHAINED (none).
fn segment_word(report: &VerifyReport, segment: &SegmentReport) -> &'static str {
    match segment.status {
        SegmentStatus::Failed => return "FAIL",
        SegmentStatus::NotChecked => return "SKIP",
        SegmentStatus::Intact => {}
    }
    let Some(proven) = &report.proven else { return "CHAINED" };
    let last = (segment.first_seq + segment.records).saturating_sub(1);
    if proven.through_seq >= last {
        if report.seals_authenticated { "PASS" } else { "ANCHORED" }
    } else if proven.through_seq >= segment.first_seq && segment.records > 0 {
        "PARTIAL"
    } else {
        "CHAINED"
    }
}

/// Where a failure is, as one phrase: `seg-….log offset 120 seq 17`.
pub(crate) fn failure_place(failure: &VerifyFailure) -> String {
    let mut place = match &failure.segment {
        Some(segment) => display_safe(segment).into_owned(),
        None => "log".to_owned(),
    };
    if let Some(offset) = failure.offset {
        place.push_str(&format!(" offset {offset}"));
    }
    if let Some(seq) = failure.seq {
        place.push_str(&format!(" seq {seq}"));
    }
    place
}

/// The one-line summary: `N/M segments intact, R records; records F..S proven at TIME by X`
/// (F is the first record present, above 0 after a retention purge).
pub(crate) fn summary(report: &VerifyReport) -> String {
    let intact =
        report.segments.iter().filter(|s| matches!(s.status, SegmentStatus::Intact)).count();
    let mut line =
        format!("{intact}/{} segments intact, {} records; ", report.segments.len(), report.records);
    match (&report.proven, report.proven_range()) {
        (Some(p), Some(range)) => {
            line.push_str(&format!("{range} proven at {} by {}", p.at, display_safe(&p.by)));
        }
        _ => line
            .push_str("none proven: no authenticated seal or trusted checkpoint covers any record"),
    }
    line
}

/// The verdict line: `WORD: what was and was not proven`.
pub(crate) fn verdict_line(report: &VerifyReport) -> String {
    let (verdict, text) = report.conclusion();
    format!("{verdict}: {}", display_safe(&text))
}

pub(crate) fn write_text(
    out: &mut dyn Write,
    report: &VerifyReport,
    anchor: Option<&TrustAnchor>,
) -> anyhow::Result<()> {
    let log = report.log_id.map_or_else(|| "unknown".to_owned(), |id| id.to_string());
    let with = anchor.map_or("no key: consistency checks only", TrustAnchor::describe);
    writeln!(out, "log {log}, checked with {with}")?;
    for segment in &report.segments {
        let name = display_safe(&segment.file);
        let (first, n) = (segment.first_seq, segment.records);
        let word = segment_word(report, segment);
        match segment.status {
            SegmentStatus::NotChecked => writeln!(out, "SKIP {name}  not checked")?,
            SegmentStatus::Intact if n == 0 => writeln!(out, "{word} {name}  no records")?,
            SegmentStatus::Intact => {
                writeln!(out, "{word} {name}  records {first}..{}", first + n - 1)?;
            }
            SegmentStatus::Failed if n == 0 => {
                writeln!(out, "FAIL {name}  failed before its first record")?;
            }
            SegmentStatus::Failed => writeln!(
                out,
                "FAIL {name}  records {first}..{} intact, then the failure below",
                first + n - 1
            )?,
        }
    }
    if let Some(failure) = &report.failure {
        writeln!(
            out,
            "FAIL {} ({}): {}",
            failure_place(failure),
            kind_name(failure.kind),
            display_safe(&failure.reason)
        )?;
    }
    writeln!(out, "{}", summary(report))?;
    for warning in &report.warnings {
        writeln!(out, "warning: {}", display_safe(warning))?;
    }
    if !report.resumes.is_empty() {
        let list: Vec<String> =
            report.resumes.iter().map(|(seq, at)| format!("seq {seq} at {at}")).collect();
        writeln!(out, "writer restarts: {} ({})", list.len(), list.join(", "))?;
    }
    if !report.recoveries.is_empty() {
        let list: Vec<String> = report
            .recoveries
            .iter()
            .map(|(seq, bytes)| format!("seq {seq}: {bytes} torn bytes discarded"))
            .collect();
        writeln!(out, "crash recoveries: {} ({})", list.len(), list.join(", "))?;
    }
    if report.dropped_events > 0 {
        writeln!(out, "dropped events on record: {}", report.dropped_events)?;
    }
    if let Some((first, last)) = report.purged {
        writeln!(out, "removed by retention: records {first}..{last}")?;
    }
    match report.legal_hold {
        Some(true) => writeln!(out, "legal hold: in force (retention removes nothing)")?,
        Some(false) => writeln!(out, "legal hold: lifted")?,
        None => {}
    }
    writeln!(out, "{}", verdict_line(report))?;
    Ok(())
}

/// A stable lowercase name for a failure kind (text and JSON).
pub(crate) fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Identity => "identity",
        FailureKind::Header => "header",
        FailureKind::Framing => "framing",
        FailureKind::Chain => "chain",
        FailureKind::Sequence => "sequence",
        FailureKind::Missing => "missing",
        FailureKind::Seal => "seal",
        FailureKind::Coverage => "coverage",
        FailureKind::Checkpoint => "checkpoint",
        FailureKind::Purge => "purge",
        FailureKind::Index => "index",
        _ => "other",
    }
}

/// The report as one JSON object (strings escaped when printed).
pub(crate) fn report_json(report: &VerifyReport, anchor: Option<&TrustAnchor>) -> Value {
    let segments: Vec<Value> = report
        .segments
        .iter()
        .map(|s| {
            json!({
                "file": s.file,
                "first_seq": s.first_seq,
                "records": s.records,
                "status": segment_word(report, s),
            })
        })
        .collect();
    let failure = report.failure.as_ref().map(|f| {
        json!({
            "kind": kind_name(f.kind),
            "segment": f.segment,
            "offset": f.offset,
            "seq": f.seq,
            "reason": f.reason,
        })
    });
    let proven = report.proven.as_ref().map(|p| {
        json!({
            "first_seq": report.first_seq,
            "through_seq": p.through_seq,
            "at": p.at.to_string(),
            "by": p.by,
        })
    });
    let (verdict, conclusion) = report.conclusion();
    json!({
        "verdict": verdict.word(),
        "authenticated": verdict.is_authenticated(),
        "conclusion": conclusion,
        "intact": report.is_intact(),
        "log_id": report.log_id.map(|id| id.to_string()),
        "verification_key": match anchor {
            Some(TrustAnchor::Material(_)) => "verifier_material",
            Some(TrustAnchor::PublicKey(_)) => "public_key",
            None => "none",
        },
        "segments": segments,
        "records": report.records,
        "first_seq": report.first_seq,
        "next_seq": report.next_seq,
        "failure": failure,
        "proven": proven,
        "seals": report.seals,
        "seals_authenticated": report.seals_authenticated,
        "checkpoints": report.checkpoints,
        "last_record_time": report.last_record_time.map(|t| t.to_string()),
        "torn_tail": report.torn_tail.as_ref().map(|(segment, offset, bytes)| {
            json!({ "segment": segment, "offset": offset, "bytes": bytes })
        }),
        "resumes": report.resumes.iter().map(|(seq, at)| {
            json!({ "seq": seq, "time": at.to_string() })
        }).collect::<Vec<_>>(),
        "recoveries": report.recoveries.iter().map(|(seq, bytes)| {
            json!({ "seq": seq, "bytes_discarded": bytes })
        }).collect::<Vec<_>>(),
        "dropped_events": report.dropped_events,
        "purged": report.purged.map(|(first, last)| json!({ "first_seq": first, "last_seq": last })),
        "legal_hold": report.legal_hold,
        "warnings": report.warnings,
        "summary": summary(report),
    })
}
