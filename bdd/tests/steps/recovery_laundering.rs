//! Steps of `recovery_laundering.feature`: an intruder makes removed records look like a torn
//! write for the next writer to cut off, and the crashes that recovery must still accept. Logs
//! that span several seal epochs are written through the store's writer with explicit
//! timestamps in the last half hour, so that the real logger and `audit emit`, which stamp with
//! the wall clock, can reopen them; the others by the real logger.

use std::path::PathBuf;

use audit_events::{Body, EventKind, SystemRecord, Timestamp};
use audit_store::LogWriter;
use audit_testkit::tamper;
use cucumber::{given, then, when};

use super::store_log::{config, entries};
use super::{AttackWorld, segments_of};
use audit_testkit::forge::{frames, remove_checkpoints};

/// What the scenario left on disk before the writer reopened.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The start of the log's clock: half an hour ago.
    base: Option<Timestamp>,
    /// The last segment and its bytes after the intruder (or the crash) was done.
    last: Option<(PathBuf, Vec<u8>)>,
    /// The stored bytes of every record before the zeroed sectors.
    kept: Vec<Vec<u8>>,
}

/// `seconds` after the start of the scenario's clock, half an hour before it began.
fn at(world: &mut AttackWorld, seconds: i64) -> Timestamp {
    let base = *world.recovery.base.get_or_insert_with(|| {
        let now = Timestamp::now();
        Timestamp(now.0 - 1800 * 1_000_000_000)
    });
    Timestamp(base.0 + seconds * 1_000_000_000)
}

fn remember_last_segment(world: &mut AttackWorld) {
    let last = segments_of(&world.log).pop().unwrap();
    let bytes = std::fs::read(&last).unwrap();
    world.recovery.last = Some((last, bytes));
}

fn assert_nothing_cut(world: &AttackWorld) {
    let (path, bytes) = world.recovery.last.as_ref().unwrap();
    assert_eq!(segments_of(&world.log).last(), Some(path), "the segment files changed");
    assert!(std::fs::read(path).unwrap() == *bytes, "the last segment was changed");
}

/// An empty file of events for `audit emit`: the writer opens and closes the log.
fn no_events(world: &AttackWorld) -> PathBuf {
    let path = world.tmp().join("events.jsonl");
    std::fs::write(&path, b"").unwrap();
    path
}

fn emit(world: &AttackWorld) -> super::cli::CliRun {
    let events = no_events(world);
    world.audit(["emit".into(), world.log.clone().into_os_string(), events.into_os_string()])
}

#[given("a log written by the real logger and shut down cleanly")]
fn logger_log(world: &mut AttackWorld) {
    let config = world.config();
    world.start_logger(config);
    for kind in EventKind::ALL.iter().take(8) {
        world.emit(kind.example());
    }
    world.close_logger();
}

#[when("the intruder zeroes the last segment from its third frame to the end")]
fn zero_tail(world: &mut AttackWorld) {
    let last = segments_of(&world.log).pop().unwrap();
    let (_, offsets) = frames(&last);
    assert!(offsets.len() > 4, "{} frames", offsets.len());
    let mut bytes = std::fs::read(&last).unwrap();
    for b in &mut bytes[offsets[2]..] {
        *b = 0;
    }
    std::fs::write(&last, &bytes).unwrap();
    remember_last_segment(world);
}

#[then(expr = "`audit emit` refuses to open the log, naming {string}, and nothing is cut")]
fn emit_refuses(world: &mut AttackWorld, what: String) {
    let run = emit(world);
    assert_eq!(run.code, 3, "{}: expected exit 3\n{}", run.command, run.all_output());
    assert!(run.stderr.contains(&what), "{what:?} not named:\n{}", run.all_output());
    assert_nothing_cut(world);
}

#[then("the real logger refuses to open the log and nothing is cut")]
fn logger_refuses(world: &mut AttackWorld) {
    let err = audit_logger::AuditLogger::new(world.config()).expect_err("the logger opened");
    assert!(err.to_string().contains("checkpoint"), "{err}");
    assert_nothing_cut(world);
}

#[given("a log sealed every minute for 6 minutes whose writer was killed")]
fn six_minutes(world: &mut AttackWorld) {
    let start = at(world, 0);
    // One segment: the cut falls in the last one wherever the seals are.
    let mut big = config();
    big.max_segment_bytes = 1 << 20;
    let (mut writer, material) = LogWriter::create(&world.log, big, start).unwrap();
    world.keep_material(material);
    for i in 0..6 {
        let t = at(world, 70 * i + 1);
        writer.append_batch(&entries(3, t), t).unwrap();
    }
    // Killed: no close.
    drop(writer);
}

#[when(
    "the intruder cuts the log inside the frame after its second seal and removes every checkpoint file"
)]
fn cut_back(world: &mut AttackWorld) {
    let records = world.records();
    let stored = world.stored();
    let second_seal = records
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.body, Body::System(SystemRecord::Seal { .. })))
        .nth(1)
        .map(|(i, _)| i)
        .expect("the log holds two seals");
    let after = &stored[second_seal + 1];
    let path = world.log.join(&after.segment);
    assert_eq!(segments_of(&world.log).last(), Some(&path));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(usize::try_from(after.offset).unwrap() + 10);
    std::fs::write(&path, &bytes).unwrap();
    remove_checkpoints(&world.log);
    remember_last_segment(world);
}

#[then("the seal key on disk is more than one epoch past the last seal left")]
fn key_ahead(world: &mut AttackWorld) {
    let key = tamper::steal_seal_key(&world.log).unwrap();
    let last_seal = world
        .records()
        .iter()
        .rev()
        .find_map(|r| match r.body {
            Body::System(SystemRecord::Seal { epoch, .. }) => Some(epoch),
            _ => None,
        })
        .expect("a seal is left");
    assert!(key.epoch() > last_seal + 1, "key at {}, last seal of epoch {last_seal}", key.epoch());
}

#[given(
    "a log whose writer was killed while its last batch was written, the batch's last sectors left as zeros"
)]
fn torn_batch(world: &mut AttackWorld) {
    let start = at(world, 0);
    let mut big = config();
    big.max_segment_bytes = 1 << 20;
    let (mut writer, material) = LogWriter::create(&world.log, big.clone(), start).unwrap();
    world.keep_material(material);
    let t = at(world, 1);
    writer.append_batch(&entries(3, t), t).unwrap();
    let durable = std::fs::metadata(segments_of(&world.log).pop().unwrap()).unwrap().len();
    let t = at(world, 2);
    writer.append_batch(&entries(120, t), t).unwrap();
    // Killed: no close.
    drop(writer);
    let last = segments_of(&world.log).pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    // The batch's last (partial) page never reached the medium: zeros, the file size kept.
    let page_start = (bytes.len() - 1) / 4096 * 4096;
    assert!(page_start as u64 > durable);
    world.recovery.kept = world
        .stored()
        .into_iter()
        .filter(|r| r.offset + 4 + r.bytes.len() as u64 + 32 <= page_start as u64)
        .map(|r| r.bytes)
        .collect();
    for b in &mut bytes[page_start..] {
        *b = 0;
    }
    std::fs::write(&last, &bytes).unwrap();
}

#[when("a new logger opens the same log and writes an event")]
fn new_logger(world: &mut AttackWorld) {
    let config = world.config();
    world.start_logger(config);
    world.emit(EventKind::TaskSubmitted.example());
    world.close_logger();
}

#[then("every record up to the zeroed sectors is still in the log, byte for byte")]
fn kept(world: &mut AttackWorld) {
    let now: Vec<Vec<u8>> = world.stored().into_iter().map(|r| r.bytes).collect();
    let before = &world.recovery.kept;
    assert!(before.len() > 50, "{} records before the zeroed sectors", before.len());
    assert_eq!(&now[..before.len()], before.as_slice(), "a record before the zeros changed");
}

#[then("the log records one crash recovery")]
fn one_recovery(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    assert!(run.stdout.contains("crash recoveries: 1 "), "{}", run.stdout);
}

#[given(
    "a log whose writer crossed two epoch boundaries in its last batch and was killed before seal.key was replaced"
)]
fn stale_key(world: &mut AttackWorld) {
    let start = at(world, 0);
    let (mut writer, material) = LogWriter::create(&world.log, config(), start).unwrap();
    world.keep_material(material);
    let t = at(world, 1);
    writer.append_batch(&entries(3, t), t).unwrap();
    let key_before = std::fs::read(world.log.join("seal.key")).unwrap();
    // Seals for epochs 0 and 1 go into this batch, then the key evolves to epoch 2.
    let t = at(world, 150);
    writer.append_batch(&entries(3, t), t).unwrap();
    drop(writer);
    assert_ne!(std::fs::read(world.log.join("seal.key")).unwrap(), key_before);
    // The crash came after the frames and the checkpoint, before seal.key was replaced.
    std::fs::write(world.log.join("seal.key"), &key_before).unwrap();
}

#[when("`audit emit` reopens the log")]
fn emit_reopens(world: &mut AttackWorld) {
    let run = emit(world);
    assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
    let resumed = world.records().iter().any(|r| {
        matches!(r.body, Body::System(SystemRecord::LogResumed { previous_clean: false, .. }))
    });
    assert!(resumed, "no log_resumed record");
}
