//! `audit checkpoint`, `prove`, `verify-proof` (offline) and `consistency`.

use serde_json::Value;

use crate::support::{at, copy_log, entries, new_log, written_log};

#[test]
fn checkpoint_prints_the_signed_note() {
    let fixture = written_log(2);
    let run = fixture.audit(&["checkpoint", "{dir}"]).expect(0);
    let origin = format!("audit/svc-test/{}", fixture.material.log_id);
    assert_eq!(run.lines()[0], origin);
    assert_eq!(run.stdout, std::fs::read_to_string(fixture.dir.join("checkpoint")).unwrap());
    assert!(run.stderr.contains("--trusted-checkpoint"), "{}", run.stderr);
}

#[test]
fn a_proof_bundle_verifies_offline_and_any_change_fails_it() {
    let fixture = written_log(6);
    let run = fixture.audit(&["prove", "{dir}", "--seq", "17"]).expect(0);
    let bundle: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(bundle["seq"], 17);
    assert_eq!(bundle["leaf_index"], 17);
    assert_eq!(bundle["record"]["seq"], 17);
    assert!(bundle["proof"].as_array().unwrap().len() >= 5);
    assert!(bundle["checkpoint"].as_str().unwrap().starts_with("audit/svc-test/"));

    // Offline: only the bundle and the public key, no log.
    let offline = tempfile::tempdir().unwrap();
    let path = offline.path().join("bundle.json");
    let key = offline.path().join("log.pub");
    std::fs::copy(&fixture.public_key_file, &key).unwrap();
    let check = |bundle: &Value| {
        std::fs::write(&path, bundle.to_string()).unwrap();
        crate::support::audit(&[
            "verify-proof",
            path.to_str().unwrap(),
            "--public-key",
            key.to_str().unwrap(),
        ])
    };
    let run = check(&bundle).expect(0);
    assert!(
        run.stdout.starts_with("PASS: record seq 17 is in log audit/svc-test/"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("#17  "), "{}", run.stdout);
    // The bundle can come on standard input.
    let piped = crate::support::audit_with_input(
        &["verify-proof", "-", "--public-key", key.to_str().unwrap()],
        bundle.to_string().as_bytes(),
    );
    assert!(piped.expect(0).stdout.starts_with("PASS: "));
    // The material works as a key file too.
    crate::support::audit(&[
        "verify-proof",
        path.to_str().unwrap(),
        "--public-key",
        fixture.material_file.to_str().unwrap(),
    ])
    .expect(0);

    let mut changed = bundle.clone();
    let hex = changed["record_hex"].as_str().unwrap().to_owned();
    let flipped =
        format!("{}{}", &hex[..hex.len() - 1], if hex.ends_with('0') { "1" } else { "0" });
    changed["record_hex"] = Value::String(flipped);
    let run = check(&changed).expect(1);
    assert!(run.stdout.starts_with("FAIL: "), "{}", run.stdout);

    let mut changed = bundle.clone();
    changed["record"]["audit_id"] = Value::String("00".repeat(16));
    let run = check(&changed).expect(1);
    assert!(run.stdout.contains("differs from the proven record"), "{}", run.stdout);

    let mut changed = bundle.clone();
    changed["tree_size"] = Value::from(3);
    check(&changed).expect(1);

    let mut changed = bundle.clone();
    changed["checkpoint"] =
        Value::String(changed["checkpoint"].as_str().unwrap().replacen('\n', "\n1", 1));
    let run = check(&changed).expect(1);
    assert!(run.stdout.contains("checkpoint does not verify"), "{}", run.stdout);

    let other = written_log(1);
    let run = crate::support::audit(&[
        "verify-proof",
        path.to_str().unwrap(),
        "--public-key",
        other.public_key_file.to_str().unwrap(),
    ]);
    run.expect(1);

    let mut broken = bundle.clone();
    broken.as_object_mut().unwrap().remove("proof");
    check(&broken).expect(2);
    std::fs::write(&path, "{not json").unwrap();
    crate::support::audit(&[
        "verify-proof",
        path.to_str().unwrap(),
        "--public-key",
        key.to_str().unwrap(),
    ])
    .expect(2);
}

#[test]
fn prove_refuses_a_sequence_number_or_size_the_log_does_not_have() {
    let fixture = written_log(2);
    fixture.audit(&["prove", "{dir}", "--seq", "100000"]).expect(2);
    fixture.audit(&["prove", "{dir}", "--seq", "1", "--size", "3"]).expect(2);
}

#[test]
fn consistency_passes_for_an_extended_log_and_fails_for_rollback_and_fork() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.seal_if_due(at(61)).unwrap();
    drop(writer);
    let earlier = fixture.path("earlier");
    copy_log(&fixture.dir, &earlier);
    let old = fixture.path("old.note");
    std::fs::copy(fixture.dir.join("checkpoint"), &old).unwrap();

    let mut writer = fixture.open(at(62));
    writer.append_batch(&entries(5, at(63)), at(63)).unwrap();
    writer.close(at(64)).unwrap();
    let key = fixture.public_key_file.to_str().unwrap();
    let old_path = old.to_str().unwrap();
    let run =
        fixture.audit(&["consistency", "{dir}", "--old", old_path, "--public-key", key]).expect(0);
    assert!(run.stdout.starts_with("ANCHORED: the log at tree size "), "{}", run.stdout);
    // Without a key the log's own key is used, and that is said.
    let run = fixture.audit(&["consistency", "{dir}", "--old", old_path]).expect(0);
    assert!(run.stderr.contains("warning: no --public-key"), "{}", run.stderr);

    // Rollback: the directory is replaced by its earlier state; the newest checkpoint is held.
    let newest = fixture.path("newest.note");
    std::fs::copy(fixture.dir.join("checkpoint"), &newest).unwrap();
    let run = crate::support::audit(&[
        "consistency",
        earlier.to_str().unwrap(),
        "--old",
        newest.to_str().unwrap(),
        "--public-key",
        key,
    ])
    .expect(1);
    assert!(run.stdout.contains("rolled back"), "{}", run.stdout);

    // Fork: the earlier state continued differently, to a larger size.
    let mut fork =
        audit_store::LogWriter::open(&earlier, crate::support::config(), at(62)).unwrap();
    fork.append_batch(&entries(30, at(63)), at(63)).unwrap();
    fork.close(at(64)).unwrap();
    let run = crate::support::audit(&[
        "consistency",
        earlier.to_str().unwrap(),
        "--old",
        newest.to_str().unwrap(),
        "--public-key",
        key,
    ])
    .expect(1);
    assert!(run.stdout.contains("rewritten or forked"), "{}", run.stdout);

    // A checkpoint of another log does not verify with this log's key.
    let other = written_log(1);
    let foreign = other.dir.join("checkpoint");
    let run = fixture
        .audit(&["consistency", "{dir}", "--old", foreign.to_str().unwrap(), "--public-key", key])
        .expect(1);
    assert!(run.stdout.contains("does not verify"), "{}", run.stdout);
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { found.extend(files_under(&path)) } else { found.push(path) }
    }
    found
}

#[test]
fn prove_gives_the_same_bundle_when_a_tile_is_forged_and_says_where_it_came_from() {
    let fixture = written_log(6);
    let good = fixture.audit(&["prove", "{dir}", "--seq", "17"]).expect(0);
    assert!(!good.stderr.contains("tiles were not used"), "{}", good.stderr);
    for tile in files_under(&fixture.dir.join("tiles")) {
        let mut bytes = std::fs::read(&tile).unwrap();
        for byte in &mut bytes {
            *byte ^= 0x5a;
        }
        std::fs::write(&tile, bytes).unwrap();
    }
    let forged = fixture.audit(&["prove", "{dir}", "--seq", "17"]).expect(0);
    assert_eq!(forged.stdout, good.stdout);
    assert!(forged.stderr.contains("note: the Merkle tiles were not used"), "{}", forged.stderr);
    assert!(forged.stderr.contains("signed checkpoint's root"), "{}", forged.stderr);
}

#[test]
fn prove_refuses_records_that_do_not_lead_to_the_signed_checkpoint() {
    let fixture = written_log(6);
    let mut records = audit_store::tamper::read_records(&fixture.dir).unwrap();
    records[20].time = audit_events::Timestamp(records[20].time.0 + 1);
    audit_store::tamper::rewrite(&fixture.dir, &records, &mut |_| None).unwrap();
    audit_store::tamper::rewrite_tiles(&fixture.dir).unwrap();
    let run = fixture.audit(&["prove", "{dir}", "--seq", "20"]).expect(3);
    assert!(run.stdout.is_empty(), "a proof was printed: {}", run.stdout);
    assert!(run.stderr.contains("do not match the signed checkpoint"), "{}", run.stderr);
}
