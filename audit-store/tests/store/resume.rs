//! The resume note (`resume`, FORMAT.md): an intruder who writes the directory edits or replaces
//! it, with and without the log's signing key, and damages the records before its offset. The
//! writer must never take a state from it that the records do not give.

use std::path::{Path, PathBuf};

use audit_chain::NoteSigner;
use audit_store::{LogConfig, LogWriter, StoreError};

use crate::support::{Fixture, T0, at, copy_log, entries, failure, segments};

/// 8 MiB segments, so that the last segment holds several resume notes' worth of records.
fn config() -> LogConfig {
    let mut config = crate::support::config();
    config.max_segment_bytes = 8 << 20;
    config
}

/// A log whose last segment holds a legal hold and then more than 1 MiB of records, left by a
/// crash (no close): its resume note names a frame in the middle of the segment, after the hold.
fn held_log() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (mut writer, material) = LogWriter::create(&dir, config(), T0).unwrap();
    writer.set_legal_hold(true, "case 31", at(1)).unwrap();
    let start = size(&dir);
    while size(&dir) - start < (1 << 20) + (64 << 10) {
        writer.append_batch(&entries(200, at(2)), at(2)).unwrap();
    }
    writer.append_batch(&entries(3, at(3)), at(3)).unwrap();
    drop(writer);
    assert_eq!(segments(&dir).len(), 1);
    Fixture { _tmp: tmp, dir, material }
}

fn size(dir: &Path) -> u64 {
    segments(dir).iter().map(|s| std::fs::metadata(s).unwrap().len()).sum()
}

fn note_path(dir: &Path) -> PathBuf {
    dir.join("resume")
}

/// The note's signed text and its `segment ... end <end> last <last>` numbers.
fn read_note(dir: &Path) -> (String, u64, u64) {
    let note = std::fs::read_to_string(note_path(dir)).unwrap();
    let (text, _) = note.rsplit_once("\n\n").unwrap();
    let text = format!("{text}\n");
    let words: Vec<&str> = text.lines().nth(2).unwrap().split(' ').collect();
    let (end, last) = (words[5].parse().unwrap(), words[7].parse().unwrap());
    (text, end, last)
}

/// Signs `text` as a note with `signer` and writes it as the log's resume note.
fn write_note(dir: &Path, text: &str, signer: &NoteSigner) {
    std::fs::write(note_path(dir), signer.sign(text).unwrap()).unwrap();
}

/// The log's own checkpoint key, read from the directory.
fn stolen_signer(dir: &Path) -> NoteSigner {
    let text = std::fs::read_to_string(dir.join("signing.key")).unwrap();
    NoteSigner::from_private_key_string(text.trim_end()).unwrap()
}

/// The note's text with the legal hold line saying that the segment holds none.
fn without_hold(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| if l.starts_with("hold ") { "hold - -".to_owned() } else { l.to_owned() })
        .collect();
    assert_ne!(lines.join("\n") + "\n", text, "the note records no hold");
    lines.join("\n") + "\n"
}

#[test]
fn a_note_saying_the_hold_was_never_placed_is_not_used_unless_signed_by_the_log() {
    let fixture = held_log();
    let (text, _, _) = read_note(&fixture.dir);
    let origin = text.lines().nth(1).unwrap().strip_prefix("origin ").unwrap().to_owned();
    let intruder = NoteSigner::from_seed(&origin, [9; 32]).unwrap();
    write_note(&fixture.dir, &without_hold(&text), &intruder);
    let mut writer = LogWriter::open(&fixture.dir, config(), at(4)).unwrap();
    assert_eq!(writer.legal_hold(), Some("case 31"));
    assert_eq!(writer.apply_retention(at(4)).unwrap(), None);
    writer.close(at(5)).unwrap();
    assert!(fixture.verify().is_intact());
}

#[test]
fn a_note_re_signed_with_the_stolen_key_stops_the_writer_before_retention_removes_anything() {
    let fixture = held_log();
    let (text, _, _) = read_note(&fixture.dir);
    write_note(&fixture.dir, &without_hold(&text), &stolen_signer(&fixture.dir));
    let before: Vec<PathBuf> = segments(&fixture.dir);
    // The background check may end before the writer's first commit (open fails) or after it
    // (retention waits for it); either way the writer stops and nothing is removed.
    let err = match LogWriter::open(&fixture.dir, config(), at(4)) {
        Err(err) => err,
        Ok(mut writer) => {
            let err = writer.apply_retention(at(4)).unwrap_err();
            let next = writer.append_batch(&entries(1, at(5)), at(5));
            assert!(matches!(next, Err(StoreError::Poisoned { .. })));
            err
        }
    };
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("resume note"), "{err}");
    assert_eq!(segments(&fixture.dir), before);
    // Without the forged note, the writer finds the hold in the records.
    std::fs::remove_file(note_path(&fixture.dir)).unwrap();
    let writer = LogWriter::open(&fixture.dir, config(), at(6)).unwrap();
    assert_eq!(writer.legal_hold(), Some("case 31"));
    writer.close(at(7)).unwrap();
    assert!(fixture.verify().is_intact());
}

#[test]
fn a_note_naming_an_earlier_frame_or_one_that_is_not_there_changes_nothing() {
    let fixture = held_log();
    let (text, end, last) = read_note(&fixture.dir);
    let signer = stolen_signer(&fixture.dir);
    // The same note, its frame moved: past the end of the file, onto a frame boundary that is
    // not one, and onto the frame before (whose chain hash differs).
    let len = size(&fixture.dir);
    let moved = [(len + 100, len + 10), (end - 1, last - 1), (last, last - 100)];
    let mut sizes = Vec::new();
    for (new_end, new_last) in moved {
        let (_tmp, dir) = copy_log(&fixture.dir);
        let forged = text.replacen(
            &format!("end {end} last {last}"),
            &format!("end {new_end} last {new_last}"),
            1,
        );
        assert_ne!(forged, text);
        write_note(&dir, &forged, &signer);
        let writer = LogWriter::open(&dir, config(), at(4)).unwrap();
        sizes.push(writer.next_seq());
        assert_eq!(writer.legal_hold(), Some("case 31"));
        writer.close(at(5)).unwrap();
        assert!(fixture.verify_dir(&dir).is_intact());
    }
    let (_tmp, dir) = copy_log(&fixture.dir);
    std::fs::remove_file(note_path(&dir)).unwrap();
    let writer = LogWriter::open(&dir, config(), at(4)).unwrap();
    assert_eq!(sizes, vec![writer.next_seq(); 3]);
}

#[test]
fn damage_before_the_notes_offset_stops_the_writer_and_nothing_is_cut() {
    let fixture = held_log();
    let (_, end, _) = read_note(&fixture.dir);
    let file = segments(&fixture.dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let at_byte = usize::try_from(end / 2).unwrap();
    bytes[at_byte] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let before_open = std::fs::read(&file).unwrap();
    // The note's frame is intact, so the writer starts from it; the records before it are read
    // again in the background, and the writer stops at its first commit after that check ends
    // (at the latest when it commits the segment's index on close).
    let err = match LogWriter::open(&fixture.dir, config(), at(4)) {
        Err(err) => err,
        Ok(writer) => writer.close(at(5)).unwrap_err(),
    };
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    let after = std::fs::read(&file).unwrap();
    assert_eq!(after[..before_open.len()], before_open[..], "recorded bytes were changed");
    assert!(failure(&fixture.verify()).offset.is_some_and(|o| o <= end));
}

#[test]
fn an_older_honest_note_rotation_and_retention_right_after_a_reopen_commit_the_whole_index() {
    // A writer reopened from a note commits the index of the whole segment at once (rotation
    // right after the reopen, while the records before the note may still be read again), and
    // a note put back from earlier in the same segment (no key needed) is as good as the latest.
    let fixture = held_log();
    let older = std::fs::read(note_path(&fixture.dir)).unwrap();
    let mut writer = LogWriter::open(&fixture.dir, config(), at(4)).unwrap();
    let start = size(&fixture.dir);
    while size(&fixture.dir) - start < (1 << 20) + (64 << 10) {
        writer.append_batch(&entries(200, at(5)), at(5)).unwrap();
    }
    let expected = writer.next_seq();
    drop(writer);
    assert_ne!(std::fs::read(note_path(&fixture.dir)).unwrap(), older);
    std::fs::write(note_path(&fixture.dir), &older).unwrap();
    let mut writer = LogWriter::open(&fixture.dir, config(), at(6)).unwrap();
    assert!(writer.next_seq() > expected);
    assert_eq!(writer.legal_hold(), Some("case 31"));
    writer.rotate(at(7)).unwrap();
    assert_eq!(writer.apply_retention(at(8)).unwrap(), None);
    writer.append_batch(&entries(3, at(9)), at(9)).unwrap();
    drop(writer);
    // Once more from the latest note, closed at once.
    let writer = LogWriter::open(&fixture.dir, config(), at(10)).unwrap();
    writer.close(at(11)).unwrap();
    let report = fixture.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(segments(&fixture.dir).len(), 2);
    // The tiles were picked up and continued soundly: proofs come from them.
    for old in [1, expected - 1, expected + 1] {
        let bundle = audit_store::consistency_proof(&fixture.dir, old, None).unwrap();
        assert!(matches!(bundle.source, audit_store::ProofSource::Tiles { .. }), "{old}");
    }
}

#[test]
fn a_signed_note_whose_frontier_cannot_be_the_tree_of_its_size_is_not_used() {
    // FORMAT.md: a malformed note is not used; recovery then reads the whole segment. A
    // frontier of the wrong length for the note's size (signed with the stolen key) is such a
    // note, not a reason to refuse the log.
    let fixture = held_log();
    let (text, _, _) = read_note(&fixture.dir);
    let signer = stolen_signer(&fixture.dir);
    for change in [
        |l: &str| format!("{l} {}", "ab".repeat(32)),
        |l: &str| l.rsplit_once(' ').unwrap().0.to_owned(),
    ] {
        let (_tmp, dir) = copy_log(&fixture.dir);
        let forged: String = text
            .lines()
            .map(|l| if l.starts_with("frontier ") { change(l) } else { l.to_owned() } + "\n")
            .collect();
        assert_ne!(forged, text);
        write_note(&dir, &forged, &signer);
        let writer = LogWriter::open(&dir, config(), at(4)).unwrap();
        assert_eq!(writer.legal_hold(), Some("case 31"));
        writer.close(at(5)).unwrap();
        assert!(fixture.verify_dir(&dir).is_intact());
    }
}

#[test]
fn a_hold_reason_in_any_script_reads_back_as_the_note_records_it() {
    // The note records the hold's reason as the writer had it; the records before the note's
    // offset, read again, must give exactly that text, or an honest log would stop its writer.
    let reason = "Fall 31 \u{202e}gnimoc\u{202c} — «ä» <b>&amp; 案件 🔒 \\ \"x\"";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (mut writer, material) = LogWriter::create(&dir, config(), T0).unwrap();
    writer.set_legal_hold(true, reason, at(1)).unwrap();
    let start = size(&dir);
    while size(&dir) - start < (1 << 20) + (64 << 10) {
        writer.append_batch(&entries(200, at(2)), at(2)).unwrap();
    }
    drop(writer);
    let (text, _, _) = read_note(&dir);
    assert!(text.lines().any(|l| l.starts_with("hold 1 ")), "{text}");
    let mut writer = LogWriter::open(&dir, config(), at(4)).unwrap();
    assert_eq!(writer.legal_hold(), Some(reason));
    assert_eq!(writer.apply_retention(at(5)).unwrap(), None);
    writer.close(at(6)).unwrap();
    let fixture = Fixture { _tmp: tmp, dir, material };
    assert!(fixture.verify().is_intact());
}
