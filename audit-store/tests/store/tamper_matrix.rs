//! The attacks of docs/THREAT-MODEL.md ("What verification detects"), line by line, against
//! logs written by the real writer.

use audit_chain::SealKey;
use audit_events::{AuditEvent, Body, Record, SystemRecord};
use audit_store::{FailureKind, LogWriter, VerifyOptions, verify};
use audit_testkit::tamper;

use crate::support::{at, config, copy_log, entries, failure, new_log, segments, written_log};

#[test]
fn an_untampered_log_verifies() {
    let fixture = written_log(10);
    assert!(fixture.verify().is_intact());
}

#[test]
fn every_single_byte_change_in_every_segment_is_detected() {
    let fixture = written_log(1);
    let (_tmp, dir) = copy_log(&fixture.dir);
    let files = segments(&dir);
    let mut checked = 0;
    for file in &files {
        let original = std::fs::read(file).unwrap();
        for i in 0..original.len() {
            let mut bytes = original.clone();
            bytes[i] ^= 0x01;
            std::fs::write(file, &bytes).unwrap();
            let report = fixture.verify_dir(&dir);
            assert!(!report.is_intact(), "{}: byte {i} changed and not detected", file.display());
            checked += 1;
        }
        std::fs::write(file, &original).unwrap();
    }
    assert!(fixture.verify_dir(&dir).is_intact());
    assert!(checked > 1000, "only {checked} bytes");
}

fn change_reason(record: &mut Record) {
    if let Body::Event(e) = &mut record.body
        && let AuditEvent::AuthFailure { reason, .. } = &mut e.event
    {
        *reason = "nothing to see here".to_owned();
    }
}

fn auth_failure_seq(records: &[Record]) -> usize {
    records.iter().position(|r| matches!(r.event(), Some(AuditEvent::AuthFailure { .. }))).unwrap()
}

#[test]
fn a_changed_field_with_that_records_hashes_recomputed_is_caught_at_that_record() {
    let fixture = written_log(4);
    let records = tamper::read_records(&fixture.dir).unwrap();
    let target = auth_failure_seq(&records);
    // Rewrite only the changed frame: new payload, its own chain hash recomputed from the
    // stored previous one, everything after untouched.
    let mut changed = records[target].clone();
    change_reason(&mut changed);
    let seq = u64::try_from(target).unwrap();
    let hit = audit_store::query(
        &fixture.dir,
        &audit_store::Query { kinds: vec![changed.kind()], ..Default::default() },
    )
    .unwrap()
    .into_iter()
    .find(|h| h.seq == seq)
    .unwrap();
    let path = fixture.dir.join(&hit.segment);
    let bytes = std::fs::read(&path).unwrap();
    let old = records[target].encode().unwrap();
    let at_frame = bytes.windows(old.len()).position(|w| w == old.as_slice()).unwrap() - 4;
    let new_payload = changed.encode().unwrap();
    let leaf = audit_chain::leaf_hash(&new_payload);
    let chain = audit_chain::chain_hash(&hit.prev_chain, &leaf);
    let mut out = bytes[..at_frame].to_vec();
    out.extend_from_slice(&u32::try_from(new_payload.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&new_payload);
    out.extend_from_slice(&chain);
    out.extend_from_slice(&bytes[at_frame + 4 + old.len() + 32..]);
    std::fs::write(&path, out).unwrap();

    let report = fixture.verify();
    let failure = failure(&report);
    assert_eq!(failure.kind, FailureKind::Chain);
    assert_eq!(failure.seq, Some(seq + 1), "{failure}");
    assert_eq!(failure.segment.as_deref(), Some(hit.segment.as_str()));
}

#[test]
fn a_changed_field_with_every_hash_recomputed_is_caught_by_the_seal() {
    let fixture = written_log(4);
    let mut records = tamper::read_records(&fixture.dir).unwrap();
    let target = auth_failure_seq(&records);
    change_reason(&mut records[target]);
    tamper::rewrite(&fixture.dir, &records, &mut |_| None).unwrap();
    tamper::resign_checkpoint(&fixture.dir).unwrap();
    let report = fixture.verify();
    let failure = failure(&report);
    assert_eq!(failure.kind, FailureKind::Seal, "{failure}");
    assert!(failure.seq.unwrap() <= u64::try_from(target).unwrap(), "{failure}");
}

#[test]
fn deleting_inserting_and_swapping_records_is_caught_where_it_happens() {
    let fixture = written_log(3);
    let records = tamper::read_records(&fixture.dir).unwrap();
    let k = 5;
    type Edit = Box<dyn Fn(&mut Vec<Record>)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "delete",
            Box::new(move |r: &mut Vec<Record>| {
                r.remove(k);
            }),
        ),
        (
            "insert",
            Box::new(move |r: &mut Vec<Record>| {
                let forged = r[k].clone();
                r.insert(k, forged);
            }),
        ),
        ("swap", Box::new(move |r: &mut Vec<Record>| r.swap(k, k + 1))),
    ];
    for (what, edit) in edits {
        let (_tmp, dir) = copy_log(&fixture.dir);
        let mut edited = records.clone();
        edit(&mut edited);
        // A careful intruder renumbers and rechains everything and re-signs the checkpoint.
        tamper::rewrite(&dir, &edited, &mut |_| None).unwrap();
        tamper::resign_checkpoint(&dir).unwrap();
        let report = fixture.verify_dir(&dir);
        let failure = failure(&report);
        assert_eq!(failure.kind, FailureKind::Seal, "{what}: {failure}");
        assert!(failure.seq.unwrap() <= u64::try_from(k).unwrap(), "{what}: {failure}");
    }
}

#[test]
fn deleting_a_frame_without_rechaining_is_caught_at_that_record() {
    let fixture = written_log(2);
    let file = &segments(&fixture.dir)[0];
    let bytes = std::fs::read(file).unwrap();
    let records = tamper::read_records(&fixture.dir).unwrap();
    let second = records[1].encode().unwrap();
    let start = bytes.windows(second.len()).position(|w| w == second.as_slice()).unwrap() - 4;
    let end = start + 4 + second.len() + 32;
    let mut out = bytes[..start].to_vec();
    out.extend_from_slice(&bytes[end..]);
    std::fs::write(file, out).unwrap();
    let report = fixture.verify();
    let failure = failure(&report);
    assert_eq!((failure.kind, failure.seq), (FailureKind::Chain, Some(1)), "{failure}");
}

#[test]
fn truncating_the_tail_is_caught_by_the_checkpoint() {
    let fixture = written_log(3);
    let file = segments(&fixture.dir).pop().unwrap();
    let records = tamper::read_records(&fixture.dir).unwrap();
    let last = records.last().unwrap().encode().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    // Cut at a frame boundary: the last frame (the final seal) is gone.
    std::fs::write(&file, &bytes[..bytes.len() - last.len() - 36]).unwrap();
    let report = fixture.verify();
    let failure = failure(&report);
    assert_eq!(failure.kind, FailureKind::Checkpoint, "{failure}");
    assert!(failure.reason.contains("removed from the end"), "{failure}");
}

#[test]
fn truncating_the_tail_without_any_checkpoint_reports_how_far_the_log_is_proven() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.seal_if_due(at(61)).unwrap();
    let sealed = writer.next_seq();
    writer.append_batch(&entries(5, at(62)), at(62)).unwrap();
    drop(writer);
    let file = segments(&fixture.dir).pop().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 100]).unwrap();
    for entry in std::fs::read_dir(&fixture.dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("checkpoint") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.proven.as_ref().unwrap().through_seq, sealed - 1);
    assert!(report.warnings.iter().any(|w| w.contains("not yet proven")), "{:?}", report.warnings);
}

#[test]
fn deleting_swapping_or_duplicating_segments_is_caught() {
    let fixture = written_log(16);
    let files = segments(&fixture.dir);
    assert!(files.len() >= 3, "need three segments, have {}", files.len());
    let name = |i: usize| files[i].file_name().unwrap().to_owned();

    let (_a, dir) = copy_log(&fixture.dir);
    std::fs::remove_file(dir.join(name(0))).unwrap();
    let report = fixture.verify_dir(&dir);
    assert_eq!(failure(&report).kind, FailureKind::Missing, "delete first: {:?}", report.failure);

    let (_b, dir) = copy_log(&fixture.dir);
    std::fs::remove_file(dir.join(name(1))).unwrap();
    let report = fixture.verify_dir(&dir);
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::Missing, "delete middle: {f}");
    assert_eq!(f.segment.as_deref(), Some(name(2).to_str().unwrap()));

    let (_c, dir) = copy_log(&fixture.dir);
    std::fs::rename(dir.join(name(0)), dir.join("x")).unwrap();
    std::fs::rename(dir.join(name(1)), dir.join(name(0))).unwrap();
    std::fs::rename(dir.join("x"), dir.join(name(1))).unwrap();
    let report = fixture.verify_dir(&dir);
    assert_eq!(failure(&report).kind, FailureKind::Header, "swap: {:?}", report.failure);

    let (_d, dir) = copy_log(&fixture.dir);
    let bytes = std::fs::read(dir.join(name(1))).unwrap();
    let first: u64 = name(1).to_str().unwrap()[4..24].parse().unwrap();
    std::fs::write(dir.join(format!("seg-{:020}.log", first + 1)), bytes).unwrap();
    let report = fixture.verify_dir(&dir);
    assert!(!report.is_intact(), "duplicate: {report:#?}");
}

#[test]
fn rewriting_the_whole_log_without_the_keys_is_caught_by_the_seals() {
    let fixture = written_log(4);
    let mut records = tamper::read_records(&fixture.dir).unwrap();
    let target = auth_failure_seq(&records);
    change_reason(&mut records[target]);
    // The intruder seals with a key of their own making, for the epochs as stored.
    let mut own = SealKey::from_initial([7; 32]);
    tamper::rewrite(&fixture.dir, &records, &mut |input| {
        if input.epoch > own.epoch() {
            own = own.seek(input.epoch).unwrap();
        }
        own.seal(input).ok().map(|t| t.0)
    })
    .unwrap();
    tamper::resign_checkpoint(&fixture.dir).unwrap();
    // Without the material the rewrite is consistent...
    assert!(verify(&fixture.dir, &VerifyOptions::default()).unwrap().is_intact());
    // ...with it, the first seal gives it away.
    let report = fixture.verify();
    assert_eq!(failure(&report).kind, FailureKind::Seal, "{:?}", report.failure);
}

#[test]
fn dropping_every_seal_is_caught_by_coverage() {
    // Longer than the default slack of ten epochs.
    let fixture = written_log(50);
    let records: Vec<Record> = tamper::read_records(&fixture.dir)
        .unwrap()
        .into_iter()
        .filter(|r| !matches!(r.body, Body::System(SystemRecord::Seal { .. })))
        .collect();
    tamper::rewrite(&fixture.dir, &records, &mut |_| None).unwrap();
    tamper::resign_checkpoint(&fixture.dir).unwrap();
    let report = fixture.verify();
    assert_eq!(failure(&report).kind, FailureKind::Coverage, "{:?}", report.failure);
}

#[test]
fn rewriting_the_past_with_a_key_stolen_later_is_caught() {
    let (fixture, mut writer) = new_log();
    for minute in 0..15 {
        writer.append_batch(&entries(4, at(minute * 60 + 1)), at(minute * 60 + 1)).unwrap();
    }
    // The intruder takes the host at minute 15 and steals the key state then.
    writer.seal_if_due(at(15 * 60 + 1)).unwrap();
    let stolen = tamper::steal_seal_key(&fixture.dir).unwrap();
    assert_eq!(stolen.epoch(), 15);
    drop(writer);
    let mut records = tamper::read_records(&fixture.dir).unwrap();
    let target = auth_failure_seq(&records);
    change_reason(&mut records[target]);

    // Strategy 1: re-seal every seal it can; earlier epochs keep their (now wrong) MACs.
    let (_a, dir) = copy_log(&fixture.dir);
    let mut key = stolen.seek(15).unwrap();
    tamper::rewrite(&dir, &records, &mut |input| {
        (input.epoch >= key.epoch()).then(|| {
            key = key.seek(input.epoch).unwrap();
            key.seal(input).unwrap().0
        })
    })
    .unwrap();
    tamper::resign_checkpoint(&dir).unwrap();
    let report = fixture.verify_dir(&dir);
    assert_eq!(failure(&report).kind, FailureKind::Seal, "{:?}", report.failure);

    // Strategy 2: re-date every seal to the stolen epoch and MAC it with the stolen key.
    let (_b, dir) = copy_log(&fixture.dir);
    let key = stolen.seek(15).unwrap();
    tamper::rewrite(&dir, &records, &mut |input| {
        input.epoch = 15;
        Some(key.seal(input).unwrap().0)
    })
    .unwrap();
    tamper::resign_checkpoint(&dir).unwrap();
    let report = fixture.verify_dir(&dir);
    assert!(
        matches!(failure(&report).kind, FailureKind::Coverage | FailureKind::Seal),
        "{:?}",
        report.failure
    );

    // Strategy 3: drop the old seals and seal everything once with the stolen key.
    let (_c, dir) = copy_log(&fixture.dir);
    let mut kept: Vec<Record> = records
        .iter()
        .filter(|r| !matches!(r.body, Body::System(SystemRecord::Seal { .. })))
        .cloned()
        .collect();
    let last_seal = records
        .iter()
        .rev()
        .find(|r| matches!(r.body, Body::System(SystemRecord::Seal { .. })))
        .unwrap();
    kept.push(last_seal.clone());
    tamper::rewrite(&dir, &kept, &mut |input| {
        input.epoch = 15;
        Some(key.seal(input).unwrap().0)
    })
    .unwrap();
    tamper::resign_checkpoint(&dir).unwrap();
    let report = fixture.verify_dir(&dir);
    assert_eq!(failure(&report).kind, FailureKind::Coverage, "{:?}", report.failure);
}

#[test]
fn removing_recent_epochs_and_continuing_is_caught_by_the_epoch_gap() {
    let (fixture, mut writer) = new_log();
    for minute in 0..5 {
        writer.append_batch(&entries(3, at(minute * 60 + 1)), at(minute * 60 + 1)).unwrap();
    }
    writer.close(at(5 * 60 + 1)).unwrap();
    let records = tamper::read_records(&fixture.dir).unwrap();
    // Remove everything between the seal of epoch 1 and the seal of epoch 4.
    let seal_of = |epoch: u64| {
        records
            .iter()
            .position(|r| matches!(r.body, Body::System(SystemRecord::Seal { epoch: e, .. }) if e == epoch))
            .unwrap()
    };
    let mut cut = records[..=seal_of(1)].to_vec();
    cut.extend_from_slice(&records[seal_of(4)..]);
    // The later seals are re-MACed with the key the intruder holds (epoch 4 and on).
    let stolen = SealKey::from_initial(*fixture.material.initial_seal_key).seek(4).unwrap();
    tamper::rewrite(&fixture.dir, &cut, &mut |input| {
        (input.epoch >= 4).then(|| stolen.seek(input.epoch).unwrap().seal(input).unwrap().0)
    })
    .unwrap();
    tamper::resign_checkpoint(&fixture.dir).unwrap();
    let report = fixture.verify();
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::Seal, "{f}");
    assert!(f.reason.contains("missing"), "{f}");
}

#[test]
fn a_rollback_or_a_fork_is_caught_by_a_held_checkpoint() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(5, at(1)), at(1)).unwrap();
    writer.seal_if_due(at(61)).unwrap();
    drop(writer);
    let (_old, earlier) = copy_log(&fixture.dir);

    let mut writer = fixture.open(at(62));
    writer.append_batch(&entries(5, at(63)), at(63)).unwrap();
    writer.close(at(64)).unwrap();
    let held = std::fs::read_to_string(fixture.dir.join("checkpoint")).unwrap();
    let options = || {
        let mut options = VerifyOptions::with_material(fixture.material.clone());
        options.trusted_checkpoints = vec![held.clone()];
        options
    };
    let report = verify(&fixture.dir, &options()).unwrap();
    assert!(report.is_intact(), "{report:#?}");

    // Rollback: the directory is replaced by its earlier, valid state.
    let report = verify(&earlier, &options()).unwrap();
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::Checkpoint, "{f}");

    // Fork: the earlier state continued differently.
    let mut fork = LogWriter::open(&earlier, config(), at(62)).unwrap();
    fork.append_batch(&entries(9, at(63)), at(63)).unwrap();
    fork.close(at(64)).unwrap();
    let report = verify(&earlier, &options()).unwrap();
    assert_eq!(failure(&report).kind, FailureKind::Checkpoint, "{:?}", report.failure);
}

#[test]
fn a_purge_claiming_more_than_retention_allows_is_caught() {
    let (fixture, writer) = new_log();
    let mut short = config();
    short.retention.days = 1;
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, short.clone(), at(1)).unwrap();
    let day = 86_400;
    for d in 0..3 {
        writer.append_batch(&entries(40, at(d * day + 10)), at(d * day + 10)).unwrap();
    }
    let purged = writer.apply_retention(at(3 * day)).unwrap();
    assert!(purged.is_some());
    writer.close(at(3 * day + 1)).unwrap();
    // The material says the log was created with 7-year retention.
    let report = fixture.verify();
    let f = failure(&report);
    assert_eq!(f.kind, FailureKind::Purge, "{f}");
    // With the retention the operator actually configured, it verifies.
    let report = verify(&fixture.dir, &{
        let mut options = fixture.options();
        options.min_retention_days = Some(1);
        options
    })
    .unwrap();
    assert!(report.is_intact(), "{report:#?}");
}

#[test]
fn changed_or_stripped_correlation_fields_with_every_hash_recomputed_are_caught_by_the_seal() {
    let (fixture, mut writer) = new_log();
    let mut batch = entries(6, at(1));
    for entry in &mut batch {
        entry.context.request_id = Some("req-1".to_owned());
        entry.context.user_agent = Some("curl/8.5.0".to_owned());
        entry.context.claimed_time = Some(at(-60));
    }
    writer.append_batch(&batch, at(1)).unwrap();
    writer.append_batch(&entries(6, at(30)), at(30)).unwrap();
    writer.close(at(31)).unwrap();
    assert!(fixture.verify().is_intact());
    let records = tamper::read_records(&fixture.dir).unwrap();
    let target = records.iter().position(|r| r.request_id().is_some()).unwrap();
    type Edit = Box<dyn Fn(&mut Record)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("request id", Box::new(|r| r.context.as_mut().unwrap().request_id = Some("req-2".into()))),
        ("user agent", Box::new(|r| r.context.as_mut().unwrap().user_agent = None)),
        ("claimed time", Box::new(|r| r.context.as_mut().unwrap().claimed_time = Some(at(-7200)))),
        // Rewritten as a record of format 1: the same event without its correlation fields.
        ("format 1", Box::new(|r| r.context = None)),
    ];
    for (what, edit) in edits {
        let (_tmp, dir) = copy_log(&fixture.dir);
        let mut edited = records.clone();
        edit(&mut edited[target]);
        tamper::rewrite(&dir, &edited, &mut |_| None).unwrap();
        tamper::resign_checkpoint(&dir).unwrap();
        let report = fixture.verify_dir(&dir);
        let failure = failure(&report);
        assert_eq!(failure.kind, FailureKind::Seal, "{what}: {failure}");
        assert!(failure.seq.unwrap() <= u64::try_from(target).unwrap(), "{what}: {failure}");
    }
}

#[test]
fn with_damage_in_two_segments_the_earlier_one_is_the_failure_reported() {
    let fixture = written_log(10);
    let (_tmp, dir) = copy_log(&fixture.dir);
    let files = segments(&dir);
    assert!(files.len() >= 3, "{} segments", files.len());
    let name = |i: usize| files[i].file_name().unwrap().to_string_lossy().into_owned();
    let damage = |i: usize| {
        let mut bytes = std::fs::read(&files[i]).unwrap();
        let at = bytes.len() - 10;
        bytes[at] ^= 0x01;
        std::fs::write(&files[i], bytes).unwrap();
    };
    // Damage in a later segment alone is reported there.
    let later = files.len() - 1;
    damage(later);
    let alone = fixture.verify_dir(&dir);
    assert_eq!(failure(&alone).segment.as_deref(), Some(name(later).as_str()));
    // With earlier damage as well, the earlier one is the failure, whichever a worker met first,
    // and the later segment is not reported as checked.
    damage(1);
    let report = fixture.verify_dir(&dir);
    let first = failure(&report);
    assert_eq!(first.segment.as_deref(), Some(name(1).as_str()));
    assert_eq!(first.kind, FailureKind::Chain);
    assert_eq!(report.segments[1].status, audit_store::SegmentStatus::Failed);
    assert_eq!(report.segments[later].status, audit_store::SegmentStatus::NotChecked);
    assert_eq!(report.segments[0].status, audit_store::SegmentStatus::Intact);
}

/// The offsets of a segment file's frames: after the header (its length is in bytes 10..12),
/// each frame is a length field, the payload and a chain hash.
fn frame_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut at = usize::from(u16::from_le_bytes([bytes[10], bytes[11]]));
    let mut offsets = Vec::new();
    while at + 4 <= bytes.len() {
        offsets.push(at);
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        at += 4 + usize::try_from(len).unwrap() + 32;
    }
    offsets
}

#[test]
fn damage_to_any_frame_is_reported_at_that_frame_wherever_the_walk_is_cut_into_chunks() {
    // Verification cuts every segment into chunks that several threads walk at once (a segment
    // of these tests into eight), and joins a chunk to the one before only where that walk ends
    // exactly at the chunk's first frame. Every frame of a segment here is damaged in turn,
    // among them those across and just after each chunk edge: the failure is always the
    // damaged frame, as a walk on one core finds it.
    let fixture = written_log(10);
    let (_tmp, dir) = copy_log(&fixture.dir);
    let files = segments(&dir);
    assert!(files.len() >= 3, "{} segments", files.len());
    let intact = fixture.verify_dir(&dir);
    assert!(intact.is_intact(), "{intact:#?}");
    let file = &files[1];
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let first_seq = intact.segments[1].first_seq;
    let original = std::fs::read(file).unwrap();
    let offsets = frame_offsets(&original);
    assert!(offsets.len() > 8, "{} frames", offsets.len());
    for (i, &at) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(original.len());
        let damages = [
            ("payload", at + 4 + (end - at - 36) / 2, FailureKind::Chain),
            ("chain hash", end - 1, FailureKind::Chain),
            ("length", at + 3, FailureKind::Framing),
        ];
        for (what, byte, kind) in damages {
            let mut bytes = original.clone();
            bytes[byte] ^= 0x01;
            std::fs::write(file, &bytes).unwrap();
            let report = fixture.verify_dir(&dir);
            let failure = failure(&report);
            let context = format!("{what} of frame {i} at offset {at}: {failure}");
            assert_eq!(failure.kind, kind, "{context}");
            assert_eq!(failure.segment.as_deref(), Some(name.as_str()), "{context}");
            assert_eq!(failure.offset, Some(u64::try_from(at).unwrap()), "{context}");
            assert_eq!(failure.seq, Some(first_seq + u64::try_from(i).unwrap()), "{context}");
            assert_eq!(report.segments[0].status, audit_store::SegmentStatus::Intact);
            assert_eq!(report.segments[1].status, audit_store::SegmentStatus::Failed);
            assert_eq!(report.records, first_seq + u64::try_from(i).unwrap(), "{context}");
        }
    }
    std::fs::write(file, &original).unwrap();
    assert!(fixture.verify_dir(&dir).is_intact());
}

/// Rewrites the stored chain hash of every frame of `bytes` from the frame at `from` on, so that
/// the chain links again (no key is needed for that): what an intruder does after changing a
/// record.
fn rechain(bytes: &mut [u8], offsets: &[usize], from: usize) {
    let i = offsets.iter().position(|&o| o == from).unwrap();
    let mut prev: [u8; 32] = bytes[from - 32..from].try_into().unwrap();
    for &at in &offsets[i..] {
        let len =
            usize::try_from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())).unwrap();
        let body = at + 4;
        let chain =
            audit_chain::chain_hash(&prev, &audit_chain::leaf_hash(&bytes[body..body + len]));
        bytes[body + len..body + len + 32].copy_from_slice(&chain);
        prev = chain;
    }
}

#[test]
fn bytes_made_to_look_like_a_frame_at_a_chunk_edge_change_nothing_in_the_verdict() {
    // An intruder rewrites an event record's payload so that, right at or after the edge of a
    // chunk of the walk (a segment of these tests is cut into eight), it holds a frame that links
    // to the 32 bytes before it and names the log (a copy of a real record), then rechains every
    // later frame. A worker that starts its chunk there finds that frame first; the verdict must
    // be the one the same forgery gets where those bytes are no frame (a walk on one core).
    let (fixture, mut writer) = new_log();
    for b in 0..6 {
        let mut batch = entries(7, at(20 * b + 1));
        for entry in &mut batch {
            if let Body::Event(e) = &mut entry.body {
                e.event.for_each_text_mut(&mut |_, _, text| text.push_str(&"x".repeat(60)));
            }
        }
        writer.append_batch(&batch, at(20 * b + 1)).unwrap();
    }
    writer.close(at(200)).unwrap();
    let files = segments(&fixture.dir);
    let file_index = files.len() - 1;
    let original = std::fs::read(&files[file_index]).unwrap();
    let offsets = frame_offsets(&original);
    let len = u64::try_from(original.len()).unwrap();
    let size = usize::try_from((len / 8).clamp(512, 2 << 20)).unwrap();
    let frame_end = |at: usize| {
        at + 4
            + usize::try_from(u32::from_le_bytes(original[at..at + 4].try_into().unwrap())).unwrap()
            + 32
    };
    // The shortest record of the segment, copied as the fake frame's payload.
    let fake = offsets
        .iter()
        .map(|&at| original[at + 4..frame_end(at) - 32].to_vec())
        .min_by_key(Vec::len)
        .unwrap();
    let mut tried = 0;
    for edge in (1..8).map(|j| j * size) {
        let Some(&at) = offsets.iter().find(|&&at| at < edge && frame_end(at) > edge) else {
            continue;
        };
        let kind =
            audit_events::RecordHeader::peek(&original[at + 4..frame_end(at) - 32]).unwrap().kind;
        // After the record's header (kept so that the record still reads), before its chain hash.
        let start = edge.max(at + 4 + 96);
        if !matches!(kind, audit_events::RecordKind::Event(_))
            || start + 4 + fake.len() + 32 > frame_end(at) - 32
        {
            continue;
        }
        let forged = |looks_like_a_frame: bool| {
            let mut bytes = original.clone();
            let length = if looks_like_a_frame { u32::try_from(fake.len()).unwrap() } else { 0 };
            bytes[start..start + 4].copy_from_slice(&length.to_le_bytes());
            bytes[start + 4..start + 4 + fake.len()].copy_from_slice(&fake);
            let prev: [u8; 32] = bytes[start - 32..start].try_into().unwrap();
            let link = audit_chain::chain_hash(&prev, &audit_chain::leaf_hash(&fake));
            let tail = start + 4 + fake.len();
            bytes[tail..tail + 32].copy_from_slice(&link);
            rechain(&mut bytes, &offsets, at);
            let (_tmp, dir) = copy_log(&fixture.dir);
            std::fs::write(&segments(&dir)[file_index], &bytes).unwrap();
            let report = fixture.verify_dir(&dir);
            let failure = failure(&report).clone();
            let statuses: Vec<_> = report.segments.iter().map(|s| s.status).collect();
            (failure.kind, failure.segment, failure.offset, failure.seq, report.records, statuses)
        };
        let with_frame = forged(true);
        let without = forged(false);
        assert_eq!(with_frame, without, "a fake frame at the chunk edge at {edge}");
        assert!(with_frame.2.is_some_and(|o| o > u64::try_from(at).unwrap()));
        tried += 1;
    }
    assert!(tried >= 2, "only {tried} chunk edges fall inside a record large enough");
}

#[test]
fn a_torn_write_is_reported_where_it_starts_wherever_the_walk_is_cut_into_chunks() {
    // The last segment cut inside each of its frames in turn, as a crash leaves it: the torn
    // write is reported at the frame it starts at, whether that frame starts before a chunk
    // edge and runs into it, or after one (no frame to start the chunk from).
    let fixture = written_log(10);
    let (_tmp, dir) = copy_log(&fixture.dir);
    let file = segments(&dir).pop().unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let first_seq = fixture.verify_dir(&dir).segments.last().unwrap().first_seq;
    let original = std::fs::read(&file).unwrap();
    let offsets = frame_offsets(&original);
    assert!(offsets.len() > 8, "{} frames", offsets.len());
    for (i, &at) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(original.len());
        for cut in [at + 2, (at + end) / 2, end - 1] {
            std::fs::write(&file, &original[..cut]).unwrap();
            let report = fixture.verify_dir(&dir);
            let expected =
                (name.clone(), u64::try_from(at).unwrap(), u64::try_from(cut - at).unwrap());
            assert_eq!(report.torn_tail, Some(expected), "cut at {cut} in frame {i}");
            assert_eq!(report.records, first_seq + u64::try_from(i).unwrap(), "cut at {cut}");
        }
    }
}
