//! `audit kinds`: the 35 event kinds with their fields, as text and as JSON, from the real binary.

use audit_events::EventKind;
use serde_json::Value;

use crate::support::audit;

#[test]
fn text_lists_every_kind_with_its_fields() {
    let run = audit(&["kinds"]).expect(0);
    let headers: Vec<&str> = run
        .lines()
        .into_iter()
        .filter(|l| !l.starts_with(' ') && l.contains("  category="))
        .collect();
    assert_eq!(headers.len(), 35, "{}", run.stdout);
    for (line, kind) in headers.iter().zip(EventKind::ALL) {
        assert!(line.starts_with(&format!("{kind}  ")), "{line}");
    }
    assert!(
        run.stdout.contains(
            "auth.failure  category=authentication  severity=medium  lane=critical\n  A failed \
             sign-in.\n  - attempted_user: optional text (identifier, at most 256 bytes)\n"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  - scope: list of text (at most 64 items; each at most 1024 bytes)")
    );
    assert!(run.stdout.contains("35 kinds."), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn json_is_machine_readable_and_matches_the_catalogue() {
    let run = audit(&["kinds", "--format", "json"]).expect(0);
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    let kinds = value["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 35);
    for (entry, kind) in kinds.iter().zip(EventKind::ALL) {
        assert_eq!(entry["kind"], kind.as_str());
        assert_eq!(entry["category"], kind.category().as_str());
        assert_eq!(entry["default_severity"], kind.default_severity().as_str());
        assert_eq!(entry["critical"], kind.is_critical());
        let names: Vec<&str> = entry["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
        assert_eq!(names, expected, "{kind}");
    }
    let failure = &kinds[1];
    assert_eq!(failure["fields"][0]["type"], "text");
    assert_eq!(failure["fields"][0]["optional"], true);
    assert_eq!(failure["fields"][0]["max_bytes"], 256);
    assert_eq!(failure["fields"][1]["max_bytes"], 1024);
    assert_eq!(failure["fields"][2]["type"], "ip");
    assert!(failure["fields"][2]["max_bytes"].is_null());
    let scope = &kinds[2]["fields"][2];
    assert_eq!((&scope["name"], &scope["max_items"]), (&Value::from("scope"), &Value::from(64)));
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    audit(&["kinds", "--format", "yaml"]).expect(2);
}
