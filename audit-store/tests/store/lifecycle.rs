//! Writing, closing, reopening, sealing: the log continues one chain and verifies.

use audit_events::{Body, RecordKind, SystemKind, SystemRecord};
use audit_store::{LogReader, LogWriter, StoreError, VerifyOptions, verify};
use audit_testkit::tamper;

use crate::support::{EPOCH, T0, at, config, entries, new_log, written_log};

#[test]
fn a_written_log_verifies_and_is_proven_to_its_end() {
    let fixture = written_log(12);
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert!(report.segments.len() > 1, "the fixture should rotate");
    let proven = report.proven.as_ref().unwrap();
    assert_eq!(proven.through_seq + 1, report.next_seq);
    assert!(report.seals >= 4, "{} seals", report.seals);
    assert!(report.seals_authenticated);
    assert_eq!(report.records, report.next_seq);
}

#[test]
fn the_first_record_is_log_created_and_the_last_a_seal_after_log_closed() {
    let fixture = written_log(2);
    let records = tamper::read_records(&fixture.dir).unwrap();
    assert_eq!(records[0].kind(), RecordKind::System(SystemKind::LogCreated));
    let n = records.len();
    assert_eq!(records[n - 2].kind(), RecordKind::System(SystemKind::LogClosed));
    assert_eq!(records[n - 1].kind(), RecordKind::System(SystemKind::Seal));
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, u64::try_from(i).unwrap());
        assert_eq!(r.log_id, fixture.material.log_id);
    }
}

#[test]
fn reopening_continues_the_chain_and_sequence() {
    let fixture = written_log(3);
    let before = tamper::read_records(&fixture.dir).unwrap().len();
    let mut writer = fixture.open(at(500));
    let outcome = writer.append_batch(&entries(5, at(501)), at(501)).unwrap();
    assert_eq!(outcome.first_seq + outcome.count, writer.next_seq());
    writer.close(at(502)).unwrap();
    let records = tamper::read_records(&fixture.dir).unwrap();
    let resumed = records
        .iter()
        .find_map(|r| match &r.body {
            Body::System(SystemRecord::LogResumed { previous_clean, .. }) => {
                Some((r.seq, *previous_clean))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(resumed, (u64::try_from(before).unwrap(), true));
    assert!(outcome.first_seq > resumed.0);
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.resumes.len(), 1);
}

#[test]
fn idle_epochs_are_sealed_and_the_key_evolves() {
    let (fixture, mut writer) = new_log();
    assert_eq!(writer.epoch(), 0);
    for minute in 1..=5 {
        writer.seal_if_due(at(minute * 60 + 1)).unwrap();
    }
    assert_eq!(writer.epoch(), 5);
    assert_eq!(writer.next_seal_due().0, T0.0 + 6 * EPOCH);
    writer.close(at(330)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.seals, 6);
    // The key on disk is past the final epoch: it cannot seal anything already sealed.
    assert_eq!(tamper::steal_seal_key(&fixture.dir).unwrap().epoch(), 6);
}

#[test]
fn a_long_idle_gap_is_caught_up_with_one_seal_per_epoch() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    // The writer was not called for 40 epochs (a suspended process).
    writer.append_batch(&entries(3, at(40 * 60 + 5)), at(40 * 60 + 5)).unwrap();
    writer.close(at(40 * 60 + 6)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.seals, 41);
}

#[test]
fn only_events_and_drop_records_may_be_appended() {
    let (_fixture, mut writer) = new_log();
    let mut forged = entries(1, at(1));
    forged[0].body = Body::System(SystemRecord::LogClosed);
    assert!(matches!(
        writer.append_batch(&forged, at(1)),
        Err(StoreError::InvalidEntry { index: 0, .. })
    ));
    // Refusing an entry is not an I/O failure: the writer goes on.
    writer.append_batch(&entries(2, at(2)), at(2)).unwrap();
}

#[test]
fn correlation_fields_over_their_bounds_are_refused_and_within_them_verify() {
    let (fixture, mut writer) = new_log();
    let mut batch = entries(3, at(1));
    batch[1].context.request_id = Some("r".repeat(257));
    assert!(matches!(
        writer.append_batch(&batch, at(1)),
        Err(StoreError::InvalidEntry { index: 1, .. })
    ));
    batch[1].context.request_id = None;
    batch[2].context.user_agent = Some("u".repeat(1025));
    assert!(matches!(
        writer.append_batch(&batch, at(1)),
        Err(StoreError::InvalidEntry { index: 2, .. })
    ));
    // At their bounds they are written, read back and covered by the chain and seals.
    batch[1].context.request_id = Some("r".repeat(256));
    batch[2].context.user_agent = Some("u".repeat(1024));
    batch[2].context.claimed_time = Some(at(-3600));
    writer.append_batch(&batch, at(1)).unwrap();
    writer.close(at(2)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    let records = audit_store::tamper::read_records(&fixture.dir).unwrap();
    let agent = records.iter().find(|r| r.user_agent().is_some()).unwrap();
    assert_eq!(agent.user_agent().unwrap().len(), 1024);
    assert_eq!(agent.claimed_time(), Some(at(-3600)));
    assert!(records.iter().all(|r| r.format() == 2));
}

#[test]
fn one_writer_per_directory() {
    let (fixture, writer) = new_log();
    assert!(matches!(
        LogWriter::open(&fixture.dir, config(), at(1)),
        Err(StoreError::Locked { .. })
    ));
    drop(writer);
    assert!(LogWriter::open(&fixture.dir, config(), at(1)).is_ok());
}

/// A process that starts a child holds a copy of every descriptor until the child's `exec`,
/// the writer's lock among them. A writer dropped and reopened meanwhile waits for that copy
/// to go instead of calling its own log locked. The child here keeps the copy for half a
/// second (a descriptor left inheritable), standing in for that window.
#[test]
fn a_reopened_writer_waits_for_a_lock_copy_a_starting_child_still_holds() {
    let (fixture, writer) = new_log();
    drop(writer);
    let lock = std::fs::OpenOptions::new().write(true).open(fixture.dir.join("lock")).unwrap();
    lock.try_lock().unwrap();
    rustix::io::fcntl_setfd(&lock, rustix::io::FdFlags::empty()).unwrap();
    let mut child = std::process::Command::new("sleep").arg("0.5").spawn().unwrap();
    drop(lock);
    let reopened = LogWriter::open(&fixture.dir, config(), at(1));
    child.wait().unwrap();
    assert!(reopened.is_ok(), "{:?}", reopened.err());
}

#[test]
fn create_refuses_an_existing_log() {
    let (fixture, writer) = new_log();
    drop(writer);
    assert!(matches!(
        LogWriter::create(&fixture.dir, config(), at(1)),
        Err(StoreError::AlreadyExists { .. })
    ));
}

#[test]
fn files_are_private_and_symlinked_directories_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (fixture, writer) = new_log();
    writer.close(at(1)).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fixture.dir), 0o700);
    for entry in std::fs::read_dir(&fixture.dir).unwrap() {
        let path = entry.unwrap().path();
        // Files 0600; the one directory, `tiles`, 0700.
        let private = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), private, "{}", path.display());
    }
    let link = fixture.dir.with_file_name("link");
    std::os::unix::fs::symlink(&fixture.dir, &link).unwrap();
    assert!(matches!(LogWriter::open(&link, config(), at(2)), Err(StoreError::UnsafePath { .. })));
    assert!(matches!(LogReader::open(&link), Err(StoreError::UnsafePath { .. })));
    let fresh = fixture.dir.with_file_name("linked-parent");
    std::os::unix::fs::symlink(fixture.dir.parent().unwrap(), &fresh).unwrap();
    assert!(matches!(
        LogWriter::create(&fresh.join("new"), config(), at(2)),
        Err(StoreError::UnsafePath { .. })
    ));
}

#[test]
fn the_other_services_config_is_refused() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut other = config();
    other.service_id = "someone-else".to_owned();
    assert!(matches!(LogWriter::open(&fixture.dir, other, at(1)), Err(StoreError::Config { .. })));
}

#[test]
fn without_material_seals_are_only_consistency_checked() {
    let fixture = written_log(4);
    let report = verify(&fixture.dir, &VerifyOptions::default()).unwrap();
    assert!(report.is_intact());
    assert!(!report.seals_authenticated);
    assert!(report.proven.is_none());
    assert!(report.warnings.iter().any(|w| w.contains("no verifier material")));
}

#[test]
fn material_of_another_log_is_refused() {
    let fixture = written_log(1);
    let other = written_log(1);
    // Not a finding about this log: an error that names both logs.
    match verify(&fixture.dir, &other.options()) {
        Err(audit_store::StoreError::WrongLog { material, found }) => {
            assert_eq!((material, found), (other.material.log_id, fixture.material.log_id));
        }
        other => panic!("expected WrongLog, got {other:?}"),
    }
}
