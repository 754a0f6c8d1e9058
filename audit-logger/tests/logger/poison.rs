//! Writer failures: an injected I/O error or panic poisons the logger, every later call says
//! so, and the events it could not write are counted as lost.

use audit_events::{EventKind, KindCount};
use audit_logger::AuditError;
use audit_testkit::MemorySink;

use crate::support::{PATIENCE, critical, logger, routine, tags};

fn cause(err: &AuditError) -> &str {
    match err {
        AuditError::WriterPoisoned { cause, .. } => cause,
        other => panic!("expected WriterPoisoned, got {other:?}"),
    }
}

#[test]
fn an_io_error_poisons_the_logger_and_every_later_call_says_so() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    logger.emit(routine("durable")).unwrap();
    logger.flush().unwrap();

    sink.fail_next_append("fdatasync failed: EIO \u{1b}[31m");
    logger.emit(routine("never written")).unwrap();
    let err = logger.flush().unwrap_err();
    let text = cause(&err);
    assert!(text.contains("fdatasync failed: EIO"), "{text}");
    // The cause is escaped: no raw control character reaches whoever prints it.
    assert!(text.contains(r"\x1b[31m") && !text.contains('\u{1b}'), "{text}");
    assert!(!err.to_string().contains('\u{1b}'));

    assert_eq!(logger.emit(routine("after")).unwrap_err(), err);
    assert_eq!(logger.emit(critical("after")).unwrap_err(), err);
    assert_eq!(logger.flush().unwrap_err(), err);

    let stats = logger.stats();
    assert_eq!(stats.poisoned.as_deref(), Some(text));
    assert_eq!(stats.lost_unwritten, 1);
    assert_eq!(stats.refused_unavailable, 2);
    assert_eq!(
        stats.dropped_by_kind,
        [
            KindCount { kind: EventKind::AuthFailure, count: 1 },
            KindCount { kind: EventKind::TaskCompleted, count: 2 },
        ]
    );
    assert_eq!(logger.shutdown().unwrap_err(), err);
    assert_eq!(tags(&sink.records().unwrap()), ["durable"]);
}

#[test]
fn a_panic_in_the_writer_poisons_the_logger() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    sink.panic_next_append();
    logger.emit(routine("never written")).unwrap();
    let err = logger.flush().unwrap_err();
    assert!(cause(&err).contains("panicked"), "{err}");
    assert_eq!(logger.emit(routine("after")).unwrap_err(), err);
    assert_eq!(logger.stats().lost_unwritten, 1);
    assert_eq!(logger.shutdown().unwrap_err(), err);
    assert!(!sink.is_open(), "the failed writer released the log");
}

#[test]
fn events_queued_when_the_writer_fails_are_counted_lost() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    let hold = sink.hold_appends();
    logger.emit(routine("in flight")).unwrap();
    assert!(hold.wait_until_writer_stalled(PATIENCE));
    sink.fail_next_append("write failed");
    for i in 0..20 {
        logger.emit(routine(&format!("queued {i}"))).unwrap();
    }
    for i in 0..3 {
        logger.emit(critical(&format!("queued critical {i}"))).unwrap();
    }
    drop(hold);
    assert!(matches!(logger.flush(), Err(AuditError::WriterPoisoned { .. })));
    let stats = logger.stats();
    assert_eq!(stats.accepted, 24);
    assert_eq!(stats.written, 0);
    assert_eq!(stats.lost_unwritten, 24);
    assert_eq!(stats.dropped_total, 24);
    assert_eq!((stats.queue_events, stats.critical_queue_events), (0, 0));
    assert!(logger.shutdown().is_err());
    assert_eq!(sink.event_records(), 0);
}
