//! Steps of `forward_security.feature`: an intruder takes the host at minute 15 of a log that
//! was sealed every minute, steals the seal-key state found there, and tries to rewrite what
//! was logged before. The log is written through the store's writer with explicit timestamps,
//! so that it spans fifteen epochs without the suite waiting fifteen minutes.

use audit_chain::SealKey;
use audit_events::{AuditEvent, Body, Record, SystemRecord};
use audit_store::LogWriter;
use audit_testkit::tamper;
use cucumber::{given, then, when};

use super::store_log::{at, config, entries};
use super::{AttackWorld, Expected, SeqExpect};

/// Minutes of log before the intruder arrives.
const MINUTES: i64 = 15;

/// What the intruder holds.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The seal-key state stolen from the host.
    stolen: Option<SealKey>,
}

fn is_seal(record: &Record) -> bool {
    matches!(record.body, Body::System(SystemRecord::Seal { .. }))
}

fn seal_epoch(record: &Record) -> Option<u64> {
    match record.body {
        Body::System(SystemRecord::Seal { epoch, .. }) => Some(epoch),
        _ => None,
    }
}

/// The records with the first authentication failure's reason changed, and its position.
fn with_changed_record(world: &AttackWorld) -> (Vec<Record>, usize) {
    let mut records = world.records();
    let position = records
        .iter()
        .position(|r| matches!(r.event(), Some(AuditEvent::AuthFailure { .. })))
        .unwrap();
    if let Body::Event(e) = &mut records[position].body
        && let AuditEvent::AuthFailure { reason, .. } = &mut e.event
    {
        *reason = "nothing to see here".to_owned();
    }
    (records, position)
}

/// A copy of the stolen key state (the type is deliberately not `Clone`).
fn stolen(world: &AttackWorld) -> SealKey {
    let key = world.forward.stolen.as_ref().expect("the intruder holds no key");
    key.seek(key.epoch()).unwrap()
}

fn expect_from(world: &mut AttackWorld, position: usize) {
    world.expected = Some(Expected {
        segment: Some("seg-00000000000000000000.log".to_owned()),
        seq: SeqExpect::AtMost(u64::try_from(position).unwrap()),
    });
}

#[given("a log sealed every minute for 15 minutes")]
fn fifteen_minutes(world: &mut AttackWorld) {
    let (mut writer, material) = LogWriter::create(&world.log, config(), at(0)).unwrap();
    world.keep_material(material);
    for minute in 0..MINUTES {
        let time = at(minute * 60 + 1);
        writer.append_batch(&entries(4, time), time).unwrap();
    }
    // The last minute ends: its seal is written and the key moves on to epoch 15.
    writer.seal_if_due(at(MINUTES * 60 + 1)).unwrap();
    drop(writer);
    let seals = world.records().iter().filter(|r| is_seal(r)).count();
    assert!(seals >= 15, "only {seals} seals");
}

#[given("an intruder who took the host at minute 15 holds the seal-key state found there")]
fn steal(world: &mut AttackWorld) {
    let key = tamper::steal_seal_key(&world.log).unwrap();
    assert_eq!(key.epoch(), 15);
    world.forward.stolen = Some(key);
}

#[then("the stolen state derives no key of an earlier epoch")]
fn no_earlier_key(world: &mut AttackWorld) {
    let key = stolen(world);
    for epoch in [0, 1, 7, 14] {
        assert!(key.seek(epoch).is_err(), "the key of epoch {epoch} was derived from epoch 15");
    }
    assert!(key.seek(16).is_ok());
}

#[when("the intruder changes an earlier record and re-seals every seal it can with the stolen key")]
fn reseal_what_it_can(world: &mut AttackWorld) {
    let (records, position) = with_changed_record(world);
    let mut key = stolen(world);
    tamper::rewrite(&world.log, &records, &mut |input| {
        (input.epoch >= key.epoch()).then(|| {
            key = key.seek(input.epoch).unwrap();
            key.seal(input).unwrap().0
        })
    })
    .unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    expect_from(world, position);
}

#[when("the intruder changes an earlier record and re-dates every seal to the stolen epoch")]
fn redate_seals(world: &mut AttackWorld) {
    let (records, position) = with_changed_record(world);
    let key = stolen(world);
    tamper::rewrite(&world.log, &records, &mut |input| {
        input.epoch = key.epoch();
        Some(key.seal(input).unwrap().0)
    })
    .unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    expect_from(world, position);
}

#[when(
    "the intruder changes an earlier record, drops the old seals and seals everything once with the stolen key"
)]
fn one_seal(world: &mut AttackWorld) {
    let (records, position) = with_changed_record(world);
    let last_seal = records.iter().rev().find(|r| is_seal(r)).cloned().unwrap();
    let mut kept: Vec<Record> = records.into_iter().filter(|r| !is_seal(r)).collect();
    kept.push(last_seal);
    let key = stolen(world);
    tamper::rewrite(&world.log, &kept, &mut |input| {
        input.epoch = key.epoch();
        Some(key.seal(input).unwrap().0)
    })
    .unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    expect_from(world, position);
}

#[when("the intruder drops every seal")]
fn drop_seals(world: &mut AttackWorld) {
    let kept: Vec<Record> = world.records().into_iter().filter(|r| !is_seal(r)).collect();
    tamper::rewrite(&world.log, &kept, &mut |_| None).unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    // Nothing is sealed: the verifier reaches the end of the log and names the first record.
    world.expected =
        Some(Expected { segment: Some(super::last_segment(&world.log)), seq: SeqExpect::Exact(0) });
}

/// Cuts the records after the seal of epoch 10 and continues with a seal made with the
/// stolen key (epoch 15), optionally behind a fabricated restart record.
fn cut_and_continue(world: &mut AttackWorld, fake_restart: bool) {
    let records = world.records();
    let seal_10 = records.iter().position(|r| seal_epoch(r) == Some(10)).unwrap();
    let last_seal = records.iter().rev().find(|r| is_seal(r)).cloned().unwrap();
    let mut kept = records[..=seal_10].to_vec();
    if fake_restart {
        let mut resumed = last_seal.clone();
        resumed.body = Body::System(SystemRecord::LogResumed {
            writer_version: "audit-store 0.1.0".to_owned(),
            previous_clean: false,
        });
        kept.push(resumed);
    }
    kept.push(last_seal);
    let key = stolen(world);
    tamper::rewrite(&world.log, &kept, &mut |input| {
        (input.epoch >= 14).then(|| {
            input.epoch = key.epoch();
            key.seal(input).unwrap().0
        })
    })
    .unwrap();
    tamper::resign_checkpoint(&world.log).unwrap();
    world.expected = Some(Expected {
        segment: Some("seg-00000000000000000000.log".to_owned()),
        seq: SeqExpect::Exact(u64::try_from(seal_10 + 1).unwrap()),
    });
}

#[when("the intruder cuts the records after minute 10 and continues the log with the stolen key")]
fn cut_after_ten(world: &mut AttackWorld) {
    cut_and_continue(world, false);
}

#[when("the intruder cuts the records after minute 10 and continues the log behind a fake restart")]
fn cut_behind_restart(world: &mut AttackWorld) {
    cut_and_continue(world, true);
}

#[then("`audit verify` with the verifier material reports the log intact and the restart")]
fn intact_with_restart(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    super::assert_intact(&run);
    assert!(run.stdout.contains("writer restarts: 1"), "{}", run.stdout);
}
