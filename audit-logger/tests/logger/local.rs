//! The logger over the real store (`AuditMode::Local`): every test here writes a log on disk and
//! checks it through the store's reader and verifier.

use std::sync::Arc;
use std::thread;

use audit_events::{AuditEvent, Body, Record, SystemRecord};
use audit_logger::{AuditConfig, AuditError, AuditLogger, FailureKind, KeyHandling};
use audit_store::{VerifierMaterial, VerifyOptions, verify};
use audit_testkit::FaultyIo;
use audit_testkit::tamper;
use input_validation::unescape_log;

use crate::support::{critical, routine, tags};

fn local(dir: &std::path::Path) -> AuditConfig {
    AuditConfig::local("svc-local-1", dir)
}

fn verified(dir: &std::path::Path, material: &VerifierMaterial) -> Vec<Record> {
    let report = verify(dir, &VerifyOptions::with_material(material.clone())).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    tamper::read_records(dir).unwrap()
}

#[test]
fn n_producers_times_m_events_land_in_a_verified_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut logger = AuditLogger::new(local(&dir)).unwrap();
    let material = logger.take_verifier_material().expect("a new log hands back its material");
    assert!(logger.take_verifier_material().is_none());
    let logger = Arc::new(logger);
    let (producers, events) = (4, 300);
    let handles: Vec<_> = (0..producers)
        .map(|p| {
            let logger = Arc::clone(&logger);
            thread::spawn(move || {
                for i in 0..events {
                    let event = if i % 50 == 49 {
                        critical(&format!("p{p}-{i}"))
                    } else {
                        routine(&format!("p{p}-{i}"))
                    };
                    loop {
                        match logger.emit(event.clone()) {
                            Ok(()) => break,
                            Err(AuditError::BufferFull { .. }) => logger.flush().unwrap(),
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let logger = Arc::into_inner(logger).unwrap();
    let report = logger.shutdown().unwrap();
    assert!(report.finished_in_time);
    let records = verified(&dir, &material);
    let mut got = tags(&records);
    got.sort();
    let mut want: Vec<String> =
        (0..producers).flat_map(|p| (0..events).map(move |i| format!("p{p}-{i}"))).collect();
    want.sort();
    assert_eq!(got, want);
    // Refusals, if any, are on the record too.
    let dropped: u64 = records
        .iter()
        .map(|r| match &r.body {
            Body::System(SystemRecord::EventsDropped { total, .. }) => *total,
            _ => 0,
        })
        .sum();
    assert_eq!(dropped, report.dropped_total);
}

#[test]
fn a_restart_continues_the_same_chain_and_sequence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut first = AuditLogger::new(local(&dir)).unwrap();
    let material = first.take_verifier_material().unwrap();
    first.emit(routine("before")).unwrap();
    first.shutdown().unwrap();
    let mut config = local(&dir);
    config.keys = KeyHandling::ExistingOnly;
    let mut second = AuditLogger::new(config).unwrap();
    assert!(second.take_verifier_material().is_none());
    second.emit(routine("after")).unwrap();
    second.shutdown().unwrap();
    let records = verified(&dir, &material);
    assert_eq!(tags(&records), ["before", "after"]);
    assert!(records.iter().any(|r| matches!(
        r.body,
        Body::System(SystemRecord::LogResumed { previous_clean: true, .. })
    )));
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, u64::try_from(i).unwrap());
    }
}

#[test]
fn existing_only_refuses_a_missing_log() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = local(&tmp.path().join("none"));
    config.keys = KeyHandling::ExistingOnly;
    assert!(matches!(AuditLogger::new(config), Err(AuditError::Store { .. })));
}

#[test]
fn a_second_logger_on_the_same_log_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let _first = AuditLogger::new(local(&dir)).unwrap();
    let err = AuditLogger::new(local(&dir)).unwrap_err();
    assert_eq!(err, AuditError::LogLocked);
}

#[test]
fn a_flood_is_counted_in_the_chain_and_critical_events_still_land() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut config = local(&dir);
    config.queue.max_events = 16;
    config.queue.critical_max_events = 4;
    let mut logger = AuditLogger::new(config).unwrap();
    let material = logger.take_verifier_material().unwrap();
    let mut refused = 0u64;
    for i in 0..5_000 {
        if let Err(AuditError::BufferFull { .. }) = logger.emit(routine(&format!("flood-{i}"))) {
            refused += 1;
        }
    }
    logger.emit(critical("the one that matters")).unwrap();
    let report = logger.shutdown().unwrap();
    assert!(refused > 0, "the flood never filled the queue");
    assert_eq!(report.dropped_total, refused);
    let records = verified(&dir, &material);
    assert!(tags(&records).iter().any(|t| t == "the one that matters"));
    let recorded: u64 = records
        .iter()
        .map(|r| match &r.body {
            Body::System(SystemRecord::EventsDropped { total, .. }) => *total,
            _ => 0,
        })
        .sum();
    assert_eq!(recorded, refused);
}

#[test]
fn an_injected_sync_failure_poisons_the_logger_and_the_log_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let io = FaultyIo::new();
    let mut logger = AuditLogger::with_io(local(&dir), Arc::new(io.clone())).unwrap();
    let material = logger.take_verifier_material().unwrap();
    logger.emit(routine("durable")).unwrap();
    logger.flush().unwrap();
    io.fail_syncs(true);
    logger.emit(routine("lost")).unwrap();
    let err = logger.flush().unwrap_err();
    assert!(
        matches!(&err, AuditError::WriterPoisoned { cause, .. } if cause.contains("sync")),
        "{err}"
    );
    // Typed: an I/O failure (not a full disk, not tampering), at the sync step.
    let failure = err.failure().unwrap();
    assert_eq!(failure.kind, FailureKind::Io, "{err}");
    assert_eq!(failure.step, Some("syncing"), "{err}");
    assert!(matches!(logger.emit(routine("later")), Err(AuditError::WriterPoisoned { .. })));
    assert!(logger.shutdown().is_err());
    // A new logger recovers the log; what was acknowledged is there and it verifies.
    let logger = AuditLogger::new(local(&dir)).unwrap();
    logger.shutdown().unwrap();
    let records = verified(&dir, &material);
    assert!(tags(&records).iter().any(|t| t == "durable"));
}

#[test]
fn hostile_text_is_stored_escaped_and_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut logger = AuditLogger::new(local(&dir)).unwrap();
    let material = logger.take_verifier_material().unwrap();
    let hostile = "x\u{1b}[31mred\r\nFAKE LINE\u{0}\u{202e}txt.exe\u{200b}\u{2028}\u{e0041}";
    logger.emit(routine(hostile)).unwrap();
    logger.shutdown().unwrap();
    let records = verified(&dir, &material);
    let record = records
        .iter()
        .find(|r| matches!(r.event(), Some(AuditEvent::TaskCompleted { .. })))
        .unwrap();
    let Body::Event(stored) = &record.body else { unreachable!() };
    let AuditEvent::TaskCompleted { task_id, .. } = &stored.event else { unreachable!() };
    assert!(!task_id.chars().any(input_validation::is_dangerous), "{task_id:?}");
    assert_eq!(unescape_log(task_id).unwrap(), hostile);
    assert_eq!(stored.escaped, ["task_id"]);
}

#[test]
fn a_full_disk_is_told_apart_from_other_io_errors_and_from_a_damaged_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let io = FaultyIo::new();
    let logger = AuditLogger::with_io(local(&dir), Arc::new(io.clone())).unwrap();
    logger.emit(routine("durable")).unwrap();
    logger.flush().unwrap();
    io.disk_space(10);
    logger.emit(routine("does not fit")).unwrap();
    let err = logger.flush().unwrap_err();
    let failure = err.failure().unwrap();
    assert_eq!(failure.kind, FailureKind::DiskFull, "{err}");
    assert_eq!(failure.io_kind, Some(std::io::ErrorKind::StorageFull), "{err}");
    assert!(failure.step.is_some(), "{err}");
    // Every later call says the same.
    let again = logger.emit(routine("later")).unwrap_err();
    assert_eq!(again.failure(), Some(failure));
    drop(logger);

    // A segment damaged in the middle (not a torn tail) is refused as an integrity failure.
    let segment = audit_testkit::fixture::segments(&dir).remove(0);
    let mut bytes = std::fs::read(&segment).unwrap();
    let (_, frames) = audit_testkit::forge::frames(&segment);
    bytes[frames[1] + 6] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    let err = AuditLogger::new(local(&dir)).unwrap_err();
    assert_eq!(err.failure().map(|f| f.kind), Some(FailureKind::Integrity), "{err}");
}
