//! Queries match a brute-force filter over every record, with and without indexes.

use audit_events::{Category, EventKind, Record, RecordKind, Severity};
use audit_store::{Order, Query, query};
use audit_testkit::tamper;

use crate::support::{Fixture, at, entries, new_log, segments};

/// A log with several closed (indexed) segments and an active one, spread over an hour.
fn log() -> Fixture {
    let (fixture, mut writer) = new_log();
    for minute in 0..60 {
        writer
            .append_batch(
                &entries(3 + usize::try_from(minute % 5).unwrap(), at(minute * 60 + 7)),
                at(minute * 60 + 7),
            )
            .unwrap();
    }
    writer.close(at(3601)).unwrap();
    let mut writer = fixture.open(at(3602));
    writer.append_batch(&entries(20, at(3603)), at(3603)).unwrap();
    drop(writer);
    fixture
}

fn brute(fixture: &Fixture, q: &Query) -> Vec<u64> {
    let mut hits: Vec<u64> = tamper::read_records(&fixture.dir)
        .unwrap()
        .into_iter()
        .filter(|r: &Record| q.matches(r))
        .map(|r| r.seq)
        .collect();
    if q.order == Order::Descending {
        hits.reverse();
    }
    hits.truncate(q.limit.unwrap_or(usize::MAX));
    hits
}

fn queries() -> Vec<Query> {
    vec![
        Query::default(),
        Query { actor: Some("admin@example.com".to_owned()), ..Query::default() },
        Query {
            actor: Some("mallory".to_owned()),
            since: Some(at(600)),
            until: Some(at(1800)),
            ..Query::default()
        },
        Query { kinds: vec![RecordKind::Event(EventKind::AuthFailure)], ..Query::default() },
        Query { category: Some(Category::Security), ..Query::default() },
        Query { category: Some(Category::System), ..Query::default() },
        Query { min_severity: Some(Severity::High), ..Query::default() },
        Query { resource: Some("pool-llama-70b".to_owned()), ..Query::default() },
        Query {
            resource: Some("worker-gpu-0".to_owned()),
            actor: Some("admin@example.com".to_owned()),
            ..Query::default()
        },
        Query { actor: Some("nobody".to_owned()), ..Query::default() },
        Query { limit: Some(7), order: Order::Descending, ..Query::default() },
        Query { limit: Some(5), actor: Some("cust-1001".to_owned()), ..Query::default() },
        Query { since: Some(at(3000)), order: Order::Descending, ..Query::default() },
        Query { order: Order::Descending, ..Query::default() },
        Query { limit: Some(40), order: Order::Descending, ..Query::default() },
        Query {
            limit: Some(3),
            actor: Some("admin@example.com".to_owned()),
            order: Order::Descending,
            ..Query::default()
        },
        Query {
            limit: Some(9),
            resource: Some("pool-llama-70b".to_owned()),
            order: Order::Descending,
            ..Query::default()
        },
        Query { limit: Some(0), ..Query::default() },
    ]
}

#[test]
fn queries_match_brute_force() {
    let fixture = log();
    assert!(segments(&fixture.dir).len() > 3);
    for q in queries() {
        let got: Vec<u64> = query(&fixture.dir, &q).unwrap().iter().map(|h| h.seq).collect();
        assert_eq!(got, brute(&fixture, &q), "{q:?}");
    }
}

#[test]
fn missing_or_damaged_indexes_give_the_same_answers() {
    let fixture = log();
    let indexes: Vec<_> = std::fs::read_dir(&fixture.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    assert!(indexes.len() > 2);
    std::fs::remove_file(&indexes[0]).unwrap();
    let mut bytes = std::fs::read(&indexes[1]).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&indexes[1], bytes).unwrap();
    for q in queries() {
        let got: Vec<u64> = query(&fixture.dir, &q).unwrap().iter().map(|h| h.seq).collect();
        assert_eq!(got, brute(&fixture, &q), "{q:?}");
    }
}

#[test]
fn hits_carry_their_chain_hashes() {
    let fixture = log();
    let hits = query(&fixture.dir, &Query { limit: Some(50), ..Query::default() }).unwrap();
    for pair in hits.windows(2) {
        assert_eq!(pair[0].chain, pair[1].prev_chain);
    }
}

#[test]
fn verification_reports_an_index_that_does_not_describe_its_segment() {
    let fixture = log();
    assert!(fixture.verify().warnings.iter().all(|w| !w.contains(".idx")));
    let mut indexes: Vec<_> = std::fs::read_dir(&fixture.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    indexes.sort();
    std::fs::copy(&indexes[0], &indexes[1]).unwrap();
    let report = fixture.verify();
    let failure = report.failure.as_ref().expect("the copied index is reported");
    assert_eq!(failure.kind, audit_store::FailureKind::Index, "{failure}");
    assert!(failure.reason.contains("could hide records from searches"), "{failure}");
    // Searches do not trust it either: the answers stay right.
    for q in queries() {
        let got: Vec<u64> = query(&fixture.dir, &q).unwrap().iter().map(|h| h.seq).collect();
        assert_eq!(got, brute(&fixture, &q), "{q:?}");
    }
}
