//! Honest verdicts: `verify`, `report` and `consistency` say PASS only when the verifier
//! material authenticated every record present; an intact-looking log that nothing
//! authenticated (which is what an intruder who rewrote the whole log, recomputing every hash
//! that needs no key, leaves behind) gets another word; material of another log is a usage
//! error; consistency vouches for nothing `verify` would reject.

use audit_events::{AuditEvent, Body, SystemRecord};
use audit_testkit::tamper;
use serde_json::Value;

use crate::support::{Fixture, at, audit, entries, new_log, segments, written_log};

/// The last line of a run's standard output.
fn last_line(run: &crate::support::Run) -> &str {
    run.stdout.lines().last().unwrap_or_default()
}

/// Rewrites the whole log as an intruder without any key would, following FORMAT.md: one
/// record changed, every seal record dropped, chain hashes, Merkle frontier and segment headers
/// recomputed, every checkpoint file removed (they would not match, and nothing requires them).
fn forge_whole_log(fixture: &Fixture) {
    let mut records: Vec<_> = tamper::read_records(&fixture.dir)
        .unwrap()
        .into_iter()
        .filter(|r| !matches!(r.body, Body::System(SystemRecord::Seal { .. })))
        .collect();
    let target = records
        .iter()
        .position(|r| matches!(r.event(), Some(AuditEvent::AuthFailure { .. })))
        .unwrap();
    if let Body::Event(e) = &mut records[target].body
        && let AuditEvent::AuthFailure { reason, .. } = &mut e.event
    {
        *reason = "nothing to see here".to_owned();
    }
    tamper::rewrite(&fixture.dir, &records, &mut |_| None).unwrap();
    for entry in std::fs::read_dir(&fixture.dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name == "checkpoint" || name.starts_with("checkpoint-") {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

#[test]
fn unkeyed_verify_of_an_intact_log_is_chained_not_pass() {
    let fixture = written_log(3);
    let run = fixture.audit(&["verify", "{dir}"]).expect(0);
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
    assert!(!run.stdout.contains("the log is intact"), "{}", run.stdout);
    assert!(last_line(&run).starts_with("CHAINED: records 0.."), "{}", run.stdout);
    assert!(last_line(&run).contains("nothing was authenticated"), "{}", run.stdout);
    // A public key checks checkpoint signatures, which the host's own key can forge: no more.
    let key = fixture.public_key_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(0);
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
    assert!(last_line(&run).starts_with("CHAINED: "), "{}", run.stdout);
    let json = fixture.audit(&["verify", "{dir}", "--json"]).expect(0);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["verdict"], "CHAINED");
    assert_eq!(report["authenticated"], false);
    assert_eq!(report["proven"], Value::Null);
    // With the material: PASS, and the range proven is named.
    let key = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(0);
    assert!(last_line(&run).starts_with("PASS: the log is intact: records 0.."), "{}", run.stdout);
}

#[test]
fn require_key_and_require_anchor_turn_weak_verdicts_into_exit_codes() {
    let fixture = written_log(3);
    // Before the log is even looked at: no material is a usage error.
    let run = audit(&["verify", fixture.path("absent").to_str().unwrap(), "--require-key"]);
    let run = run.expect(2);
    assert!(
        run.stderr.contains("--require-key needs the log's verifier material"),
        "{}",
        run.stderr
    );
    let public = fixture.public_key_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--require-key", "--verification-key", public]);
    assert!(run.expect(2).stderr.contains("holds only a public key"));
    let run = fixture.audit(&["verify", "{dir}", "--require-anchor"]).expect(1);
    assert!(last_line(&run).starts_with("CHAINED: "), "{}", run.stdout);
    assert!(run.stderr.contains("--require-anchor"), "{}", run.stderr);
    let material = fixture.material_file.to_str().unwrap();
    for flag in ["--require-key", "--require-anchor"] {
        fixture.audit(&["verify", "{dir}", flag, "--verification-key", material]).expect(0);
    }
    // A checkpoint held off the host anchors what it covers, without the material.
    let held = fixture.path("held.note");
    std::fs::copy(fixture.dir.join("checkpoint"), &held).unwrap();
    let held = held.to_str().unwrap();
    let run = fixture
        .audit(&["verify", "{dir}", "--require-anchor", "--trusted-checkpoint", held])
        .expect(0);
    assert!(last_line(&run).starts_with("ANCHORED: records 0.."), "{}", run.stdout);
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
    fixture.audit(&["report", "{dir}", "--framework", "soc2", "--require-anchor"]).expect(1);
    let run = fixture.audit(&["report", "{dir}", "--framework", "soc2", "--require-key"]);
    assert!(run.expect(2).stderr.contains("--verification-key"));
}

#[test]
fn records_after_the_last_seal_make_the_verdict_partial() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.seal_if_due(at(61)).unwrap();
    writer.append_batch(&entries(5, at(62)), at(62)).unwrap();
    drop(writer);
    let key = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(0);
    let last = last_line(&run);
    assert!(last.starts_with("PARTIAL: records 0.."), "{}", run.stdout);
    assert!(last.contains("chained but not proven"), "{}", run.stdout);
    fixture.audit(&["verify", "{dir}", "--verification-key", key, "--require-key"]).expect(1);
    fixture.audit(&["verify", "{dir}", "--verification-key", key, "--require-anchor"]).expect(0);
}

#[test]
fn a_whole_log_rewritten_without_any_key_is_never_pass() {
    // Long enough (more than the ten epochs of slack) that unsealed records are a finding.
    let fixture = written_log(50);
    forge_whole_log(&fixture);
    let run = fixture.audit(&["verify", "{dir}"]).expect(0);
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
    assert!(last_line(&run).starts_with("CHAINED: "), "{}", run.stdout);
    fixture.audit(&["verify", "{dir}", "--require-anchor"]).expect(1);
    let key = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(1);
    assert!(last_line(&run).starts_with("FAIL: "), "{}", run.stdout);
    let md = fixture.audit(&["report", "{dir}", "--framework", "soc2"]).expect(0);
    let said = "**NOT PROVEN**: verify's verdict is CHAINED";
    assert!(!md.stdout.contains("PASS") && md.stdout.contains(said), "{}", md.stdout);
}

#[test]
fn verifier_material_of_another_log_is_a_usage_error_naming_both_logs() {
    let fixture = written_log(2);
    let other = written_log(1);
    let wrong = other.material_file.to_str().unwrap();
    for command in [
        vec!["verify", "{dir}", "--verification-key", wrong],
        vec!["verify", "{dir}", "--verification-key", wrong, "--json"],
        vec!["report", "{dir}", "--framework", "gdpr", "--verification-key", wrong],
        vec!["consistency", "{dir}", "--old", "{dir}/checkpoint", "--public-key", wrong],
    ] {
        let run = fixture.audit(&command);
        assert_eq!(run.code, 2, "{command:?}:\n{}{}", run.stdout, run.stderr);
        let (mine, theirs) =
            (fixture.material.log_id.to_string(), other.material.log_id.to_string());
        assert!(run.stderr.contains(&mine) && run.stderr.contains(&theirs), "{}", run.stderr);
    }
    // log.meta relabelled while the segments still name the material's log: that is
    // tampering, not a usage error.
    let meta = std::fs::read_to_string(fixture.dir.join("log.meta")).unwrap();
    let relabelled =
        meta.replace(&fixture.material.log_id.to_string(), &other.material.log_id.to_string());
    std::fs::write(fixture.dir.join("log.meta"), relabelled).unwrap();
    let key = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(1);
    assert!(run.stdout.contains("(identity): log.meta names log"), "{}", run.stdout);
}

#[test]
fn consistency_fails_where_verify_fails_after_the_first_segments_are_deleted() {
    let fixture = written_log(16);
    let held = fixture.path("held.note");
    std::fs::copy(fixture.dir.join("checkpoint"), &held).unwrap();
    let held = held.to_str().unwrap();
    let public = fixture.public_key_file.to_str().unwrap();
    let material = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["consistency", "{dir}", "--old", held, "--public-key", material]);
    assert!(run.expect(0).stdout.starts_with("PASS: the log at tree size "));
    // With only a public key the old checkpoint anchors what it covers, and no more is claimed.
    let run = fixture.audit(&["consistency", "{dir}", "--old", held, "--public-key", public]);
    let run = run.expect(0);
    assert!(run.stdout.starts_with("ANCHORED: the log at tree size "), "{}", run.stdout);
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
    fixture
        .audit(&["consistency", "{dir}", "--old", held, "--public-key", public, "--require-key"])
        .expect(2);

    let files = segments(&fixture.dir);
    assert!(files.len() > 3);
    std::fs::remove_file(&files[0]).unwrap();
    std::fs::remove_file(&files[1]).unwrap();
    for key in [public, material] {
        let run = fixture.audit(&["consistency", "{dir}", "--old", held, "--public-key", key]);
        let run = run.expect(1);
        assert!(run.stdout.starts_with("FAIL: "), "{}", run.stdout);
        assert!(run.stdout.contains("(missing)"), "{}", run.stdout);
        assert!(!run.stdout.contains("PASS"), "{}", run.stdout);
    }
    fixture.audit(&["verify", "{dir}", "--verification-key", material]).expect(1);
}

#[test]
fn report_without_the_material_never_says_pass_or_intact() {
    let fixture = written_log(3);
    for format in ["md", "html"] {
        let run = fixture.audit(&["report", "{dir}", "--framework", "soc2", "--format", format]);
        let run = run.expect(0);
        assert!(!run.stdout.contains("PASS"), "{format}:\n{}", run.stdout);
        assert!(!run.stdout.contains("the log is intact"), "{format}:\n{}", run.stdout);
        assert!(run.stdout.contains("CHAINED"), "{format}:\n{}", run.stdout);
    }
    let run = fixture.audit(&["report", "{dir}", "--framework", "soc2", "--format", "json"]);
    let report: Value = serde_json::from_str(&run.expect(0).stdout).unwrap();
    assert_eq!(report["integrity"]["verdict"], "CHAINED");
    assert_eq!(report["integrity"]["authenticated"], false);
    let key = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["report", "{dir}", "--framework", "soc2", "--verification-key", key]);
    assert!(run.expect(0).stdout.contains("**PASS**: the log is intact: records 0.."));
}

#[test]
fn after_a_retention_purge_only_the_records_present_are_said_to_be_proven() {
    const DAY: i64 = 86_400;
    let (fixture, writer) = new_log();
    drop(writer);
    let mut config = crate::support::config();
    config.retention.days = 2;
    let mut writer = audit_store::LogWriter::open(&fixture.dir, config, at(1)).unwrap();
    for d in 0..5 {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    let outcome = writer.apply_retention(at(5 * DAY)).unwrap().unwrap();
    writer.close(at(5 * DAY + 1)).unwrap();
    let first = outcome.last_seq + 1;
    let key = fixture.material_file.to_str().unwrap();
    let args = ["verify", "{dir}", "--verification-key", key, "--min-retention-days", "2"];
    let run = fixture.audit(&args).expect(0);
    assert!(!run.stdout.contains("proven through"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("; records {first}..")), "{}", run.stdout);
    let verdict = format!("PASS: the log is intact: records {first}..");
    assert!(last_line(&run).starts_with(&verdict), "{}", run.stdout);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let report: Value = serde_json::from_str(&fixture.audit(&json_args).expect(0).stdout).unwrap();
    assert_eq!(report["proven"]["first_seq"], first);
    assert_eq!(report["verdict"], "PASS");
    assert_eq!(report["authenticated"], true);
}

#[test]
fn verify_help_explains_every_verdict() {
    let run = audit(&["verify", "--help"]).expect(0);
    for word in
        ["PASS", "PARTIAL", "ANCHORED", "CHAINED", "FAIL", "--require-key", "--require-anchor"]
    {
        assert!(run.stdout.contains(word), "{word}:\n{}", run.stdout);
    }
}
