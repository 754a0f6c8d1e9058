//! `audit verify`: PASS on intact logs, exit 1 naming the place on every tampered one.

use audit_events::{AuditEvent, Body};
use audit_testkit::tamper;
use serde_json::Value;

use crate::support::{at, audit, copy_log, entries, file_name, new_log, segments, written_log};

#[test]
fn an_intact_log_passes_segment_by_segment() {
    let fixture = written_log(16);
    let files = segments(&fixture.dir);
    assert!(files.len() >= 3);
    let run = fixture
        .audit(&["verify", "{dir}", "--verification-key", fixture.material_file.to_str().unwrap()])
        .expect(0);
    for file in &files {
        let line = format!("PASS {}  records ", file_name(file));
        assert!(run.stdout.contains(&line), "{line} missing:\n{}", run.stdout);
    }
    let n = files.len();
    assert!(run.stdout.contains(&format!("{n}/{n} segments intact, ")), "{}", run.stdout);
    assert!(run.stdout.contains(" proven at "), "{}", run.stdout);
    assert!(run.stdout.contains("checked with verifier material"), "{}", run.stdout);
    assert!(run.stdout.contains("\nPASS: the log is intact: records 0.."), "{}", run.stdout);
}

#[test]
fn verify_says_what_it_was_checked_with() {
    let fixture = written_log(3);
    let run = fixture.audit(&["verify", "{dir}"]).expect(0);
    assert!(run.stdout.contains("no key"), "{}", run.stdout);
    assert!(run.stdout.contains("warning: no verifier material"), "{}", run.stdout);
    let run = fixture
        .audit(&[
            "verify",
            "{dir}",
            "--verification-key",
            fixture.public_key_file.to_str().unwrap(),
        ])
        .expect(0);
    assert!(run.stdout.contains("checkpoint public key"), "{}", run.stdout);
}

#[test]
fn json_output_is_one_object_with_the_whole_report() {
    let fixture = written_log(4);
    let key = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key, "--json"]).expect(0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["verdict"], "PASS");
    assert_eq!(report["authenticated"], true);
    assert_eq!(report["verification_key"], "verifier_material");
    assert_eq!(report["seals_authenticated"], true);
    assert!(report["records"].as_u64().unwrap() > 28);
    assert_eq!(report["proven"]["through_seq"].as_u64().unwrap() + 1, report["next_seq"]);
    assert!(report["segments"].as_array().unwrap().iter().all(|s| s["status"] == "PASS"));
    assert!(run.stderr.is_empty(), "no progress bar or noise: {}", run.stderr);
}

/// Runs verify with the fixture's material and returns the run, asserting exit 1.
fn tampered(fixture: &crate::support::Fixture, extra: &[&str]) -> crate::support::Run {
    let key = fixture.material_file.to_str().unwrap();
    let mut args = vec!["verify", "{dir}", "--verification-key", key];
    args.extend_from_slice(extra);
    let run = fixture.audit(&args).expect(1);
    assert!(run.stdout.ends_with("FAIL: the log was altered, or records are missing\n"));
    run
}

#[test]
fn a_flipped_byte_fails_and_names_segment_offset_and_seq() {
    let fixture = written_log(16);
    let files = segments(&fixture.dir);
    let target = &files[1];
    let mut bytes = std::fs::read(target).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    std::fs::write(target, &bytes).unwrap();
    let run = tampered(&fixture, &[]);
    let name = file_name(target);
    assert!(run.stdout.contains(&format!("PASS {}", file_name(&files[0]))), "{}", run.stdout);
    let fail = run
        .lines()
        .into_iter()
        .find(|l| l.starts_with(&format!("FAIL {name} offset ")))
        .unwrap_or_else(|| panic!("no failure line naming {name}:\n{}", run.stdout));
    assert!(fail.contains(" seq "), "{fail}");
    assert!(run.stdout.contains(&format!("SKIP {}  not checked", file_name(&files[2]))));
    let n = files.len();
    assert!(run.stdout.contains(&format!("1/{n} segments intact")), "{}", run.stdout);

    let key = fixture.material_file.to_str().unwrap();
    let json = fixture.audit(&["verify", "{dir}", "--verification-key", key, "--json"]).expect(1);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["failure"]["segment"], name);
    assert!(report["failure"]["seq"].as_u64().is_some());
    assert!(report["failure"]["offset"].as_u64().is_some());
}

#[test]
fn a_deleted_segment_fails_as_missing_records() {
    let fixture = written_log(16);
    let files = segments(&fixture.dir);
    std::fs::remove_file(&files[1]).unwrap();
    let run = tampered(&fixture, &[]);
    let next = file_name(&files[2]);
    let first_missing: u64 = file_name(&files[1])[4..24].parse().unwrap();
    let fail =
        format!("FAIL {next} offset 0 seq {first_missing} (missing): records {first_missing}..");
    assert!(run.stdout.contains(&fail), "{fail} missing:\n{}", run.stdout);
    assert!(run.stdout.contains("a segment was deleted"), "{}", run.stdout);
}

#[test]
fn a_truncated_tail_fails_against_a_held_checkpoint() {
    let fixture = written_log(3);
    let held = fixture.path("held.note");
    std::fs::copy(fixture.dir.join("checkpoint"), &held).unwrap();
    let file = segments(&fixture.dir).pop().unwrap();
    let records = tamper::read_records(&fixture.dir).unwrap();
    let last = records.last().unwrap().encode().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    // Cut the last frame (4-byte length, payload, 32-byte chain hash) and re-sign what is left,
    // as an intruder holding the host's signing key would.
    std::fs::write(&file, &bytes[..bytes.len() - last.len() - 36]).unwrap();
    tamper::resign_checkpoint(&fixture.dir).unwrap();
    let run = tampered(&fixture, &["--trusted-checkpoint", held.to_str().unwrap()]);
    let size = records.len();
    let segment = file.file_name().unwrap().to_str().unwrap();
    assert!(
        run.stdout.contains(&format!("FAIL {segment} seq {} (checkpoint): ", size - 1)),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("removed from the end"), "{}", run.stdout);
}

#[test]
fn a_rewritten_log_fails_with_the_material_and_names_the_seal() {
    let fixture = written_log(4);
    let mut records = tamper::read_records(&fixture.dir).unwrap();
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
    tamper::resign_checkpoint(&fixture.dir).unwrap();
    // Without the material the rewrite is self-consistent...
    fixture.audit(&["verify", "{dir}"]).expect(0);
    // ...with it, the seal covering the change gives it away.
    let run = tampered(&fixture, &[]);
    assert!(run.stdout.contains("(seal): "), "{}", run.stdout);
    assert!(run.stdout.contains("FAIL seg-00000000000000000000.log offset "), "{}", run.stdout);
}

#[test]
fn material_of_another_log_is_a_usage_error_and_a_missing_key_file_is_an_io_error() {
    let fixture = written_log(2);
    let other = written_log(1);
    let run = fixture
        .audit(&["verify", "{dir}", "--verification-key", other.material_file.to_str().unwrap()])
        .expect(2);
    assert!(run.stderr.contains("the verifier material is for log "), "{}", run.stderr);
    let missing = fixture.path("nope.verifier");
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", missing.to_str().unwrap()]);
    let run = run.expect(3);
    assert!(run.stderr.contains("nope.verifier"), "{}", run.stderr);
    let garbage = fixture.path("garbage");
    std::fs::write(&garbage, "not a key\nat all\n").unwrap();
    fixture.audit(&["verify", "{dir}", "--verification-key", garbage.to_str().unwrap()]).expect(2);
}

#[test]
fn a_crash_recovery_and_restart_are_reported_not_failed() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(6, at(1)), at(1)).unwrap();
    drop(writer);
    let file = segments(&fixture.dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[9, 0, 0, 0, 1, 2]);
    std::fs::write(&file, &bytes).unwrap();
    let key = fixture.material_file.to_str().unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(0);
    assert!(run.stdout.contains("torn write of 6 bytes"), "{}", run.stdout);
    fixture.open(at(2)).close(at(3)).unwrap();
    let run = fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(0);
    assert!(run.stdout.contains("writer restarts: 1"), "{}", run.stdout);
    assert!(run.stdout.contains("crash recoveries: 1"), "{}", run.stdout);
    assert!(run.stdout.contains("6 torn bytes discarded"), "{}", run.stdout);
}

#[test]
fn verify_of_a_copy_made_elsewhere_still_passes() {
    let fixture = written_log(2);
    let copy = fixture.path("copy");
    copy_log(&fixture.dir, &copy);
    let key = fixture.material_file.to_str().unwrap();
    crate::support::audit(&["verify", copy.to_str().unwrap(), "--verification-key", key]).expect(0);
    audit(&["verify", fixture.path("absent").to_str().unwrap()]).expect(2);
}

/// What an intruder did to a copy of a closed log.
type Tamper = fn(&crate::support::Fixture, &std::path::Path);

#[test]
fn every_further_line_of_the_tamper_matrix_exits_1_and_names_the_place() {
    let fixture = written_log(16);
    let cases: Vec<(&str, Tamper)> = vec![
        ("delete the first segment", |_, dir| {
            std::fs::remove_file(&segments(dir)[0]).unwrap();
        }),
        ("swap two segments", |_, dir| {
            let files = segments(dir);
            let tmp = dir.join("swap");
            std::fs::rename(&files[0], &tmp).unwrap();
            std::fs::rename(&files[1], &files[0]).unwrap();
            std::fs::rename(&tmp, &files[1]).unwrap();
        }),
        ("duplicate a segment", |_, dir| {
            let files = segments(dir);
            let first: u64 = file_name(&files[1])[4..24].parse().unwrap();
            std::fs::copy(&files[1], dir.join(format!("seg-{:020}.log", first + 1))).unwrap();
        }),
        ("delete one frame without rechaining", |_, dir| {
            let file = &segments(dir)[0];
            let bytes = std::fs::read(file).unwrap();
            let records = tamper::read_records(dir).unwrap();
            let second = records[1].encode().unwrap();
            let start = bytes.windows(second.len()).position(|w| w == second.as_slice()).unwrap();
            let mut out = bytes[..start - 4].to_vec();
            out.extend_from_slice(&bytes[start + second.len() + 32..]);
            std::fs::write(file, out).unwrap();
        }),
        ("swap two records and rechain everything", |_, dir| {
            let mut records = tamper::read_records(dir).unwrap();
            records.swap(5, 6);
            tamper::rewrite(dir, &records, &mut |_| None).unwrap();
            tamper::resign_checkpoint(dir).unwrap();
        }),
    ];
    let key = fixture.material_file.to_str().unwrap();
    for (what, tamper_with) in cases {
        let dir = fixture.path(&what.replace(' ', "-"));
        copy_log(&fixture.dir, &dir);
        tamper_with(&fixture, &dir);
        let run = audit(&["verify", dir.to_str().unwrap(), "--verification-key", key]);
        assert_eq!(run.code, 1, "{what}:\n{}{}", run.stdout, run.stderr);
        let fail = run
            .lines()
            .into_iter()
            .find(|l| l.starts_with("FAIL ") && l.contains(" seq ") && l.contains("): "))
            .unwrap_or_else(|| panic!("{what}: no failure naming a place:\n{}", run.stdout));
        assert!(
            fail.starts_with("FAIL seg-") || fail.starts_with("FAIL log seq "),
            "{what}: {fail}"
        );
    }
}

#[test]
fn a_rollback_is_caught_by_a_held_newer_checkpoint() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.seal_if_due(at(61)).unwrap();
    drop(writer);
    let earlier = fixture.path("earlier");
    copy_log(&fixture.dir, &earlier);
    let mut writer = fixture.open(at(62));
    writer.append_batch(&entries(5, at(63)), at(63)).unwrap();
    writer.close(at(64)).unwrap();
    let held = fixture.path("held.note");
    std::fs::copy(fixture.dir.join("checkpoint"), &held).unwrap();
    let key = fixture.material_file.to_str().unwrap();
    let held = held.to_str().unwrap();
    fixture
        .audit(&["verify", "{dir}", "--verification-key", key, "--trusted-checkpoint", held])
        .expect(0);
    let run = audit(&[
        "verify",
        earlier.to_str().unwrap(),
        "--verification-key",
        key,
        "--trusted-checkpoint",
        held,
    ])
    .expect(1);
    assert!(run.stdout.contains("(checkpoint): "), "{}", run.stdout);
    assert!(run.stdout.contains("rolled back"), "{}", run.stdout);
}

#[test]
fn dropping_every_seal_fails_on_coverage() {
    // Longer than the verifier's slack of ten epochs between a record and its seal.
    let fixture = written_log(50);
    let records: Vec<_> = tamper::read_records(&fixture.dir)
        .unwrap()
        .into_iter()
        .filter(|r| !matches!(r.body, Body::System(audit_events::SystemRecord::Seal { .. })))
        .collect();
    tamper::rewrite(&fixture.dir, &records, &mut |_| None).unwrap();
    tamper::resign_checkpoint(&fixture.dir).unwrap();
    let run = tampered(&fixture, &[]);
    assert!(run.stdout.contains("(coverage): "), "{}", run.stdout);
}
