//! `audit emit`: JSON lines appended through the logger (escaped, bounded, chained), bad lines
//! reported by number and skipped, and a clear refusal while another writer holds the log.

use audit_events::{EventKind, Timestamp, event_to_fields};
use serde_json::{Value, json};

use crate::support::{Fixture, HOSTILE, assert_inert, audit_with_input, entries};

/// A closed log created now: `emit` stamps events with the clock, so the log must not lie
/// in the clock's future.
fn log_created_now() -> Fixture {
    let (fixture, writer) = crate::support::new_log_at(Timestamp::now());
    writer.close(Timestamp::now()).unwrap();
    fixture
}

fn line(kind: EventKind, event: &audit_events::AuditEvent) -> String {
    json!({ "kind": kind.as_str(), "event": event_to_fields(event).unwrap() }).to_string()
}

fn records(fixture: &Fixture) -> Vec<Value> {
    let run = fixture.audit(&["export", "{dir}"]).expect(0);
    run.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn emitted_lines_are_escaped_chained_and_bad_lines_are_skipped_by_number() {
    let fixture = log_created_now();
    let before = records(&fixture).len();
    let mut hostile = EventKind::AuthFailure.example();
    if let audit_events::AuditEvent::AuthFailure { attempted_user, .. } = &mut hostile {
        *attempted_user = Some(HOSTILE.to_owned());
    }
    let checked = json!({
        "kind": "pool.created",
        "category": "resource",
        "severity": "low",
        "event": event_to_fields(&EventKind::PoolCreated.example()).unwrap(),
    });
    let input = [
        line(EventKind::AuthFailure, &hostile),
        String::new(),
        "{\"kind\":\"auth.failure\",\"event\":{}}".to_owned(),
        checked.to_string(),
        json!({"kind": "auth.success", "seq": 3, "event": {}}).to_string(),
        "not json at all \u{1b}[2J".to_owned(),
    ]
    .join("\n");
    let file = fixture.path("events.jsonl");
    std::fs::write(&file, input).unwrap();
    let run = fixture.audit(&["emit", "{dir}", file.to_str().unwrap()]).expect(2);
    assert_inert("emit stderr", &run.stderr);
    for expected in [
        "line 3: ",
        "line 5: member `seq`",
        "line 6: not JSON",
        "2 event(s) written",
        "3 line(s) refused",
    ] {
        assert!(run.stderr.contains(expected), "{expected} missing:\n{}", run.stderr);
    }

    let after = records(&fixture);
    let events: Vec<&Value> = after[before..].iter().filter(|r| r.get("event").is_some()).collect();
    assert_eq!(events.len(), 2, "only the good lines were written");
    assert_eq!(events[0]["kind"], "auth.failure");
    // The logger escaped the hostile text before storing it, and said so.
    let stored = events[0]["event"]["attempted_user"].as_str().unwrap();
    assert_eq!(stored, input_validation::escape_for_log(HOSTILE));
    assert_eq!(events[0]["escaped"], json!(["attempted_user"]));
    assert_eq!(events[1]["kind"], "pool.created");
    // The chain continued: the whole log still verifies with its material.
    let key = fixture.material_file.to_str().unwrap();
    fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(0);
}

#[test]
fn emit_reads_standard_input() {
    let fixture = log_created_now();
    let input = format!(
        "{}\n{}\n",
        line(EventKind::TaskSubmitted, &EventKind::TaskSubmitted.example()),
        line(EventKind::TaskCompleted, &EventKind::TaskCompleted.example())
    );
    let dir = fixture.dir.to_str().unwrap();
    let run = audit_with_input(&["emit", dir, "-"], input.as_bytes()).expect(0);
    assert!(run.stderr.contains("2 event(s) written"), "{}", run.stderr);
    let run = fixture.audit(&["query", "{dir}", "--kind", "task.*"]).expect(0);
    assert_eq!(run.lines().len(), 2, "{}", run.stdout);
}

#[test]
fn emit_refuses_while_another_writer_holds_the_log() {
    let (fixture, mut writer) = crate::support::new_log_at(Timestamp::now());
    writer.append_batch(&entries(3, Timestamp::now()), Timestamp::now()).unwrap();
    let input = line(EventKind::AuthSuccess, &EventKind::AuthSuccess.example());
    let dir = fixture.dir.to_str().unwrap();
    let run = audit_with_input(&["emit", dir], input.as_bytes()).expect(3);
    assert!(run.stderr.contains("held by another writer"), "{}", run.stderr);
    writer.close(Timestamp::now()).unwrap();
    let run = fixture.audit(&["query", "{dir}", "--kind", "auth.success"]).expect(0);
    assert_eq!(run.lines().len(), 1, "only the writer's own auth.success: {}", run.stdout);
}

#[test]
fn emit_into_a_directory_without_a_log_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = audit_with_input(&["emit", tmp.path().to_str().unwrap()], b"{}\n").expect(2);
    assert!(run.stderr.contains("holds no audit log"), "{}", run.stderr);
}
