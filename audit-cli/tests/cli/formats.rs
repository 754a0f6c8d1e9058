//! One `--format` flag on every verb that prints data: each verb's `--help` shows it, and each
//! verb run with `--format json` (or `jsonl`) prints output that `serde_json` parses, with the
//! members docs/JSON.md documents.

use audit_events::EventKind;
use serde_json::Value;

use crate::support::{audit, audit_with_input, written_log};

/// Every verb (with its subcommand) that prints data, and so takes `--format`.
const WITH_FORMAT: &[&[&str]] = &[
    &["init"],
    &["verify"],
    &["query"],
    &["report"],
    &["report-check"],
    &["tail"],
    &["export"],
    &["checkpoint"],
    &["prove"],
    &["verify-proof"],
    &["consistency"],
    &["emit"],
    &["kinds"],
    &["legal-hold"],
    &["ship"],
    &["fleet", "status"],
    &["fleet", "query"],
    &["fleet", "report"],
    &["fleet", "verify"],
    &["collector", "init"],
    &["collector", "enroll"],
    &["collector", "purge"],
    &["collector", "token"],
];

/// Verbs that print no data: a transcript for people (demo), a script or pages (completions,
/// man), a server's log line (collector serve); `fleet` and `collector` are groups.
const WITHOUT_FORMAT: &[&str] = &["demo", "completions", "man", "collector", "fleet"];

#[test]
fn every_verb_that_prints_data_shows_format_in_its_help() {
    for verb in WITH_FORMAT {
        let mut args = verb.to_vec();
        args.push("--help");
        let help = audit(&args).expect(0).stdout;
        assert!(help.contains("--format <FORMAT>"), "{verb:?} --help:\n{help}");
    }
    // Every verb `audit --help` lists is classified, so a new verb must decide.
    let help = audit(&["--help"]).expect(0).stdout;
    let verbs: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .collect();
    assert!(verbs.len() > 15, "{verbs:?}");
    for verb in verbs {
        assert!(
            WITH_FORMAT.iter().any(|v| v[0] == verb) || WITHOUT_FORMAT.contains(&verb),
            "{verb} is in neither list"
        );
    }
    // `verify --json` still works but is no longer advertised.
    let help = audit(&["verify", "--help"]).expect(0).stdout;
    assert!(!help.contains("--json"), "{help}");
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(json).collect()
}

#[test]
fn every_local_verb_prints_json_that_parses() {
    let fixture = written_log(4);
    let dir = fixture.dir.to_str().unwrap();
    let material = fixture.material_file.to_str().unwrap();
    let public = fixture.public_key_file.to_str().unwrap();

    let report = json(
        &audit(&["verify", dir, "--verification-key", material, "--format", "json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(report["verdict"], "PASS", "{report}");
    assert!(report["segments"].as_array().is_some_and(|s| !s.is_empty()), "{report}");
    let alias = json(&audit(&["verify", dir, "--json"]).expect(0).stdout);
    assert_eq!(alias["verdict"], "CHAINED", "{alias}");
    assert!(audit(&["verify", dir, "--format", "text"]).expect(0).stdout.contains("CHAINED"));

    let records =
        json(&audit(&["query", dir, "--kind", "auth.*", "--format", "json"]).expect(0).stdout);
    let records = records.as_array().unwrap();
    assert!(
        !records.is_empty()
            && records.iter().all(|r| r["kind"].as_str().unwrap().starts_with("auth."))
    );
    let all = json(&audit(&["export", dir, "--format", "json"]).expect(0).stdout);
    let lines = json_lines(&audit(&["export", dir]).expect(0).stdout);
    assert_eq!(all.as_array().unwrap(), &lines);
    assert_eq!(audit(&["export", dir, "--format", "text"]).expect(0).lines().len(), lines.len());
    let last = json(&audit(&["tail", dir, "-n", "2", "--format", "json"]).expect(0).stdout);
    assert_eq!(last.as_array().unwrap().as_slice(), &lines[lines.len() - 2..]);
    let last = json_lines(&audit(&["tail", dir, "-n", "2", "--format", "jsonl"]).expect(0).stdout);
    assert_eq!(last.as_slice(), &lines[lines.len() - 2..]);

    let checkpoint = json(&audit(&["checkpoint", dir, "--format", "json"]).expect(0).stdout);
    assert_eq!(checkpoint["size"].as_u64().unwrap(), u64::try_from(lines.len()).unwrap());
    assert_eq!(checkpoint["root"].as_str().unwrap().len(), 64, "{checkpoint}");
    let note = fixture.path("old.checkpoint");
    std::fs::write(&note, checkpoint["note"].as_str().unwrap()).unwrap();
    assert_eq!(
        audit(&["checkpoint", dir]).expect(0).stdout,
        checkpoint["note"].as_str().unwrap(),
        "text is the note itself"
    );

    let bundle = audit(&["prove", dir, "--seq", "3", "--format", "json"]).expect(0).stdout;
    assert_eq!(json(&bundle)["seq"], 3);
    assert_eq!(
        audit(&["prove", dir, "--seq", "3"]).expect(0).stdout,
        bundle,
        "json is the default"
    );
    let text = audit(&["prove", dir, "--seq", "3", "--format", "text"]).expect(0).stdout;
    assert!(text.starts_with("record seq 3 (leaf index 3)"), "{text}");
    let bundle_file = fixture.path("proof.json");
    std::fs::write(&bundle_file, &bundle).unwrap();
    let b = bundle_file.to_str().unwrap();
    let checked = json(
        &audit(&["verify-proof", b, "--public-key", public, "--format", "json"]).expect(0).stdout,
    );
    assert_eq!(checked["verdict"], "PASS", "{checked}");
    assert_eq!(checked["record"]["seq"], 3, "{checked}");
    let mut forged = json(&bundle);
    forged["seq"] = 4.into();
    std::fs::write(&bundle_file, forged.to_string()).unwrap();
    let failed = json(
        &audit(&["verify-proof", b, "--public-key", public, "--format", "json"]).expect(1).stdout,
    );
    assert_eq!(failed["verdict"], "FAIL", "{failed}");
    assert!(failed["reason"].is_string(), "{failed}");

    let n = note.to_str().unwrap();
    let consistent = json(
        &audit(&["consistency", dir, "--old", n, "--public-key", public, "--format", "json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(consistent["verdict"], "ANCHORED", "{consistent}");
    assert_eq!(consistent["old_size"], checkpoint["size"], "{consistent}");
    assert_eq!(consistent["verify"]["verdict"], "ANCHORED", "{consistent}");

    // A checkpoint of another log: FAIL, exit 1, in JSON too.
    let other = written_log(1);
    let foreign = fixture.path("foreign.checkpoint");
    std::fs::copy(other.dir.join("checkpoint"), &foreign).unwrap();
    let f = foreign.to_str().unwrap();
    let failed = json(
        &audit(&["consistency", dir, "--old", f, "--public-key", public, "--format", "json"])
            .expect(1)
            .stdout,
    );
    assert_eq!(failed["verdict"], "FAIL", "{failed}");
    assert!(failed["reason"].is_string(), "{failed}");

    let report =
        json(&audit(&["report", dir, "--framework", "soc2", "--format", "json"]).expect(0).stdout);
    assert!(report.is_object(), "{report}");
    let out = fixture.path("report.json");
    let o = out.to_str().unwrap();
    audit(&["report", dir, "--framework", "gdpr", "--format", "json", "--output", o]).expect(0);
    let check = json(&audit(&["report-check", o, "--format", "json"]).expect(0).stdout);
    assert_eq!(check["verdict"], "NOT PROVEN", "{check}");
    assert_eq!(check["digest"]["ok"], true, "{check}");
    assert!(check["signature"].is_null(), "{check}");
    let edited = std::fs::read_to_string(&out).unwrap().replacen('{', "{\"x\": 1, ", 1);
    std::fs::write(&out, edited).unwrap();
    let check = json(&audit(&["report-check", o, "--format", "json"]).expect(1).stdout);
    assert_eq!(check["verdict"], "FAIL", "{check}");
    assert_eq!(check["digest"]["ok"], false, "{check}");

    assert!(json(&audit(&["kinds", "--format", "json"]).expect(0).stdout)["kinds"].is_array());

    let fields = audit_events::event_to_fields(&EventKind::TaskCanceled.example()).unwrap();
    let line = serde_json::json!({ "kind": "task.canceled", "event": fields }).to_string();
    let input = format!("{line}\nnot json\n");
    let emitted = audit_with_input(&["emit", dir, "--format", "json"], input.as_bytes()).expect(2);
    let emitted = json(&emitted.stdout);
    assert_eq!(emitted["written"], 1, "{emitted}");
    assert_eq!(emitted["refused_lines"], serde_json::json!([2]), "{emitted}");

    let held =
        json(&audit(&["legal-hold", dir, "--set", "case 7", "--format", "json"]).expect(0).stdout);
    assert_eq!(held["held"], true, "{held}");
    assert_eq!(held["changed"], true, "{held}");
    assert_eq!(held["reason"], "case 7", "{held}");

    let tmp = tempfile::tempdir().unwrap();
    let new = tmp.path().join("new");
    let created = json(
        &audit(&["init", new.to_str().unwrap(), "--service-id", "svc-json", "--format", "json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(created["service_id"], "svc-json", "{created}");
    let pub_file = created["public_key_file"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(pub_file).unwrap().trim(), created["public_key"]);
    assert!(std::path::Path::new(created["material_file"].as_str().unwrap()).is_file());
}
