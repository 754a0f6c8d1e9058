//! Steps of `sealed_past.feature`: an intruder takes the host after the log's last seal and uses
//! the seal-key state found there to re-seal or extend what the log holds, or rewrites the log
//! without any key and removes every seal and checkpoint. Logs are written through the store's
//! writer with explicit timestamps, so that they span ten one-minute epochs.

use audit_chain::SealInput;
use audit_events::{Body, Record, SystemRecord, Timestamp};
use audit_store::LogWriter;
use audit_testkit::tamper;
use cucumber::{given, then, when};

use super::store_log::{T0, at, config, entries};
use super::{AttackWorld, Expected, SeqExpect, last_segment};
use audit_testkit::forge::{self, append_forged, remove_checkpoints};

/// Nanoseconds in a one-minute epoch.
const EPOCH_NANOS: i64 = 60_000_000_000;

/// What the intruder found.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The epoch of the log's final seal.
    final_epoch: u64,
}

fn seal_epoch(record: &Record) -> Option<u64> {
    match record.body {
        Body::System(SystemRecord::Seal { epoch, .. }) => Some(epoch),
        _ => None,
    }
}

/// Writes 10 minutes of events, 2 every 20 seconds (the last at 9:41, in epoch 9).
fn ten_minutes(world: &mut AttackWorld) -> LogWriter {
    let (mut writer, material) = LogWriter::create(&world.log, config(), at(0)).unwrap();
    world.keep_material(material);
    for i in 0..30 {
        writer.append_batch(&entries(2, at(20 * i + 1)), at(20 * i + 1)).unwrap();
    }
    writer
}

#[given("a log sealed every minute for 10 minutes and closed cleanly within its last minute")]
fn closed_log(world: &mut AttackWorld) {
    let writer = ten_minutes(world);
    writer.close(at(590)).unwrap();
    world.sealed.final_epoch = world.records().iter().rev().find_map(seal_epoch).unwrap();
    assert_eq!(world.sealed.final_epoch, 9);
}

#[given("a log sealed every minute for 10 minutes whose writer is still running")]
fn running_log(world: &mut AttackWorld) {
    let writer = ten_minutes(world);
    // Still running as far as the directory says: no close.
    drop(writer);
}

#[then("the seal key left on the host cannot derive the key of the final seal's epoch")]
fn key_is_past(world: &mut AttackWorld) {
    let key = tamper::steal_seal_key(&world.log).unwrap();
    assert!(key.epoch() > world.sealed.final_epoch, "the key left is at epoch {}", key.epoch());
    assert!(key.seek(world.sealed.final_epoch).is_err());
}

#[when(
    "the intruder changes the time of a record after the last boundary seal and re-seals the final epoch with the key left on the host"
)]
fn reseal_final(world: &mut AttackWorld) {
    let mut records = world.records();
    let boundary = records
        .iter()
        .rposition(|r| seal_epoch(r).is_some_and(|e| e < world.sealed.final_epoch))
        .unwrap();
    let edited = boundary
        + 1
        + records[boundary + 1..].iter().position(|r| matches!(r.body, Body::Event(_))).unwrap();
    records[edited].time = Timestamp(records[edited].time.0 + 1_000_000_000);
    let key = tamper::steal_seal_key(&world.log).unwrap();
    let key_epoch = key.epoch();
    // The final seal is re-dated into the epoch of the key the intruder holds, if that is later.
    let last = records.len() - 1;
    let key_start = Timestamp(T0.0 + i64::try_from(key_epoch).unwrap() * EPOCH_NANOS + 1);
    let sealed_at = records[last].time.max(key_start);
    records[last].time = sealed_at;
    if let Body::System(SystemRecord::Seal { sealed_at: at, .. }) = &mut records[last].body {
        *at = sealed_at;
    }
    tamper::rewrite(&world.log, &records, &mut |input: &mut SealInput| {
        (input.epoch >= world.sealed.final_epoch).then(|| {
            input.epoch = key_epoch;
            key.seal(input).unwrap().0
        })
    })
    .unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    world.expected = Some(Expected {
        segment: Some(last_segment(&world.log)),
        seq: SeqExpect::AtMost(u64::try_from(edited).unwrap()),
    });
}

/// Appends an event dated in the epoch of the key left on the host, and with that key, a seal
/// of its epoch over it.
fn append_after_final_seal(world: &mut AttackWorld, sealed: bool) {
    let dir = world.log.clone();
    let records = world.records();
    let next = u64::try_from(records.len()).unwrap();
    let key = tamper::steal_seal_key(&dir).unwrap();
    let time = Timestamp(T0.0 + i64::try_from(key.epoch()).unwrap() * EPOCH_NANOS + 1);
    let mut event = records.iter().find(|r| matches!(r.body, Body::Event(_))).cloned().unwrap();
    event.time = time;
    let mut forged = vec![event];
    if sealed {
        forged.push(forge::seal_record(&dir, key.epoch(), time));
    }
    append_forged(&dir, forged, sealed.then_some(&key));
    world.expected =
        Some(Expected { segment: Some(last_segment(&dir)), seq: SeqExpect::Exact(next) });
}

#[when("the intruder appends an event after the final seal")]
fn append_unsealed(world: &mut AttackWorld) {
    append_after_final_seal(world, false);
}

#[when(
    "the intruder appends an event after the final seal and seals it with the key left on the host"
)]
fn append_sealed(world: &mut AttackWorld) {
    append_after_final_seal(world, true);
}

#[when(
    "the intruder rewrites the whole log without any key, dates every record after log_created in its first minute, drops every seal and removes every checkpoint"
)]
fn keyless_rewrite(world: &mut AttackWorld) {
    let records: Vec<Record> = world
        .records()
        .into_iter()
        .filter(|r| seal_epoch(r).is_none())
        .enumerate()
        .map(|(i, mut r)| {
            // The first record, log_created, keeps the creation time the material names.
            if i > 0 {
                r.time = at(1);
            }
            r
        })
        .collect();
    tamper::rewrite(&world.log, &records, &mut |_| None).unwrap();
    remove_checkpoints(&world.log);
    // seal.key says the writer sealed up to minute 9: the verifier names the end of the log.
    world.expected = Some(Expected {
        segment: Some(last_segment(&world.log)),
        seq: SeqExpect::Exact(u64::try_from(records.len()).unwrap()),
    });
}
