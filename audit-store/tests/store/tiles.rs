//! Merkle tiles: proofs come from them when they are sound, and a forged, damaged, deleted or
//! symlinked tile never yields a wrong proof: the proof is recomputed from the records, or the
//! log is reported as not matching its signed checkpoint. Tiles of purged records stay, so old
//! checkpoints remain provable.

use std::path::{Path, PathBuf};

use audit_chain::{
    MemoryTree, NoteVerifier, leaf_hash, open_checkpoint, verify_consistency, verify_inclusion,
};
use audit_events::{Body, EventKind, EventRecord};
use audit_store::{
    LogWriter, ProofSource, StoreError, consistency_proof, inclusion_proof, latest_checkpoint,
    tamper,
};

use crate::support::{Fixture, at, config, entries, new_log};

/// A closed log of about `records` records (plus the store's own), in large segments.
fn log_of(records: usize) -> Fixture {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut config = config();
    config.max_segment_bytes = 1 << 20;
    let mut writer = LogWriter::open(&fixture.dir, config, at(1)).unwrap();
    let mut left = records;
    let mut second = 2;
    while left > 0 {
        let n = left.min(500);
        writer.append_batch(&entries(n, at(second)), at(second)).unwrap();
        left -= n;
        second += 1;
    }
    writer.close(at(second)).unwrap();
    fixture
}

/// Every leaf hash of the log, from the records.
fn tree_of(dir: &Path) -> MemoryTree {
    let reader = audit_store::LogReader::open(dir).unwrap();
    MemoryTree::from_leaves(reader.records().map(|r| r.unwrap().leaf_hash()))
}

/// Every tile file under the log directory.
fn tile_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.join("tiles")];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { stack.push(path) } else { found.push(path) }
        }
    }
    found.sort();
    found
}

fn checked_inclusion(fixture: &Fixture, seq: u64) -> ProofSource {
    let bundle = inclusion_proof(&fixture.dir, seq, None).unwrap();
    let verifier = NoteVerifier::parse(&fixture.material.public_key).unwrap();
    let checkpoint = open_checkpoint(&bundle.checkpoint, &verifier).unwrap();
    verify_inclusion(&leaf_hash(&bundle.record), &bundle.proof, &checkpoint.root).unwrap();
    let memory = tree_of(&fixture.dir);
    let expected = audit_chain::inclusion_proof(&memory, seq, checkpoint.size).unwrap();
    assert_eq!(bundle.proof, expected);
    assert_eq!(audit_events::Record::decode(&bundle.record).unwrap().seq, seq);
    bundle.source
}

fn assert_tiles(source: &ProofSource) {
    assert!(matches!(source, ProofSource::Tiles { .. }), "not from the tiles: {source:?}");
}

fn assert_records(source: &ProofSource) {
    assert!(matches!(source, ProofSource::Records { .. }), "not from the records: {source:?}");
}

#[test]
fn the_writer_keeps_tiles_and_proofs_come_from_them() {
    let fixture = log_of(1_500);
    let files = tile_files(&fixture.dir);
    assert!(files.iter().any(|f| f.ends_with("tiles/0/000")), "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("tiles/0/004")), "{files:?}");
    assert!(files.iter().all(|f| std::fs::metadata(f).unwrap().len() % 32 == 0));
    let (_, latest) = latest_checkpoint(&fixture.dir).unwrap();
    for seq in [0, 1, 255, 256, 700, latest.size - 1] {
        let source = checked_inclusion(&fixture, seq);
        assert_tiles(&source);
        if let ProofSource::Tiles { bytes_read } = source {
            // Two levels of tiles and one record: far less than the log.
            assert!(bytes_read < 40_000, "{bytes_read} bytes read");
        }
    }
    let verifier = NoteVerifier::parse(&fixture.material.public_key).unwrap();
    for old in [1, 256, 300, latest.size - 1] {
        let bundle = consistency_proof(&fixture.dir, old, None).unwrap();
        assert_tiles(&bundle.source);
        let new = open_checkpoint(&bundle.checkpoint, &verifier).unwrap();
        verify_consistency(&bundle.proof, &bundle.old_root, &new.root).unwrap();
        assert_eq!(bundle.old_root, audit_chain::root_at(&tree_of(&fixture.dir), old).unwrap());
    }
}

#[test]
fn kept_checkpoints_of_earlier_sizes_are_proven_from_the_tiles() {
    // Small segments: a checkpoint is kept at every rotation.
    let (fixture, mut writer) = new_log();
    for b in 0..12 {
        writer.append_batch(&entries(100, at(b + 1)), at(b + 1)).unwrap();
    }
    writer.close(at(20)).unwrap();
    let verifier = NoteVerifier::parse(&fixture.material.public_key).unwrap();
    let mut kept = 0;
    for entry in std::fs::read_dir(&fixture.dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(size) = name.strip_prefix("checkpoint-").and_then(|n| n.strip_suffix(".note"))
        else {
            continue;
        };
        let size: u64 = size.parse().unwrap();
        let bundle = inclusion_proof(&fixture.dir, size - 1, Some(size)).unwrap();
        assert_tiles(&bundle.source);
        let checkpoint = open_checkpoint(&bundle.checkpoint, &verifier).unwrap();
        verify_inclusion(&leaf_hash(&bundle.record), &bundle.proof, &checkpoint.root).unwrap();
        kept += 1;
    }
    assert!(kept >= 2);
}

#[test]
fn an_edited_tile_is_never_believed() {
    let fixture = log_of(1_500);
    // The forger follows FORMAT.md: a leaf hash in a full tile, and a node in the partial tile
    // of level 1.
    let tile = fixture.dir.join("tiles/0/001");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&tile, &bytes).unwrap();
    // Leaf 257, the sibling of record 256 in its proof.
    let source = checked_inclusion(&fixture, 256);
    assert_records(&source);
    let ProofSource::Records { reason } = source else { unreachable!() };
    assert!(reason.contains("signed checkpoint"), "{reason}");
    // A record whose path crosses only sound tiles still comes from them.
    assert_tiles(&checked_inclusion(&fixture, 1_200));
    let partial = tile_files(&fixture.dir)
        .into_iter()
        .find(|f| f.to_str().unwrap().contains("tiles/1/000.p/"))
        .unwrap();
    let mut bytes = std::fs::read(&partial).unwrap();
    bytes[0] ^= 0x80;
    std::fs::write(&partial, &bytes).unwrap();
    // Record 1000's path holds the root of leaves 0..512, from that partial tile.
    assert_records(&checked_inclusion(&fixture, 1_000));
    let bundle = consistency_proof(&fixture.dir, 300, None).unwrap();
    assert_records(&bundle.source);
    assert_eq!(bundle.old_root, audit_chain::root_at(&tree_of(&fixture.dir), 300).unwrap());
}

#[test]
fn tiles_rewritten_to_match_forged_records_yield_an_error_not_a_proof() {
    let fixture = log_of(800);
    let mut records = tamper::read_records(&fixture.dir).unwrap();
    let target = records.iter().position(|r| matches!(r.body, Body::Event(_))).unwrap() + 300;
    records[target].body = Body::Event(EventRecord::new(EventKind::AuthFailure.example()));
    tamper::rewrite(&fixture.dir, &records, &mut |_| None).unwrap();
    tamper::rewrite_tiles(&fixture.dir).unwrap();
    // The signed checkpoint is untouched: neither the tiles nor the records lead to its root.
    let seq = u64::try_from(target).unwrap();
    for result in [
        inclusion_proof(&fixture.dir, seq, None).map(|_| ()),
        inclusion_proof(&fixture.dir, 3, None).map(|_| ()),
        consistency_proof(&fixture.dir, seq + 1, None).map(|_| ()),
    ] {
        match result {
            Err(StoreError::Damaged { reason, .. }) => {
                assert!(reason.contains("do not match the signed checkpoint"), "{reason}");
            }
            other => panic!("a forged log gave {other:?}"),
        }
    }
}

#[test]
fn deleted_tiles_fall_back_to_the_records_and_the_writer_regenerates_them() {
    let fixture = log_of(1_500);
    let before = tile_files(&fixture.dir);
    std::fs::remove_dir_all(fixture.dir.join("tiles")).unwrap();
    assert_records(&checked_inclusion(&fixture, 700));
    let bundle = consistency_proof(&fixture.dir, 10, None).unwrap();
    assert_records(&bundle.source);
    let writer = fixture.open(at(100));
    writer.close(at(101)).unwrap();
    let after = tile_files(&fixture.dir);
    for tile in before.iter().filter(|t| !t.to_str().unwrap().contains(".p/")) {
        assert!(after.contains(tile), "{tile:?} not regenerated");
    }
    assert_tiles(&checked_inclusion(&fixture, 700));
}

#[test]
fn a_tile_cut_short_or_zeroed_by_a_crash_is_repaired_when_the_writer_reopens() {
    let fixture = log_of(1_500);
    let last_full = fixture.dir.join("tiles/0/004");
    std::fs::write(&last_full, vec![0u8; 8192]).unwrap();
    let tile = fixture.dir.join("tiles/0/003");
    let bytes = std::fs::read(&tile).unwrap();
    std::fs::write(&tile, &bytes[..1000]).unwrap();
    // Until then, proofs are right and say where they came from.
    assert_records(&checked_inclusion(&fixture, 3 * 256 + 5));
    assert_records(&checked_inclusion(&fixture, 4 * 256 + 5));
    let writer = fixture.open(at(100));
    writer.close(at(101)).unwrap();
    assert_eq!(std::fs::read(&tile).unwrap(), bytes);
    assert_tiles(&checked_inclusion(&fixture, 3 * 256 + 5));
    assert_tiles(&checked_inclusion(&fixture, 4 * 256 + 5));
    assert!(fixture.verify().is_intact());
}

#[test]
fn symlinked_and_special_tiles_are_refused_without_blocking() {
    let fixture = log_of(1_500);
    let outside = tempfile::tempdir().unwrap();
    // A symlink to a byte-identical copy is still refused: nothing in the log directory is one.
    let tile = fixture.dir.join("tiles/0/001");
    let copy = outside.path().join("copy");
    std::fs::copy(&tile, &copy).unwrap();
    std::fs::remove_file(&tile).unwrap();
    std::os::unix::fs::symlink(&copy, &tile).unwrap();
    let ProofSource::Records { reason } = checked_inclusion(&fixture, 300) else {
        panic!("a symlinked tile was followed")
    };
    assert!(reason.contains("symbolic link"), "{reason}");
    std::fs::remove_file(&tile).unwrap();
    // A FIFO in place of a tile: refused at once, never opened for a blocking read.
    let status = std::process::Command::new("mkfifo").arg(&tile).status().unwrap();
    assert!(status.success());
    assert_records(&checked_inclusion(&fixture, 300));
    std::fs::remove_file(&tile).unwrap();
    // A directory of tiles replaced by a symlink to a copy of it.
    let level0 = fixture.dir.join("tiles/0");
    let moved = outside.path().join("level0");
    std::fs::rename(&level0, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &level0).unwrap();
    assert_records(&checked_inclusion(&fixture, 10));
    // An oversized tile.
    std::fs::remove_file(&level0).unwrap();
    std::fs::rename(&moved, &level0).unwrap();
    std::fs::write(fixture.dir.join("tiles/0/002"), vec![0u8; 1 << 20]).unwrap();
    let ProofSource::Records { reason } = checked_inclusion(&fixture, 2 * 256) else {
        panic!("an oversized tile was read")
    };
    assert!(reason.contains("larger than"), "{reason}");
}

#[test]
fn checkpoints_from_before_a_purge_remain_provable_from_the_tiles() {
    const DAY: i64 = 86_400;
    let (fixture, writer) = new_log();
    drop(writer);
    let mut config = config();
    config.retention.days = 2;
    let mut writer = LogWriter::open(&fixture.dir, config, at(1)).unwrap();
    for d in 0..5 {
        for b in 0..4 {
            let time = at(d * DAY + 100 + b);
            writer.append_batch(&entries(100, time), time).unwrap();
        }
    }
    let outcome = writer.apply_retention(at(5 * DAY)).unwrap().unwrap();
    assert!(outcome.last_seq > 600, "{outcome:?}");
    writer.close(at(5 * DAY + 1)).unwrap();
    let verifier = NoteVerifier::parse(&fixture.material.public_key).unwrap();
    let mut proven = 0;
    for entry in std::fs::read_dir(&fixture.dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(size) = name.strip_prefix("checkpoint-").and_then(|n| n.strip_suffix(".note"))
        else {
            continue;
        };
        let size: u64 = size.parse().unwrap();
        if size > outcome.last_seq {
            continue;
        }
        // A checkpoint held from before the purge, of a size whose records are gone.
        let old =
            open_checkpoint(&std::fs::read_to_string(fixture.dir.join(&name)).unwrap(), &verifier)
                .unwrap();
        let bundle = consistency_proof(&fixture.dir, size, None).unwrap();
        assert_tiles(&bundle.source);
        assert_eq!(bundle.old_root, old.root);
        let new = open_checkpoint(&bundle.checkpoint, &verifier).unwrap();
        verify_consistency(&bundle.proof, &old.root, &new.root).unwrap();
        proven += 1;
    }
    assert!(proven >= 2, "{proven} checkpoints proven");
    // And the records that remain are proven from the tiles too.
    let bundle = inclusion_proof(&fixture.dir, outcome.last_seq + 1, None).unwrap();
    assert_tiles(&bundle.source);
}

#[test]
fn a_reopened_log_continues_its_tiles() {
    let (fixture, mut writer) = new_log();
    for round in 0..3i64 {
        writer.append_batch(&entries(200, at(round * 10 + 1)), at(round * 10 + 1)).unwrap();
        writer.close(at(round * 10 + 2)).unwrap();
        writer = fixture.open(at(round * 10 + 3));
    }
    writer.close(at(100)).unwrap();
    let (_, latest) = latest_checkpoint(&fixture.dir).unwrap();
    for seq in [0, 255, 256, 511, 600, latest.size - 1] {
        assert_tiles(&checked_inclusion(&fixture, seq));
    }
}

#[test]
fn past_65536_records_the_tiles_of_level_one_fill_and_serve_proofs() {
    let fixture = log_of(66_000);
    let full = fixture.dir.join("tiles/1/000");
    assert_eq!(std::fs::metadata(&full).unwrap().len(), 8192);
    assert!(!fixture.dir.join("tiles/1/000.p").exists(), "partial versions of a full tile remain");
    let (_, latest) = latest_checkpoint(&fixture.dir).unwrap();
    for seq in [5, 65_535, 65_536, latest.size - 1] {
        assert_tiles(&checked_inclusion(&fixture, seq));
    }
    let bundle = consistency_proof(&fixture.dir, 40_000, None).unwrap();
    assert_tiles(&bundle.source);
    assert_eq!(bundle.old_root, audit_chain::root_at(&tree_of(&fixture.dir), 40_000).unwrap());
}

#[test]
fn a_checkpoint_of_a_running_writer_finds_every_tile_it_needs() {
    let (fixture, mut writer) = new_log();
    for b in 0..3 {
        writer.append_batch(&entries(300, at(b + 1)), at(b + 1)).unwrap();
        // A seal and its checkpoint, the writer still running.
        writer.seal_if_due(at(60 * (b + 1))).unwrap();
        let (_, latest) = latest_checkpoint(&fixture.dir).unwrap();
        let bundle = inclusion_proof(&fixture.dir, latest.size - 1, None).unwrap();
        assert_tiles(&bundle.source);
        assert_tiles(&consistency_proof(&fixture.dir, 1, None).unwrap().source);
    }
    writer.close(at(1_000)).unwrap();
}

#[test]
fn a_writer_reopened_after_a_crash_picks_up_its_tiles_from_the_resume_note() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut config = config();
    config.max_segment_bytes = 8 << 20;
    let mut writer = LogWriter::open(&fixture.dir, config.clone(), at(1)).unwrap();
    let segment = std::fs::read_dir(&fixture.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .max()
        .unwrap();
    let start = std::fs::metadata(&segment).unwrap().len();
    while std::fs::metadata(&segment).unwrap().len() - start < (1 << 20) + (16 << 10) {
        writer.append_batch(&entries(250, at(2)), at(2)).unwrap();
    }
    // More than a tile's worth after the last note, so that no tile of the final size is on
    // disk; then a crash.
    writer.append_batch(&entries(300, at(3)), at(3)).unwrap();
    let size = writer.next_seq();
    drop(writer);
    let first_tile = fixture.dir.join("tiles/0/000");
    let inode =
        |path: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap());
    let before = inode(&first_tile);
    let writer = LogWriter::open(&fixture.dir, config, at(4)).unwrap();
    writer.close(at(5)).unwrap();
    // The tiles were continued, not regenerated from every record.
    assert_eq!(inode(&first_tile), before);
    for seq in [0, size / 2, size - 300, size - 1] {
        assert_tiles(&checked_inclusion(&fixture, seq));
    }
}

#[test]
fn a_consistency_proof_from_edited_tiles_is_refused_never_wrong() {
    // The shipper takes its consistency proofs from the tiles alone and falls back to leaf
    // hashes it reads itself when they cannot give one: an edited tile (no key needed) must
    // never yield a proof, or an old root, other than the log's.
    let fixture = log_of(1_500);
    let (note, checkpoint) = latest_checkpoint(&fixture.dir).unwrap();
    let memory = tree_of(&fixture.dir);
    let sizes = [1, 255, 256, 257, 300, 512, 1_000, checkpoint.size - 1, checkpoint.size];
    let check = |dir: &Path, what: &str| {
        let mut refused = 0;
        for old in sizes {
            match audit_store::consistency_proof_from_tiles(dir, old, &note) {
                Ok(bundle) => {
                    assert_tiles(&bundle.source);
                    let expected = audit_chain::consistency_proof(&memory, old, checkpoint.size);
                    assert_eq!(bundle.proof, expected.unwrap(), "{what}: proof from {old}");
                    let root = audit_chain::root_at(&memory, old).unwrap();
                    assert_eq!(bundle.old_root, root, "{what}: old root at {old}");
                }
                Err(StoreError::Unprovable { .. }) => refused += 1,
                Err(e) => panic!("{what}: {e}"),
            }
        }
        refused
    };
    assert_eq!(check(&fixture.dir, "sound tiles"), 0);
    let mut refused = 0;
    for tile in tile_files(&fixture.dir) {
        let original = std::fs::read(&tile).unwrap();
        for at in [0, original.len() / 2, original.len() - 1] {
            let mut bytes = original.clone();
            bytes[at] ^= 0x01;
            std::fs::write(&tile, &bytes).unwrap();
            refused += check(&fixture.dir, &format!("{} byte {at}", tile.display()));
        }
        std::fs::write(&tile, &original).unwrap();
    }
    assert!(refused > 0);
}
