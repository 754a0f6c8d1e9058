//! Shared fixtures for the audit-events integration tests: fixed envelopes and one record of
//! every event kind and every system kind.

use audit_events::{
    AuditId, Body, EventKind, EventRecord, HashValue, KindCount, LogId, Record, RecordContext,
    RotationReason, SystemRecord, Timestamp,
};

/// 2026-11-22T09:24:34.123456789Z.
pub(crate) const TIME: Timestamp = Timestamp(1_795_339_474_123_456_789);

pub(crate) fn envelope(seq: u64, body: Body) -> Record {
    Record {
        log_id: LogId([0x11; 16]),
        seq,
        time: TIME,
        audit_id: AuditId([0x22; 16]),
        service_id: "orchestrator-1".to_owned(),
        body,
        context: Some(RecordContext::default()),
    }
}

/// A record of the current format with every correlation field set.
pub(crate) fn with_context(seq: u64, body: Body) -> Record {
    let mut record = envelope(seq, body);
    record.context = Some(RecordContext {
        // 2026-11-22T09:20:00Z: five minutes before the log received it.
        claimed_time: Some(Timestamp(1_795_339_200_000_000_000)),
        request_id: Some("req-7f3a9c01".to_owned()),
        user_agent: Some("curl/8.5.0".to_owned()),
    });
    record
}

pub(crate) fn system_examples() -> Vec<SystemRecord> {
    vec![
        SystemRecord::LogCreated { writer_version: "audit-store 0.1.0".to_owned() },
        SystemRecord::LogResumed {
            writer_version: "audit-store 0.1.0".to_owned(),
            previous_clean: false,
        },
        SystemRecord::EventsDropped {
            total: 3,
            first: TIME,
            last: Timestamp(TIME.0 + 5),
            by_kind: vec![
                KindCount { kind: EventKind::AuthSuccess, count: 2 },
                KindCount { kind: EventKind::TaskSubmitted, count: 1 },
            ],
        },
        SystemRecord::CrashRecovery {
            segment: "seg-00000000000000000000.log".to_owned(),
            offset: 4096,
            bytes_discarded: 17,
        },
        SystemRecord::Seal {
            epoch: 7,
            tree_size: 1000,
            root: HashValue([0x33; 32]),
            last_chain: HashValue([0x44; 32]),
            sealed_at: TIME,
            mac: HashValue([0x55; 32]),
        },
        SystemRecord::CheckpointWritten { tree_size: 1001, root: HashValue([0x66; 32]) },
        SystemRecord::SegmentRotated { reason: RotationReason::Day },
        SystemRecord::RetentionPurge {
            first_seq: 0,
            last_seq: 999,
            end_chain: HashValue([0x77; 32]),
            end_root: HashValue([0x78; 32]),
            segments_removed: 2,
            retention_days: 2555,
            cutoff: TIME,
        },
        SystemRecord::LogClosed,
        SystemRecord::IndexCommitted {
            first_seq: 1000,
            records: 250,
            end_offset: 65_536,
            digest: HashValue([0x79; 32]),
        },
        SystemRecord::LegalHold { held: true, reason: "case 2026-17".to_owned() },
    ]
}

/// [`all_records`] as format 1 wrote them (no correlation fields).
pub(crate) fn all_records_v1() -> Vec<Record> {
    all_records().into_iter().map(|r| Record { context: None, ..r }).collect()
}

/// One record of every event kind (seq 0..35) followed by one of every system kind.
pub(crate) fn all_records() -> Vec<Record> {
    let events = EventKind::ALL.iter().map(|k| Body::Event(EventRecord::new(k.example())));
    let systems = system_examples().into_iter().map(Body::System);
    events
        .chain(systems)
        .enumerate()
        .map(|(i, body)| envelope(u64::try_from(i).unwrap(), body))
        .collect()
}
