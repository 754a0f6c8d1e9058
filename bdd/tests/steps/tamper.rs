//! Steps of `tampering.feature` and `rollback.feature`: an intruder with write access to the
//! log directory edits, deletes, inserts, reorders or truncates records and segment files,
//! rewrites the log with every hash recomputed, rolls it back or forks it, and re-signs
//! checkpoints with the key found on the host. Each edit is made to a log the real logger wrote
//! (the store's writer, with explicit timestamps, for the days-long retention log); the real
//! `audit verify` must find it and say where.

use audit_events::{AuditEvent, Body, EventKind, Record, SystemRecord};
use audit_logger::KeyHandling;
use audit_store::{LogWriter, StoredRecord};
use audit_testkit::tamper;
use cucumber::{given, then, when};
use serde_json::Value;

use super::store_log::{at, config as store_config, copy_dir, entries};
use super::{AttackWorld, Expected, SeqExpect, assert_intact, name_of, segments_of};

/// Segment files a whole-log rewrite leaves: one, starting at sequence number 0.
const REWRITTEN_SEGMENT: &str = "seg-00000000000000000000.log";

/// Results of flipping sampled bytes.
#[derive(Debug, Default)]
pub(crate) struct State {
    flips: Vec<Flip>,
}

/// One flipped byte and what `audit verify --json` said about it.
#[derive(Debug)]
struct Flip {
    file: String,
    offset: usize,
    in_header: bool,
    code: i32,
    failure: Value,
}

/// The position of the first authentication failure event: the record the intruder edits.
fn target(records: &[Record]) -> usize {
    records
        .iter()
        .position(|r| matches!(r.event(), Some(AuditEvent::AuthFailure { .. })))
        .expect("the log holds an authentication failure")
}

/// Changes the reason of an authentication failure, as an intruder covering a failed login.
fn change_reason(record: &mut Record) {
    if let Body::Event(e) = &mut record.body
        && let AuditEvent::AuthFailure { reason, .. } = &mut e.event
    {
        *reason = "nothing to see here".to_owned();
    }
}

fn seq_of(position: usize) -> u64 {
    u64::try_from(position).unwrap()
}

/// Rewrites the log with `records`, every chain hash and Merkle root recomputed, the seals'
/// fields recomputed but their MACs kept (no key), and the checkpoint re-signed.
fn rewrite_keyless(world: &AttackWorld, records: &[Record]) {
    tamper::rewrite(&world.log, records, &mut |_| None).unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
}

/// Replaces the bytes of one stored frame with `payload` and its chain hash `chain`; an empty
/// payload removes the frame.
fn replace_frame(world: &AttackWorld, stored: &StoredRecord, payload: &[u8], chain: &[u8; 32]) {
    let path = world.log.join(&stored.segment);
    let bytes = std::fs::read(&path).unwrap();
    let start = usize::try_from(stored.offset).unwrap();
    let end = start + 4 + stored.bytes.len() + 32;
    let mut out = bytes[..start].to_vec();
    if !payload.is_empty() {
        out.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(chain);
    }
    out.extend_from_slice(&bytes[end..]);
    std::fs::write(&path, out).unwrap();
}

#[given("a closed log of several segments written by the real logger")]
fn several_segments(world: &mut AttackWorld) {
    let mut config = world.config();
    config.rotation.max_segment_bytes = 4096;
    config.rotation.rotate_daily = false;
    world.start_logger(config);
    // Batches of six events of every kind; the store rotates before a batch that would
    // start in a full segment.
    for i in 0..120 {
        world.emit(EventKind::ALL[i % EventKind::ALL.len()].example());
        if i % 6 == 5 {
            world.logger().flush().unwrap();
        }
    }
    world.close_logger();
    let segments = segments_of(&world.log);
    assert!(segments.len() >= 4, "only {} segments", segments.len());
}

#[given("the latest checkpoint is copied off the host")]
fn hold_checkpoint(world: &mut AttackWorld) {
    let held = world.tmp().join("held.checkpoint");
    std::fs::copy(world.log.join("checkpoint"), &held).unwrap();
    world.held_checkpoint = Some(held);
}

#[when("every 97th byte of every segment is flipped in turn")]
fn flip_sampled_bytes(world: &mut AttackWorld) {
    let log = world.log.clone();
    for file in segments_of(&log) {
        let original = std::fs::read(&file).unwrap();
        let header_len = usize::from(u16::from_le_bytes([original[10], original[11]]));
        for offset in (0..original.len()).step_by(97) {
            let mut bytes = original.clone();
            bytes[offset] ^= 0x01;
            std::fs::write(&file, &bytes).unwrap();
            let run = world.audit_verify(&log, &["--json".into()]);
            let report: Value = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", run.command, run.all_output()));
            world.tamper.flips.push(Flip {
                file: name_of(&file),
                offset,
                in_header: offset < header_len,
                code: run.code,
                failure: report["failure"].clone(),
            });
        }
        std::fs::write(&file, &original).unwrap();
    }
}

#[then("`audit verify` exits 1 for every flip and names the flipped segment")]
fn every_flip_found(world: &mut AttackWorld) {
    let flips = &world.tamper.flips;
    assert!(flips.len() >= 50, "only {} bytes flipped", flips.len());
    for flip in flips {
        let what = format!("byte {} of {}", flip.offset, flip.file);
        assert_eq!(flip.code, 1, "{what}: not detected: {}", flip.failure);
        assert_eq!(flip.failure["segment"].as_str(), Some(flip.file.as_str()), "{what}");
        if !flip.in_header {
            assert!(flip.failure["seq"].is_u64(), "{what}: no sequence number: {}", flip.failure);
        }
    }
}

#[when(
    "the reason of an authentication failure is changed and only that record's chain hash is recomputed"
)]
fn change_one_frame(world: &mut AttackWorld) {
    let stored = world.stored();
    let position = target(&world.records());
    let mut record = stored[position].decode().unwrap();
    change_reason(&mut record);
    let payload = record.encode().unwrap();
    let chain =
        audit_chain::chain_hash(&stored[position].prev_chain, &audit_chain::leaf_hash(&payload));
    replace_frame(world, &stored[position], &payload, &chain);
    // The changed record chains; the next one no longer does.
    let next = &stored[position + 1];
    world.expected =
        Some(Expected { segment: Some(next.segment.clone()), seq: SeqExpect::Exact(next.seq) });
}

#[when("a frame is cut out of a segment without rechaining")]
fn cut_frame(world: &mut AttackWorld) {
    let stored = world.stored();
    let position = target(&world.records());
    replace_frame(world, &stored[position], &[], &[0; 32]);
    world.expected = Some(Expected {
        segment: Some(stored[position].segment.clone()),
        seq: SeqExpect::Exact(stored[position].seq),
    });
}

#[when(
    expr = "the reason of an authentication failure is changed, every hash after it recomputed and the checkpoint re-signed"
)]
fn change_and_rechain(world: &mut AttackWorld) {
    let mut records = world.records();
    let position = target(&records);
    change_reason(&mut records[position]);
    rewrite_keyless(world, &records);
    world.expected = Some(Expected {
        segment: Some(REWRITTEN_SEGMENT.to_owned()),
        seq: SeqExpect::AtMost(seq_of(position)),
    });
}

#[when(expr = "a record is {word}, every hash recomputed and the checkpoint re-signed")]
fn edit_records(world: &mut AttackWorld, edit: String) {
    let mut records = world.records();
    let k = target(&records);
    match edit.as_str() {
        "deleted" => {
            records.remove(k);
        }
        "forged" => {
            let mut forged = records[k].clone();
            change_reason(&mut forged);
            records.insert(k, forged);
        }
        "reordered" => records.swap(k, k + 1),
        other => panic!("no such edit: {other}"),
    }
    rewrite_keyless(world, &records);
    world.expected = Some(Expected {
        segment: Some(REWRITTEN_SEGMENT.to_owned()),
        seq: SeqExpect::AtMost(seq_of(k)),
    });
}

#[when("the last segment is cut at the start of its last frame")]
fn truncate_at_frame(world: &mut AttackWorld) {
    let last = world.stored().pop().unwrap();
    truncate(world, &last, 0);
}

#[when("the last segment is cut inside its last frame")]
fn truncate_inside_frame(world: &mut AttackWorld) {
    let last = world.stored().pop().unwrap();
    truncate(world, &last, 10);
}

/// Cuts the segment holding `last` at `extra` bytes past the start of its frame.
fn truncate(world: &mut AttackWorld, last: &StoredRecord, extra: u64) {
    let path = world.log.join(&last.segment);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(last.offset + extra).unwrap();
    // The log now ends before `last`: the checkpoint covers records that are gone.
    world.expected = Some(Expected {
        segment: Some(super::last_segment(&world.log)),
        seq: SeqExpect::Exact(last.seq),
    });
}

#[when("the records after the last seal are cut off and the checkpoint re-signed")]
fn truncate_and_resign(world: &mut AttackWorld) {
    let stored = world.stored();
    let records = world.records();
    let last_seal = records
        .iter()
        .rposition(|r| matches!(r.body, Body::System(SystemRecord::Seal { .. })))
        .unwrap();
    // Keep the seal before the final one: cut the log_closed record and the final seal.
    let cut = &stored[last_seal - 1];
    assert!(matches!(records[last_seal - 1].body, Body::System(SystemRecord::LogClosed)));
    let path = world.log.join(&cut.segment);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(cut.offset).unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    world.expected = Some(Expected {
        segment: Some(super::last_segment(&world.log)),
        seq: SeqExpect::Exact(cut.seq),
    });
}

#[then(
    "`audit verify` with the verifier material reports the log intact but its last records unproven"
)]
fn intact_but_unproven(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    assert_intact(&run);
    assert_eq!(super::verdict_of(&run), "PARTIAL", "{}", run.stdout);
    assert!(run.stdout.contains("not yet proven"), "{}", run.stdout);
}

#[when(expr = "the {word} segment is deleted")]
fn delete_segment(world: &mut AttackWorld, which: String) {
    let segments = segments_of(&world.log);
    let first_seq = |i: usize| -> u64 { name_of(&segments[i])[4..24].parse().unwrap() };
    let (index, expected) = match which.as_str() {
        // The log now starts after 0 and no purge record says why.
        "first" => (0, Expected { segment: Some(name_of(&segments[1])), seq: SeqExpect::Exact(0) }),
        "second" => (
            1,
            Expected { segment: Some(name_of(&segments[2])), seq: SeqExpect::Exact(first_seq(1)) },
        ),
        other => panic!("no such segment: {other}"),
    };
    std::fs::remove_file(&segments[index]).unwrap();
    world.expected = Some(expected);
}

#[when("the first two segments are swapped")]
fn swap_segments(world: &mut AttackWorld) {
    let segments = segments_of(&world.log);
    let parked = world.log.join("parked");
    std::fs::rename(&segments[0], &parked).unwrap();
    std::fs::rename(&segments[1], &segments[0]).unwrap();
    std::fs::rename(&parked, &segments[1]).unwrap();
    let second: u64 = name_of(&segments[1])[4..24].parse().unwrap();
    world.expected =
        Some(Expected { segment: Some(name_of(&segments[0])), seq: SeqExpect::Exact(second) });
}

#[when("the second segment is duplicated under the next sequence number")]
fn duplicate_segment(world: &mut AttackWorld) {
    let segments = segments_of(&world.log);
    let first: u64 = name_of(&segments[1])[4..24].parse().unwrap();
    let copy = format!("seg-{:020}.log", first + 1);
    std::fs::copy(&segments[1], world.log.join(&copy)).unwrap();
    world.expected = Some(Expected { segment: Some(copy), seq: SeqExpect::Exact(first) });
}

#[when(
    "the whole log is rewritten from scratch with consistent hashes and seals under a key of the intruder's own"
)]
fn rewrite_with_own_key(world: &mut AttackWorld) {
    let mut records = world.records();
    let position = target(&records);
    change_reason(&mut records[position]);
    let mut own = audit_chain::SealKey::from_initial([7; 32]);
    tamper::rewrite(&world.log, &records, &mut |input| {
        if input.epoch > own.epoch() {
            own = own.seek(input.epoch).unwrap();
        }
        Some(own.seal(input).unwrap().0)
    })
    .unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    world.expected = Some(Expected {
        segment: Some(REWRITTEN_SEGMENT.to_owned()),
        seq: SeqExpect::AtMost(seq_of(position)),
    });
}

#[given(
    "a log written by the real logger in two sessions, the checkpoint after the second kept off the host"
)]
fn two_sessions(world: &mut AttackWorld) {
    let config = world.config();
    world.start_logger(config);
    for kind in [EventKind::AuthSuccess, EventKind::PoolCreated, EventKind::AuthFailure] {
        world.emit(kind.example());
    }
    world.close_logger();
    copy_dir(&world.log, &world.tmp().join("earlier"));
    let mut config = world.config();
    config.keys = KeyHandling::ExistingOnly;
    world.start_logger(config);
    for kind in [EventKind::TaskSubmitted, EventKind::PoolDeleted] {
        world.emit(kind.example());
    }
    world.close_logger();
    hold_checkpoint(world);
}

#[when("the log directory is rolled back to its state after the first session")]
fn roll_back(world: &mut AttackWorld) {
    std::fs::remove_dir_all(&world.log).unwrap();
    std::fs::rename(world.tmp().join("earlier"), &world.log).unwrap();
    // The log now ends where the first session ended; the held checkpoint covers more.
    let size = seq_of(world.records().len());
    world.expected = Some(Expected {
        segment: Some(super::last_segment(&world.log)),
        seq: SeqExpect::Exact(size),
    });
}

#[when("the earlier state is continued differently by a new writer")]
fn fork(world: &mut AttackWorld) {
    let mut config = world.config();
    config.keys = KeyHandling::ExistingOnly;
    world.start_logger(config);
    for _ in 0..20 {
        world.emit(EventKind::AuthSuccess.example());
    }
    world.close_logger();
    // The held checkpoint's tree size falls inside the fork: the roots differ there.
    let held = std::fs::read_to_string(world.held_checkpoint.as_ref().unwrap()).unwrap();
    let size: u64 = held.lines().nth(1).unwrap().parse().unwrap();
    let stored = world.stored();
    let at = usize::try_from(size).unwrap();
    world.expected = Some(Expected {
        segment: Some(stored[at].segment.clone()),
        seq: SeqExpect::Exact(size - 1),
    });
}

#[given("a log written with a one-day retention over three days, its oldest segments purged")]
fn purged_log(world: &mut AttackWorld) {
    let (writer, material) = LogWriter::create(&world.log, store_config(), at(0)).unwrap();
    world.keep_material(material);
    drop(writer);
    let mut short = store_config();
    short.retention.days = 1;
    let mut writer = LogWriter::open(&world.log, short, at(1)).unwrap();
    let day = 86_400;
    for d in 0..3 {
        writer.append_batch(&entries(40, at(d * day + 10)), at(d * day + 10)).unwrap();
    }
    let purged = writer.apply_retention(at(3 * day)).unwrap();
    assert!(purged.is_some(), "nothing was old enough to purge");
    writer.close(at(3 * day + 1)).unwrap();
    let records = world.records();
    let purge = records
        .iter()
        .position(|r| matches!(r.body, Body::System(SystemRecord::RetentionPurge { .. })))
        .unwrap();
    let stored = world.stored();
    world.expected = Some(Expected {
        segment: Some(stored[purge].segment.clone()),
        seq: SeqExpect::Exact(stored[purge].seq),
    });
}

#[when("the oldest remaining segment is deleted as well")]
fn delete_after_purge(world: &mut AttackWorld) {
    let segments = segments_of(&world.log);
    std::fs::remove_file(&segments[0]).unwrap();
    world.expected =
        Some(Expected { segment: Some(name_of(&segments[1])), seq: SeqExpect::Exact(0) });
}
