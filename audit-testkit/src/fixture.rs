//! The log fixture every test and benchmark of the workspace starts from: a fixed clock, a small
//! writer configuration, entries cycling through every event kind, and copies of a log
//! directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use audit_events::{AuditEvent, AuditId, Body, Entry, EventKind, EventRecord, Outcome, Timestamp};
use audit_store::LogConfig;

/// 2026-11-22T00:00:00Z.
pub const T0: Timestamp = Timestamp(1_795_305_600_000_000_000);
/// One second in nanoseconds.
pub const SECOND: i64 = 1_000_000_000;
/// One seal epoch of [`config`] in nanoseconds.
pub const EPOCH: i64 = 60 * SECOND;
/// One day in nanoseconds.
pub const DAY: i64 = 86_400 * SECOND;

/// `seconds` after [`T0`].
pub fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * SECOND)
}

/// Service `service`, one-minute epochs, the default segment size.
pub fn log_config(service: &str) -> LogConfig {
    let mut config = LogConfig::new(service);
    config.seal_epoch = Duration::from_secs(60);
    config
}

/// Service `svc-test`, one-minute epochs, 4 KiB segments (so a few hundred records span several).
pub fn config() -> LogConfig {
    let mut config = log_config("svc-test");
    config.max_segment_bytes = 4096;
    config
}

/// The audit id whose last eight bytes are `n` and first eight `salt`.
pub fn audit_id(salt: u64, n: u64) -> AuditId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&salt.to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    AuditId(id)
}

/// `event` at `time` with audit id `n`.
pub fn entry(event: AuditEvent, time: Timestamp, n: u64) -> Entry {
    Entry::new(time, audit_id(0, n), Body::Event(EventRecord::new(event)))
}

/// The `i`-th example event: the kinds in turn.
pub fn example(i: u64) -> AuditEvent {
    let kinds = EventKind::ALL;
    kinds[usize::try_from(i).unwrap() % kinds.len()].example()
}

/// `count` events cycling through every kind, all at `time`.
pub fn entries(count: usize, time: Timestamp) -> Vec<Entry> {
    entries_from(0, count, time)
}

/// `count` events cycling through every kind from the `start`-th, all at `time`.
pub fn entries_from(start: usize, count: usize, time: Timestamp) -> Vec<Entry> {
    salted_entries(0, start, count, time)
}

/// [`entries_from`] with `salt` in the first half of every audit id, so that batches written
/// by different writers or at different times have distinct ids.
pub fn salted_entries(salt: u64, start: usize, count: usize, time: Timestamp) -> Vec<Entry> {
    (start..start + count)
        .map(|i| {
            let n = u64::try_from(i).unwrap();
            Entry::new(time, audit_id(salt, n), Body::Event(EventRecord::new(example(n))))
        })
        .collect()
}

/// The `i`-th entry of a benchmark log at `time`: the kinds in turn, and one of a thousand
/// users as the actor, as in a real fleet.
pub fn fleet_entry(i: u64, time: i64) -> Entry {
    let mut event = example(i);
    event.for_each_text_mut(&mut |path, _, text| {
        if path.to_string() == "actor.user_id" {
            *text = format!("user-{:04}", i % 1000);
        }
    });
    Entry::new(Timestamp(time), audit_id(0, i), Body::Event(EventRecord::new(event)))
}

/// Copies the regular files of the log directory `from` into `to` (created).
pub fn copy_log(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The segment files of a log directory, in order.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    found.sort();
    found
}

/// A routine event (task completed) whose task id is `tag`: what the logger's tests emit to
/// follow an event through the queue into the log.
pub fn routine(tag: &str) -> AuditEvent {
    AuditEvent::TaskCompleted {
        task_id: tag.to_owned(),
        worker_id: "worker-gpu-0".to_owned(),
        tokens_generated: 7,
        duration_ms: 3,
        outcome: Outcome::Success,
    }
}
