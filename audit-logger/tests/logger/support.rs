//! Helpers shared by the logger's integration tests: configurations, tagged events and checks
//! over the records a memory sink holds.

use std::time::Duration;

use audit_events::{AuditEvent, Body, EventKind, KindCount, Record, SystemRecord};
use audit_logger::{AuditConfig, AuditLogger};
use audit_testkit::MemorySink;

/// The longest any test waits for the writer before failing. Waits end as soon as the
/// condition holds; this bound only turns a hang into a failure.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// A configuration for a logger over a memory sink (the mode is not used).
pub(crate) fn config() -> AuditConfig {
    AuditConfig::disabled("svc-test-1")
}

/// A logger over `sink` with the configuration `tweak` leaves.
pub(crate) fn logger(sink: &MemorySink, tweak: impl FnOnce(&mut AuditConfig)) -> AuditLogger {
    let mut config = config();
    tweak(&mut config);
    AuditLogger::with_memory_sink(config, sink).unwrap()
}

pub(crate) use audit_testkit::fixture::routine;

/// A critical event whose reason is `tag`.
pub(crate) fn critical(tag: &str) -> AuditEvent {
    let mut event = EventKind::AuthFailure.example();
    if let AuditEvent::AuthFailure { reason, .. } = &mut event {
        *reason = tag.to_owned();
    }
    assert!(event.is_critical());
    event
}

/// The tag of an event made by [`routine`] or [`critical`].
pub(crate) fn tag(record: &Record) -> Option<&str> {
    match record.event()? {
        AuditEvent::TaskCompleted { task_id, .. } => Some(task_id),
        AuditEvent::AuthFailure { reason, .. } => Some(reason),
        _ => None,
    }
}

/// Tags of the event records, in log order.
pub(crate) fn tags(records: &[Record]) -> Vec<String> {
    records.iter().filter_map(tag).map(str::to_owned).collect()
}

/// Asserts sequence numbers run 0, 1, 2... with one log id and one service id.
pub(crate) fn assert_continuous(records: &[Record]) {
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.seq, i as u64, "sequence gap or reorder at index {i}");
        assert_eq!(record.log_id, records[0].log_id);
        assert_eq!(record.service_id, "svc-test-1");
    }
}

/// The system records, in log order.
pub(crate) fn system(records: &[Record]) -> Vec<&SystemRecord> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::System(s) => Some(s),
            Body::Event(_) => None,
        })
        .collect()
}

/// Sums of every events-dropped record, per kind, sorted by kind.
pub(crate) fn recorded_drops(records: &[Record]) -> Vec<KindCount> {
    let mut sums: Vec<KindCount> = Vec::new();
    for record in system(records) {
        if let SystemRecord::EventsDropped { total, first, last, by_kind } = record {
            assert_eq!(*total, by_kind.iter().map(|c| c.count).sum::<u64>());
            assert!(first <= last);
            for count in by_kind {
                match sums.iter_mut().find(|c| c.kind == count.kind) {
                    Some(sum) => sum.count += count.count,
                    None => sums.push(*count),
                }
            }
        }
    }
    sums.sort_by_key(|c| c.kind);
    sums
}
