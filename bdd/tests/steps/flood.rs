//! Steps of `flood.feature`: bursts beyond the queue, huge hostile fields and a full disk.
//! Nothing may be lost silently: every refusal reaches the caller as an error and the log as an
//! events-dropped record, critical events keep their own lane, and memory stays bounded.

use audit_events::{AuditEvent, Body, EventKind, KindCount, SystemRecord};
use audit_logger::{AuditError, KeyHandling, QueueBounds};
use audit_testkit::FaultyIo;
use cucumber::{given, then, when};
use input_validation::unescape_log;

use super::{AttackWorld, assert_intact, assert_no_raw_dangerous};

/// The reason of the critical event sent after a flood.
const CRITICAL_TAG: &str = "failed login after the flood";

/// What the flood did.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Task ids of the routine events the logger accepted.
    accepted: Vec<String>,
    /// Refusals returned to the caller.
    refused: u64,
    /// Errors other than `BufferFull`, which must not happen.
    other_errors: Vec<String>,
    /// The hostile reason sent.
    sent: String,
    /// What the writer's failure looked like to the caller.
    failure: Option<AuditError>,
    /// What an emit after the failure returned.
    after_failure: Option<Result<(), AuditError>>,
}

use audit_testkit::fixture::routine;

/// Task ids of the task-completed events in the log.
fn logged_tasks(world: &AttackWorld) -> Vec<String> {
    world
        .records()
        .iter()
        .filter_map(|r| match r.event() {
            Some(AuditEvent::TaskCompleted { task_id, .. }) => Some(task_id.clone()),
            _ => None,
        })
        .collect()
}

#[given(expr = "a new audit log written by a logger whose routine queue holds {int} events")]
fn small_queue(world: &mut AttackWorld, events: usize) {
    let mut config = world.config();
    config.queue = QueueBounds::default();
    config.queue.max_events = events;
    config.queue.critical_max_events = 4;
    world.start_logger(config);
}

#[given("a new audit log written by the real logger through a fault-injecting file layer")]
fn faulty_log(world: &mut AttackWorld) {
    world.io = Some(FaultyIo::new());
    let config = world.config();
    world.start_logger(config);
}

#[when(expr = "a client floods the logger with {int} routine events in one burst")]
fn flood(world: &mut AttackWorld, count: usize) {
    for i in 0..count {
        let tag = format!("flood-{i}");
        match world.logger().emit(routine(&tag)) {
            Ok(()) => world.flood.accepted.push(tag),
            Err(AuditError::BufferFull { kind: EventKind::TaskCompleted }) => {
                world.flood.refused += 1;
            }
            Err(other) => world.flood.other_errors.push(other.to_string()),
        }
    }
}

#[when("a critical event is emitted after the flood")]
fn critical_after(world: &mut AttackWorld) {
    let mut event = EventKind::AuthFailure.example();
    if let AuditEvent::AuthFailure { reason, .. } = &mut event {
        CRITICAL_TAG.clone_into(reason);
    }
    assert!(event.is_critical());
    world.emit(event);
    world.close_logger();
}

#[then("some events were refused, each with a queue-full error returned to the caller")]
fn refusals_returned(world: &mut AttackWorld) {
    let flood = &world.flood;
    assert!(flood.other_errors.is_empty(), "{:?}", flood.other_errors);
    assert!(flood.refused > 0, "the burst never filled the queue");
    let stats = world.stats.as_ref().unwrap();
    assert_eq!(stats.refused_full, flood.refused, "{stats:?}");
    assert_eq!(stats.dropped_total, flood.refused, "{stats:?}");
    assert_eq!(
        stats.dropped_by_kind,
        [KindCount { kind: EventKind::TaskCompleted, count: flood.refused }]
    );
}

#[then("the log holds events-dropped records whose totals equal the refusals, by kind")]
fn drops_recorded(world: &mut AttackWorld) {
    let mut by_kind: Vec<KindCount> = Vec::new();
    for record in world.records() {
        if let Body::System(SystemRecord::EventsDropped { total, by_kind: counts, .. }) =
            &record.body
        {
            assert_eq!(*total, counts.iter().map(|c| c.count).sum::<u64>());
            for count in counts {
                match by_kind.iter_mut().find(|c| c.kind == count.kind) {
                    Some(sum) => sum.count += count.count,
                    None => by_kind.push(*count),
                }
            }
        }
    }
    assert_eq!(by_kind, [KindCount { kind: EventKind::TaskCompleted, count: world.flood.refused }]);
    assert_eq!(world.recorded_drops(), world.flood.refused);
}

#[then("every accepted event and the critical event are in the log")]
fn accepted_logged(world: &mut AttackWorld) {
    assert_eq!(logged_tasks(world), world.flood.accepted);
    let critical = world.records().iter().any(|r| {
        matches!(r.event(), Some(AuditEvent::AuthFailure { reason, .. }) if reason == CRITICAL_TAG)
    });
    assert!(critical, "the critical event is missing");
}

#[then("`audit verify` with the verifier material reports the log intact and the drops on record")]
fn verify_reports_drops(world: &mut AttackWorld) {
    let run = world.audit_verify(&world.log, &[]);
    assert_intact(&run);
    let line = format!("dropped events on record: {}", world.flood.refused);
    assert!(run.stdout.contains(&line), "{line:?} missing:\n{}", run.stdout);
}

#[when(expr = "a client sends a reason of {int} KiB of terminal escape sequences")]
fn huge_reason(world: &mut AttackWorld, kib: usize) {
    let sent = "\u{1b}[2J".repeat(kib * 1024 / 4);
    let mut event = EventKind::TaskCanceled.example();
    if let AuditEvent::TaskCanceled { reason, .. } = &mut event {
        reason.clone_from(&sent);
    }
    world.logger().emit(event).expect("a huge field is cut, never a reason to refuse");
    world.close_logger();
    world.flood.sent = sent;
}

#[then(
    "the stored reason is escaped, cut to the text bound, and unescapes to a prefix of what was sent"
)]
fn stored_cut(world: &mut AttackWorld) {
    let record = world
        .records()
        .into_iter()
        .find(|r| r.event().map(AuditEvent::kind) == Some(EventKind::TaskCanceled))
        .unwrap();
    let Body::Event(stored) = &record.body else { unreachable!("an event record") };
    let AuditEvent::TaskCanceled { reason, .. } = &stored.event else { unreachable!("its kind") };
    assert!(reason.len() <= audit_events::MAX_TEXT_BYTES, "{} bytes stored", reason.len());
    assert!(reason.len() > audit_events::MAX_TEXT_BYTES / 2, "{} bytes stored", reason.len());
    assert_no_raw_dangerous("the stored reason", reason);
    let back = unescape_log(reason).unwrap();
    assert!(world.flood.sent.starts_with(back.as_ref()));
    assert_eq!(stored.escaped, ["reason"]);
    assert_eq!(stored.truncated, ["reason"]);
    assert_eq!(world.stats.as_ref().unwrap().dropped_total, 0);
}

#[when(expr = "{int} events are written and made durable")]
fn durable_events(world: &mut AttackWorld, count: usize) {
    for i in 0..count {
        let tag = format!("durable-{i}");
        world.emit(routine(&tag));
        world.flood.accepted.push(tag);
    }
    world.logger().flush().unwrap();
}

#[when("the disk fills up while the next event is being written")]
fn disk_full(world: &mut AttackWorld) {
    world.io.as_ref().unwrap().disk_space(50);
    world.emit(routine("never-acknowledged"));
    world.flood.failure = Some(world.logger().flush().expect_err("a full disk went unnoticed"));
    world.flood.after_failure = Some(world.logger().emit(routine("after-the-failure")));
    let closed = world.try_close_logger();
    assert!(closed.is_err(), "shutdown of a failed writer reported success");
}

#[then(
    "flushing returned the writer's failure to the caller, and later events are refused with it"
)]
fn failure_returned(world: &mut AttackWorld) {
    let failure = world.flood.failure.clone().unwrap();
    assert!(matches!(failure, AuditError::WriterPoisoned { .. }), "{failure:?}");
    assert_no_raw_dangerous("the error", &failure.to_string());
    let after = world.flood.after_failure.clone().unwrap();
    assert!(matches!(after, Err(AuditError::WriterPoisoned { .. })), "{after:?}");
    let stats = world.stats.as_ref().unwrap();
    assert!(stats.poisoned.is_some(), "{stats:?}");
    assert!(stats.refused_unavailable >= 1, "{stats:?}");
    assert!(stats.lost_unwritten >= 1, "{stats:?}");
}

#[when("a new logger opens the same log")]
fn reopen(world: &mut AttackWorld) {
    world.io = None;
    let mut config = world.config();
    config.keys = KeyHandling::ExistingOnly;
    world.start_logger(config);
    world.close_logger();
}

#[then("every event acknowledged before the failure is in the log, and the recovery is on record")]
fn acknowledged_survive(world: &mut AttackWorld) {
    let logged = logged_tasks(world);
    assert!(logged.starts_with(&world.flood.accepted), "{logged:?}");
    assert!(!logged.iter().any(|t| t == "after-the-failure"), "{logged:?}");
    let recovered = world
        .records()
        .iter()
        .any(|r| matches!(r.body, Body::System(SystemRecord::CrashRecovery { .. })));
    assert!(recovered, "no crash_recovery record");
}
