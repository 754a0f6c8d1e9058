//! Fixtures: logs with a controlled clock, entries of every kind, directory copies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use audit_events::{AuditId, Body, Entry, EventKind, EventRecord, Timestamp};
use audit_store::{LogConfig, LogWriter, VerifierMaterial, VerifyOptions, VerifyReport, verify};

/// 2026-11-22T00:00:00Z.
pub(crate) const T0: Timestamp = Timestamp(1_795_305_600_000_000_000);
pub(crate) const SECOND: i64 = 1_000_000_000;
pub(crate) const EPOCH: i64 = 60 * SECOND;

pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp(T0.0 + seconds * SECOND)
}

pub(crate) fn config() -> LogConfig {
    let mut config = LogConfig::new("svc-test");
    config.seal_epoch = Duration::from_secs(60);
    config.max_segment_bytes = 4096;
    config
}

pub(crate) fn entry(kind: EventKind, time: Timestamp, n: u64) -> Entry {
    let mut id = [0u8; 16];
    id[8..].copy_from_slice(&n.to_be_bytes());
    Entry::new(time, AuditId(id), Body::Event(EventRecord::new(kind.example())))
}

/// `count` events cycling through every kind, all at `time`.
pub(crate) fn entries(count: usize, time: Timestamp) -> Vec<Entry> {
    (0..count)
        .map(|i| entry(EventKind::ALL[i % EventKind::ALL.len()], time, u64::try_from(i).unwrap()))
        .collect()
}

pub(crate) struct Fixture {
    pub(crate) _tmp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) material: VerifierMaterial,
}

impl Fixture {
    pub(crate) fn options(&self) -> VerifyOptions {
        VerifyOptions { material: Some(self.material.clone()), ..VerifyOptions::default() }
    }

    pub(crate) fn verify(&self) -> VerifyReport {
        verify(&self.dir, &self.options()).unwrap()
    }

    pub(crate) fn verify_dir(&self, dir: &Path) -> VerifyReport {
        verify(dir, &self.options()).unwrap()
    }

    pub(crate) fn open(&self, now: Timestamp) -> LogWriter {
        LogWriter::open(&self.dir, config(), now).unwrap()
    }
}

/// A new log at T0.
pub(crate) fn new_log() -> (Fixture, LogWriter) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (writer, material) = LogWriter::create(&dir, config(), T0).unwrap();
    (Fixture { _tmp: tmp, dir, material }, writer)
}

/// A closed log spanning several epochs and segments: batches of events at 20-second steps.
pub(crate) fn written_log(batches: i64) -> Fixture {
    let (fixture, mut writer) = new_log();
    for b in 0..batches {
        writer.append_batch(&entries(7, at(20 * b + 1)), at(20 * b + 1)).unwrap();
    }
    writer.close(at(20 * batches + 1)).unwrap();
    fixture
}

/// Copies a log directory (files only) to a fresh place.
pub(crate) fn copy_log(from: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join("log");
    std::fs::create_dir(&to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    (tmp, to)
}

pub(crate) fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    found.sort();
    found
}

/// The failure's sequence number and segment, asserting there is one.
pub(crate) fn failure(report: &VerifyReport) -> &audit_store::VerifyFailure {
    report.failure.as_ref().unwrap_or_else(|| panic!("tampering not detected: {report:#?}"))
}
