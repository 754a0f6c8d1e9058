//! The text visitor reaches every text field of every kind, and the bounds hold.

use std::net::IpAddr;

use audit_events::{
    AuditEvent, Digest, EventKind, MAX_EVENT_BYTES, MAX_IDENTIFIER_BYTES, MAX_LIST_ITEMS,
    MAX_TEXT_BYTES, TextClass, Timestamp, TokenFingerprint, cut_at_char_boundary, event_to_fields,
};
use serde_json::Value;

fn string_leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| string_leaves(v, out)),
        Value::Object(map) => map.values().for_each(|v| string_leaves(v, out)),
        _ => {}
    }
}

fn has_null_or_empty_list(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty() || items.iter().any(has_null_or_empty_list),
        Value::Object(map) => map.values().any(has_null_or_empty_list),
        _ => false,
    }
}

/// Values of types that carry no free text: they are not visited, by design.
fn is_structured_value(s: &str) -> bool {
    const ENUM_NAMES: &[&str] =
        &["bearer_token", "api_key", "m_tls", "internal", "low", "medium", "high", "critical"];
    ENUM_NAMES.contains(&s)
        || s.parse::<Digest>().is_ok()
        || s.parse::<IpAddr>().is_ok()
        || s.parse::<Timestamp>().is_ok()
        || s.parse::<TokenFingerprint>().is_ok()
}

#[test]
fn examples_exercise_every_field() {
    for kind in EventKind::ALL {
        let fields = event_to_fields(&kind.example()).unwrap();
        assert!(!has_null_or_empty_list(&fields), "{kind}: example leaves a field empty");
    }
}

#[test]
fn every_text_field_is_visited() {
    for kind in EventKind::ALL {
        let mut event = kind.example();
        let mut visited = 0;
        event.for_each_text_mut(&mut |_, _, text| {
            *text = format!("\u{1}marker{visited}");
            visited += 1;
        });
        let mut leaves = Vec::new();
        string_leaves(&event_to_fields(&event).unwrap(), &mut leaves);
        let markers = leaves.iter().filter(|s| s.starts_with("\u{1}marker")).count();
        assert_eq!(markers, visited, "{kind}");
        for leaf in &leaves {
            assert!(
                leaf.starts_with("\u{1}marker") || is_structured_value(leaf),
                "{kind}: text field {leaf:?} was not visited"
            );
        }
    }
}

#[test]
fn paths_and_classes_name_the_fields() {
    let mut event = EventKind::PoolModified.example();
    let mut seen = Vec::new();
    event.for_each_text_mut(&mut |path, class, _| seen.push((path.to_string(), class)));
    assert!(seen.contains(&("actor.user_id".to_owned(), TextClass::Identifier)));
    assert!(seen.contains(&("pool_id".to_owned(), TextClass::Identifier)));
    assert!(seen.contains(&("changes[0].old".to_owned(), TextClass::Text)));
}

#[test]
fn long_fields_are_cut_and_noted() {
    let mut event = EventKind::AuthFailure.example();
    if let AuditEvent::AuthFailure { reason, attempted_user, .. } = &mut event {
        *reason = "é".repeat(MAX_TEXT_BYTES); // 2 bytes each: twice the bound
        *attempted_user = Some("u".repeat(MAX_IDENTIFIER_BYTES + 1));
    }
    let truncated = event.apply_bounds(&cut_at_char_boundary).unwrap();
    assert_eq!(truncated, ["attempted_user", "reason"]);
    let AuditEvent::AuthFailure { reason, attempted_user, .. } = &event else { unreachable!() };
    assert_eq!(reason.len(), MAX_TEXT_BYTES);
    assert_eq!(attempted_user.as_deref().map(str::len), Some(MAX_IDENTIFIER_BYTES));
}

#[test]
fn short_events_are_untouched() {
    for kind in EventKind::ALL {
        let mut event = kind.example();
        assert_eq!(event.apply_bounds(&cut_at_char_boundary).unwrap(), Vec::<String>::new());
        assert_eq!(event, kind.example());
    }
}

#[test]
fn long_lists_are_cut_and_noted() {
    let mut event = EventKind::TokenCreated.example();
    if let AuditEvent::TokenCreated { scope, .. } = &mut event {
        *scope = (0..100).map(|i| format!("scope-{i}")).collect();
    }
    assert_eq!(event.apply_bounds(&cut_at_char_boundary).unwrap(), ["scope"]);
    let AuditEvent::TokenCreated { scope, .. } = &event else { unreachable!() };
    assert_eq!(scope.len(), MAX_LIST_ITEMS);
}

#[test]
fn every_kind_filled_to_the_limit_fits_the_event_bound() {
    for kind in EventKind::ALL {
        let mut event = kind.example();
        // Fill every list to the item bound and every text field far past its bound.
        let fields = event_to_fields(&event).unwrap();
        let mut filled = fields.clone();
        if let Value::Object(map) = &mut filled {
            for value in map.values_mut() {
                if let Value::Array(items) = value
                    && let Some(first) = items.first().cloned()
                {
                    *items = vec![first; MAX_LIST_ITEMS * 2];
                }
            }
        }
        event = audit_events::event_from_fields(*kind, filled).unwrap();
        event.for_each_text_mut(&mut |_, _, text| *text = "x".repeat(MAX_TEXT_BYTES * 4));
        let truncated = event.apply_bounds(&cut_at_char_boundary).unwrap();
        assert!(!truncated.is_empty(), "{kind}");
        let size = postcard::to_allocvec(&event).unwrap().len();
        assert!(size <= MAX_EVENT_BYTES, "{kind}: {size} bytes");
    }
}

#[test]
fn a_bad_cut_callback_cannot_break_a_character() {
    let mut event = EventKind::TaskCanceled.example();
    if let AuditEvent::TaskCanceled { reason, .. } = &mut event {
        *reason = "€".repeat(MAX_TEXT_BYTES);
    }
    // A callback that ignores the bound and character boundaries.
    let truncated = event.apply_bounds(&|_, _| usize::MAX).unwrap();
    assert_eq!(truncated, ["reason"]);
    let AuditEvent::TaskCanceled { reason, .. } = &event else { unreachable!() };
    assert!(reason.len() <= MAX_TEXT_BYTES);
}
