//! Many producer threads: every accepted event is written exactly once, in each producer's
//! order, and flush covers everything emitted before it.

use std::sync::Arc;

use audit_events::{Body, SystemRecord};
use audit_logger::AuditError;
use audit_testkit::MemorySink;

use crate::support::{assert_continuous, critical, logger, recorded_drops, routine, system, tags};

const PRODUCERS: usize = 4;
const EVENTS: usize = 1500;

/// Emits, and on `BufferFull` waits for the writer with `flush` and tries again (the
/// backpressure a careful service applies); returns how many refusals it saw.
fn emit_until_accepted(
    logger: &audit_logger::AuditLogger,
    event: &audit_events::AuditEvent,
) -> u64 {
    let mut refused = 0;
    loop {
        match logger.emit(event.clone()) {
            Ok(()) => return refused,
            Err(AuditError::BufferFull { .. }) => {
                refused += 1;
                logger.flush().unwrap();
            }
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
}

#[test]
fn n_producers_times_m_events_give_exactly_n_times_m_records() {
    let sink = MemorySink::new();
    let logger = Arc::new(logger(&sink, |c| c.queue.max_events = 200));
    let refused: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let logger = Arc::clone(&logger);
                s.spawn(move || {
                    let mut refused = 0;
                    for i in 0..EVENTS {
                        let tag = format!("p{p}-e{i}");
                        let event = if i % 10 == 0 { critical(&tag) } else { routine(&tag) };
                        refused += emit_until_accepted(&logger, &event);
                    }
                    refused
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let logger = Arc::try_unwrap(logger).unwrap();
    let stats = logger.stats();
    let report = logger.shutdown().unwrap();
    assert!(report.finished_in_time);

    let records = sink.records().unwrap();
    assert_continuous(&records);
    let tags = tags(&records);
    assert_eq!(tags.len(), PRODUCERS * EVENTS);
    assert_eq!(report.events_written, (PRODUCERS * EVENTS) as u64);
    assert_eq!(stats.accepted, (PRODUCERS * EVENTS) as u64);
    // Each producer's events appear once each; within a lane, in the order it emitted them.
    for p in 0..PRODUCERS {
        for lane_is_critical in [true, false] {
            let expected: Vec<String> = (0..EVENTS)
                .filter(|i| (i % 10 == 0) == lane_is_critical)
                .map(|i| format!("p{p}-e{i}"))
                .collect();
            let seen: Vec<&String> = tags.iter().filter(|t| expected.contains(t)).collect();
            assert_eq!(seen, expected.iter().collect::<Vec<_>>(), "producer {p}");
        }
    }
    // Every refusal is in the chain.
    let recorded: u64 = recorded_drops(&records).iter().map(|c| c.count).sum();
    assert_eq!(recorded, refused);
    assert_eq!(stats.refused_full, refused);
    // The log opens with its creation record and ends with a clean close.
    let system = system(&records);
    assert!(matches!(system.first(), Some(SystemRecord::LogCreated { .. })));
    assert!(matches!(records.last().map(|r| &r.body), Some(Body::System(SystemRecord::LogClosed))));
}

#[test]
fn flush_returns_only_when_everything_emitted_before_it_is_durable() {
    let sink = MemorySink::new();
    let logger = Arc::new(logger(&sink, |_| {}));
    std::thread::scope(|s| {
        for p in 0..3 {
            let logger = Arc::clone(&logger);
            let sink = sink.clone();
            s.spawn(move || {
                for round in 0..40 {
                    // Mix lanes: a flush must cover both.
                    let a = format!("p{p}-r{round}-routine");
                    let b = format!("p{p}-r{round}-critical");
                    logger.emit(routine(&a)).unwrap();
                    logger.emit(critical(&b)).unwrap();
                    logger.flush().unwrap();
                    let written = tags(&sink.records().unwrap());
                    assert!(written.contains(&a) && written.contains(&b), "{a} / {b} not durable");
                }
            });
        }
    });
    assert_eq!(logger.stats().written, 3 * 40 * 2);
}
