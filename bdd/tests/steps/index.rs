//! Steps of `index_forgery.feature`: an intruder rewrites index files as FORMAT.md describes
//! them, recomputing both SHA-256 checksums, and hides a frame behind a torn tail; the real
//! `audit query` must still find every matching record and nothing else, and the real
//! `audit verify` must report the forged index.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use audit_events::{AuditEvent, AuditId, Body, EventKind, EventRecord, Record};
use cucumber::{then, when};

use super::{AttackWorld, finding, segments_of};

/// The reason text of the hidden record, which no search may print.
const HIDDEN_REASON: &str = "hidden-by-the-intruder";

/// An index file, parsed as FORMAT.md "Index file" describes it.
struct IndexFile {
    head: Vec<u8>,
    /// Per record: frame offset, time, kind code.
    records: Vec<(u64, i64, u16)>,
    /// Actor postings, then resource postings.
    postings: [BTreeMap<Vec<u8>, Vec<u32>>; 2],
}

impl IndexFile {
    fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap();
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let count = usize::try_from(u64_at(18)).unwrap();
        let body = &bytes[122..122 + usize::try_from(u64_at(82)).unwrap()];
        let records = body[..count * 18]
            .chunks_exact(18)
            .map(|r| {
                (
                    u64::from_le_bytes(r[..8].try_into().unwrap()),
                    i64::from_le_bytes(r[8..16].try_into().unwrap()),
                    u16::from_le_bytes(r[16..].try_into().unwrap()),
                )
            })
            .collect();
        let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap());
        let mut at = count * 18;
        let mut postings = [BTreeMap::new(), BTreeMap::new()];
        for map in &mut postings {
            let keys = u32_at(at);
            at += 4;
            for _ in 0..keys {
                let len = usize::from(u16::from_le_bytes([body[at], body[at + 1]]));
                let key = body[at + 2..at + 2 + len].to_vec();
                at += 2 + len;
                let n = usize::try_from(u32_at(at)).unwrap();
                let list = (0..n).map(|i| u32_at(at + 4 + 4 * i)).collect();
                at += 4 + 4 * n;
                map.insert(key, list);
            }
        }
        Self { head: bytes[..82].to_vec(), records, postings }
    }

    /// The file bytes: count, time range and body length from the content, both checksums
    /// recomputed.
    fn write(&self, path: &Path) {
        let body = audit_testkit::forge::index_body(&self.records, &self.postings);
        let mut out = self.head.clone();
        out[18..26].copy_from_slice(&u64::try_from(self.records.len()).unwrap().to_le_bytes());
        let min = self.records.iter().map(|r| r.1).min().unwrap_or(i64::MAX);
        let max = self.records.iter().map(|r| r.1).max().unwrap_or(i64::MIN);
        out[66..74].copy_from_slice(&min.to_le_bytes());
        out[74..82].copy_from_slice(&max.to_le_bytes());
        std::fs::write(path, audit_testkit::forge::index_file(out, &body)).unwrap();
    }
}

fn index_files(log: &Path) -> Vec<PathBuf> {
    segments_of(log).into_iter().map(|s| s.with_extension("idx")).filter(|p| p.is_file()).collect()
}

#[when(
    expr = "every index file is rewritten without the postings of {string}, both checksums recomputed"
)]
fn drop_postings(world: &mut AttackWorld, actor: String) {
    let mut dropped = 0;
    for path in index_files(&world.log) {
        let mut index = IndexFile::read(&path);
        if index.postings[0].remove(actor.as_bytes()).is_some() {
            dropped += 1;
        }
        index.write(&path);
    }
    assert!(dropped > 1, "the actor is listed in {dropped} indexes");
}

#[when(
    expr = "a frame naming {string} is hidden behind a torn tail of the last segment and its index points at it"
)]
fn hide_behind_torn_tail(world: &mut AttackWorld, actor: String) {
    let stored = world.stored();
    let last = stored.last().unwrap();
    let segment = world.log.join(&last.segment);
    let index_path = segment.with_extension("idx");
    let mut index = IndexFile::read(&index_path);
    let mut event = EventKind::AuthFailure.example();
    if let AuditEvent::AuthFailure { attempted_user, reason, .. } = &mut event {
        *attempted_user = Some(actor.clone());
        HIDDEN_REASON.clone_into(reason);
    }
    let record = Record {
        seq: last.seq + 1,
        audit_id: AuditId([7; 16]),
        body: Body::Event(EventRecord::new(event)),
        ..last.decode().unwrap()
    };
    let payload = record.encode().unwrap();
    let chain = audit_chain::chain_hash(&last.chain, &audit_chain::leaf_hash(&payload));
    // A frame length that runs past the end of the file makes the tail look torn; inside it,
    // the last real chain hash and then the hidden frame, chained from it.
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(&60_000u32.to_le_bytes());
    bytes.extend_from_slice(&last.chain);
    let offset = u64::try_from(bytes.len()).unwrap();
    bytes.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(&chain);
    std::fs::write(&segment, &bytes).unwrap();
    let position = u32::try_from(index.records.len()).unwrap();
    let kind =
        u16::try_from(EventKind::ALL.iter().position(|k| *k == EventKind::AuthFailure).unwrap())
            .unwrap();
    index.records.push((offset, record.time.0, kind));
    index.postings[0].entry(actor.into_bytes()).or_default().push(position);
    index.head[26..34].copy_from_slice(&u64::try_from(bytes.len()).unwrap().to_le_bytes());
    index.head[34..66].copy_from_slice(&chain);
    index.write(&index_path);
}

/// `audit query <log> --actor <actor> --format jsonl`.
fn query_actor(world: &AttackWorld, actor: &str) -> super::cli::CliRun {
    world.audit([
        "query".into(),
        world.log.clone().into_os_string(),
        "--actor".into(),
        actor.into(),
        "--format".into(),
        "jsonl".into(),
    ])
}

#[then(expr = "`audit query --actor mallory` prints every record of {string} in the log")]
fn query_finds_all(world: &mut AttackWorld, actor: String) {
    // The records of the log as the chain holds them (read through the store, which stops at a
    // torn tail).
    let expected: Vec<u64> = world
        .records()
        .iter()
        .filter(|r| r.event().and_then(|e| e.subject_id()) == Some(actor.as_str()))
        .map(|r| r.seq)
        .collect();
    assert!(expected.len() > 3, "{expected:?}");
    let run = query_actor(world, &actor);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let found: Vec<u64> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(found, expected, "{}", run.all_output());
}

#[then("`audit query` notes on standard error that it did not use the forged index")]
fn query_notes_fallback(world: &mut AttackWorld) {
    let run = query_actor(world, "mallory");
    assert!(run.stderr.contains("note: index of seg-"), "{}", run.stderr);
    assert!(run.stderr.contains("searched frame by frame"), "{}", run.stderr);
}

#[then("the hidden record is not printed")]
fn hidden_not_printed(world: &mut AttackWorld) {
    let run = world.audit([
        "query".into(),
        world.log.clone().into_os_string(),
        "--kind".into(),
        "auth.failure".into(),
    ]);
    assert!(!run.all_output().contains(HIDDEN_REASON), "{}", run.all_output());
}

#[then(
    expr = "`audit verify` with and without the verifier material exits 1 with an {string} failure"
)]
fn verify_reports(world: &mut AttackWorld, kind: String) {
    let keyed = world.audit_verify(&world.log, &[]);
    let unkeyed = world.audit(["verify".into(), world.log.clone().into_os_string()]);
    for run in [keyed, unkeyed] {
        assert_eq!(run.code, 1, "{}: {}", run.command, run.all_output());
        let found = finding(&run).unwrap_or_else(|| panic!("no failure line: {}", run.stdout));
        assert_eq!(found.kind, kind, "{}", found.line);
        assert!(found.line.contains("hide records from searches"), "{}", found.line);
    }
}
