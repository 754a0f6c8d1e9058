//! Crashes: torn writes at every byte of the last frame, failed syncs, a full disk, a torn
//! rotation. Acknowledged records are never lost, the writer is poisoned on error, and the
//! reopened log verifies.

use std::sync::Arc;

use audit_events::{Body, SystemRecord};
use audit_store::{LogReader, LogWriter, StoreError};
use audit_testkit::FaultyIo;
use audit_testkit::tamper;

use crate::support::{T0, at, config, copy_log, entries, new_log, segments};

fn seqs(dir: &std::path::Path) -> Vec<u64> {
    LogReader::open(dir).unwrap().records().map(|r| r.unwrap().seq).collect()
}

#[test]
fn a_torn_write_at_every_byte_of_the_last_frame_recovers_and_verifies() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(6, at(1)), at(1)).unwrap();
    let acknowledged = writer.next_seq();
    let file = segments(&fixture.dir).pop().unwrap();
    let before = std::fs::metadata(&file).unwrap().len();
    writer.append_batch(&entries(1, at(2)), at(2)).unwrap();
    drop(writer);
    let after = std::fs::metadata(&file).unwrap().len();
    let full = std::fs::read(&file).unwrap();
    for cut in before..after {
        let (_tmp, dir) = copy_log(&fixture.dir);
        let name = file.file_name().unwrap();
        std::fs::write(dir.join(name), &full[..usize::try_from(cut).unwrap()]).unwrap();
        // Before reopening, the verifier sees a torn tail, not tampering.
        let report = fixture.verify_dir(&dir);
        assert!(report.is_intact(), "cut at {cut}: {report:#?}");
        assert_eq!(report.torn_tail.is_some(), cut > before);
        let writer = LogWriter::open(&dir, config(), at(3)).unwrap();
        writer.close(at(4)).unwrap();
        let present = seqs(&dir);
        assert!(present.starts_with(&(0..acknowledged).collect::<Vec<_>>()), "cut at {cut}");
        let report = fixture.verify_dir(&dir);
        assert!(report.is_intact(), "cut at {cut}: {report:#?}");
        if cut > before {
            assert_eq!(report.recoveries.len(), 1, "cut at {cut}");
            assert_eq!(report.recoveries[0].1, cut - before);
        }
    }
}

#[test]
fn a_failed_sync_poisons_the_writer_and_acknowledged_records_survive() {
    let (fixture, writer) = new_log();
    drop(writer);
    let io = FaultyIo::new();
    let mut writer =
        LogWriter::open_with_io(&fixture.dir, config(), at(1), Arc::new(io.clone())).unwrap();
    writer.append_batch(&entries(4, at(2)), at(2)).unwrap();
    let acknowledged = writer.next_seq();
    io.fail_syncs(true);
    let err = writer.append_batch(&entries(4, at(3)), at(3)).unwrap_err();
    assert!(matches!(err, StoreError::Io { op: "syncing", .. }), "{err}");
    // Poisoned: every later call fails, even once the fault is gone.
    io.fail_syncs(false);
    for _ in 0..2 {
        assert!(matches!(
            writer.append_batch(&entries(1, at(4)), at(4)),
            Err(StoreError::Poisoned { .. })
        ));
    }
    assert!(matches!(writer.seal_if_due(at(600)), Err(StoreError::Poisoned { .. })));
    assert!(writer.poisoned().is_some());
    drop(writer);
    let writer = LogWriter::open(&fixture.dir, config(), at(5)).unwrap();
    writer.close(at(6)).unwrap();
    assert!(seqs(&fixture.dir).starts_with(&(0..acknowledged).collect::<Vec<_>>()));
    assert!(fixture.verify().is_intact());
}

#[test]
fn a_full_disk_poisons_the_writer_and_the_torn_batch_is_recovered() {
    let (fixture, writer) = new_log();
    drop(writer);
    let io = FaultyIo::new();
    let mut writer =
        LogWriter::open_with_io(&fixture.dir, config(), at(1), Arc::new(io.clone())).unwrap();
    writer.append_batch(&entries(3, at(2)), at(2)).unwrap();
    let acknowledged = writer.next_seq();
    io.disk_space(150);
    let err = writer.append_batch(&entries(5, at(3)), at(3)).unwrap_err();
    let StoreError::Io { source, .. } = &err else { panic!("{err}") };
    assert_eq!(source.raw_os_error(), Some(libc_enospc()));
    assert!(matches!(
        writer.append_batch(&entries(1, at(4)), at(4)),
        Err(StoreError::Poisoned { .. })
    ));
    drop(writer);
    let writer = LogWriter::open(&fixture.dir, config(), at(5)).unwrap();
    writer.close(at(6)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.recoveries.len(), 1);
    assert!(seqs(&fixture.dir).starts_with(&(0..acknowledged).collect::<Vec<_>>()));
}

fn libc_enospc() -> i32 {
    28
}

#[test]
fn a_torn_write_through_the_seam_is_recovered() {
    let (fixture, writer) = new_log();
    drop(writer);
    let io = FaultyIo::new();
    let mut writer =
        LogWriter::open_with_io(&fixture.dir, config(), at(1), Arc::new(io.clone())).unwrap();
    writer.append_batch(&entries(3, at(2)), at(2)).unwrap();
    io.tear_next_write(57);
    assert!(writer.append_batch(&entries(3, at(3)), at(3)).is_err());
    drop(writer);
    LogWriter::open(&fixture.dir, config(), at(4)).unwrap().close(at(5)).unwrap();
    assert!(fixture.verify().is_intact());
}

#[test]
fn a_zero_filled_tail_is_recovered() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    drop(writer);
    let file = segments(&fixture.dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(&[0u8; 300]);
    std::fs::write(&file, bytes).unwrap();
    LogWriter::open(&fixture.dir, config(), at(2)).unwrap().close(at(3)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.recoveries, vec![(report.recoveries[0].0, 300)]);
}

#[test]
fn a_complete_but_altered_final_frame_is_never_discarded() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    drop(writer);
    let file = segments(&fixture.dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let err = LogWriter::open(&fixture.dir, config(), at(2)).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    // Nothing was cut.
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
}

#[test]
fn a_crash_while_rotating_is_recovered() {
    let (fixture, mut writer) = new_log();
    while segments(&fixture.dir).len() < 2 {
        writer.append_batch(&entries(10, at(1)), at(1)).unwrap();
    }
    drop(writer);
    // The new segment's header never reached the disk.
    let new_segment = segments(&fixture.dir).pop().unwrap();
    std::fs::write(&new_segment, b"AUDITSEG\x01").unwrap();
    let writer = LogWriter::open(&fixture.dir, config(), at(2)).unwrap();
    writer.close(at(3)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.recoveries.len(), 1);
}

#[test]
fn records_left_unsealed_by_a_crash_are_sealed_on_reopen() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    drop(writer); // a crash: no close
    let mut writer = LogWriter::open(&fixture.dir, config(), at(10 * 60)).unwrap();
    writer.append_batch(&entries(2, at(10 * 60 + 1)), at(10 * 60 + 1)).unwrap();
    writer.close(at(10 * 60 + 2)).unwrap();
    let records = tamper::read_records(&fixture.dir).unwrap();
    let resumed = records
        .iter()
        .position(|r| {
            matches!(r.body, Body::System(SystemRecord::LogResumed { previous_clean: false, .. }))
        })
        .unwrap();
    assert!(matches!(records[resumed - 1].body, Body::System(SystemRecord::Seal { epoch: 0, .. })));
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    let _ = T0;
}

#[test]
fn a_crash_right_after_a_reopen_that_placed_the_configured_hold_reopens() {
    // A writer reopened with `retention.legal_hold` set places the hold right after its
    // `log_resumed`, in the same write as its resume seal, and then evolves the key. A crash
    // before anything else is sealed must not read as sealed records cut off the end.
    let (fixture, writer) = crate::support::new_log();
    writer.close(crate::support::at(1)).unwrap();
    let mut held = crate::support::config();
    held.retention.legal_hold = true;
    let writer = LogWriter::open(&fixture.dir, held.clone(), crate::support::at(2)).unwrap();
    assert!(writer.legal_hold().is_some());
    drop(writer);
    let writer = LogWriter::open(&fixture.dir, held, crate::support::at(3)).unwrap();
    writer.close(crate::support::at(4)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
}
