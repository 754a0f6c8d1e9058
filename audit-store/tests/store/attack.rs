//! Attacks on the Merkle tiles by an intruder who can write the log directory: links planted in
//! `tiles/` must never make the writer touch anything outside the log, and derived tiles lost
//! after a purge must never make an honest log look damaged. Each test failed before its fix.

use audit_store::latest_checkpoint;

use crate::support::{at, entries, new_log};

/// Was a fault: the writer removes the partial versions of a tile once the full tile is written
/// (`tiles.rs` `remove_partials`), listing `tiles/<L>/<N>.p` with `fs::read_dir`, which follows a
/// symbolic link, and deleting every regular file found there. An intruder who can write the log
/// directory replaces `tiles/0/000.p` by a symlink to any directory the writer can write: the
/// writer (which may run with more rights than the intruder) deletes every file in it.
/// `remove_partials_below` does the same for files named `1..=255` narrower than a new partial.
#[test]
fn a_symlinked_partial_tile_directory_never_makes_the_writer_delete_files_outside_the_log() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(100, at(1)), at(1)).unwrap();
    writer.close(at(2)).unwrap();
    let partials = fixture.dir.join("tiles/0/000.p");
    assert!(partials.is_dir(), "no partial tile after a checkpoint");
    let victim = tempfile::tempdir().unwrap();
    std::fs::write(victim.path().join("precious"), b"not the log's").unwrap();
    std::fs::write(victim.path().join("7"), b"not a tile").unwrap();
    std::fs::remove_dir_all(&partials).unwrap();
    std::os::unix::fs::symlink(victim.path(), &partials).unwrap();
    let mut writer = fixture.open(at(3));
    writer.append_batch(&entries(300, at(4)), at(4)).unwrap();
    writer.close(at(5)).unwrap();
    let (_, latest) = latest_checkpoint(&fixture.dir).unwrap();
    assert!(latest.size > 256);
    assert!(
        victim.path().join("precious").exists() && victim.path().join("7").exists(),
        "the writer followed tiles/0/000.p out of the log directory and deleted files there"
    );
}

/// Was a fault: the writer creates a tile's directory with `DirBuilder::recursive`, which
/// follows symbolic links, and only then checks that no component is one (`TileFiles::write`).
/// With `tiles` swapped for a symlink to a directory outside the log while a writer runs, the
/// writer refuses to write the tile files but has already created `0/` and `0/000.p/` there.
#[test]
fn a_tiles_symlink_swapped_in_never_makes_the_writer_create_directories_outside_the_log() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(10, at(1)), at(1)).unwrap();
    // A writer refuses to open a log whose `tiles` is a symlink; a running one does not look.
    let victim = tempfile::tempdir().unwrap();
    let _absent_until_a_checkpoint = std::fs::remove_dir_all(fixture.dir.join("tiles"));
    std::os::unix::fs::symlink(victim.path(), fixture.dir.join("tiles")).unwrap();
    writer.append_batch(&entries(300, at(4)), at(4)).unwrap();
    writer.close(at(5)).unwrap();
    let created: Vec<_> =
        std::fs::read_dir(victim.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(created.is_empty(), "the writer created {created:?} outside the log directory");
}

/// Was a fault: `TileFiles::write` opens `<tile>.tmp` with `create` + `truncate` (no `O_EXCL`, no
/// removal of a stale one first, unlike `write_atomic` for every other file of the log), so a
/// `.tmp` the intruder planted as a hard link to a file outside the log is truncated and
/// overwritten with tile bytes before the descriptor is checked; the rename then moves the link
/// into `tiles/`. Any file the intruder can hard-link (same file system; with
/// `fs.protected_hardlinks=0`, any file the writer can write) is clobbered.
#[test]
fn a_hard_linked_tile_temporary_never_makes_the_writer_overwrite_a_file_outside_the_log() {
    let (fixture, mut writer) = new_log();
    writer.append_batch(&entries(100, at(1)), at(1)).unwrap();
    writer.close(at(2)).unwrap();
    let victim = tempfile::tempdir_in(fixture.dir.parent().unwrap()).unwrap();
    let precious = victim.path().join("precious");
    std::fs::write(&precious, b"not the log's").unwrap();
    std::fs::hard_link(&precious, fixture.dir.join("tiles/0/000.tmp")).unwrap();
    let mut writer = fixture.open(at(3));
    writer.append_batch(&entries(300, at(4)), at(4)).unwrap();
    writer.close(at(5)).unwrap();
    let now = std::fs::read(&precious).unwrap();
    assert!(
        now == b"not the log's",
        "the writer wrote a tile through a hard link planted as its temporary file ({} bytes)",
        now.len()
    );
}

/// Was a fault: after a retention purge, tiles are the only source for a proof from a
/// checkpoint of a purged size. Tiles are derived data (written without sync, documented as
/// regenerable); with them deleted or zeroed, `consistency_proof` answers
/// `StoreError::Damaged` ("leaf N was removed by retention ..."), which `audit consistency`
/// prints as `FAIL: the log is damaged in <segment> ...` (exit 1, as for tampering), while every
/// record and checkpoint is honest and `audit verify` passes. Losing derived data should say
/// "cannot be proven", not that the log is damaged. (The reason shown also drops the cause:
/// "the leaf hash source failed".)
#[test]
fn deleted_tiles_after_a_purge_leave_a_proof_unprovable_not_the_log_damaged() {
    let (fixture, _config, size) = purged_log(|size| size % 256 != 0);
    assert!(audit_store::consistency_proof(&fixture.dir, size, None).is_ok());
    std::fs::remove_dir_all(fixture.dir.join("tiles")).unwrap();
    let mut options = fixture.options();
    options.min_retention_days = Some(2);
    let report = audit_store::verify(&fixture.dir, &options).unwrap();
    assert!(report.failure.is_none(), "the log itself is intact: {:?}", report.failure);
    let result = audit_store::consistency_proof(&fixture.dir, size, None);
    assert!(
        matches!(result, Err(audit_store::StoreError::Unprovable { .. })),
        "an honest log without its derived tiles is reported as damaged: {result:?}"
    );
}

/// Was a fault (the crash form of the one above): partial tiles are rewritten with every
/// checkpoint without `fdatasync`, and the level-1 partial tile covers purged records. A crash
/// that leaves it zeroed (as FORMAT.md allows) makes the reopening writer give up on tiles
/// (recovery cannot regenerate them after a purge, and writes none from then on), and every
/// consistency proof from a checkpoint of a purged size answers `Damaged` for good: a crash
/// makes honest evidence look damaged.
#[test]
fn a_zeroed_partial_tile_after_a_purge_never_makes_consistency_report_damage() {
    let (fixture, config, size) = purged_log(|size| size > 512);
    assert!(audit_store::consistency_proof(&fixture.dir, size, None).is_ok());
    // The crash: the level-1 partial tile, written last, is left zeroed.
    let partials = fixture.dir.join("tiles/1/000.p");
    for entry in std::fs::read_dir(&partials).unwrap() {
        let path = entry.unwrap().path();
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::write(&path, vec![0u8; usize::try_from(len).unwrap()]).unwrap();
    }
    let writer = audit_store::LogWriter::open(&fixture.dir, config, at(5 * DAY + 2)).unwrap();
    writer.close(at(5 * DAY + 3)).unwrap();
    let result = audit_store::consistency_proof(&fixture.dir, size, None);
    assert!(
        matches!(result, Err(audit_store::StoreError::Unprovable { .. })),
        "a crash-zeroed derived tile makes an honest log report damage: {result:?}"
    );
}

const DAY: i64 = 86_400;

/// A log written over five days with a two-day retention, purged and closed, and the largest
/// size of a kept checkpoint that the purge covers and `pick` accepts.
fn purged_log(
    pick: impl Fn(u64) -> bool,
) -> (crate::support::Fixture, audit_store::LogConfig, u64) {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut config = crate::support::config();
    config.retention.days = 2;
    let mut writer = audit_store::LogWriter::open(&fixture.dir, config.clone(), at(1)).unwrap();
    for d in 0..5 {
        for b in 0..4 {
            let time = at(d * DAY + 100 + b);
            writer.append_batch(&entries(100, time), time).unwrap();
        }
    }
    let outcome = writer.apply_retention(at(5 * DAY)).unwrap().unwrap();
    writer.close(at(5 * DAY + 1)).unwrap();
    let size = std::fs::read_dir(&fixture.dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix("checkpoint-")?.strip_suffix(".note")?.parse::<u64>().ok()
        })
        .filter(|size| *size <= outcome.last_seq && pick(*size))
        .max()
        .expect("a checkpoint of a purged size");
    (fixture, config, size)
}
