//! Steps of `retention_forgery.feature`: an intruder deletes the oldest segments and forges the
//! purge record that would explain the gap (with and without the seal key left on the host); an
//! honest purge by the store's writer, with a checkpoint kept from before it; index files dated
//! back to tempt the writer into purging. Logs are written through the store's writer with
//! explicit timestamps, so that they span days.

use std::time::Duration;

use audit_events::{Body, HashValue, SystemRecord, Timestamp};
use audit_store::{LogConfig, LogWriter, PurgeOutcome};
use audit_testkit::tamper;
use cucumber::{given, then, when};

use super::store_log::{T0, at, config, entries};
use super::{AttackWorld, Expected, SeqExpect, assert_intact, segments_of};
use audit_testkit::forge::{
    self, append_forged, files_starting, first_seq_of, prev_chain_of, tree_at,
};

/// Seconds in a day.
const DAY: i64 = 86_400;
/// Nanoseconds in a day.
const DAY_NANOS: i64 = DAY * 1_000_000_000;

/// What the scenario's writer did.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// A writer still running, for the retention run after the index files were forged.
    writer: Option<LogWriter>,
    /// What the honest purge removed.
    purged: Option<PurgeOutcome>,
    /// Segment files before the retention run.
    segments_before: usize,
}

/// Seal epochs of an hour: a log that spans days seals every idle epoch, and an hour keeps that
/// to 24 seals a day.
const EPOCH: Duration = Duration::from_secs(3600);

/// One-hour epochs, 4 KiB segments and a 2-day retention: the verifier material says so.
fn short_retention() -> LogConfig {
    let mut c = config();
    c.retention.days = 2;
    c.seal_epoch = EPOCH;
    c
}

/// Expects the first failure at the retention purge record.
fn expect_at_purge(world: &mut AttackWorld) {
    let stored = world.stored();
    let records = world.records();
    let purge = records
        .iter()
        .rposition(|r| matches!(r.body, Body::System(SystemRecord::RetentionPurge { .. })))
        .expect("the log holds a retention purge record");
    world.expected = Some(Expected {
        segment: Some(stored[purge].segment.clone()),
        seq: SeqExpect::Exact(stored[purge].seq),
    });
}

#[given("a log with a 2-day retention written over 5 days and closed")]
fn five_days(world: &mut AttackWorld) {
    let (mut writer, material) = LogWriter::create(&world.log, short_retention(), at(0)).unwrap();
    world.keep_material(material);
    for d in 0..5 {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    writer.close(at(5 * DAY)).unwrap();
    assert!(segments_of(&world.log).len() > 3);
}

/// Deletes every segment but the last (and the kept checkpoints of the removed range) and
/// appends, dated when the intruder acts, a `log_resumed`, a purge record naming the removed
/// range exactly where the remaining log begins, and with the key left on the host, a seal.
fn forge_purge(world: &mut AttackWorld, with_key: bool) {
    let dir = world.log.clone();
    let segments = segments_of(&dir);
    let kept = segments.last().unwrap().clone();
    let first_present = first_seq_of(&kept);
    let end_chain = prev_chain_of(&kept);
    let end_root = tree_at(&kept).root();
    for segment in &segments[..segments.len() - 1] {
        std::fs::remove_file(segment).unwrap();
        let _ = std::fs::remove_file(segment.with_extension("idx"));
    }
    for note in files_starting(&dir, "checkpoint-") {
        let size: u64 = note.file_name().unwrap().to_str().unwrap()[11..31].parse().unwrap();
        if size <= first_present {
            std::fs::remove_file(note).unwrap();
        }
    }
    let now = at(5 * DAY + 60);
    let key = with_key.then(|| tamper::steal_seal_key(&dir).unwrap());
    let mut forged = vec![
        forge::system(
            &dir,
            now,
            SystemRecord::LogResumed {
                writer_version: "audit-store 0.1.0".to_owned(),
                previous_clean: true,
            },
        ),
        forge::system(
            &dir,
            now,
            SystemRecord::RetentionPurge {
                first_seq: 0,
                last_seq: first_present - 1,
                end_chain: HashValue(end_chain),
                end_root: HashValue(end_root),
                segments_removed: u64::try_from(segments.len() - 1).unwrap(),
                retention_days: 2,
                cutoff: Timestamp(now.0 - 2 * DAY_NANOS),
            },
        ),
    ];
    if let Some(key) = &key {
        let epoch_nanos = i64::try_from(EPOCH.as_nanos()).unwrap();
        let epoch = key.epoch().max(audit_store::epoch_of(T0, epoch_nanos, now));
        forged.push(forge::seal_record(&dir, epoch, now));
    }
    append_forged(&dir, forged, key.as_ref());
    expect_at_purge(world);
}

#[when(
    "the intruder deletes every segment but the last and appends a purge record for them behind a forged restart"
)]
fn forged_purge(world: &mut AttackWorld) {
    forge_purge(world, false);
}

#[when(
    "the intruder deletes every segment but the last and appends a purge record for them behind a forged restart, sealed with the key left on the host"
)]
fn forged_purge_sealed(world: &mut AttackWorld) {
    forge_purge(world, true);
}

#[given("a log with a 2-day retention, its checkpoint from the first day kept off the host")]
fn honest_log(world: &mut AttackWorld) {
    let (mut writer, material) = LogWriter::create(&world.log, short_retention(), at(0)).unwrap();
    world.keep_material(material);
    writer.append_batch(&entries(30, at(100)), at(100)).unwrap();
    // The first hour ends: its seal and a checkpoint are written.
    writer.seal_if_due(at(3601)).unwrap();
    let held = world.tmp().join("held.checkpoint");
    std::fs::copy(world.log.join("checkpoint"), &held).unwrap();
    world.held_checkpoint = Some(held);
    for d in 1..6 {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    world.retention.writer = Some(writer);
}

#[when("the writer applies its retention on day 6 and the log is closed")]
fn honest_purge(world: &mut AttackWorld) {
    let mut writer = world.retention.writer.take().unwrap();
    let purged = writer.apply_retention(at(6 * DAY)).unwrap().expect("nothing was purged");
    writer.close(at(6 * DAY + 1)).unwrap();
    // The held checkpoint covers records that are gone now.
    let held = std::fs::read_to_string(world.held_checkpoint.as_ref().unwrap()).unwrap();
    let size: u64 = held.lines().nth(1).unwrap().parse().unwrap();
    assert!(size <= purged.last_seq, "the held checkpoint (size {size}) is not in the purge");
    world.retention.purged = Some(purged);
}

#[then(
    "`audit verify` with the verifier material reports the log intact and the records removed by retention"
)]
fn intact_with_purge(world: &mut AttackWorld) {
    let purged = world.retention.purged.as_ref().unwrap();
    let run = world.audit_verify(&world.log, &[]);
    assert_intact(&run);
    let line = format!("removed by retention: records 0..{}", purged.last_seq);
    assert!(run.stdout.contains(&line), "{line:?} missing:\n{}", run.stdout);
    assert!(!run.stdout.contains("not checked"), "{}", run.stdout);
}

#[when("the intruder changes a leaf hash in the kept leaf-hash file and recomputes its checksum")]
fn alter_leaves(world: &mut AttackWorld) {
    let leaves = files_starting(&world.log, "leaves-");
    assert_eq!(leaves.len(), 1, "{leaves:?}");
    let mut bytes = std::fs::read(&leaves[0]).unwrap();
    let n = bytes.len();
    // The first byte of the second leaf hash.
    bytes[26 + 32] ^= 1;
    let check = forge::sha256(&bytes[..n - 32]);
    bytes[n - 32..].copy_from_slice(&check);
    std::fs::write(&leaves[0], bytes).unwrap();
    // The frontier rebuilt from the leaf hashes no longer matches the first present segment:
    // the failure is named where the remaining log begins.
    let first = segments_of(&world.log).remove(0);
    world.expected = Some(Expected {
        segment: Some(super::name_of(&first)),
        seq: SeqExpect::AtMost(first_seq_of(&first)),
    });
}

#[given(
    "a running log with a 2-day retention holding several segments written in its first minutes"
)]
fn young_segments(world: &mut AttackWorld) {
    let (mut writer, material) = LogWriter::create(&world.log, short_retention(), at(0)).unwrap();
    world.keep_material(material);
    for i in 0..10 {
        writer.append_batch(&entries(20, at(100 + i)), at(100 + i)).unwrap();
    }
    world.retention.segments_before = segments_of(&world.log).len();
    assert!(world.retention.segments_before > 2);
    world.retention.writer = Some(writer);
}

#[when("the intruder dates every index file 300 days back")]
fn old_indexes(world: &mut AttackWorld) {
    let indexes = files_starting(&world.log, "seg-")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect::<Vec<_>>();
    assert!(!indexes.is_empty());
    for idx in indexes {
        forge::forge_index_times(&idx, T0.0 - 400 * DAY_NANOS, T0.0 - 300 * DAY_NANOS);
    }
}

#[then("the writer's retention run a day later removes nothing")]
fn nothing_purged(world: &mut AttackWorld) {
    let mut writer = world.retention.writer.take().unwrap();
    let purged = writer.apply_retention(at(DAY)).unwrap();
    assert_eq!(purged, None);
    writer.close(at(DAY + 1)).unwrap();
    assert_eq!(segments_of(&world.log).len(), world.retention.segments_before);
    assert!(files_starting(&world.log, "leaves-").is_empty());
}

/// The records are intact, but an index that does not match the chain could hide records from
/// searches: verification reports it.
#[then("`audit verify` with the verifier material exits 1 naming the forged index files")]
fn verify_names_forged_index(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    assert_eq!(run.code, 1, "{}: {}{}", run.command, run.stdout, run.stderr);
    assert!(
        run.stdout.contains("(index)") && run.stdout.contains(".idx"),
        "{}: {}",
        run.command,
        run.stdout
    );
}
