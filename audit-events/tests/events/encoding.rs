//! The canonical encoding: golden bytes for every kind, round trips, strict decoding, headers.

use crate::support::{all_records, all_records_v1, envelope, with_context};
use audit_events::{
    Body, EventError, EventKind, EventRecord, RECORD_FORMAT_VERSION, Record, RecordContext,
    RecordHeader, RecordKind, SystemKind, SystemRecord, Timestamp, to_hex,
};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/records.txt");
/// The golden vectors of record format 1, frozen when format 2 was introduced: records of every
/// kind as logs written before then hold them. Never regenerated.
const GOLDEN_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/records-v1.txt");

/// Records of format 2 with correlation fields set, after one of every kind.
fn context_records() -> Vec<Record> {
    let login = Body::Event(EventRecord::new(EventKind::AuthSuccess.example()));
    let denied = Body::Event(EventRecord::new(EventKind::AuthorizationDenied.example()));
    let mut only_claimed = envelope(47, denied);
    only_claimed.context = Some(RecordContext {
        claimed_time: Some(Timestamp(-1)),
        request_id: None,
        user_agent: None,
    });
    vec![with_context(46, login), only_claimed]
}

fn golden_text() -> String {
    let mut out = String::from(
        "# Canonical encodings of one record of every kind (audit-events record format 2), then\n\
         # two with correlation fields (`+context`). Format 1's are in records-v1.txt, frozen.\n\
         # Regenerate only for a deliberate format change: AUDIT_UPDATE_GOLDEN=1 cargo test -p audit-events\n",
    );
    for record in all_records() {
        out.push_str(&format!("{} {}\n", record.kind(), to_hex(&record.encode().unwrap())));
    }
    for record in context_records() {
        out.push_str(&format!("{}+context {}\n", record.kind(), to_hex(&record.encode().unwrap())));
    }
    out
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn format_1_golden_vectors_still_decode_to_the_same_records() {
    let text = std::fs::read_to_string(GOLDEN_V1).expect("format 1 golden file present");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let expected = all_records_v1();
    assert_eq!(lines.len(), expected.len());
    for (line, want) in lines.iter().zip(expected) {
        let (kind, hex) = line.split_once(' ').unwrap();
        let bytes = from_hex(hex);
        assert_eq!(bytes[0], 1, "{kind}");
        let record = Record::decode(&bytes).unwrap();
        assert_eq!(record.kind().as_str(), kind);
        assert_eq!(record.format(), 1);
        assert_eq!(record, want, "{kind}");
        assert_eq!(record.request_id(), None);
        // A format 1 record re-encodes to its own bytes (its leaf hash is unchanged).
        assert_eq!(record.encode().unwrap(), bytes, "{kind}");
        assert_eq!(RecordHeader::peek(&bytes).unwrap().kind, record.kind());
    }
}

#[test]
fn the_two_formats_differ_only_by_the_version_byte_and_the_context() {
    for (v1, v2) in all_records_v1().into_iter().zip(all_records()) {
        let old = v1.encode().unwrap();
        let new = v2.encode().unwrap();
        assert_eq!((old[0], new[0]), (1, RECORD_FORMAT_VERSION));
        // Empty context: three `None` bytes after the body.
        assert_eq!(&new[1..], [&old[1..], &[0, 0, 0][..]].concat(), "{}", v1.kind());
        // Neither decodes as the other format.
        let mut relabelled = old.clone();
        relabelled[0] = RECORD_FORMAT_VERSION;
        assert!(Record::decode(&relabelled).is_err());
        let mut relabelled = new.clone();
        relabelled[0] = 1;
        assert!(Record::decode(&relabelled).is_err());
    }
}

#[test]
fn correlation_fields_round_trip_and_are_in_the_bytes() {
    for record in context_records() {
        let bytes = record.encode().unwrap();
        let back = Record::decode(&bytes).unwrap();
        assert_eq!(back, record);
        let plain = Record { context: Some(RecordContext::default()), ..record.clone() };
        assert_ne!(plain.encode().unwrap(), bytes, "the context must change the record's bytes");
    }
    let record = &context_records()[0];
    assert_eq!(record.request_id(), Some("req-7f3a9c01"));
    assert_eq!(record.user_agent(), Some("curl/8.5.0"));
    assert_eq!(record.claimed_time(), Some(Timestamp(1_795_339_200_000_000_000)));
    // Hostile text survives the encoding unchanged (escaping is the logger's job, and shown
    // text is escaped again by every printer).
    let mut hostile = envelope(9, Body::System(SystemRecord::LogClosed));
    hostile.context = Some(RecordContext {
        claimed_time: Some(Timestamp(i64::MIN)),
        request_id: Some("a\0b\nc\u{1b}[31m".to_owned()),
        user_agent: Some("x".repeat(70_000)),
    });
    assert_eq!(Record::decode(&hostile.encode().unwrap()).unwrap(), hostile);
}

#[test]
fn golden_bytes_freeze_the_encoding_of_every_kind() {
    let actual = golden_text();
    if std::env::var_os("AUDIT_UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(GOLDEN).expect("golden file present");
    for (want, got) in expected.lines().zip(actual.lines()) {
        assert_eq!(got, want, "encoding changed: a stored log would no longer verify");
    }
    assert_eq!(expected.lines().count(), actual.lines().count());
    assert_eq!(expected.lines().filter(|l| !l.starts_with('#')).count(), 35 + 11 + 2);
}

#[test]
fn every_kind_round_trips() {
    for record in all_records().into_iter().chain(context_records()) {
        let bytes = record.encode().unwrap();
        assert_eq!(bytes[0], RECORD_FORMAT_VERSION);
        assert_eq!(Record::decode(&bytes).unwrap(), record, "{}", record.kind());
    }
}

#[test]
fn headers_match_full_decodes() {
    for record in all_records().into_iter().chain(context_records()).chain(all_records_v1()) {
        let bytes = record.encode().unwrap();
        let header = RecordHeader::peek(&bytes).unwrap();
        assert_eq!(header.seq, record.seq);
        assert_eq!(header.time, record.time);
        assert_eq!(header.log_id, record.log_id);
        assert_eq!(header.audit_id, record.audit_id);
        assert_eq!(header.service_id, record.service_id);
        assert_eq!(header.kind, record.kind());
    }
}

#[test]
fn system_kinds_follow_encoding_order() {
    let kinds: Vec<SystemKind> =
        crate::support::system_examples().iter().map(|s| s.kind()).collect();
    assert_eq!(kinds, SystemKind::ALL);
}

#[test]
fn entries_encode_exactly_like_their_records() {
    let record = &all_records()[3];
    let entry = audit_events::Entry {
        time: record.time,
        audit_id: record.audit_id,
        body: record.body.clone(),
        context: RecordContext { request_id: Some("req-1".to_owned()), ..RecordContext::default() },
    };
    let record = &Record { context: Some(entry.context.clone()), ..record.clone() };
    let mut out = vec![0xff];
    entry.encode_as_record(&record.log_id, record.seq, &record.service_id, &mut out).unwrap();
    assert_eq!(&out[1..], &record.encode().unwrap()[..]);
}

#[test]
fn decoding_is_strict() {
    let record = envelope(5, Body::Event(EventRecord::new(EventKind::AuthSuccess.example())));
    let bytes = record.encode().unwrap();

    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(Record::decode(&trailing), Err(EventError::TrailingBytes { count: 1 }));

    let mut future = bytes.clone();
    future[0] = 3;
    assert_eq!(
        Record::decode(&future),
        Err(EventError::UnsupportedVersion { found: 3, supported: RECORD_FORMAT_VERSION })
    );

    assert!(matches!(Record::decode(&[]), Err(EventError::Malformed { .. })));
    for len in 0..bytes.len() {
        assert!(Record::decode(&bytes[..len]).is_err(), "prefix of {len} bytes decoded");
    }

    // seq sits after the version byte and the 16-byte log id: 5 encoded over-long as 0x85 0x00.
    assert_eq!(bytes[17], 5);
    let mut overlong = bytes[..17].to_vec();
    overlong.extend_from_slice(&[0x85, 0x00]);
    overlong.extend_from_slice(&bytes[18..]);
    assert!(Record::decode(&overlong).is_err(), "an over-long varint must not decode");
}

#[test]
fn unknown_kinds_are_rejected_by_peek_and_decode() {
    let record = envelope(0, Body::System(audit_events::SystemRecord::LogClosed));
    let mut bytes = record.encode().unwrap();
    // After the body variant (1 = system) and the system variant (8) come the three empty
    // context fields.
    let last = bytes.len() - 4;
    assert_eq!(&bytes[last - 1..], &[1, 8, 0, 0, 0]);
    bytes[last] = 60;
    assert!(RecordHeader::peek(&bytes).is_err());
    assert!(Record::decode(&bytes).is_err());
    assert_eq!(
        RecordHeader::peek(&record.encode().unwrap()).unwrap().kind,
        RecordKind::System(SystemKind::LogClosed)
    );
}

#[test]
fn a_typical_auth_success_is_small() {
    let record =
        envelope(1_000_000, Body::Event(EventRecord::new(EventKind::AuthSuccess.example())));
    let len = record.encode().unwrap().len();
    assert!(len < 200, "auth.success encodes to {len} bytes");
}
