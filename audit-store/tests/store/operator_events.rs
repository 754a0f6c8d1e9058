//! What the store reports through `tracing`: seals, rotation and retention purges, with sequence
//! numbers and counts only, never the content of a record.

use audit_store::LogWriter;
use audit_testkit::trace::Capture;

use crate::support::{at, config, entries, new_log};

const DAY: i64 = 86_400;

#[test]
fn seals_rotation_and_retention_are_reported_without_record_content() {
    let capture = Capture::new();
    let (fixture, writer) = new_log();
    drop(writer);
    let mut short = config();
    short.retention.days = 2;
    tracing::subscriber::with_default(capture.clone(), || {
        let mut writer = LogWriter::open(&fixture.dir, short, at(1)).unwrap();
        writer.append_batch(&entries(3, at(2)), at(2)).unwrap();
        let due = writer.next_seal_due();
        writer.seal_if_due(due).unwrap();
        writer.rotate(due).unwrap();
        for d in 1..5 {
            writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
        }
        assert!(writer.apply_retention(at(5 * DAY)).unwrap().is_some());
        writer.close(at(5 * DAY + 1)).unwrap();
    });
    let lines = capture.lines();
    let sealed = capture.matching("audit log sealed");
    assert_eq!(sealed.len(), 1, "{lines:?}");
    assert!(capture.matching("audit log resumed")[0].contains("previous_clean=false"));
    let rotated = capture.matching("segment rotated");
    assert!(rotated.iter().any(|l| l.contains("Requested")), "{lines:?}");
    let purged = capture.matching("retention purged");
    assert_eq!(purged.len(), 1, "{lines:?}");
    assert!(purged[0].contains("first_seq=0") && purged[0].contains("retention_days=2"));
    // The events written name users and resources; none of those names is in any line.
    let names: Vec<String> = audit_events::EventKind::ALL
        .iter()
        .filter_map(|k| k.example().subject_id().map(str::to_owned))
        .collect();
    assert!(!names.is_empty());
    for line in &lines {
        for name in &names {
            assert!(!line.contains(name.as_str()), "{name} in {line}");
        }
    }
}
