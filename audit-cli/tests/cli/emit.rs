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

#[test]
fn emit_keeps_the_claimed_time_and_correlation_fields_and_query_filters_on_them() {
    let fixture = log_created_now();
    let failure = json!({
        "kind": "auth.failure",
        "event": event_to_fields(&EventKind::AuthFailure.example()).unwrap(),
        "claimed_time": "2026-11-22T09:20:00+01:00",
        "request_id": "req-A",
        "user_agent": format!("curl/8.5.0 {HOSTILE}"),
        "outcome": "failure",
    });
    let success = json!({
        "kind": "auth.success",
        "event": event_to_fields(&EventKind::AuthSuccess.example()).unwrap(),
        "request_id": "req-B",
    });
    let replayed = json!({
        "kind": "auth.success",
        "event": event_to_fields(&EventKind::AuthSuccess.example()).unwrap(),
        "time": "2026-11-22T09:20:00Z",
    });
    let input = format!("{failure}\n{success}\n{replayed}\n");
    let dir = fixture.dir.to_str().unwrap();
    let run = audit_with_input(&["emit", dir, "-"], input.as_bytes()).expect(2);
    assert!(run.stderr.contains("line 3: member `time`"), "{}", run.stderr);
    assert!(run.stderr.contains("`claimed_time`"), "{}", run.stderr);
    assert!(run.stderr.contains("2 event(s) written"), "{}", run.stderr);

    // JSON: both times, the request id, the user agent (escaped as stored), the outcome.
    let run = fixture.audit(&["query", "{dir}", "--request-id", "req-A", "--format", "jsonl"]);
    let hits: Vec<Value> =
        run.expect(0).lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit["format"], 2);
    assert_eq!(hit["kind"], "auth.failure");
    assert_eq!(hit["claimed_time"], "2026-11-22T08:20:00Z");
    assert_ne!(hit["time"], hit["claimed_time"], "the log's own time is kept apart");
    assert_eq!(hit["request_id"], "req-A");
    assert_eq!(hit["outcome"], "failure");
    let agent = hit["user_agent"].as_str().unwrap();
    assert_eq!(agent, input_validation::escape_for_log(&format!("curl/8.5.0 {HOSTILE}")));
    assert_eq!(hit["escaped"], json!(["envelope.user_agent"]));

    // Text (query and tail): both times and the fields, every character inert.
    for args in [&["query", "{dir}", "--request-id", "req-A"][..], &["tail", "{dir}", "-n", "5"]] {
        let run = fixture.audit(args).expect(0);
        assert_inert("text output", &run.stdout);
        let line = run.lines().into_iter().find(|l| l.contains("auth.failure")).unwrap().to_owned();
        assert!(line.contains("outcome=failure claimed_time=2026-11-22T08:20:00Z"), "{line}");
        assert!(line.contains("request_id=req-A"), "{line}");
        assert!(line.contains("user_agent=\"curl/8.5.0 "), "{line}");
    }

    // Filters: the outcome and the request id, alone and together.
    let kinds = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["query", "{dir}", "--format", "jsonl"];
        all.extend_from_slice(args);
        fixture
            .audit(&all)
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kinds(&["--outcome", "failure"]), ["auth.failure"]);
    assert_eq!(kinds(&["--outcome", "SUCCESS"]), ["auth.success"]);
    assert_eq!(kinds(&["--request-id", "req-B"]), ["auth.success"]);
    fixture.audit(&["query", "{dir}", "--request-id", "req-B", "--outcome", "failure"]).expect(1);
    fixture.audit(&["query", "{dir}", "--outcome", "unknown"]).expect(1);
    fixture.audit(&["query", "{dir}", "--request-id", "req-C"]).expect(1);
    fixture.audit(&["query", "{dir}", "--outcome", "partial"]).expect(2);
    // The records are chained like any other.
    let key = fixture.material_file.to_str().unwrap();
    fixture.audit(&["verify", "{dir}", "--verification-key", key]).expect(0);
}
