//! Batched mode and group commit: the writer waits for a full batch or the interval, except
//! that critical events, flush and shutdown write at once; a backlog is written as one batch.

use std::time::Duration;

use audit_logger::FlushMode;
use audit_testkit::MemorySink;

use crate::support::{PATIENCE, critical, logger, routine, tags};

fn batched(max_events: usize, max_interval: Duration) -> FlushMode {
    FlushMode::Batched { max_events, max_interval }
}

/// Waits until the writer has gone through two more wake-ups (each checks the seal), so that
/// it has certainly taken everything emitted before this call.
fn let_the_writer_look(sink: &MemorySink) {
    let seen = sink.seal_checks();
    assert!(sink.wait_for_seal_checks(seen + 2, PATIENCE));
}

#[test]
fn batched_mode_waits_for_a_full_batch() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| {
        c.flush = batched(10, Duration::from_secs(3600));
        c.seal_epoch = Duration::from_millis(2);
    });
    for i in 0..9 {
        logger.emit(routine(&format!("e{i}"))).unwrap();
    }
    let_the_writer_look(&sink);
    assert_eq!(sink.event_records(), 0, "nine events are not a batch of ten");
    logger.emit(routine("e9")).unwrap();
    assert!(sink.wait_for_event_records(10, PATIENCE));
    assert_eq!(sink.batches(), 1);
    logger.shutdown().unwrap();
}

#[test]
fn a_critical_event_writes_the_batch_at_once() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| c.flush = batched(100, Duration::from_secs(3600)));
    for i in 0..3 {
        logger.emit(routine(&format!("e{i}"))).unwrap();
    }
    logger.emit(critical("alarm")).unwrap();
    assert!(sink.wait_for_event_records(4, PATIENCE));
    let tags = tags(&sink.records().unwrap());
    assert!(tags.contains(&"alarm".to_owned()));
    logger.shutdown().unwrap();
}

#[test]
fn flush_and_shutdown_write_the_batch_at_once() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| c.flush = batched(100, Duration::from_secs(3600)));
    for i in 0..3 {
        logger.emit(routine(&format!("e{i}"))).unwrap();
    }
    logger.flush().unwrap();
    assert_eq!(sink.event_records(), 3);
    logger.emit(routine("last")).unwrap();
    let report = logger.shutdown().unwrap();
    assert_eq!(report.events_written, 4);
    assert_eq!(sink.event_records(), 4);
}

#[test]
fn the_interval_bounds_how_long_an_event_waits() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |c| c.flush = batched(100, Duration::from_millis(20)));
    logger.emit(routine("lonely")).unwrap();
    assert!(sink.wait_for_event_records(1, PATIENCE));
    logger.shutdown().unwrap();
}

#[test]
fn a_backlog_is_written_as_one_batch_with_one_sync() {
    let sink = MemorySink::new();
    let logger = logger(&sink, |_| {});
    let hold = sink.hold_appends();
    logger.emit(routine("first")).unwrap();
    assert!(hold.wait_until_writer_stalled(PATIENCE));
    for i in 0..300 {
        logger.emit(routine(&format!("e{i}"))).unwrap();
    }
    drop(hold);
    logger.flush().unwrap();
    assert_eq!(sink.event_records(), 301);
    assert_eq!(sink.batches(), 2, "group commit: the backlog is one append");
    logger.shutdown().unwrap();
}
