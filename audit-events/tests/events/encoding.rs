//! The canonical encoding: golden bytes for every kind, round trips, strict decoding, headers.

use crate::support::{all_records, envelope};
use audit_events::{
    Body, EventError, EventKind, EventRecord, RECORD_FORMAT_VERSION, Record, RecordHeader,
    RecordKind, SystemKind, to_hex,
};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/records.txt");

fn golden_text() -> String {
    let mut out = String::from(
        "# Canonical encodings of one record of every kind (audit-events FORMAT v1).\n\
         # Regenerate only for a deliberate format change: AUDIT_UPDATE_GOLDEN=1 cargo test -p audit-events\n",
    );
    for record in all_records() {
        out.push_str(&format!("{} {}\n", record.kind(), to_hex(&record.encode().unwrap())));
    }
    out
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
    assert_eq!(expected.lines().filter(|l| !l.starts_with('#')).count(), 35 + 11);
}

#[test]
fn every_kind_round_trips() {
    for record in all_records() {
        let bytes = record.encode().unwrap();
        assert_eq!(bytes[0], RECORD_FORMAT_VERSION);
        assert_eq!(Record::decode(&bytes).unwrap(), record, "{}", record.kind());
    }
}

#[test]
fn headers_match_full_decodes() {
    for record in all_records() {
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
    };
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
    future[0] = 2;
    assert_eq!(
        Record::decode(&future),
        Err(EventError::UnsupportedVersion { found: 2, supported: RECORD_FORMAT_VERSION })
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
    let last = bytes.len() - 1;
    // The last two bytes are the body variant (1 = system) and the system variant (8).
    assert_eq!(&bytes[last - 1..], &[1, 8]);
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
