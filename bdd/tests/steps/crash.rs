//! Steps of `crash.feature`: a writer that dies in the middle of a write leaves a torn final
//! frame (or space allocated but never written). Verification must not call that tampering,
//! and the next writer must cut off exactly the torn part, record that it did, and keep every
//! record that was acknowledged durable.

use audit_events::{Body, EventKind, SystemRecord, Timestamp};
use audit_logger::AuditError;
use audit_store::{LogConfig, LogWriter};
use cucumber::{given, then, when};

use super::store_log::entries;
use super::{AttackWorld, SERVICE_ID, assert_intact};

/// What was durable before the crash.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// The stored bytes of every record acknowledged before the crash.
    acknowledged: Vec<Vec<u8>>,
    /// Bytes the crash left after the last whole frame.
    torn_bytes: u64,
    /// Whether the caller was told the batch failed.
    failure_reported: Option<bool>,
}

fn snapshot(world: &mut AttackWorld) {
    world.crash.acknowledged = world.stored().into_iter().map(|r| r.bytes).collect();
}

/// A log written by the store's writer (as the logger does), abandoned without a close, with
/// `tail` appended to its last segment as the crash left it.
fn killed_writer(world: &mut AttackWorld, tail: impl FnOnce(&[u8]) -> Vec<u8>) {
    let now = Timestamp::now();
    let (mut writer, material) =
        LogWriter::create(&world.log, LogConfig::new(SERVICE_ID), now).unwrap();
    world.keep_material(material);
    writer.append_batch(&entries(6, now), now).unwrap();
    writer.append_batch(&entries(3, now), now).unwrap();
    // Killed: no close, no final seal.
    drop(writer);
    snapshot(world);
    let last = world.stored().pop().unwrap();
    let path = world.log.join(&last.segment);
    let mut bytes = std::fs::read(&path).unwrap();
    let start = usize::try_from(last.offset).unwrap();
    let torn = tail(&bytes[start..]);
    world.crash.torn_bytes = u64::try_from(torn.len()).unwrap();
    bytes.extend_from_slice(&torn);
    std::fs::write(&path, bytes).unwrap();
}

#[given("a log whose writer was killed in the middle of writing a frame")]
fn killed_mid_frame(world: &mut AttackWorld) {
    // The start of a frame like the last one: its length and part of its payload.
    killed_writer(world, |frame| frame[..frame.len() / 2].to_vec());
}

#[given(
    "a log whose writer was killed after space for a frame was allocated but before its data arrived"
)]
fn killed_zero_tail(world: &mut AttackWorld) {
    killed_writer(world, |frame| vec![0; frame.len()]);
}

#[when("the writer is cut off in the middle of its next batch")]
fn torn_batch(world: &mut AttackWorld) {
    snapshot(world);
    world.io.as_ref().unwrap().tear_next_write(100);
    world.emit(EventKind::TaskSubmitted.example());
    // The writer may take the first event alone and fail before these are queued: then they
    // are refused with its failure, which is what the caller must see.
    for kind in [EventKind::TaskCompleted, EventKind::TaskCanceled] {
        match world.logger().emit(kind.example()) {
            Ok(()) | Err(AuditError::WriterPoisoned { .. }) => {}
            Err(other) => panic!("{kind} refused: {other}"),
        }
    }
    let flushed = world.logger().flush();
    world.crash.failure_reported = Some(flushed.is_err());
    let closed = world.try_close_logger();
    assert!(closed.is_err(), "shutdown after a torn write reported success");
}

#[then("the caller is told the batch failed")]
fn failure_told(world: &mut AttackWorld) {
    assert_eq!(world.crash.failure_reported, Some(true));
    let stats = world.stats.as_ref().unwrap();
    assert!(stats.poisoned.is_some(), "{stats:?}");
}

#[then("`audit verify` with the verifier material reports the log intact and the torn tail")]
fn intact_with_torn_tail(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    // A crash before the first seal leaves nothing authenticated yet (CHAINED); later, the
    // records since the last seal are unproven (PARTIAL). Either way the crash is no failure.
    if super::verdict_of(&run) == "CHAINED" {
        assert_eq!(run.code, 0, "{}: expected exit 0\n{}", run.command, run.all_output());
        assert!(run.stdout.contains("CHAINED: no seal covers any record yet"), "{}", run.stdout);
    } else {
        assert_intact(&run);
    }
    let torn = format!("ends with a torn write of {} bytes", world.crash.torn_bytes);
    assert!(run.stdout.contains(&torn), "{torn:?} missing:\n{}", run.stdout);
}

#[then("every record acknowledged before the crash is still in the log, byte for byte")]
fn acknowledged_kept(world: &mut AttackWorld) {
    let now: Vec<Vec<u8>> = world.stored().into_iter().map(|r| r.bytes).collect();
    let before = &world.crash.acknowledged;
    assert!(!before.is_empty());
    assert!(now.len() > before.len(), "nothing was written after the crash");
    assert_eq!(&now[..before.len()], before.as_slice(), "an acknowledged record changed");
}

#[then("the log records the recovery and that the previous writer did not close it")]
fn recovery_recorded(world: &mut AttackWorld) {
    let records = world.records();
    let discarded: Vec<u64> = records
        .iter()
        .filter_map(|r| match r.body {
            Body::System(SystemRecord::CrashRecovery { bytes_discarded, .. }) => {
                Some(bytes_discarded)
            }
            _ => None,
        })
        .collect();
    assert_eq!(discarded.len(), 1, "{discarded:?}");
    assert!(discarded[0] > 0);
    if world.crash.torn_bytes > 0 {
        assert_eq!(discarded[0], world.crash.torn_bytes);
    }
    let resumed = records.iter().any(|r| {
        matches!(r.body, Body::System(SystemRecord::LogResumed { previous_clean: false, .. }))
    });
    assert!(resumed, "no log_resumed record saying the previous writer did not close the log");
}
