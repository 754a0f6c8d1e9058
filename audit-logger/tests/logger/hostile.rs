//! Hostile text in every field of every kind is stored escaped, listed as escaped, and comes
//! back exactly through `unescape_log`; oversized fields are cut without splitting an escape.

use std::collections::BTreeMap;

use audit_events::{AuditEvent, Body, EventKind, MAX_TEXT_BYTES, Record};
use audit_testkit::MemorySink;
use input_validation::{is_dangerous, unescape_log};
use proptest::prelude::*;

use crate::support::logger;

/// Every text field of a stored event, by path.
fn fields(event: &AuditEvent) -> BTreeMap<String, String> {
    let mut event = event.clone();
    let mut out = BTreeMap::new();
    event.for_each_text_mut(&mut |path, _, text| {
        out.insert(path.to_string(), text.clone());
    });
    out
}

fn stored_events(records: &[Record]) -> Vec<&audit_events::EventRecord> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Event(e) => Some(e),
            Body::System(_) => None,
        })
        .collect()
}

fn assert_clean(text: &str) {
    assert!(!text.chars().any(is_dangerous), "a dangerous character was stored: {text:?}");
}

#[test]
fn hostile_text_in_every_field_is_stored_escaped_and_round_trips() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    let mut originals = Vec::new();
    for kind in EventKind::ALL {
        let mut event = kind.example();
        let mut original = BTreeMap::new();
        event.for_each_text_mut(&mut |path, _, text| {
            let hostile = format!(
                "{path}\u{1b}[2J\r\nFAKE: ok\u{202E}\u{0}\\x41\u{E0041}\u{2028}\u{200B}\u{9b}31m\u{7f}"
            );
            original.insert(path.to_string(), hostile.clone());
            *text = hostile;
        });
        originals.push((*kind, original));
        logger.emit(event).unwrap();
    }
    logger.flush().unwrap();
    let records = sink.records().unwrap();
    let stored = stored_events(&records);
    assert_eq!(stored.len(), EventKind::ALL.len());
    // Critical kinds take their own lane, so the log order is not the emit order.
    for (kind, original) in &originals {
        let matching: Vec<_> = stored.iter().filter(|r| r.event.kind() == *kind).collect();
        assert_eq!(matching.len(), 1, "{kind}");
        let record = matching[0];
        assert!(record.truncated.is_empty(), "{kind}: {:?}", record.truncated);
        let escaped: Vec<&String> = original.keys().collect();
        let mut listed: Vec<&String> = record.escaped.iter().collect();
        listed.sort();
        assert_eq!(listed, escaped, "{kind}: every hostile field is listed once");
        let texts = fields(&record.event);
        assert_eq!(texts.len(), original.len());
        for (path, text) in texts {
            assert_clean(&text);
            assert_eq!(unescape_log(&text).unwrap(), original[&path], "{kind} {path}");
        }
    }
    logger.shutdown().unwrap();
}

#[test]
fn an_oversized_hostile_field_is_cut_between_escapes_and_listed() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    let hostile = "a\u{1b}\u{202E}".repeat(10_000);
    let mut event = EventKind::AuthFailure.example();
    if let AuditEvent::AuthFailure { reason, .. } = &mut event {
        reason.clone_from(&hostile);
    }
    logger.emit(event).unwrap();
    logger.flush().unwrap();
    let records = sink.records().unwrap();
    let stored = stored_events(&records)[0];
    assert_eq!(stored.truncated, ["reason"]);
    assert_eq!(stored.escaped, ["reason"]);
    let reason = &fields(&stored.event)["reason"];
    assert!(reason.len() <= MAX_TEXT_BYTES && reason.len() > MAX_TEXT_BYTES - 10);
    assert_clean(reason);
    let unescaped = unescape_log(reason).unwrap();
    assert!(hostile.starts_with(unescaped.as_ref()));
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[\\x00-\\x1f\\x7f-\\u{a0}\\\\a-z]{0,40}",
        "[\\u{2000}-\\u{2070}\\u{202a}-\\u{202e}\\u{e0000}-\\u{e007f}\\u{feff}x]{0,40}",
        ".{1000,1400}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_text_is_stored_clean_and_comes_back(user in any_text(), reason in any_text()) {
        let sink = MemorySink::new();
        let logger = logger(&sink, |_| {});
        let mut event = EventKind::AuthFailure.example();
        if let AuditEvent::AuthFailure { attempted_user, reason: r, .. } = &mut event {
            *attempted_user = Some(user.clone());
            r.clone_from(&reason);
        }
        logger.emit(event).unwrap();
        logger.flush().unwrap();
        let records = sink.records().unwrap();
        let stored = stored_events(&records)[0];
        let texts = fields(&stored.event);
        for (path, original) in [("attempted_user", &user), ("reason", &reason)] {
            let text = &texts[path];
            assert_clean(text);
            let back = unescape_log(text).unwrap();
            if stored.truncated.iter().any(|p| p == path) {
                prop_assert!(original.starts_with(back.as_ref()));
                prop_assert!(back.len() < original.len());
            } else {
                prop_assert_eq!(back.as_ref(), original.as_str());
                // Listed as escaped exactly when escaping changed the text. (A cut field may
                // have lost its escapes to the cut and is still listed.)
                let listed = stored.escaped.iter().any(|p| p == path);
                prop_assert_eq!(listed, text.as_str() != back.as_ref());
            }
        }
        logger.shutdown().unwrap();
    }
}

#[test]
fn hostile_correlation_fields_are_stored_escaped_bounded_and_listed() {
    use audit_events::{MAX_IDENTIFIER_BYTES, RecordContext, Timestamp};
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    let request_id = "req\u{0}\u{1b}[2J\r\nFAKE: ok\u{202E}\\x41".to_owned();
    let huge_agent = format!("Mozilla/5.0 \u{0}{}", "\u{1b}A".repeat(500_000));
    let claimed = Timestamp(1_000_000_000);
    logger
        .emit_with(
            EventKind::AuthSuccess.example(),
            RecordContext {
                claimed_time: Some(claimed),
                request_id: Some(request_id.clone()),
                user_agent: Some(huge_agent),
            },
        )
        .unwrap();
    // NUL alone, and plain text that needs nothing.
    logger
        .emit_with(
            EventKind::AuthFailure.example(),
            RecordContext {
                request_id: Some("\u{0}".to_owned()),
                user_agent: Some("curl/8.5.0".to_owned()),
                ..RecordContext::default()
            },
        )
        .unwrap();
    logger.emit(EventKind::TaskSubmitted.example()).unwrap();
    logger.flush().unwrap();
    let records = sink.records().unwrap();
    let events: Vec<&Record> = records.iter().filter(|r| r.event().is_some()).collect();
    assert_eq!(events.len(), 3);
    let hostile = events.iter().find(|r| r.kind().as_str() == "auth.success").unwrap();
    let Body::Event(stored) = &hostile.body else { unreachable!() };
    assert_eq!(stored.escaped, ["envelope.request_id", "envelope.user_agent"]);
    assert_eq!(stored.truncated, ["envelope.user_agent"]);
    let id = hostile.request_id().unwrap();
    assert_clean(id);
    assert_eq!(unescape_log(id).unwrap(), request_id);
    let agent = hostile.user_agent().unwrap();
    assert_clean(agent);
    assert!(agent.len() <= MAX_TEXT_BYTES, "{}", agent.len());
    assert!(agent.starts_with("Mozilla/5.0 "), "{agent}");
    assert!(unescape_log(agent).is_ok(), "the cut never splits an escape");
    // The claimed time is kept as given, apart from the record's own time.
    assert_eq!(hostile.claimed_time(), Some(claimed));
    assert!(hostile.time > claimed);

    let nul = events.iter().find(|r| r.kind().as_str() == "auth.failure").unwrap();
    assert_clean(nul.request_id().unwrap());
    assert_eq!(unescape_log(nul.request_id().unwrap()).unwrap(), "\u{0}");
    assert_eq!(nul.user_agent(), Some("curl/8.5.0"));
    let Body::Event(stored) = &nul.body else { unreachable!() };
    assert_eq!(stored.escaped, ["envelope.request_id"]);

    // A plain emit writes the current format with an empty context.
    let plain = events.iter().find(|r| r.kind().as_str() == "task.submitted").unwrap();
    assert_eq!(plain.format(), audit_events::RECORD_FORMAT_VERSION);
    assert_eq!(plain.context, Some(RecordContext::default()));

    // An identifier over its bound is cut to it.
    logger
        .emit_with(
            EventKind::AuthSuccess.example(),
            RecordContext { request_id: Some("r".repeat(10_000)), ..RecordContext::default() },
        )
        .unwrap();
    logger.flush().unwrap();
    let records = sink.records().unwrap();
    let last = records.iter().rev().find(|r| r.event().is_some()).unwrap();
    assert_eq!(last.request_id().unwrap().len(), MAX_IDENTIFIER_BYTES);
    logger.shutdown().unwrap();
}
