//! JSON rendering and parsing of every kind.

use crate::support::{all_records, envelope};
use audit_events::{
    Body, EventError, EventKind, EventRecord, HashValue, Record, event_from_fields, event_to_fields,
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
