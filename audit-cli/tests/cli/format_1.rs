//! A log written before record format 2 (`testdata/logs/format-1`, never regenerated) still
//! reads, verifies with its material, and can be continued: the new records are of format 2
//! and the whole log verifies.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{audit, audit_with_input};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/logs/format-1");

/// A private copy (mode 0700 / 0600, as a writer demands) of the fixture and its material.
fn copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    crate::support::copy_log(std::path::Path::new(FIXTURE), &dir);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let material = tmp.path().join("log.verifier");
    std::fs::copy(format!("{FIXTURE}.verifier"), &material).unwrap();
    (tmp, dir, material)
}

fn export(dir: &str) -> Vec<Value> {
    let run = audit(&["export", dir]).expect(0);
    run.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_format_1_log_reads_verifies_and_continues_in_format_2() {
    let (_tmp, dir, material) = copy();
    let (dir, material) = (dir.to_str().unwrap(), material.to_str().unwrap());
    let verified = audit(&["verify", dir, "--verification-key", material]).expect(0);
    assert!(verified.stdout.contains("records 0..10 are authenticated"), "{}", verified.stdout);

    let old = export(dir);
    assert_eq!(old.len(), 11);
    assert!(old.iter().all(|r| r["format"] == 1), "every fixture record is of format 1");
    assert!(old.iter().all(|r| r.get("claimed_time").is_none() && r.get("request_id").is_none()));
    // The uniform outcome is derived from the event, so old records have it too.
    let failures = audit(&["query", dir, "--outcome", "failure", "--format", "jsonl"]).expect(0);
    assert_eq!(failures.lines().len(), 1);
    assert!(failures.stdout.contains("\"attempted_user\":\"mallory\""), "{}", failures.stdout);
    assert!(failures.stdout.contains("\"format\":1"), "{}", failures.stdout);
    audit(&["query", dir, "--request-id", "req-1"]).expect(1);

    let line = serde_json::json!({
        "kind": "auth.success",
        "event": audit_events::event_to_fields(&audit_events::EventKind::AuthSuccess.example())
            .unwrap(),
        "request_id": "req-1",
        "claimed_time": "2026-12-01T00:00:00Z",
    });
    audit_with_input(&["emit", dir, "-"], format!("{line}\n").as_bytes()).expect(0);
    let all = export(dir);
    assert_eq!(&all[..11], &old[..], "the old records are untouched");
    assert!(all[11..].iter().all(|r| r["format"] == 2), "a writer continues in format 2");
    let hit = audit(&["query", dir, "--request-id", "req-1", "--format", "jsonl"]).expect(0);
    assert!(hit.stdout.contains("\"claimed_time\":\"2026-12-01T00:00:00Z\""), "{}", hit.stdout);
    // Both formats in one chain, one tree, under one set of seals.
    let verified = audit(&["verify", dir, "--verification-key", material]).expect(0);
    assert!(verified.stdout.contains("PASS"), "{}", verified.stdout);
}
