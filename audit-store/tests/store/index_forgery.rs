//! Forged index files. The intruder writes the log directory, has read FORMAT.md and recomputes
//! both SHA-256 checksums of an index; every attack here is run against a real log written by
//! the real writer. Searches must still return every matching record and never a frame that is
//! not in the log; verification (keyed and unkeyed) must report the forged index.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use audit_events::{
    AuditEvent, AuditId, Body, EventKind, EventRecord, HashValue, Record, RecordKind, SystemKind,
    SystemRecord,
};
use audit_store::{
    FailureKind, LogReader, Query, QueryOutcome, VerifyOptions, query_outcome, tamper, verify,
};
use sha2::{Digest as _, Sha256};

use crate::support::{Fixture, at, entries, written_log};

const ACTOR: &str = "mallory";
const HIDDEN_REASON: &str = "FORGED-HIDDEN-RECORD";

/// An index file as FORMAT.md "Index file" describes it.
#[derive(Clone, Debug)]
struct Forged {
    first_seq: u64,
    end_offset: u64,
    last_chain: [u8; 32],
    /// Per record: frame offset, time, kind code.
    records: Vec<(u64, i64, u16)>,
    /// Actor postings, then resource postings.
    postings: [BTreeMap<String, Vec<u32>>; 2],
}

fn kind_code(kind: RecordKind) -> u16 {
    let position = match kind {
        RecordKind::Event(k) => EventKind::ALL.iter().position(|x| *x == k).unwrap(),
        RecordKind::System(k) => SystemKind::ALL.iter().position(|x| *x == k).unwrap() + 1000,
    };
    u16::try_from(position).unwrap()
}

impl Forged {
    /// The honest index of the first `count` frames of the segment starting at `first_seq`,
    /// built from the frames as FORMAT.md says.
    fn of_frames(dir: &Path, first_seq: u64, count: usize) -> Self {
        let name = format!("seg-{first_seq:020}.log");
        let header_prev = LogReader::open(dir)
            .unwrap()
            .records()
            .map(Result::unwrap)
            .find(|r| r.segment == name)
            .unwrap()
            .prev_chain;
        let mut index = Self {
            first_seq,
            end_offset: header_len(&dir.join(&name)),
            last_chain: header_prev,
            records: Vec::new(),
            postings: [BTreeMap::new(), BTreeMap::new()],
        };
        let frames = LogReader::open(dir).unwrap().records().map(Result::unwrap);
        for stored in frames.filter(|r| r.segment == name).take(count) {
            let record = stored.decode().unwrap();
            let end = stored.offset + 4 + u64::try_from(stored.bytes.len()).unwrap() + 32;
            index.push(stored.offset, end, stored.chain, &record);
        }
        index
    }

    fn push(&mut self, offset: u64, end: u64, chain: [u8; 32], record: &Record) {
        let position = u32::try_from(self.records.len()).unwrap();
        self.records.push((offset, record.time.0, kind_code(record.kind())));
        if let Some(event) = record.event() {
            if let Some(subject) = event.subject_id() {
                let list = self.postings[0].entry(subject.to_owned()).or_default();
                if list.last() != Some(&position) {
                    list.push(position);
                }
            }
            for id in event.resource_ids() {
                let list = self.postings[1].entry(id.to_owned()).or_default();
                if list.last() != Some(&position) {
                    list.push(position);
                }
            }
        }
        self.end_offset = end;
        self.last_chain = chain;
    }

    /// The file bytes, with both checksums recomputed.
    fn encode(&self) -> Vec<u8> {
        let min = self.records.iter().map(|r| r.1).min().unwrap_or(i64::MAX);
        let max = self.records.iter().map(|r| r.1).max().unwrap_or(i64::MIN);
        let body = audit_testkit::forge::index_body(&self.records, &self.postings);
        let mut out = b"AUDITIDX".to_vec();
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&self.first_seq.to_le_bytes());
        out.extend_from_slice(&u64::try_from(self.records.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&self.end_offset.to_le_bytes());
        out.extend_from_slice(&self.last_chain);
        out.extend_from_slice(&min.to_le_bytes());
        out.extend_from_slice(&max.to_le_bytes());
        audit_testkit::forge::index_file(out, &body)
    }
}

fn header_len(segment: &Path) -> u64 {
    let bytes = std::fs::read(segment).unwrap();
    u64::from(u16::from_le_bytes([bytes[10], bytes[11]]))
}

fn index_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("seg-{first_seq:020}.idx"))
}

/// First sequence numbers of the segments.
fn segment_starts(dir: &Path) -> Vec<u64> {
    LogReader::open(dir).unwrap().segments().iter().map(|(s, _)| *s).collect()
}

/// Records the segment's index file covers, as its header says (FORMAT.md: offset 18).
fn committed_count(dir: &Path, first_seq: u64) -> usize {
    let bytes = std::fs::read(index_path(dir, first_seq)).unwrap();
    usize::try_from(u64::from_le_bytes(bytes[18..26].try_into().unwrap())).unwrap()
}

fn actor_query() -> Query {
    Query { actor: Some(ACTOR.to_owned()), ..Query::default() }
}

/// Sequence numbers of every record naming the actor, by reading the whole chain.
fn truth(dir: &Path) -> Vec<u64> {
    let q = actor_query();
    tamper::read_records(dir).unwrap().into_iter().filter(|r| q.matches(r)).map(|r| r.seq).collect()
}

fn search(dir: &Path) -> QueryOutcome {
    query_outcome(dir, &actor_query()).unwrap()
}

fn seqs(outcome: &QueryOutcome) -> Vec<u64> {
    outcome.hits.iter().map(|h| h.seq).collect()
}

/// Verification with and without the verifier material both report a forged index.
fn assert_index_reported(fixture: &Fixture) {
    for options in [fixture.options(), VerifyOptions::default()] {
        let keyed = options.material.is_some();
        let report = verify(&fixture.dir, &options).unwrap();
        let failure = report
            .failure
            .as_ref()
            .unwrap_or_else(|| panic!("forged index not reported (keyed: {keyed}): {report:#?}"));
        assert_eq!(failure.kind, FailureKind::Index, "keyed: {keyed}: {failure}");
        assert!(failure.reason.contains("hide records from searches"), "{failure}");
    }
}

/// A log of several closed segments where the actor has records in more than one.
fn log() -> Fixture {
    let fixture = written_log(10);
    assert!(segment_starts(&fixture.dir).len() >= 3);
    fixture
}

/// A segment (not the last) holding records of the actor.
fn segment_with_actor(dir: &Path) -> u64 {
    let starts = segment_starts(dir);
    let hits = truth(dir);
    starts[..starts.len() - 1]
        .iter()
        .copied()
        .find(|s| {
            let end = starts.iter().copied().find(|n| n > s).unwrap_or(u64::MAX);
            hits.iter().any(|h| (*s..end).contains(h))
        })
        .unwrap()
}

#[test]
fn the_forger_writes_exactly_what_the_writer_writes() {
    let fixture = log();
    for first_seq in segment_starts(&fixture.dir) {
        let count = committed_count(&fixture.dir, first_seq);
        let honest = Forged::of_frames(&fixture.dir, first_seq, count).encode();
        assert_eq!(std::fs::read(index_path(&fixture.dir, first_seq)).unwrap(), honest);
    }
    let outcome = search(&fixture.dir);
    assert_eq!(seqs(&outcome), truth(&fixture.dir));
    assert!(outcome.rebuilt_indexes.is_empty(), "{:?}", outcome.rebuilt_indexes);
    assert!(fixture.verify().is_intact());
}

#[test]
fn emptied_postings_hide_nothing() {
    let fixture = log();
    let expected = truth(&fixture.dir);
    for first_seq in segment_starts(&fixture.dir) {
        let mut forged =
            Forged::of_frames(&fixture.dir, first_seq, committed_count(&fixture.dir, first_seq));
        forged.postings[0].remove(ACTOR);
        std::fs::write(index_path(&fixture.dir, first_seq), forged.encode()).unwrap();
    }
    let outcome = search(&fixture.dir);
    assert_eq!(seqs(&outcome), expected);
    assert!(!outcome.rebuilt_indexes.is_empty());
    assert_index_reported(&fixture);
}

#[test]
fn an_index_claiming_fewer_records_hides_nothing() {
    let fixture = log();
    let expected = truth(&fixture.dir);
    let first_seq = segment_with_actor(&fixture.dir);
    let count = committed_count(&fixture.dir, first_seq);
    let full = Forged::of_frames(&fixture.dir, first_seq, count);
    // Keep the first two records and the real end: a search would skip to the end.
    let mut forged = Forged::of_frames(&fixture.dir, first_seq, 2);
    forged.end_offset = full.end_offset;
    forged.last_chain = full.last_chain;
    std::fs::write(index_path(&fixture.dir, first_seq), forged.encode()).unwrap();
    let outcome = search(&fixture.dir);
    assert_eq!(seqs(&outcome), expected);
    assert_eq!(outcome.rebuilt_indexes.len(), 1, "{:?}", outcome.rebuilt_indexes);
    assert_index_reported(&fixture);
}

#[test]
fn an_index_copied_from_another_segment_hides_nothing() {
    let fixture = log();
    let expected = truth(&fixture.dir);
    let target = segment_with_actor(&fixture.dir);
    let source = *segment_starts(&fixture.dir).iter().find(|s| **s != target).unwrap();
    // Copied as is, and copied with its first sequence number rewritten to fit the name.
    let copied = std::fs::read(index_path(&fixture.dir, source)).unwrap();
    let mut renamed =
        Forged::of_frames(&fixture.dir, source, committed_count(&fixture.dir, source));
    renamed.first_seq = target;
    for bytes in [copied, renamed.encode()] {
        std::fs::write(index_path(&fixture.dir, target), bytes).unwrap();
        let outcome = search(&fixture.dir);
        assert_eq!(seqs(&outcome), expected);
        assert_eq!(outcome.rebuilt_indexes.len(), 1);
        assert_index_reported(&fixture);
    }
}

#[test]
fn a_stale_index_from_before_a_reopen_hides_nothing() {
    let fixture = written_log(2);
    let last = *segment_starts(&fixture.dir).last().unwrap();
    let stale = std::fs::read(index_path(&fixture.dir, last)).unwrap();
    let before = truth(&fixture.dir);
    let mut writer = fixture.open(at(100));
    writer.append_batch(&entries(35, at(101)), at(101)).unwrap();
    // The writer stops without closing: the index from before the reopen is all there is.
    drop(writer);
    assert_eq!(segment_starts(&fixture.dir).last(), Some(&last), "the segment was continued");
    assert_eq!(std::fs::read(index_path(&fixture.dir, last)).unwrap(), stale);
    let expected = truth(&fixture.dir);
    let outcome = search(&fixture.dir);
    assert_eq!(seqs(&outcome), expected);
    assert!(expected.len() > before.len(), "new records of the actor: {expected:?}");
    assert!(outcome.rebuilt_indexes.is_empty(), "a committed prefix index is usable");
    let report = fixture.verify();
    assert!(report.failure.as_ref().is_none_or(|f| f.kind != FailureKind::Index), "{report:#?}");
    // Closing again commits an index of the whole segment.
    fixture.open(at(200)).close(at(201)).unwrap();
    let outcome = search(&fixture.dir);
    assert_eq!(seqs(&outcome), truth(&fixture.dir));
    assert!(outcome.rebuilt_indexes.is_empty());
    assert!(fixture.verify().is_intact());
}

/// Encodes a frame per FORMAT.md, chained from `prev`.
fn frame(payload: &[u8], prev: &[u8; 32]) -> (Vec<u8>, [u8; 32]) {
    let chain = audit_chain::chain_hash(prev, &audit_chain::leaf_hash(payload));
    let mut out = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
    out.extend_from_slice(payload);
    out.extend_from_slice(&chain);
    (out, chain)
}

fn hidden_record(dir: &Path, seq: u64) -> Record {
    let mut event = EventKind::AuthFailure.example();
    if let AuditEvent::AuthFailure { attempted_user, reason, .. } = &mut event {
        *attempted_user = Some(ACTOR.to_owned());
        *reason = HIDDEN_REASON.to_owned();
    }
    Record {
        log_id: LogReader::open(dir).unwrap().meta().log_id,
        seq,
        time: at(30),
        audit_id: AuditId([9; 16]),
        service_id: "svc-test".to_owned(),
        body: Body::Event(EventRecord::new(event)),
        context: Some(audit_events::RecordContext::default()),
    }
}

/// Hides a self-consistent frame naming the actor in the last segment, after its real frames,
/// inside a frame whose length runs past the end of the file (a "torn" tail), and points the
/// segment's index at it. With `commit`, the forger also appends an `index_committed` record
/// for the forged index.
fn hide_after_torn_tail(fixture: &Fixture, commit: bool) {
    let dir = &fixture.dir;
    let last = *segment_starts(dir).last().unwrap();
    let path = dir.join(format!("seg-{last:020}.log"));
    let mut bytes = std::fs::read(&path).unwrap();
    let next_seq = LogReader::open(dir).unwrap().records().last().unwrap().unwrap().seq + 1;
    let mut forged = Forged::of_frames(dir, last, usize::MAX);
    let real_chain = forged.last_chain;
    bytes.extend_from_slice(&60_000u32.to_le_bytes());
    bytes.extend_from_slice(&real_chain);
    let offset = u64::try_from(bytes.len()).unwrap();
    let hidden = hidden_record(dir, next_seq);
    let (hidden_frame, hidden_chain) = frame(&hidden.encode().unwrap(), &real_chain);
    bytes.extend_from_slice(&hidden_frame);
    let end = u64::try_from(bytes.len()).unwrap();
    forged.push(offset, end, hidden_chain, &hidden);
    let index = forged.encode();
    if commit {
        let commitment = Record {
            seq: next_seq + 1,
            audit_id: AuditId([8; 16]),
            body: Body::System(SystemRecord::IndexCommitted {
                first_seq: last,
                records: u64::try_from(forged.records.len()).unwrap(),
                end_offset: end,
                digest: HashValue(Sha256::digest(&index).into()),
            }),
            ..hidden.clone()
        };
        bytes.extend_from_slice(&frame(&commitment.encode().unwrap(), &hidden_chain).0);
    }
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(index_path(dir, last), index).unwrap();
}

fn assert_hidden_never_returned(fixture: &Fixture, expected: &[u64]) {
    let outcome = search(&fixture.dir);
    for hit in &outcome.hits {
        let text = format!("{:?}", hit.record);
        assert!(!text.contains(HIDDEN_REASON), "a record that is not in the log: {text}");
    }
    assert_eq!(seqs(&outcome), expected);
}

#[test]
fn an_index_entry_behind_a_torn_tail_adds_no_record() {
    for commit in [false, true] {
        let fixture = log();
        let expected = truth(&fixture.dir);
        hide_after_torn_tail(&fixture, commit);
        // The tail is torn: the reader and a full scan stop before the hidden frame.
        assert_eq!(truth(&fixture.dir), expected);
        assert_hidden_never_returned(&fixture, &expected);
        assert_index_reported(&fixture);
    }
}

#[test]
fn frames_appended_after_a_closed_segment_are_not_returned() {
    let fixture = log();
    let dir = &fixture.dir;
    let expected = truth(dir);
    let target = segment_with_actor(dir);
    let path = dir.join(format!("seg-{target:020}.log"));
    let mut bytes = std::fs::read(&path).unwrap();
    // Beyond the indexed end (and beyond the seal): a frame that links from the segment's
    // last stored chain hash, and an index that lists it.
    let mut forged = Forged::of_frames(dir, target, usize::MAX);
    let offset = u64::try_from(bytes.len()).unwrap();
    let hidden = hidden_record(dir, target + u64::try_from(forged.records.len()).unwrap());
    let (hidden_frame, chain) = frame(&hidden.encode().unwrap(), &forged.last_chain);
    bytes.extend_from_slice(&hidden_frame);
    forged.push(offset, u64::try_from(bytes.len()).unwrap(), chain, &hidden);
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(index_path(dir, target), forged.encode()).unwrap();
    match query_outcome(dir, &actor_query()) {
        Ok(outcome) => {
            assert!(
                outcome.hits.iter().all(|h| !format!("{:?}", h.record).contains(HIDDEN_REASON))
            );
            assert_eq!(seqs(&outcome), expected);
        }
        Err(e) => assert!(e.to_string().contains("audit verify"), "{e}"),
    }
    let report = fixture.verify();
    assert!(!report.is_intact());
}

#[test]
fn a_commitment_that_does_not_match_the_frames_before_it_is_noted() {
    let fixture = log();
    assert!(fixture.verify().warnings.iter().all(|w| !w.contains("index_committed")));
    // Every record kept, the segments merged into one: the commitments no longer describe the
    // frames before them, and no index file may rely on them.
    let records = tamper::read_records(&fixture.dir).unwrap();
    tamper::rewrite(&fixture.dir, &records, &mut |_| None).unwrap();
    let report = verify(&fixture.dir, &VerifyOptions::default()).unwrap();
    assert!(
        report.warnings.iter().any(|w| w.contains("index_committed record at seq")),
        "{report:#?}"
    );
    assert_eq!(seqs(&search(&fixture.dir)), truth(&fixture.dir));
}

#[test]
fn a_forged_commitment_appended_to_the_last_segment_hides_nothing() {
    let fixture = log();
    let dir = &fixture.dir;
    let expected = truth(dir);
    let last = *segment_starts(dir).last().unwrap();
    assert!(expected.iter().any(|s| *s >= last), "the actor has records in the last segment");
    let path = dir.join(format!("seg-{last:020}.log"));
    let mut bytes = std::fs::read(&path).unwrap();
    // An index of every frame without the actor's postings, and a commitment to it appended
    // as the next record of the chain (every field computable without a key).
    let mut forged = Forged::of_frames(dir, last, usize::MAX);
    forged.postings[0].remove(ACTOR);
    let index = forged.encode();
    let last_record = tamper::read_records(dir).unwrap().pop().unwrap();
    let commitment = Record {
        seq: last_record.seq + 1,
        audit_id: AuditId([8; 16]),
        body: Body::System(SystemRecord::IndexCommitted {
            first_seq: last,
            records: u64::try_from(forged.records.len()).unwrap(),
            end_offset: u64::try_from(bytes.len()).unwrap(),
            digest: HashValue(Sha256::digest(&index).into()),
        }),
        ..last_record
    };
    bytes.extend_from_slice(&frame(&commitment.encode().unwrap(), &forged.last_chain).0);
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(index_path(dir, last), index).unwrap();
    assert_eq!(seqs(&search(dir)), expected);
    // Frames appended after the final seal of a closed log are a finding before the index
    // is even compared.
    for options in [fixture.options(), VerifyOptions::default()] {
        let report = verify(&fixture.dir, &options).unwrap();
        let kind = report.failure.as_ref().map(|f| f.kind);
        assert!(matches!(kind, Some(FailureKind::Sequence | FailureKind::Index)), "{report:#?}");
    }
}
