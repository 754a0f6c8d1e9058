//! Floods: both bounds of each lane hold, refusals are counted by kind and recorded in the
//! chain, critical events still land, and memory stays within the byte bound.

use audit_events::{AuditEvent, EventKind, KindCount};
use audit_logger::{AuditError, MIN_QUEUE_BYTES};
use audit_testkit::MemorySink;

use crate::support::{PATIENCE, critical, logger, recorded_drops, routine, tags};

#[test]
fn a_flood_is_refused_and_recorded_while_critical_events_still_land() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| {
        c.queue.max_events = 50;
        c.queue.critical_max_events = 8;
    });
    let hold = sink.hold_appends();
    logger.emit(routine("first")).unwrap();
    assert!(hold.wait_until_writer_stalled(PATIENCE));

    // The first event still holds its place until it is durable: 49 more fit.
    for i in 0..49 {
        logger.emit(routine(&format!("r{i}"))).unwrap();
    }
    for _ in 0..100 {
        let err = logger.emit(routine("refused")).unwrap_err();
        assert_eq!(err, AuditError::BufferFull { kind: EventKind::TaskCompleted });
    }
    for _ in 0..7 {
        assert!(logger.emit(EventKind::AuthSuccess.example()).is_err());
    }
    // The critical lane is untouched by the flood.
    for i in 0..8 {
        logger.emit(critical(&format!("c{i}"))).unwrap();
    }
    let err = logger.emit(critical("one too many")).unwrap_err();
    assert_eq!(err, AuditError::BufferFull { kind: EventKind::AuthFailure });

    let stats = logger.stats();
    assert_eq!(stats.queue_events_high_water, 50);
    assert_eq!(stats.critical_queue_events_high_water, 8);
    assert_eq!(stats.refused_full, 108);
    let expected_drops = vec![
        KindCount { kind: EventKind::AuthSuccess, count: 7 },
        KindCount { kind: EventKind::AuthFailure, count: 1 },
        KindCount { kind: EventKind::TaskCompleted, count: 100 },
    ];
    let mut sorted = expected_drops.clone();
    sorted.sort_by_key(|c| c.kind);
    assert_eq!(stats.dropped_by_kind, sorted);

    drop(hold);
    logger.flush().unwrap();
    let records = sink.records().unwrap();
    assert_eq!(recorded_drops(&records), sorted);
    let tags = tags(&records);
    assert_eq!(tags.len(), 1 + 49 + 8);
    // After the stalled batch, the writer takes the critical lane first.
    let expected: Vec<String> = std::iter::once("first".to_owned())
        .chain((0..8).map(|i| format!("c{i}")))
        .chain((0..49).map(|i| format!("r{i}")))
        .collect();
    assert_eq!(tags, expected);
    let stats = logger.stats();
    assert_eq!((stats.queue_events, stats.queue_bytes), (0, 0));
    assert_eq!(stats.drop_records_written, 1);
    logger.shutdown().unwrap();
}

fn with_reason(len: usize) -> AuditEvent {
    AuditEvent::TaskCanceled {
        actor: EventKind::TaskCanceled.example().actor().unwrap().clone(),
        task_id: "task-1".to_owned(),
        reason: "x".repeat(len),
    }
}

#[test]
fn the_byte_bound_is_enforced() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| c.queue.max_bytes = MIN_QUEUE_BYTES);
    let hold = sink.hold_appends();
    logger.emit(with_reason(1000)).unwrap();
    assert!(hold.wait_until_writer_stalled(PATIENCE));
    let mut accepted = 1u64;
    while logger.emit(with_reason(1000)).is_ok() {
        accepted += 1;
    }
    let stats = logger.stats();
    // Refused by bytes, long before the 1000-event bound.
    assert!(accepted < 500, "{accepted}");
    assert_eq!(stats.queue_events_high_water, accepted);
    assert!(stats.queue_bytes_high_water <= MIN_QUEUE_BYTES as u64);
    let per_event = stats.queue_bytes_high_water / accepted;
    assert!(per_event >= 1000, "the estimate counts the text: {per_event}");
    assert!(stats.queue_bytes_high_water + per_event > MIN_QUEUE_BYTES as u64);
    drop(hold);
    logger.flush().unwrap();
    assert_eq!(sink.event_records(), accepted);
}

#[test]
fn huge_hostile_fields_are_cut_not_refused_and_memory_stays_bounded() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| c.queue.max_bytes = MIN_QUEUE_BYTES);
    let hold = sink.hold_appends();
    logger.emit(routine("first")).unwrap();
    assert!(hold.wait_until_writer_stalled(PATIENCE));
    let hostile = "\u{1b}[2J".repeat(256 * 1024);
    let mut accepted = 0;
    for _ in 0..40 {
        let mut event = with_reason(0);
        if let AuditEvent::TaskCanceled { reason, .. } = &mut event {
            reason.clone_from(&hostile);
        }
        if logger.emit(event).is_ok() {
            accepted += 1;
        }
    }
    // A megabyte of hostile text weighs what its kilobyte bound weighs.
    assert_eq!(accepted, 40);
    let stats = logger.stats();
    assert!(stats.queue_bytes_high_water < 40 * 8 * 1024, "{}", stats.queue_bytes_high_water);
    drop(hold);
    logger.flush().unwrap();
    assert_eq!(sink.event_records(), 41);
}
