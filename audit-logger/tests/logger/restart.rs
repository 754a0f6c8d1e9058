//! Restarts: a new logger continues the same log and sequence, and says whether the previous
//! writer closed cleanly.

use audit_events::SystemRecord;
use audit_logger::{AuditError, AuditLogger};
use audit_testkit::MemorySink;

use crate::support::{assert_continuous, config, logger, routine, system, tags};

#[test]
fn a_restart_continues_the_same_chain_and_sequence() {
    let sink = MemorySink::new();
    for run in 0..3 {
        let logger = logger(&sink, |_| {});
        for i in 0..10 {
            logger.emit(routine(&format!("run{run}-e{i}"))).unwrap();
        }
        let report = logger.shutdown().unwrap();
        assert_eq!(report.events_written, 10);
    }
    let records = sink.records().unwrap();
    // Created + 10 + closed, then (resumed + 10 + closed) twice.
    assert_eq!(records.len(), 3 * 12);
    assert_continuous(&records);
    let expected: Vec<String> =
        (0..3).flat_map(|run| (0..10).map(move |i| format!("run{run}-e{i}"))).collect();
    assert_eq!(tags(&records), expected);
    let system = system(&records);
    assert!(matches!(system[0], SystemRecord::LogCreated { .. }));
    assert!(matches!(system[1], SystemRecord::LogClosed));
    assert!(matches!(system[2], SystemRecord::LogResumed { previous_clean: true, .. }));
    assert!(matches!(system[3], SystemRecord::LogClosed));
    assert!(matches!(system[4], SystemRecord::LogResumed { previous_clean: true, .. }));
    assert_eq!(sink.closes(), 3);
}

#[test]
fn a_restart_after_a_writer_failure_records_an_unclean_previous_run() {
    let sink = MemorySink::new();
    let first = logger(&sink, |_| {});
    first.emit(routine("written")).unwrap();
    first.flush().unwrap();
    sink.fail_next_append("disk full");
    first.emit(routine("lost")).unwrap();
    assert!(matches!(first.flush(), Err(AuditError::WriterPoisoned { .. })));
    assert!(matches!(first.shutdown(), Err(AuditError::WriterPoisoned { .. })));

    let second = logger(&sink, |_| {});
    second.emit(routine("after restart")).unwrap();
    second.shutdown().unwrap();
    let records = sink.records().unwrap();
    assert_continuous(&records);
    assert_eq!(tags(&records), ["written", "after restart"]);
    assert!(
        system(&records)
            .iter()
            .any(|s| matches!(s, SystemRecord::LogResumed { previous_clean: false, .. })),
        "the resume must say the previous writer did not close"
    );
}

#[test]
fn one_log_has_one_writer_at_a_time() {
    let sink = MemorySink::new();
    let first = logger(&sink, |_| {});
    let second = AuditLogger::with_memory_sink(config(), &sink);
    assert!(matches!(second, Err(AuditError::Store { .. })), "{second:?}");
    drop(first);
    assert!(!sink.is_open());
    let third = AuditLogger::with_memory_sink(config(), &sink);
    assert!(third.is_ok());
}
