//! What operators see through `tracing`: refusals (rate-limited), a poisoned writer, a log
//! resumed and recovered after a torn write; never the content of an audit event. The
//! `LoggerStats` snapshot serialises for a metrics exporter.

use std::sync::Arc;

use audit_logger::{AuditConfig, AuditError, AuditLogger};
use audit_testkit::trace::Capture;
use audit_testkit::{FaultyIo, MemorySink};

use crate::support::{PATIENCE, logger, routine};

/// Text carried by every event these tests emit; it must never reach `tracing`.
const CONTENT: &str = "customer-4242-secret-task";

fn assert_no_content(capture: &Capture) {
    let leaked = capture.matching(CONTENT);
    assert!(leaked.is_empty(), "event content reached tracing: {leaked:?}");
}

#[test]
fn refusals_and_poisoning_are_reported_without_event_content() {
    let capture = Capture::new();
    tracing::subscriber::with_default(capture.clone(), || {
        let sink = MemorySink::new();
        let logger = logger(&sink, |c| c.queue.max_events = 4);
        let hold = sink.hold_appends();
        logger.emit(routine(CONTENT)).unwrap();
        assert!(hold.wait_until_writer_stalled(PATIENCE));
        let mut refused = 0;
        for _ in 0..20 {
            if let Err(AuditError::BufferFull { .. }) = logger.emit(routine(CONTENT)) {
                refused += 1;
            }
        }
        assert!(refused > 0);
        drop(hold);
        logger.flush().unwrap();
        let drops = capture.matching("refused");
        assert_eq!(drops.len(), 1, "{:?}", capture.lines());
        assert!(drops[0].starts_with("WARN") && drops[0].contains(&format!("refused={refused}")));

        // Later refusals within the interval are added up, not reported one by one.
        let hold = sink.hold_appends();
        logger.emit(routine(CONTENT)).unwrap();
        assert!(hold.wait_until_writer_stalled(PATIENCE));
        while logger.emit(routine(CONTENT)).is_ok() {}
        drop(hold);
        logger.flush().unwrap();
        assert_eq!(capture.matching("refused").len(), 1, "rate-limited");

        sink.fail_next_append("injected: no space left on device");
        logger.emit(routine(CONTENT)).unwrap();
        assert!(logger.flush().is_err());
        let poisoned = capture.matching("poisoned");
        assert_eq!(poisoned.len(), 1, "{:?}", capture.lines());
        assert!(poisoned[0].starts_with("ERROR") && poisoned[0].contains("no space left"));

        let stats = serde_json::to_value(logger.stats()).unwrap();
        assert_eq!(stats["refused_full"].as_u64(), logger.stats().refused_full.into());
        assert!(stats["poisoned"].as_str().unwrap().contains("no space left"));
        drop(logger);
    });
    assert_no_content(&capture);
}

#[test]
fn the_store_reports_resume_and_torn_write_recovery() {
    let capture = Capture::new();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    tracing::subscriber::with_default(capture.clone(), || {
        let io = FaultyIo::new();
        let config = AuditConfig::local("svc-trace-1", &dir);
        let logger = AuditLogger::with_io(config.clone(), Arc::new(io.clone())).unwrap();
        logger.emit(routine(CONTENT)).unwrap();
        logger.flush().unwrap();
        io.tear_next_write(10);
        logger.emit(routine(CONTENT)).unwrap();
        assert!(logger.flush().is_err());
        assert!(!capture.matching("audit log writer poisoned").is_empty(), "{:?}", capture.lines());
        drop(logger);

        let logger = AuditLogger::new(config).unwrap();
        logger.shutdown().unwrap();
    });
    let recovered = capture.matching("recovered");
    assert_eq!(recovered.len(), 1, "{:?}", capture.lines());
    assert!(recovered[0].contains("svc-trace-1"));
    assert!(!capture.matching("audit log resumed").is_empty(), "{:?}", capture.lines());
    assert_no_content(&capture);
}
