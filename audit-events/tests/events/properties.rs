//! Property tests: arbitrary events of every kind round trip; arbitrary bytes never panic.

use crate::support::envelope;
use audit_events::{Body, EventKind, EventRecord, Record, RecordHeader, cut_at_char_boundary};
use proptest::prelude::*;

/// An example of `kind` with every text field replaced by arbitrary strings.
fn arbitrary_record(kind_index: usize, texts: &[String], seq: u64, time: i64) -> Record {
    let kind = EventKind::ALL[kind_index % EventKind::ALL.len()];
    let mut event = kind.example();
    let mut i = 0;
    event.for_each_text_mut(&mut |_, _, text| {
        if !texts.is_empty() {
            text.clone_from(&texts[i % texts.len()]);
        }
        i += 1;
    });
    let truncated = event.apply_bounds(&cut_at_char_boundary).unwrap();
    let mut record = envelope(seq, Body::Event(EventRecord { event, escaped: vec![], truncated }));
    record.time = audit_events::Timestamp(time);
    record
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_events_round_trip(
        kind in 0usize..35,
        texts in proptest::collection::vec(any::<String>(), 0..6),
        seq in any::<u64>(),
        time in any::<i64>(),
    ) {
        let record = arbitrary_record(kind, &texts, seq, time);
        let bytes = record.encode().unwrap();
        prop_assert_eq!(Record::decode(&bytes).unwrap(), record.clone());
        let header = RecordHeader::peek(&bytes).unwrap();
        prop_assert_eq!(header.seq, seq);
        let (parsed, _, _) =
            Record::from_json_value(record.to_json_value(None, None).unwrap()).unwrap();
        prop_assert_eq!(parsed, record);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Record::decode(&bytes);
        let _ = RecordHeader::peek(&bytes);
        let mut versioned = vec![audit_events::RECORD_FORMAT_VERSION];
        versioned.extend_from_slice(&bytes);
        let _ = Record::decode(&versioned);
        let _ = RecordHeader::peek(&versioned);
    }

    #[test]
    fn mutated_records_never_panic_and_never_decode_to_other_bytes(
        kind in 0usize..35,
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let record = arbitrary_record(kind, &[], 3, 0);
        let mut bytes = record.encode().unwrap();
        let at = position.index(bytes.len());
        bytes[at] = value;
        if let Ok(decoded) = Record::decode(&bytes) {
            // Strict decoding: whatever decodes re-encodes to exactly these bytes.
            prop_assert_eq!(decoded.encode().unwrap(), bytes);
        }
    }
}
