//! Crash consistency by enumeration: a workload that covers every kind of write the store makes
//! (create, appends, epoch boundaries with seals and key replacement, rotation, idle seals, close,
//! reopen, retention with its leaf-hash file and removals) is run once per durability point with a
//! seam that crashes there ([`audit_store::io::CrashIo`]). Every image a crash may leave at that
//! point reopens, and after a clean close verifies with the verifier material, with every
//! acknowledged record present (or removed by retention, as a purge record says).

use std::path::Path;
use std::sync::Arc;

use audit_store::io::Io;
use audit_store::{LogConfig, LogWriter, VerifierMaterial, VerifyOptions, verify};
use audit_testkit::CrashIo;

use crate::support::{at, config, entries};

const DAY: i64 = 86_400;

fn crash_config() -> LogConfig {
    let mut c = config();
    c.retention.days = 1;
    c
}

/// Runs the workload until it ends or the seam crashes. Returns the verifier material (once the
/// log was created) and how many records had been acknowledged.
fn workload(dir: &Path, io: &Arc<dyn Io>) -> (Option<VerifierMaterial>, u64) {
    let Ok((mut writer, material)) =
        LogWriter::create_with_io(dir, crash_config(), at(0), Arc::clone(io))
    else {
        return (None, 0);
    };
    let mut acknowledged = writer.next_seq();
    let mut steps = || -> Result<(), audit_store::StoreError> {
        writer.append_batch(&entries(5, at(1)), at(1))?;
        acknowledged = writer.next_seq();
        // Crosses an epoch boundary: a seal, a checkpoint, the key replaced.
        writer.append_batch(&entries(5, at(70)), at(70))?;
        acknowledged = writer.next_seq();
        // Fills the segment; the next batch rotates.
        writer.append_batch(&entries(30, at(80)), at(80))?;
        acknowledged = writer.next_seq();
        writer.append_batch(&entries(5, at(90)), at(90))?;
        acknowledged = writer.next_seq();
        // Idle epochs are sealed.
        writer.seal_if_due(at(200))?;
        acknowledged = writer.next_seq();
        Ok(())
    };
    if steps().is_err() {
        return (Some(material), acknowledged);
    }
    if writer.close(at(210)).is_err() {
        return (Some(material), acknowledged);
    }
    let Ok(mut writer) = LogWriter::open_with_io(dir, crash_config(), at(3 * DAY), Arc::clone(io))
    else {
        return (Some(material), acknowledged);
    };
    acknowledged = writer.next_seq();
    let mut steps = || -> Result<(), audit_store::StoreError> {
        writer.append_batch(&entries(5, at(3 * DAY + 5)), at(3 * DAY + 5))?;
        acknowledged = writer.next_seq();
        let purged = writer.apply_retention(at(3 * DAY + 10))?;
        assert!(purged.is_some(), "the workload must exercise retention");
        acknowledged = writer.next_seq();
        writer.append_batch(&entries(5, at(3 * DAY + 20)), at(3 * DAY + 20))?;
        acknowledged = writer.next_seq();
        Ok(())
    };
    if steps().is_ok() && writer.close(at(3 * DAY + 30)).is_ok() {
        acknowledged = u64::MAX; // everything, checked by the clean run
    }
    (Some(material), acknowledged)
}

#[test]
fn every_crash_image_at_every_durability_point_reopens_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let counter = CrashIo::new(u64::MAX, &tmp.path().join("unused"));
    let io: Arc<dyn Io> = Arc::new(counter.clone());
    let (material, _) = workload(&tmp.path().join("clean"), &io);
    assert!(material.is_some());
    let points = counter.points();
    assert!(points > 40, "the workload has {points} durability points");
    let mut images_checked = 0;
    for n in 1..=points {
        let run = tmp.path().join(format!("run-{n}"));
        std::fs::create_dir(&run).unwrap();
        let crash = CrashIo::new(n, &run.join("images"));
        let io: Arc<dyn Io> = Arc::new(crash.clone());
        let (material, acknowledged) = workload(&run.join("log"), &io);
        assert!(crash.crashed(), "point {n} was not reached");
        for image in crash.images() {
            let name = image.file_name().unwrap().to_string_lossy().into_owned();
            let Some(material) = &material else {
                // The log was never handed out (create did not return): reopening may refuse,
                // but must not panic.
                let _ = LogWriter::open(&image, crash_config(), at(10 * DAY));
                continue;
            };
            let writer = LogWriter::open(&image, crash_config(), at(10 * DAY))
                .unwrap_or_else(|e| panic!("image {name} at point {n} does not reopen: {e}"));
            writer.close(at(10 * DAY + 1)).unwrap();
            let options = {
                let mut options = VerifyOptions::with_material(material.clone());
                options.now = Some(at(10 * DAY + 2));
                options
            };
            let report = verify(&image, &options).unwrap();
            assert!(report.is_intact(), "image {name} at point {n}: {:?}", report.failure);
            assert!(
                acknowledged == u64::MAX || report.next_seq >= acknowledged,
                "image {name} at point {n}: {acknowledged} records were acknowledged, {} remain",
                report.next_seq
            );
            images_checked += 1;
        }
        std::fs::remove_dir_all(&run).unwrap();
    }
    assert!(images_checked > points, "{images_checked} images for {points} points");
}
