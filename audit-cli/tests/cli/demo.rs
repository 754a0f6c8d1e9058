//! `audit demo`: a simulated fleet writes a real log through the logger; the log verifies,
//! holds every event kind, shows injection attempts escaped, and the command says what next.

use std::collections::BTreeSet;

use audit_events::EventKind;
use serde_json::Value;

use crate::support::{assert_inert, audit};

#[test]
fn the_demo_writes_a_log_of_every_kind_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let dir_arg = dir.to_str().unwrap();
    let run = audit(&["demo", dir_arg, "--seconds", "1"]).expect(0);
    assert_inert("demo", &run.stdout);
    for expected in [
        "of all 35 kinds",
        "shut down cleanly",
        "PASS: the log is intact",
        "Injection attempts: ",
        r"\x1b[2J",
        "Try next:",
        "audit verify-proof proof.json --public-key ",
    ] {
        assert!(run.stdout.contains(expected), "{expected} missing:\n{}", run.stdout);
    }

    let material = tmp.path().join("fleet.verifier");
    audit(&["verify", dir_arg, "--verification-key", material.to_str().unwrap()]).expect(0);
    let export = audit(&["export", dir_arg]).expect(0);
    let records: Vec<Value> =
        export.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: BTreeSet<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
    for kind in EventKind::ALL {
        assert!(kinds.contains(kind.as_str()), "{kind} missing from the demo log");
    }
    assert!(records.iter().any(|r| r["escaped"].as_array().is_some_and(|e| !e.is_empty())));
    assert!(export.stdout.contains("+host-test-backend"), "simulated VRAM is labelled");
    assert!(records.iter().any(|r| r["kind"] == "seal.verification_failed"));

    // A second run never touches the first log.
    let again = audit(&["demo", dir_arg, "--seconds", "1"]).expect(2);
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
}
