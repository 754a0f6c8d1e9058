//! JSON rendering and parsing of every kind.

use crate::support::{all_records, all_records_v1, envelope, with_context};
use audit_events::{
    Body, EventError, EventKind, EventOutcome, EventRecord, HashValue, Outcome, Record,
    RecordContext, event_from_fields, event_to_fields,
};
use serde_json::{Value, json};

#[test]
fn every_kind_round_trips_through_json() {
    let prev = HashValue([1; 32]);
    let hash = HashValue([2; 32]);
    for record in all_records() {
        let line = record.to_json_line(Some(&prev), Some(&hash)).unwrap();
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["kind"], record.kind().as_str());
        assert_eq!(value["seq"], record.seq);
        assert_eq!(value["time"], "2026-11-22T09:24:34.123456789Z");
        assert_eq!(value["prev_hash"], prev.to_string());
        let (parsed, p, h) = Record::from_json_value(value).unwrap();
        assert_eq!(parsed, record, "{}", record.kind());
        assert_eq!((p, h), (Some(prev), Some(hash)));
    }
}

#[test]
fn json_shows_names_not_indexes() {
    let record = envelope(9, Body::Event(EventRecord::new(EventKind::AuthSuccess.example())));
    let value = record.to_json_value(None, None).unwrap();
    assert_eq!(value["category"], "authentication");
    assert_eq!(value["severity"], "low");
    assert_eq!(value["event"]["method"], "bearer_token");
    assert_eq!(value["event"]["actor"]["ip"], "203.0.113.7");
    assert!(value.get("prev_hash").is_none());
}

#[test]
fn hostile_text_is_escaped_by_json() {
    let mut event = EventKind::AuthFailure.example();
    event.for_each_text_mut(&mut |_, _, text| *text = "a\u{1b}[31m\r\nb\u{0}\u{202e}".to_owned());
    let record = envelope(1, Body::Event(EventRecord::new(event)));
    let line = record.to_json_line(None, None).unwrap();
    assert!(!line.chars().any(|c| c.is_control()), "raw control character in {line:?}");
}

#[test]
fn events_parse_from_the_export_schema() {
    let event = EventKind::TaskSubmitted.example();
    let fields = event_to_fields(&event).unwrap();
    assert_eq!(event_from_fields(EventKind::TaskSubmitted, fields.clone()).unwrap(), event);
    // The wrong kind for the fields, an unknown field, a missing field: all errors.
    assert!(event_from_fields(EventKind::AuthSuccess, fields.clone()).is_err());
    let mut extra = fields.clone();
    extra["surprise"] = json!(1);
    assert!(event_from_fields(EventKind::TaskSubmitted, extra).is_err());
    let mut missing = fields;
    missing.as_object_mut().unwrap().remove("task_id");
    assert!(event_from_fields(EventKind::TaskSubmitted, missing).is_err());
}

#[test]
fn inconsistent_json_is_rejected() {
    let record = envelope(2, Body::Event(EventRecord::new(EventKind::AuthSuccess.example())));
    let good = record.to_json_value(None, None).unwrap();

    let mut wrong_category = good.clone();
    wrong_category["category"] = json!("vram");
    assert!(matches!(Record::from_json_value(wrong_category), Err(EventError::Json { .. })));

    let mut wrong_severity = good.clone();
    wrong_severity["severity"] = json!("critical");
    assert!(Record::from_json_value(wrong_severity).is_err());

    let mut unknown_kind = good.clone();
    unknown_kind["kind"] = json!("auth.teleport");
    assert_eq!(Record::from_json_value(unknown_kind).unwrap_err(), EventError::UnknownKind);

    let mut bad_time = good.clone();
    bad_time["time"] = json!("last tuesday");
    assert!(Record::from_json_value(bad_time).is_err());

    let mut future = good;
    future["format"] = json!(9);
    assert!(matches!(
        Record::from_json_value(future),
        Err(EventError::UnsupportedVersion { found: 9, .. })
    ));
}

#[test]
fn format_1_records_round_trip_through_json_as_format_1() {
    for record in all_records_v1() {
        let value = record.to_json_value(None, None).unwrap();
        assert_eq!(value["format"], 1);
        let (parsed, _, _) = Record::from_json_value(value).unwrap();
        assert_eq!(parsed, record);
    }
    // A format 1 record cannot carry format 2 members.
    let mut value = all_records_v1()[0].to_json_value(None, None).unwrap();
    value["request_id"] = json!("req-1");
    assert!(Record::from_json_value(value).is_err());
}

#[test]
fn correlation_fields_and_outcome_are_shown_and_parsed() {
    let record = with_context(3, Body::Event(EventRecord::new(EventKind::AuthFailure.example())));
    let value = record.to_json_value(None, None).unwrap();
    assert_eq!(value["format"], 2);
    assert_eq!(value["time"], "2026-11-22T09:24:34.123456789Z");
    assert_eq!(value["claimed_time"], "2026-11-22T09:20:00Z");
    assert_eq!(value["request_id"], "req-7f3a9c01");
    assert_eq!(value["user_agent"], "curl/8.5.0");
    assert_eq!(value["outcome"], "failure");
    let (parsed, _, _) = Record::from_json_value(value.clone()).unwrap();
    assert_eq!(parsed, record);

    let mut lying = value;
    lying["outcome"] = json!("success");
    assert!(Record::from_json_value(lying).is_err(), "an outcome contradicting the event");

    // Absent fields are absent members, and kinds without an outcome show none.
    let plain = envelope(4, Body::Event(EventRecord::new(EventKind::SuspiciousActivity.example())));
    let value = plain.to_json_value(None, None).unwrap();
    for member in ["outcome", "claimed_time", "request_id", "user_agent"] {
        assert!(value.get(member).is_none(), "{member}");
    }
}

#[test]
fn hostile_correlation_fields_are_escaped_by_json() {
    let mut record = envelope(5, Body::Event(EventRecord::new(EventKind::AuthSuccess.example())));
    record.context = Some(RecordContext {
        claimed_time: Some(audit_events::Timestamp(i64::MAX)),
        request_id: Some("r\u{0}\n\u{1b}[2J".to_owned()),
        user_agent: Some("\u{202e}evil\r\n{\"kind\":\"auth.success\"}".to_owned()),
    });
    let line = record.to_json_line(None, None).unwrap();
    assert!(!line.chars().any(|c| c.is_control()), "raw control character in {line:?}");
    let (parsed, _, _) = Record::from_json_value(serde_json::from_str(&line).unwrap()).unwrap();
    assert_eq!(parsed, record);
}

#[test]
fn every_kind_has_the_outcome_the_catalogue_gives_it() {
    let expect = |kind: EventKind| match kind.as_str() {
        "auth.failure"
        | "authz.denied"
        | "seal.verification_failed"
        | "vram.allocation_failed"
        | "security.rate_limit_exceeded"
        | "security.invalid_token_used"
        | "security.integrity_violation"
        | "security.malformed_model_rejected" => Some(EventOutcome::Failure),
        "security.path_traversal_attempt" | "compliance.gdpr_data_access_request" => {
            Some(EventOutcome::Unknown)
        }
        "security.policy_violation"
        | "security.suspicious_activity"
        | "security.resource_limit_violation" => None,
        _ => Some(EventOutcome::Success),
    };
    for &kind in EventKind::ALL {
        let event = kind.example();
        if matches!(kind, EventKind::TaskCompleted | EventKind::InferenceExecuted) {
            assert!(kind.has_outcome());
            continue;
        }
        assert_eq!(event.outcome(), expect(kind), "{kind}");
        assert_eq!(kind.has_outcome(), expect(kind).is_some(), "{kind}");
    }
    // The two kinds with an outcome field take it from the event.
    for (outcome, want) in [
        (Outcome::Success, EventOutcome::Success),
        (Outcome::Failure { reason: "oom".to_owned() }, EventOutcome::Failure),
        (Outcome::PartialSuccess { details: "2 of 3".to_owned() }, EventOutcome::Failure),
    ] {
        let mut event = EventKind::TaskCompleted.example();
        if let audit_events::AuditEvent::TaskCompleted { outcome: o, .. } = &mut event {
            *o = outcome.clone();
        }
        assert_eq!(event.outcome(), Some(want));
        let mut event = EventKind::InferenceExecuted.example();
        if let audit_events::AuditEvent::InferenceExecuted { outcome: o, .. } = &mut event {
            *o = outcome;
        }
        assert_eq!(event.outcome(), Some(want));
    }
    assert_eq!("failure".parse::<EventOutcome>(), Ok(EventOutcome::Failure));
    assert!("partial".parse::<EventOutcome>().is_err());
}
