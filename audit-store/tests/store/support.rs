//! Fixtures: logs with a controlled clock, entries of every kind, directory copies.

use std::path::{Path, PathBuf};

use audit_events::Timestamp;
use audit_store::{LogWriter, VerifierMaterial, VerifyOptions, VerifyReport, verify};
pub(crate) use audit_testkit::fixture::{EPOCH, SECOND, T0, at, config, entries, segments};

pub(crate) struct Fixture {
    pub(crate) _tmp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) material: VerifierMaterial,
}

impl Fixture {
    pub(crate) fn options(&self) -> VerifyOptions {
        VerifyOptions::with_material(self.material.clone())
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
    audit_testkit::fixture::copy_log(from, &to);
    (tmp, to)
}

/// The failure's sequence number and segment, asserting there is one.
pub(crate) fn failure(report: &VerifyReport) -> &audit_store::VerifyFailure {
    report.failure.as_ref().unwrap_or_else(|| panic!("tampering not detected: {report:#?}"))
}
