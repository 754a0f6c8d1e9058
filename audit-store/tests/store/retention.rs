//! Retention removes only whole sealed segments past their period, after a purge record, never
//! under legal hold; the rest of the log still verifies and proves.

use audit_events::{Body, SystemRecord};
use audit_store::{LogWriter, inclusion_proof, verify};
use audit_testkit::tamper;

use crate::support::{at, config, entries, new_log, segments};

const DAY: i64 = 86_400;

fn short_retention() -> audit_store::LogConfig {
    let mut c = config();
    c.retention.days = 2;
    c
}

#[test]
fn old_segments_are_purged_after_a_purge_record_and_the_log_still_verifies() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, short_retention(), at(1)).unwrap();
    for d in 0..5 {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    let before = segments(&fixture.dir).len();
    let outcome = writer.apply_retention(at(5 * DAY)).unwrap().unwrap();
    assert!(outcome.segments_removed > 0);
    assert_eq!(outcome.first_seq, 0);
    assert_eq!(
        segments(&fixture.dir).len(),
        before - usize::try_from(outcome.segments_removed).unwrap()
    );
    // Records younger than the period are all still there.
    let records = tamper::read_records(&fixture.dir).unwrap();
    assert_eq!(records[0].seq, outcome.last_seq + 1);
    assert!(
        records.iter().any(|r| matches!(r.body, Body::System(SystemRecord::RetentionPurge { .. })))
    );
    // Nothing more is due right away.
    assert_eq!(writer.apply_retention(at(5 * DAY)).unwrap(), None);
    writer.close(at(5 * DAY + 1)).unwrap();
    let options = {
        let mut options = fixture.options();
        options.min_retention_days = Some(2);
        options
    };
    let report = verify(&fixture.dir, &options).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.purged, Some((0, outcome.last_seq)));
    // Proofs still work for what remains.
    let bundle = inclusion_proof(&fixture.dir, outcome.last_seq + 1, None).unwrap();
    let verifier = audit_chain::NoteVerifier::parse(&fixture.material.public_key).unwrap();
    let cp = audit_chain::open_checkpoint(&bundle.checkpoint, &verifier).unwrap();
    audit_chain::verify_inclusion(&audit_chain::leaf_hash(&bundle.record), &bundle.proof, &cp.root)
        .unwrap();
}

#[test]
fn nothing_is_removed_under_legal_hold() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut held = short_retention();
    held.retention.legal_hold = true;
    let mut writer = LogWriter::open(&fixture.dir, held, at(1)).unwrap();
    for d in 0..5 {
        writer.append_batch(&entries(30, at(d * DAY + 100)), at(d * DAY + 100)).unwrap();
    }
    let before = segments(&fixture.dir).len();
    assert_eq!(writer.apply_retention(at(5 * DAY)).unwrap(), None);
    assert_eq!(segments(&fixture.dir).len(), before);
}

#[test]
fn young_segments_are_kept() {
    let (fixture, writer) = new_log();
    drop(writer);
    let mut writer = LogWriter::open(&fixture.dir, short_retention(), at(1)).unwrap();
    writer.append_batch(&entries(200, at(100)), at(100)).unwrap();
    let before = segments(&fixture.dir).len();
    assert_eq!(writer.apply_retention(at(DAY)).unwrap(), None);
    assert_eq!(segments(&fixture.dir).len(), before);
}
