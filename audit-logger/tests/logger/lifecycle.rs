//! Start, seals, retention, shutdown and drop, the disabled mode, and the local mode before
//! the store is wired.

use std::time::{Duration, Instant};

use audit_events::{Body, EventKind, SystemRecord};
use audit_logger::{AuditConfig, AuditError, AuditLogger};
use audit_testkit::MemorySink;

use crate::support::{PATIENCE, logger, routine, tags};

#[test]
fn idle_epochs_are_sealed_on_time() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| c.seal_epoch = Duration::from_millis(5));
    // No event at all: the writer wakes for the seals by itself.
    assert!(sink.wait_for_seals(3, PATIENCE));
    logger.shutdown().unwrap();
}

#[test]
fn retention_runs_when_the_writer_starts() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    logger.emit(routine("e")).unwrap();
    logger.flush().unwrap();
    assert_eq!(sink.retention_runs(), 1);
    logger.shutdown().unwrap();
}

#[test]
fn shutdown_drains_writes_and_closes() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    for i in 0..100 {
        logger.emit(routine(&format!("e{i}"))).unwrap();
    }
    let seals_before = sink.seals();
    let report = logger.shutdown().unwrap();
    assert!(report.finished_in_time);
    assert_eq!(report.events_written, 100);
    assert_eq!(report.dropped_total, 0);
    let records = sink.records().unwrap();
    assert_eq!(tags(&records).len(), 100);
    assert_eq!(report.durable_seq, Some(100), "created record + 100 events");
    assert!(matches!(records.last().map(|r| &r.body), Some(Body::System(SystemRecord::LogClosed))));
    assert_eq!(sink.closes(), 1);
    assert!(sink.seals() > seals_before, "closing seals the last epoch");
    assert!(!sink.is_open());
}

#[test]
fn dropping_the_logger_shuts_it_down() {
    let sink = MemorySink::new();
    {
        let logger = logger(&sink, |_| {});
        logger.emit(routine("e")).unwrap();
    }
    assert_eq!(sink.closes(), 1);
    assert_eq!(tags(&sink.records().unwrap()), ["e"]);
}

#[test]
fn shutdown_is_bounded_when_the_writer_is_stuck() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| c.shutdown_timeout = Duration::from_millis(50));
    let hold = sink.hold_appends();
    logger.emit(routine("stuck")).unwrap();
    assert!(hold.wait_until_writer_stalled(PATIENCE));
    let started = Instant::now();
    let report = logger.shutdown().unwrap();
    assert!(!report.finished_in_time);
    assert!(started.elapsed() < PATIENCE);
    // Once the disk comes back the detached writer still finishes the job.
    drop(hold);
    assert!(sink.wait_for_event_records(1, PATIENCE));
}

#[test]
fn a_disabled_logger_is_explicit_and_visible() {
    let logger = AuditLogger::new(AuditConfig::disabled("home-lab")).unwrap();
    logger.emit(routine("e")).unwrap();
    logger.emit(EventKind::AuthFailure.example()).unwrap();
    logger.flush().unwrap();
    let stats = logger.stats();
    assert!(stats.disabled);
    assert_eq!(stats.discarded_disabled, 2);
    assert_eq!((stats.accepted, stats.written), (0, 0));
    let report = logger.shutdown().unwrap();
    assert_eq!(report.events_written, 0);
}

#[test]
fn a_logger_over_a_sink_is_not_disabled() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    assert!(!logger.stats().disabled);
}

#[test]
fn an_invalid_service_id_is_refused_without_echoing_it() {
    let err = AuditLogger::new(AuditConfig::disabled("svc\r\nFAKE")).unwrap_err();
    assert!(matches!(err, AuditError::Config { .. }));
    assert!(!err.to_string().contains("FAKE"), "{err}");
}
