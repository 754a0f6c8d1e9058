//! An intruder who can write the log directory, has read FORMAT.md and recomputes every hash that
//! needs no key (and, where a test says so, holds the seal key left on the host). Each test is one
//! class of attack from the threat model; every one of them ended in a passing verification or a
//! laundered log before its defence existed.

use std::path::Path;

use audit_chain::SealInput;
use audit_events::{Body, HashValue, Record, SystemRecord, Timestamp};
use audit_store::{FailureKind, LogReader, LogWriter, StoreError, VerifyOptions, verify};
use audit_testkit::forge::{
    append_forged, frames, remove_checkpoints, seal_record, system, tree_at,
};
use audit_testkit::tamper;

use crate::support::{EPOCH, SECOND, T0, at, config, copy_log, entries, new_log, segments};

const DAY: i64 = 86_400;

fn epoch_at(t: Timestamp) -> u64 {
    u64::try_from((t.0 - T0.0) / EPOCH).unwrap()
}

fn short_retention() -> audit_store::LogConfig {
    let mut c = config();
    c.retention.days = 2;
    c
}

/// A closed log of several segments written over `days` days, one batch a day.
fn log_over_days(days: i64) -> (crate::support::Fixture, i64) {
    let (fixture, mut writer) = new_log();
    for d in 0..days {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    let end = days * DAY;
    writer.close(at(end)).unwrap();
    (fixture, end)
}

fn options_at(fixture: &crate::support::Fixture, now: Timestamp, days: u32) -> VerifyOptions {
    {
        let mut options = fixture.options();
        options.min_retention_days = Some(days);
        options.now = Some(now);
        options
    }
}

// ---- Forged retention purges -------------------------------------------------------------------

/// Deletes the oldest `n` segments and appends a purge record naming them (and, with the key left
/// on the host, a `log_resumed` and a seal), as an intruder following FORMAT.md would.
fn forge_purge(dir: &Path, n: usize, purge_time: Timestamp, with_key: bool) {
    let segs = segments(dir);
    let next = &segs[n];
    let first_present: u64 = next.file_name().unwrap().to_str().unwrap()[4..24].parse().unwrap();
    let header = std::fs::read(next).unwrap();
    let end_chain: [u8; 32] = header[44..76].try_into().unwrap();
    let end_root = tree_at(&dir.join(format!("seg-{first_present:020}.log"))).root();
    for seg in &segs[..n] {
        std::fs::remove_file(seg).unwrap();
        let _ = std::fs::remove_file(seg.with_extension("idx"));
    }
    // The kept checkpoints of the removed range go too.
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if let Some(size) = name.strip_prefix("checkpoint-").and_then(|n| n.strip_suffix(".note"))
            && size.parse::<u64>().unwrap() <= first_present
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    let key = with_key.then(|| tamper::steal_seal_key(dir).unwrap());
    // A resume first: records after the final seal of a clean close need one.
    let mut forged = vec![system(
        dir,
        purge_time,
        SystemRecord::LogResumed { writer_version: "audit-store".into(), previous_clean: true },
    )];
    forged.push(system(
        dir,
        purge_time,
        SystemRecord::RetentionPurge {
            first_seq: 0,
            last_seq: first_present - 1,
            end_chain: HashValue(end_chain),
            end_root: HashValue(end_root),
            segments_removed: u64::try_from(n).unwrap(),
            retention_days: 2,
            cutoff: Timestamp(purge_time.0 - 2 * DAY * SECOND),
        },
    ));
    if let Some(key) = &key {
        let epoch = key.epoch().max(epoch_at(purge_time));
        forged.push(seal_record(dir, epoch, purge_time));
    }
    append_forged(dir, forged, key.as_ref());
}

#[test]
fn a_forged_purge_of_young_records_is_a_finding_even_with_the_key_left_on_the_host() {
    for with_key in [false, true] {
        let (fixture, end) = log_over_days(5);
        let (_tmp, dir) = copy_log(&fixture.dir);
        // The intruder purges everything but the last segment, claiming a 2-day retention, with
        // the purge dated when it really happens (day 5): most purged records are younger.
        forge_purge(&dir, segments(&dir).len() - 1, at(end + 60), with_key);
        let report = verify(&dir, &options_at(&fixture, at(end + 120), 2)).unwrap();
        let failure = report.failure.as_ref().unwrap_or_else(|| panic!("{report:#?}"));
        assert_eq!(failure.kind, FailureKind::Purge, "key {with_key}: {failure}");
    }
}

#[test]
fn a_forged_purge_dated_in_the_future_is_a_finding() {
    let (fixture, end) = log_over_days(5);
    let (_tmp, dir) = copy_log(&fixture.dir);
    forge_purge(&dir, segments(&dir).len() - 1, at(end + 400 * DAY), true);
    let report = verify(&dir, &options_at(&fixture, at(end + 120), 2)).unwrap();
    assert!(report.failure.is_some(), "{report:#?}");
}

#[test]
fn an_honest_purge_is_proven_from_sealed_history_and_an_old_held_checkpoint_still_checks() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, short_retention(), at(1)).unwrap();
    writer.append_batch(&entries(30, at(100)), at(100)).unwrap();
    // A checkpoint an auditor took early on and kept off the host.
    let held = std::fs::read_to_string(fixture.dir.join("checkpoint")).unwrap();
    for d in 1..6 {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    let outcome = writer.apply_retention(at(6 * DAY)).unwrap().unwrap();
    assert!(outcome.last_seq > 31);
    writer.close(at(6 * DAY + 1)).unwrap();
    let mut options = options_at(&fixture, at(6 * DAY + 2), 2);
    options.trusted_checkpoints.push(held);
    let report = verify(&fixture.dir, &options).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.purged, Some((0, outcome.last_seq)));
    assert!(report.checkpoints_in_purged_range >= 1, "{report:#?}");
    assert!(report.warnings.iter().all(|w| !w.contains("not checked")), "{report:#?}");
    // A held checkpoint the purged history does not match is a finding.
    let (_tmp, dir) = copy_log(&fixture.dir);
    let leaves = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("leaves-"))
        .expect("purged leaf hashes are kept");
    let mut bytes = std::fs::read(&leaves).unwrap();
    bytes[26 + 32 + 5] ^= 1; // the second leaf hash, inside the held checkpoint's range
    std::fs::write(&leaves, bytes).unwrap();
    let report = verify(&dir, &options).unwrap();
    assert!(report.failure.is_some(), "{report:#?}");
}

#[test]
fn a_purge_during_a_legal_hold_is_a_finding() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, short_retention(), at(1)).unwrap();
    writer.set_legal_hold(true, "case 2026-17", at(2)).unwrap();
    for d in 0..5 {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    // The writer itself refuses.
    assert_eq!(writer.apply_retention(at(5 * DAY)).unwrap(), None);
    writer.close(at(5 * DAY + 1)).unwrap();
    let report = verify(&fixture.dir, &options_at(&fixture, at(5 * DAY + 2), 2)).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.legal_hold, Some(true));
    // An intruder holding the key purges anyway.
    let (_tmp, dir) = copy_log(&fixture.dir);
    forge_purge(&dir, 2, at(5 * DAY + 60), true);
    let report = verify(&dir, &options_at(&fixture, at(5 * DAY + 120), 2)).unwrap();
    assert_eq!(report.failure.as_ref().map(|f| f.kind), Some(FailureKind::Purge), "{report:#?}");
    // The hold survives a restart (restated at every rotation, found in the last segment), and
    // once lifted, retention resumes and the log verifies.
    let mut writer = LogWriter::open(&fixture.dir, short_retention(), at(6 * DAY)).unwrap();
    assert_eq!(writer.legal_hold(), Some("case 2026-17"));
    assert_eq!(writer.apply_retention(at(6 * DAY)).unwrap(), None);
    assert!(writer.set_legal_hold(false, "case 2026-17 closed", at(6 * DAY + 1)).unwrap());
    assert!(writer.apply_retention(at(6 * DAY + 2)).unwrap().is_some());
    writer.close(at(6 * DAY + 3)).unwrap();
    let report = verify(&fixture.dir, &options_at(&fixture, at(6 * DAY + 4), 2)).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.legal_hold, Some(false));
}

/// Rewrites the time range in an index header (and both checksums), as FORMAT.md describes.
fn forge_index_times(path: &Path, oldest: i64, newest: i64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[66..74].copy_from_slice(&oldest.to_le_bytes());
    bytes[74..82].copy_from_slice(&newest.to_le_bytes());
    let head = sha2_digest(&bytes[..90]);
    bytes[90..122].copy_from_slice(&head);
    let n = bytes.len();
    let trailer = sha2_digest(&bytes[..n - 32]);
    bytes[n - 32..].copy_from_slice(&trailer);
    std::fs::write(path, bytes).unwrap();
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

#[test]
fn forged_index_times_do_not_make_the_writer_purge_young_segments() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, short_retention(), at(1)).unwrap();
    for i in 0..10 {
        writer.append_batch(&entries(20, at(100 + i)), at(100 + i)).unwrap();
    }
    let before = segments(&fixture.dir).len();
    assert!(before > 2);
    for seg in segments(&fixture.dir) {
        let idx = seg.with_extension("idx");
        if idx.exists() {
            forge_index_times(&idx, T0.0 - 400 * DAY * SECOND, T0.0 - 300 * DAY * SECOND);
        }
    }
    assert_eq!(writer.apply_retention(at(DAY)).unwrap(), None);
    assert_eq!(segments(&fixture.dir).len(), before);
}

// ---- Recovery must not launder tampering -------------------------------------------------------

#[test]
fn recovery_never_cuts_below_a_signed_checkpoint_in_the_directory() {
    let (fixture, mut writer) = new_log();
    for i in 0..4 {
        writer.append_batch(&entries(5, at(70 * i + 1)), at(70 * i + 1)).unwrap();
    }
    drop(writer);
    let last = segments(&fixture.dir).pop().unwrap();
    let (_, frames) = frames(&last);
    assert!(frames.len() > 4);
    // Zero everything from the third frame of the last segment on: it "looks" like a torn write.
    let cut = frames[2];
    let mut bytes = std::fs::read(&last).unwrap();
    for b in &mut bytes[cut..] {
        *b = 0;
    }
    std::fs::write(&last, &bytes).unwrap();
    let err = LogWriter::open(&fixture.dir, config(), at(400)).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("checkpoint"), "{err}");
    assert_eq!(std::fs::read(&last).unwrap(), bytes, "nothing was cut");
}

#[test]
fn a_writer_refuses_a_log_rolled_back_behind_a_kept_checkpoint() {
    let (fixture, mut writer) = new_log();
    while segments(&fixture.dir).len() < 5 {
        writer.append_batch(&entries(10, at(1)), at(1)).unwrap();
    }
    drop(writer);
    // The last two segments go, and the latest checkpoint with them: the kept checkpoint of the
    // last rotation still names a size beyond what is left.
    for segment in segments(&fixture.dir).iter().rev().take(2) {
        std::fs::remove_file(segment).unwrap();
    }
    std::fs::remove_file(fixture.dir.join("checkpoint")).unwrap();
    let err = LogWriter::open(&fixture.dir, config(), at(2)).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("rolled back"), "{err}");
}

#[test]
fn recovery_refuses_a_log_cut_back_past_seals_the_key_has_moved_beyond() {
    let (fixture, mut writer) = new_log();
    for i in 0..6 {
        writer.append_batch(&entries(3, at(70 * i + 1)), at(70 * i + 1)).unwrap();
    }
    drop(writer);
    // Cut the last segment in the middle of a frame well before its end, and remove every
    // checkpoint file that could tell: only the seal key on disk is left to say how far the
    // writer had got.
    let last = segments(&fixture.dir).pop().unwrap();
    let (_, frames) = frames(&last);
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.truncate(frames[1] + 10);
    std::fs::write(&last, &bytes).unwrap();
    remove_checkpoints(&fixture.dir);
    let records_before = LogReader::open(&fixture.dir).unwrap().records().count();
    match LogWriter::open(&fixture.dir, config(), at(500)) {
        Err(err) => assert!(matches!(err, StoreError::Damaged { .. }), "{err}"),
        Ok(writer) => {
            writer.close(at(501)).unwrap();
            let report = fixture.verify();
            assert!(
                report.failure.is_some(),
                "laundered: {records_before} records left; {report:#?}"
            );
        }
    }
}

#[test]
fn a_torn_batch_whose_last_page_is_zeros_reopens_and_verifies() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    let acknowledged = writer.next_seq();
    let last = segments(&fixture.dir).pop().unwrap();
    let durable = std::fs::metadata(&last).unwrap().len();
    let mut big = config();
    big.max_segment_bytes = 1 << 20;
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, big.clone(), at(2)).unwrap();
    let durable_after_reopen =
        std::fs::metadata(segments(&fixture.dir).pop().unwrap()).unwrap().len();
    writer.append_batch(&entries(120, at(3)), at(3)).unwrap();
    drop(writer);
    let last = segments(&fixture.dir).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    // The batch's last (partial) page never reached the medium: zeros, the file size kept.
    let page_start = (bytes.len() - 1) / 4096 * 4096;
    assert!(page_start as u64 > durable_after_reopen.max(durable));
    for b in &mut bytes[page_start..] {
        *b = 0;
    }
    std::fs::write(&last, &bytes).unwrap();
    let writer = LogWriter::open(&fixture.dir, big, at(4)).unwrap();
    writer.close(at(5)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.recoveries.len(), 1);
    let present: Vec<u64> =
        LogReader::open(&fixture.dir).unwrap().records().map(|r| r.unwrap().seq).collect();
    assert!(present.starts_with(&(0..acknowledged).collect::<Vec<_>>()));
}

#[test]
fn a_zeroed_region_far_larger_than_one_write_is_not_taken_for_a_torn_write() {
    let mut big = config();
    big.max_segment_bytes = 64 << 20;
    let (fixture, writer) = new_log();
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, big.clone(), at(1)).unwrap();
    // Many small durable batches in one epoch: no seal, no checkpoint after them.
    for i in 0..400 {
        writer.append_batch(&entries(300, at(2)), at(2)).unwrap();
        let _ = i;
    }
    drop(writer);
    remove_checkpoints(&fixture.dir);
    let last = segments(&fixture.dir).pop().unwrap();
    let (header_len, offsets) = frames(&last);
    let mut bytes = std::fs::read(&last).unwrap();
    assert!(bytes.len() > 8 << 20);
    // Everything from a frame boundary near the start to the end: zeros, as a crash leaves
    // space it allocated, but far more than one write.
    let from = *offsets.iter().find(|o| **o >= header_len + 4096).unwrap();
    for b in &mut bytes[from..] {
        *b = 0;
    }
    std::fs::write(&last, &bytes).unwrap();
    let err = LogWriter::open(&fixture.dir, big, at(3)).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
}

// ---- The seal key left on disk ------------------------------------------------------------------

#[test]
fn the_key_left_after_a_clean_close_cannot_reseal_the_last_epochs() {
    let (fixture, mut writer) = new_log();
    for i in 0..30 {
        writer.append_batch(&entries(2, at(20 * i + 1)), at(20 * i + 1)).unwrap();
    }
    writer.close(at(20 * 30 + 1)).unwrap();
    let stolen = tamper::steal_seal_key(&fixture.dir).unwrap();
    let records = tamper::read_records(&fixture.dir).unwrap();
    let final_epoch = records
        .iter()
        .rev()
        .find_map(|r| match r.body {
            Body::System(SystemRecord::Seal { epoch, .. }) => Some(epoch),
            _ => None,
        })
        .unwrap();
    assert!(
        stolen.epoch() > final_epoch,
        "the key on disk can still seal epoch {final_epoch}: it is at {}",
        stolen.epoch()
    );
    // Rewrite the records after the last boundary seal and seal them with the stolen key.
    let (_tmp, dir) = copy_log(&fixture.dir);
    let mut forged = records.clone();
    let last_event = forged.iter().rposition(|r| matches!(r.body, Body::Event(_))).unwrap();
    forged[last_event].time = Timestamp(forged[last_event].time.0 + 1);
    let key = stolen.seek(stolen.epoch()).unwrap();
    tamper::rewrite(&dir, &forged, &mut |input: &mut SealInput| {
        if input.epoch >= final_epoch {
            input.epoch = key.epoch();
            Some(key.seal(input).unwrap().0)
        } else {
            None
        }
    })
    .unwrap();
    let report = fixture.verify_dir(&dir);
    assert!(report.failure.is_some(), "{report:#?}");
}

#[test]
fn records_after_the_final_seal_without_a_resume_are_a_finding() {
    for with_key in [false, true] {
        let (fixture, mut writer) = new_log();
        writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
        writer.close(at(2)).unwrap();
        let (_tmp, dir) = copy_log(&fixture.dir);
        let mut event = tamper::read_records(&dir)
            .unwrap()
            .into_iter()
            .find(|r| matches!(r.body, Body::Event(_)))
            .unwrap();
        event.time = at(3);
        let mut forged = vec![event];
        let key = with_key.then(|| tamper::steal_seal_key(&dir).unwrap());
        if let Some(key) = &key {
            let t = Timestamp(T0.0 + i64::try_from(key.epoch()).unwrap() * EPOCH + 1);
            forged[0].time = t;
            forged.push(seal_record(&dir, key.epoch(), t));
        }
        append_forged(&dir, forged, key.as_ref());
        let report = fixture.verify_dir(&dir);
        assert!(report.failure.is_some(), "key {with_key}: {report:#?}");
    }
}

#[test]
fn a_log_rewritten_without_any_key_and_without_seals_fails_keyed_verification() {
    let (fixture, mut writer) = new_log();
    for i in 0..10 {
        writer.append_batch(&entries(3, at(70 * i + 1)), at(70 * i + 1)).unwrap();
    }
    drop(writer); // still running, as far as the directory says
    let (_tmp, dir) = copy_log(&fixture.dir);
    let records: Vec<Record> = tamper::read_records(&dir)
        .unwrap()
        .into_iter()
        .filter(|r| !matches!(r.body, Body::System(SystemRecord::Seal { .. })))
        .map(|mut r| {
            if r.seq > 0 {
                r.time = at(1); // everything in epoch 0, so nothing looks overdue by record time
            }
            r
        })
        .collect();
    tamper::rewrite(&dir, &records, &mut |_| None).unwrap();
    remove_checkpoints(&dir);
    let report = fixture.verify_dir(&dir);
    assert!(report.failure.is_some(), "{report:#?}");
    // And with seal.key gone as well, the verification time still holds the log to its seals.
    std::fs::remove_file(dir.join("seal.key")).unwrap();
    let options = {
        let mut options = fixture.options();
        options.now = Some(at(3600));
        options
    };
    let report = verify(&dir, &options).unwrap();
    assert!(report.failure.is_some(), "{report:#?}");
}

#[test]
fn a_crash_before_the_seal_key_is_replaced_leaves_a_log_that_reopens_and_verifies() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    let key_before = std::fs::read(fixture.dir.join("seal.key")).unwrap();
    // This batch crosses epoch boundaries: seals for epochs 0 and 1 are written, then the key
    // evolves; the crash comes after the frames are durable, before seal.key is replaced.
    writer.append_batch(&entries(3, at(150)), at(150)).unwrap();
    drop(writer);
    std::fs::write(fixture.dir.join("seal.key"), &key_before).unwrap();
    let mut writer = LogWriter::open(&fixture.dir, config(), at(160)).unwrap();
    writer.append_batch(&entries(3, at(170)), at(170)).unwrap();
    writer.close(at(200)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
}

#[test]
fn a_log_cut_back_to_a_clean_close_after_a_sealed_restart_is_a_finding() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    writer.close(at(2)).unwrap();
    let closed_len = std::fs::metadata(segments(&fixture.dir).pop().unwrap()).unwrap().len();
    // The next session resumes (its resume is sealed at once), writes, and crashes.
    let mut writer = fixture.open(at(3));
    writer.append_batch(&entries(3, at(4)), at(4)).unwrap();
    drop(writer);
    // The intruder cuts the log back to the clean close and removes what could tell.
    let (_tmp, dir) = copy_log(&fixture.dir);
    let last = segments(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.truncate(usize::try_from(closed_len).unwrap());
    std::fs::write(&last, bytes).unwrap();
    remove_checkpoints(&dir);
    let report = fixture.verify_dir(&dir);
    assert!(report.failure.is_some(), "{report:#?}");
    let err = LogWriter::open(&dir, config(), at(5)).unwrap_err();
    assert!(err.to_string().contains("seal.key"), "{err}");
}

#[test]
fn many_clean_restarts_within_one_epoch_verify() {
    // Each clean close moves the key past the final epoch and each resume past its seal: a
    // script that appends one event per run, many times a minute, runs the key ahead of the
    // clock. That must never make the honest log fail.
    let (fixture, writer) = new_log();
    writer.close(at(1)).unwrap();
    for i in 0..25 {
        let mut writer = fixture.open(at(2 + i));
        writer.append_batch(&entries(1, at(2 + i)), at(2 + i)).unwrap();
        writer.close(at(2 + i)).unwrap();
    }
    // And a crash in the middle of such a run, reopened later.
    let mut writer = fixture.open(at(40));
    writer.append_batch(&entries(1, at(41)), at(41)).unwrap();
    drop(writer);
    let mut writer = fixture.open(at(50));
    writer.append_batch(&entries(1, at(51)), at(51)).unwrap();
    writer.close(at(52)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert!(report.key_epoch.unwrap() > 25, "{report:#?}");
}

#[test]
fn records_dated_after_the_time_of_verification_are_a_finding() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
    writer.close(at(2)).unwrap();
    let options = {
        let mut options = fixture.options();
        options.now = Some(at(2));
        options
    };
    assert!(verify(&fixture.dir, &options).unwrap().is_intact());
    // Verified a day before the records were (claimed to be) written.
    let options = {
        let mut options = fixture.options();
        options.now = Some(Timestamp(T0.0 - DAY * SECOND));
        options
    };
    let report = verify(&fixture.dir, &options).unwrap();
    assert_eq!(report.failure.as_ref().map(|f| f.kind), Some(FailureKind::Coverage), "{report:#?}");
}

#[test]
fn a_forged_session_cannot_date_records_before_its_resume_or_before_the_log() {
    for backdated in [Timestamp(T0.0 - DAY * SECOND), at(3)] {
        let (fixture, mut writer) = new_log();
        writer.append_batch(&entries(3, at(1)), at(1)).unwrap();
        writer.close(at(2)).unwrap();
        let (_tmp, dir) = copy_log(&fixture.dir);
        // The intruder holds the key left on the host and forges a whole session after the
        // close, sealed with it: a resume in the key's epoch, its seal, then a backdated event.
        let key = tamper::steal_seal_key(&dir).unwrap();
        let t = Timestamp(T0.0 + i64::try_from(key.epoch()).unwrap() * EPOCH + SECOND);
        let mut event = tamper::read_records(&dir)
            .unwrap()
            .into_iter()
            .find(|r| matches!(r.body, Body::Event(_)))
            .unwrap();
        event.time = backdated;
        let forged = vec![
            system(
                &dir,
                t,
                SystemRecord::LogResumed { writer_version: "w".into(), previous_clean: true },
            ),
            seal_record(&dir, key.epoch(), t),
            event,
            system(&dir, t, SystemRecord::LogClosed),
            seal_record(&dir, key.epoch(), t),
        ];
        append_forged(&dir, forged, Some(&key));
        let report = fixture.verify_dir(&dir);
        let kind = report.failure.as_ref().map(|f| f.kind);
        assert_eq!(kind, Some(FailureKind::Coverage), "{backdated}: {report:#?}");
    }
}

#[test]
fn a_forged_seal_of_the_last_epoch_number_at_the_end_is_refused_without_a_panic() {
    // A seal record needs no key to be appended (its MAC is checked by verification only); one
    // naming the largest epoch a u64 holds must not overflow the writer's key checks.
    let fixture = crate::support::written_log(2);
    for epoch in [u64::MAX, u64::MAX - 1, audit_chain::MAX_SEAL_EPOCH] {
        let (_tmp, dir) = crate::support::copy_log(&fixture.dir);
        let seal = audit_testkit::forge::seal_record(&dir, epoch, crate::support::at(100));
        audit_testkit::forge::append_forged(&dir, vec![seal], None);
        let opened = std::panic::catch_unwind(|| {
            LogWriter::open(&dir, crate::support::config(), crate::support::at(200)).map(drop)
        });
        let opened = opened.unwrap_or_else(|_| panic!("epoch {epoch}: the writer panicked"));
        assert!(opened.is_err(), "epoch {epoch}: the writer continued a log sealed by no key");
        let mut keyed = audit_store::VerifyOptions::default();
        keyed.public_key = Some(audit_store::LogMeta::read(&dir).unwrap().public_key);
        for options in [fixture.options(), keyed, audit_store::VerifyOptions::default()] {
            let verified = std::panic::catch_unwind(|| audit_store::verify(&dir, &options));
            let report = verified.unwrap_or_else(|_| panic!("epoch {epoch}: verify panicked"));
            assert!(report.is_ok_and(|r| !r.is_intact()), "epoch {epoch}");
        }
    }
}
