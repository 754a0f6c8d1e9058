//! Attacks on the collector: an intruder who holds a service host (its log directory and its
//! checkpoint signing key) and anyone who can reach the collector's port. Each test states what
//! the attacker wants and asserts that the collector denies it and keeps evidence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{Fleet, copy_dir};

use audit_chain::{
    Checkpoint, Cosigner, Hash, MemoryTree, NoteSigner, chain_hash, consistency_proof,
    genesis_chain_hash, leaf_hash, sign_checkpoint,
};
use audit_collector::CollectorError;
use audit_collector::ship::{self, ShipOptions, Stop};
use audit_collector::shipment::{Frame, Shipment};
use audit_collector::witness::{self, Outcome, Refusal};
use audit_events::{AuditId, Body, Entry, EventKind, EventRecord, LogId, Record, Timestamp};
use audit_store::{LogWriter, VerifyOptions, verify};

use audit_testkit::fixture::{T0, at, log_config};

/// The intruder's view of one log: its signing key, and records it builds and links itself
/// (it has read FORMAT.md).
struct Forger {
    signer: NoteSigner,
    log_id: LogId,
    origin: String,
    service: String,
    leaves: MemoryTree,
    frames: Vec<Frame>,
    prev: Hash,
    /// Time of record 0.
    t0: i64,
}

impl Forger {
    fn new(service: &str, seed: u8) -> Self {
        let log_id = LogId([seed; 16]);
        let origin = format!("audit/{service}/{log_id}");
        let signer = NoteSigner::from_seed(&origin, [seed; 32]).unwrap();
        Self {
            signer,
            log_id,
            origin,
            service: service.to_owned(),
            leaves: MemoryTree::new(),
            frames: Vec::new(),
            prev: genesis_chain_hash(log_id.as_bytes()),
            t0: T0.0,
        }
    }

    /// The encoding of record `seq` of this log, claiming `service_id`.
    fn record(&self, seq: u64, service_id: &str) -> Vec<u8> {
        self.record_with(seq, service_id, audit_events::RecordContext::default())
    }

    /// [`Forger::record`] with the envelope's correlation fields.
    fn record_with(
        &self,
        seq: u64,
        service_id: &str,
        context: audit_events::RecordContext,
    ) -> Vec<u8> {
        let mut audit_id = [0u8; 16];
        audit_id[..8].copy_from_slice(&seq.to_be_bytes());
        audit_id[8..].copy_from_slice(&self.log_id.as_bytes()[..8]);
        Record {
            log_id: self.log_id,
            seq,
            time: Timestamp(self.t0 + i64::try_from(seq).unwrap()),
            audit_id: AuditId(audit_id),
            service_id: service_id.to_owned(),
            body: Body::Event(EventRecord::new(
                EventKind::ALL[usize::try_from(seq).unwrap() % EventKind::ALL.len()].example(),
            )),
            context: Some(context),
        }
        .encode()
        .unwrap()
    }

    /// Appends `bytes` as the next record, linked into the chain.
    fn push(&mut self, bytes: Vec<u8>) {
        let leaf = leaf_hash(&bytes);
        self.prev = chain_hash(&self.prev, &leaf);
        self.leaves.push(leaf);
        self.frames.push(Frame { bytes, chain: self.prev });
    }

    /// Appends `n` honest records.
    fn push_honest(&mut self, n: u64) {
        for _ in 0..n {
            let seq = self.leaves.size();
            let bytes = self.record(seq, &self.service.clone());
            self.push(bytes);
        }
    }

    fn checkpoint(&self, size: u64, root: Hash) -> String {
        let cp = Checkpoint { origin: self.origin.clone(), size, root, extensions: Vec::new() };
        sign_checkpoint(&cp, &self.signer).unwrap()
    }

    /// Records `first..end` with the checkpoint of everything pushed and a proof to it.
    fn shipment(&self, first: u64, end: u64) -> Shipment {
        let size = self.leaves.size();
        Shipment {
            origin: self.origin.clone(),
            first,
            note: self.checkpoint(size, self.leaves.root()),
            proof: consistency_proof(&self.leaves, end, size).unwrap().path,
            frames: self.frames[usize::try_from(first).unwrap()..usize::try_from(end).unwrap()]
                .to_vec(),
        }
    }
}

fn refused(outcome: Result<Outcome, CollectorError>) -> Refusal {
    match outcome {
        Ok(Outcome::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_checkpoint_beyond_the_database_range_is_refused_with_evidence() {
    // The intruder signs a checkpoint for 2^64 - 1 records: the collector must refuse it as a
    // shipment (with a refusals row), not fail as if the database were away (503, which the
    // shipper retries forever and which leaves no evidence).
    let fleet = Fleet::start();
    let forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    for size in [u64::MAX, i64::MAX as u64 + 1] {
        let shipment = Shipment {
            origin: forger.origin.clone(),
            first: 0,
            note: forger.checkpoint(size, [7; 32]),
            proof: Vec::new(),
            frames: Vec::new(),
        };
        let refusal = refused(fleet.ingest(&shipment.encode().unwrap()));
        assert_eq!((refusal.status, refusal.reason), (400, "malformed"), "{refusal:?}");
    }
    assert_eq!(fleet.refusals().len(), 2, "{:?}", fleet.refusals());
    assert_eq!(fleet.count("SELECT count(*) FROM checkpoints"), 0);
}

#[test]
fn a_shipment_numbered_beyond_the_database_range_is_refused_with_evidence() {
    // Anyone on the network: a shipment whose first sequence number does not fit the database.
    let fleet = Fleet::start();
    let forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    for origin in ["audit/nobody/00000000000000000000000000000000", forger.origin.as_str()] {
        let shipment = Shipment {
            origin: origin.to_owned(),
            first: 1 << 63,
            note: forger.checkpoint(1, [7; 32]),
            proof: Vec::new(),
            frames: Vec::new(),
        };
        let refusal = refused(fleet.ingest(&shipment.encode().unwrap()));
        assert_eq!(refusal.status, 400, "{refusal:?}");
    }
    assert_eq!(fleet.refusals().len(), 2, "{:?}", fleet.refusals());
}

#[test]
fn control_characters_in_origin_or_checkpoint_are_refused_with_evidence() {
    // Anyone on the network: a NUL in the origin or the checkpoint text cannot be stored in a
    // PostgreSQL text column, so recording the refusal itself would fail (503, no evidence).
    let fleet = Fleet::start();
    let shipments = [
        Shipment {
            origin: "audit/x\0y/00".into(),
            first: 0,
            note: "note\n".into(),
            proof: Vec::new(),
            frames: Vec::new(),
        },
        Shipment {
            origin: "audit/\u{1b}[2J/00".into(),
            first: 0,
            note: "note\n".into(),
            proof: Vec::new(),
            frames: Vec::new(),
        },
        Shipment {
            origin: "audit/nobody/00".into(),
            first: 0,
            note: "no\0te\n".into(),
            proof: Vec::new(),
            frames: Vec::new(),
        },
    ];
    for shipment in &shipments {
        let refusal = refused(fleet.ingest(&shipment.encode().unwrap()));
        assert_eq!((refusal.status, refusal.reason), (400, "malformed"), "{refusal:?}");
    }
    assert_eq!(fleet.refusals().len(), shipments.len(), "{:?}", fleet.refusals());
    // Nothing of the attacker's text is kept beyond the fixed refusal words.
    assert_eq!(fleet.count("SELECT count(*) FROM refusals WHERE origin IS NOT NULL"), 0);
}

#[test]
fn concurrent_refusals_do_not_hang_the_collector() {
    // Anyone on the network sends more refused shipments at once than the collector has
    // database connections: each refusal must not hold one connection while waiting for
    // another to record the evidence.
    let fleet = Fleet::start();
    let body = Shipment {
        origin: "audit/nobody/00000000000000000000000000000000".into(),
        first: 0,
        note: "note\n".into(),
        proof: Vec::new(),
        frames: Vec::new(),
    }
    .encode()
    .unwrap();
    let attempts = 32;
    let outcomes = fleet.runtime.block_on(async {
        let tasks: Vec<_> = (0..attempts)
            .map(|_| {
                let (db, witness, body) =
                    (fleet.db.clone(), Arc::clone(&fleet.witness), body.clone());
                tokio::spawn(async move { witness::ingest(&db, &witness, &body).await })
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(tasks))
            .await
            .expect("the collector hung: concurrent refusals exhausted its connections")
    });
    for outcome in outcomes {
        assert_eq!(refused(outcome.unwrap()).reason, "unknown-log");
    }
    assert_eq!(fleet.refusals().len(), attempts);
}

#[test]
fn records_naming_another_service_are_refused() {
    // The intruder on worker-a's host writes records that claim to come from "payments": they
    // must not show up in the fleet search under that service.
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(2);
    let forged = forger.record(2, "payments");
    forger.push(forged);
    let refusal = refused(fleet.ingest(&forger.shipment(0, 3).encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (422, "chain"), "{refusal:?}");
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 0);
    assert_eq!(fleet.refusals().len(), 1);
    // A NUL in the claimed service cannot be stored: still a refusal with evidence, not a 503.
    let mut forger = Forger::new("worker-b", 2);
    fleet.enroll(&forger.signer.verifier_key());
    let forged = forger.record(0, "worker-b\0");
    forger.push(forged);
    let refusal = refused(fleet.ingest(&forger.shipment(0, 1).encode().unwrap()));
    assert_eq!(refusal.reason, "chain", "{refusal:?}");
    assert_eq!(fleet.refusals().len(), 2);
}

#[test]
fn racing_shipments_for_one_log_store_each_record_once() {
    // The intruder sends the same valid shipment many times at once: one is stored, the others
    // are replays; nothing is stored twice and no request fails.
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(300);
    let body = forger.shipment(0, 300).encode().unwrap();
    let outcomes = fleet.runtime.block_on(async {
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (db, witness, body) =
                    (fleet.db.clone(), Arc::clone(&fleet.witness), body.clone());
                tokio::spawn(async move { witness::ingest(&db, &witness, &body).await })
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(tasks))
            .await
            .expect("racing shipments hung")
    });
    let mut accepted = 0;
    for outcome in outcomes {
        match outcome.unwrap() {
            Ok(Outcome::Accepted { size: 300, cosigned: Some(_) }) => accepted += 1,
            Ok(Outcome::Refused(r)) => assert_eq!(r.reason, "replay", "{r:?}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 300);
    assert_eq!(fleet.count("SELECT count(DISTINCT seq) FROM records"), 300);
    assert_eq!(fleet.count("SELECT count(*) FROM positions"), 1);
    assert_eq!(fleet.count("SELECT count(*) FROM cosignatures"), 1);
}

#[test]
fn another_logs_key_or_records_cannot_be_shipped_under_its_origin() {
    // The intruder holds worker-a's key and tries to put records into worker-b's log.
    let fleet = Fleet::start();
    let mut a = Forger::new("worker-a", 1);
    let b = Forger::new("worker-b", 2);
    fleet.enroll(&a.signer.verifier_key());
    fleet.enroll(&b.signer.verifier_key());
    a.push_honest(3);
    let mut shipment = a.shipment(0, 3);
    shipment.origin = b.origin.clone();
    let refusal = refused(fleet.ingest(&shipment.encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (403, "bad-signature"), "{refusal:?}");
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 0);
    assert_eq!(fleet.count("SELECT count(*) FROM refusals WHERE reason = 'bad-signature'"), 1);
}

#[test]
fn a_count_zero_shipment_gets_no_cosignature_for_records_not_held() {
    // The intruder sends only a checkpoint (no records) hoping for a cosignature it can show
    // for a log the collector never saw.
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(10);
    let shipment = forger.shipment(0, 0);
    match fleet.ingest(&shipment.encode().unwrap()).unwrap() {
        Outcome::Accepted { size: 0, cosigned: None } => {}
        Outcome::Refused(_) => {}
        other => panic!("{other:?}"),
    }
    // A size-0 checkpoint with a made-up root is not the empty tree.
    let empty = Shipment {
        origin: forger.origin.clone(),
        first: 0,
        note: forger.checkpoint(0, [9; 32]),
        proof: Vec::new(),
        frames: Vec::new(),
    };
    assert_eq!(refused(fleet.ingest(&empty.encode().unwrap())).status, 422);
    assert_eq!(fleet.count("SELECT count(*) FROM cosignatures"), 0);
}

#[test]
fn the_read_api_needs_an_auditor_token_and_its_filters_do_not_inject() {
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(5);
    assert!(matches!(
        fleet.ingest(&forger.shipment(0, 5).encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 5, .. }
    ));
    for path in ["/v1/fleet/status", "/v1/fleet/records", "/v1/fleet/verify"] {
        match fleet.client(None).fleet(path) {
            Err(CollectorError::Refused { status: 401, .. }) => {}
            other => panic!("{path} without a token: {other:?}"),
        }
        match fleet.client(Some("audtok_guess".into())).fleet(path) {
            Err(CollectorError::Refused { status: 403, .. }) => {}
            other => panic!("{path} with a guessed token: {other:?}"),
        }
    }
    let token = fleet.runtime.block_on(fleet.db.add_auditor_token("alice")).unwrap();
    let auditor = fleet.client(Some(token));
    assert_eq!(auditor.fleet("/v1/fleet/records").unwrap()["records"].as_array().unwrap().len(), 5);
    for injection in [
        "origin=x%27%20OR%20%271%27%3D%271",
        "service=%27%3B%20DELETE%20FROM%20records%3B%20--",
        "resource=x%5D%20OR%20true%20--",
        "kind=$1",
    ] {
        let page = auditor.fleet(&format!("/v1/fleet/records?{injection}")).unwrap();
        assert_eq!(page["records"].as_array().unwrap().len(), 0, "{injection}: {page}");
    }
    for bad in ["after=1.2.3", "after=1%20OR%201%3D1", "limit=-1", "ip=1.2.3.4%27", "x=1"] {
        match auditor.fleet(&format!("/v1/fleet/records?{bad}")) {
            Err(CollectorError::Refused { status: 400, .. }) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 5);
}

#[test]
fn the_ingest_and_reader_roles_cannot_change_stored_rows() {
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(5);
    assert!(matches!(
        fleet.ingest(&forger.shipment(0, 5).encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 5, .. }
    ));
    let attempts = [
        ("audit_ingest", "UPDATE records SET kind = 'x'"),
        ("audit_ingest", "DELETE FROM records"),
        ("audit_ingest", "DELETE FROM positions"),
        ("audit_ingest", "UPDATE logs SET public_key = 'x'"),
        ("audit_ingest", "TRUNCATE cosignatures CASCADE"),
        ("audit_ingest", "INSERT INTO auditor_tokens (name, token_sha256) VALUES ('x', '\\x00')"),
        ("audit_reader", "INSERT INTO refusals (reason, detail) VALUES ('x', 'y')"),
        ("audit_reader", "DELETE FROM refusals"),
        ("audit_reader", "UPDATE checkpoints SET note = 'x'"),
    ];
    for (role, sql) in attempts {
        let result = fleet.runtime.block_on(async {
            let mut client = fleet.db.client().await.unwrap();
            let tx = client.transaction().await.unwrap();
            tx.batch_execute(&format!("SET LOCAL ROLE {role}")).await.unwrap();
            tx.batch_execute(sql).await
        });
        assert!(result.is_err(), "{role} could run {sql}");
    }
    // Records outside every month partition (here from 2000) land in records_default.
    let mut old = Forger::new("worker-old", 3);
    old.t0 = 946_684_800_000_000_000;
    fleet.enroll(&old.signer.verifier_key());
    old.push_honest(2);
    assert!(matches!(
        fleet.ingest(&old.shipment(0, 2).encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 2, .. }
    ));
    assert_eq!(fleet.count("SELECT count(*) FROM records_default"), 2);
    // Not through a partition either, not even as the database owner.
    let partition: String =
        fleet.query("SELECT tableoid::regclass::text FROM records LIMIT 1")[0].get(0);
    assert_ne!(partition, "records");
    for sql in [
        format!("DELETE FROM {partition}"),
        format!("UPDATE {partition} SET kind = 'x'"),
        format!("TRUNCATE {partition}"),
        "DELETE FROM records_default".to_owned(),
        "TRUNCATE records_default".to_owned(),
    ] {
        let result = fleet.runtime.block_on(async {
            let client = fleet.db.client().await.unwrap();
            client.batch_execute(&sql).await
        });
        assert!(result.is_err(), "the owner could run {sql}");
    }
    assert_eq!(fleet.count("SELECT count(*) FROM records WHERE kind <> 'x'"), 7);
    assert_eq!(fleet.count("SELECT count(*) FROM positions"), 2);
}

#[test]
fn a_nul_in_a_record_field_is_refused_with_evidence() {
    // The intruder writes a validly linked and signed record whose searchable text (here the
    // attempted user of an authentication failure) holds a NUL, which PostgreSQL text cannot
    // store: the shipment must be refused with evidence, not fail as a database error (503,
    // retried by the shipper forever, no refusals row).
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    let needle = b"mallory";
    while !forger.record(forger.leaves.size(), "worker-a").windows(7).any(|w| w == needle) {
        forger.push_honest(1);
        assert!(forger.leaves.size() < 1000, "no event names the attempted user");
    }
    let mut bytes = forger.record(forger.leaves.size(), "worker-a");
    let at = bytes.windows(7).position(|w| w == needle).unwrap();
    bytes[at + 4] = 0;
    assert!(Record::decode(&bytes).is_ok(), "the forged record is a valid encoding");
    forger.push(bytes);
    let end = forger.leaves.size();
    let refusal = refused(fleet.ingest(&forger.shipment(0, end).encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (400, "malformed"), "{refusal:?}");
    assert_eq!(fleet.refusals().len(), 1);
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 0);
}

#[test]
fn a_proof_with_extra_or_missing_hashes_is_refused() {
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(7);
    let honest = forger.shipment(0, 5);
    assert!(!honest.proof.is_empty());
    let mut longer = honest.clone();
    longer.proof.push([0; 32]);
    let mut shorter = honest.clone();
    shorter.proof.pop();
    for shipment in [longer, shorter] {
        let refusal = refused(fleet.ingest(&shipment.encode().unwrap()));
        assert_eq!((refusal.status, refusal.reason), (422, "fork"), "{refusal:?}");
    }
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 0);
    assert!(matches!(
        fleet.ingest(&honest.encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 5, cosigned: None }
    ));
}

fn entries(count: usize, time: Timestamp, salt: u64) -> Vec<Entry> {
    audit_testkit::fixture::salted_entries(salt, 0, count, time)
}

/// Appends `batches` batches of 100 events to the log in `dir` (creating it when `from` is 0).
fn write_log(dir: &Path, service: &str, from: i64, batches: i64) {
    let mut writer = if from == 0 {
        LogWriter::create(dir, log_config(service), at(0)).unwrap().0
    } else {
        LogWriter::open(dir, log_config(service), at(from)).unwrap()
    };
    for b in 0..batches {
        let t = at(from + 20 * b + 1);
        writer.append_batch(&entries(100, t, (from + b) as u64), t).unwrap();
    }
    writer.close(at(from + 20 * batches + 1)).unwrap();
}

/// Puts an attacker's file into a copy of the log directory.
type Plant<'a> = Box<dyn Fn(&Path) + 'a>;

fn cosigned_name(size: u64) -> String {
    format!("cosigned-{size:020}.note")
}

#[test]
fn forged_renamed_oversized_or_symlinked_cosigned_notes_do_not_pass_a_truncated_log() {
    // The intruder truncates the log to an earlier valid state (its own checkpoints and seal
    // key included) and plants `cosigned-*.note` files to make `audit verify --witness-key`
    // pass it.
    let fleet = Fleet::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    write_log(&dir, "pool-manager", 0, 5);
    let earlier = tmp.path().join("earlier");
    copy_dir(&dir, &earlier);
    write_log(&dir, "pool-manager", 1000, 3);
    let public_key = audit_store::LogReader::open(&dir).unwrap().meta().public_key.clone();
    fleet.runtime.block_on(fleet.db.enroll(&public_key)).unwrap();
    let options = ShipOptions::new(dir.clone(), 250, false);
    ship::run(&fleet.client(None), &options, &Stop::new(), &mut |_| {}).unwrap();
    let size = audit_store::latest_checkpoint(&dir).unwrap().1.size;
    let genuine = dir.join(cosigned_name(size));
    let options = {
        let mut options = VerifyOptions::default();
        options.witness_keys = vec![fleet.witness.verifier().to_string()];
        options
    };
    assert!(verify(&dir, &options).unwrap().is_intact());

    let witness_name = fleet.witness.name().to_owned();
    let impostor = Cosigner::from_seed(&witness_name, [7; 32]).unwrap();
    let (small_note, small_cp) = audit_store::latest_checkpoint(&earlier).unwrap();
    let small = small_cp.size;
    let forged_line = impostor.cosign(&small_cp, 1_795_305_600).unwrap();
    let attacks: Vec<(&str, Plant<'_>)> = vec![
        // The genuine cosigned note under the truncated size's name.
        (
            "renamed",
            Box::new(|t: &Path| {
                std::fs::copy(&genuine, t.join(cosigned_name(small))).unwrap();
            }),
        ),
        // The truncated log's own checkpoint cosigned by a key that only has the witness's name.
        (
            "forged",
            Box::new(|t: &Path| {
                std::fs::write(t.join(cosigned_name(small)), format!("{small_note}{forged_line}"))
                    .unwrap();
            }),
        ),
        // A symlink in place of a note, pointing at the genuine one.
        (
            "symlinked",
            Box::new(|t: &Path| {
                std::os::unix::fs::symlink(&genuine, t.join(cosigned_name(size))).unwrap();
            }),
        ),
        // A huge note: refused, not read.
        (
            "oversized",
            Box::new(|t: &Path| {
                let mut text = std::fs::read_to_string(&genuine).unwrap();
                text.push_str(&"x".repeat(64 * 1024));
                std::fs::write(t.join(cosigned_name(small)), text).unwrap();
            }),
        ),
    ];
    for (i, (what, plant)) in attacks.iter().enumerate() {
        let truncated = tmp.path().join(format!("truncated-{i}"));
        copy_dir(&earlier, &truncated);
        plant(&truncated);
        let report = verify(&truncated, &options).unwrap();
        assert!(!report.is_intact(), "{what}: {report:#?}");
    }
}

#[test]
fn records_naming_another_log_or_position_are_refused() {
    // The intruder holds worker-a and signs for it, but its records claim to be worker-b's, or
    // claim a sequence number other than their place: neither may be stored.
    let fleet = Fleet::start();
    let mut a = Forger::new("worker-a", 1);
    let b = Forger::new("worker-b", 2);
    fleet.enroll(&a.signer.verifier_key());
    fleet.enroll(&b.signer.verifier_key());
    let foreign = b.record(0, "worker-a");
    a.push(foreign);
    let refusal = refused(fleet.ingest(&a.shipment(0, 1).encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (422, "chain"), "{refusal:?}");

    let mut a = Forger::new("worker-a", 1);
    a.push_honest(1);
    let shifted = a.record(5, "worker-a");
    a.push(shifted);
    let refusal = refused(fleet.ingest(&a.shipment(0, 2).encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (422, "chain"), "{refusal:?}");
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 0);
    assert_eq!(fleet.refusals().len(), 2);
}

#[test]
fn a_second_key_for_an_enrolled_origin_is_refused() {
    // Enrolling another key under an enrolled origin would let its holder sign the log's
    // checkpoints (and hide the real key's).
    let fleet = Fleet::start();
    let a = Forger::new("worker-a", 1);
    fleet.enroll(&a.signer.verifier_key());
    let other = NoteSigner::from_seed(&a.origin, [99; 32]).unwrap();
    let err = fleet.runtime.block_on(fleet.db.enroll(&other.verifier_key())).unwrap_err();
    assert!(err.to_string().contains("another public key"), "{err}");
    // The same key again is a no-op.
    fleet.enroll(&a.signer.verifier_key());
    let keys: Vec<String> =
        fleet.query("SELECT public_key FROM logs").iter().map(|r| r.get(0)).collect();
    assert_eq!(keys, vec![a.signer.verifier_key()]);
}

/// POSTs raw bytes to the collector's `/v1/ship`; the status, or `None` when the connection
/// broke first.
fn post_raw(fleet: &Fleet, body: &[u8]) -> Option<u16> {
    fleet.client(None).post("/v1/ship", body).ok().map(|(status, _, _)| status)
}

#[test]
fn oversized_bodies_and_huge_declared_lengths_are_refused_and_the_collector_keeps_serving() {
    // Anyone on the network: a body over the limit, and small bodies that declare huge counts
    // and lengths.
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    let huge = vec![0u8; audit_collector::shipment::MAX_BODY + 1];
    assert!(matches!(post_raw(&fleet, &huge), Some(413) | None));
    assert_eq!(fleet.count("SELECT count(*) FROM refusals WHERE reason = 'oversized'"), 1);
    let mut declared = Vec::new();
    declared.extend_from_slice(audit_collector::shipment::MAGIC);
    declared.extend_from_slice(&u16::try_from(forger.origin.len()).unwrap().to_le_bytes());
    declared.extend_from_slice(forger.origin.as_bytes());
    declared.extend_from_slice(&0u64.to_le_bytes());
    for count in [50_000u32, u32::MAX] {
        let mut body = declared.clone();
        body.extend_from_slice(&count.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(post_raw(&fleet, &body), Some(400));
        let mut body = declared.clone();
        body.extend_from_slice(&count.to_le_bytes());
        body.extend_from_slice(&5u32.to_le_bytes());
        body.extend_from_slice(b"note\n");
        body.push(0);
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(post_raw(&fleet, &body), Some(400));
    }
    assert_eq!(fleet.count("SELECT count(*) FROM refusals WHERE reason = 'malformed'"), 4);
    // The collector still stores an honest shipment over HTTPS.
    forger.push_honest(3);
    match fleet.client(None).ship(&forger.shipment(0, 3)).unwrap() {
        audit_collector::client::ShipReply::Accepted { size: 3, cosigned: Some(_) } => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn fleet_verify_tells_records_in_flight_from_records_missing() {
    // A verdict that says FAIL for every log a shipper is still feeding teaches auditors to
    // ignore FAIL, which hides a real one. Records not yet shipped for a checkpoint the
    // collector has not cosigned are in flight; records missing below what the collector
    // cosigned are a finding.
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(7);
    assert!(matches!(
        fleet.ingest(&forger.shipment(0, 5).encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 5, cosigned: None }
    ));
    let verify = || {
        fleet
            .runtime
            .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
            .unwrap()
    };
    let verdicts = verify();
    assert_eq!(verdicts["logs"][0]["verdict"], "PASS", "{verdicts}");
    assert!(matches!(
        fleet.ingest(&forger.shipment(5, 7).encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 7, cosigned: Some(_) }
    ));
    let verdicts = verify();
    assert_eq!(verdicts["logs"][0]["verdict"], "PASS", "{verdicts}");
    assert_eq!(verdicts["logs"][0]["cosigned_size"], 7, "{verdicts}");
    // A database superuser (triggers off) removes the newest records: that is a finding.
    fleet.runtime.block_on(async {
        let client = fleet.db.client().await.unwrap();
        client
            .batch_execute(
                "SET session_replication_role = replica; DELETE FROM records WHERE seq >= 5;
                 SET session_replication_role = DEFAULT",
            )
            .await
            .unwrap();
    });
    let verdicts = verify();
    assert_eq!(verdicts["logs"][0]["verdict"], "FAIL", "{verdicts}");
    // And the cosignature and position rows with them: still a finding.
    fleet.runtime.block_on(async {
        let client = fleet.db.client().await.unwrap();
        client
            .batch_execute(
                "SET session_replication_role = replica; DELETE FROM cosignatures;
                 SET session_replication_role = DEFAULT",
            )
            .await
            .unwrap();
    });
    let verdicts = verify();
    assert_eq!(verdicts["logs"][0]["verdict"], "FAIL", "{verdicts}");
}

#[test]
fn a_checkpoint_of_the_empty_tree_does_not_blind_fleet_verify() {
    // The intruder gets the empty tree's checkpoint accepted and cosigned first; fleet verify
    // must still check every later checkpoint (and pass an honest log).
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    let empty = Shipment {
        origin: forger.origin.clone(),
        first: 0,
        note: forger.checkpoint(0, audit_chain::EMPTY_ROOT),
        proof: Vec::new(),
        frames: Vec::new(),
    };
    assert!(matches!(
        fleet.ingest(&empty.encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 0, cosigned: Some(_) }
    ));
    forger.push_honest(3);
    assert!(matches!(
        fleet.ingest(&forger.shipment(0, 3).encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 3, cosigned: Some(_) }
    ));
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    assert_eq!(verdicts["logs"][0]["verdict"], "PASS", "{verdicts}");
    assert_eq!(verdicts["logs"][0]["cosigned_size"], 3, "{verdicts}");
}

#[test]
fn an_old_checkpoint_shown_again_is_stale_not_evidence_of_a_rollback() {
    // Anyone who saw an accepted checkpoint (the position endpoint hands out the newest) can show
    // it again. That must not be recorded as the log rolling back: the collector cannot tell a
    // replay from a log rolled back to that point, and says so. A checkpoint smaller than the
    // accepted ones that was never accepted is a rollback.
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    forger.push_honest(4);
    let early = forger.shipment(0, 4);
    assert!(matches!(
        fleet.ingest(&early.encode().unwrap()),
        Ok(Outcome::Accepted { size: 4, .. })
    ));
    forger.push_honest(4);
    assert!(matches!(
        fleet.ingest(&forger.shipment(4, 8).encode().unwrap()),
        Ok(Outcome::Accepted { size: 8, .. })
    ));
    let replayed = Shipment { frames: Vec::new(), first: 4, proof: Vec::new(), ..early };
    let refusal = refused(fleet.ingest(&replayed.encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (422, "stale"));
    // A checkpoint of size 6 was never accepted.
    let six = forger.checkpoint(6, audit_chain::root_at(&forger.leaves, 6).unwrap());
    let rolled_back = Shipment {
        origin: forger.origin.clone(),
        first: 6,
        note: six,
        proof: Vec::new(),
        frames: Vec::new(),
    };
    let refusal = refused(fleet.ingest(&rolled_back.encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (422, "rollback"));
    assert_eq!(
        fleet.count("SELECT count(*) FROM refusals WHERE reason IN ('stale', 'rollback')"),
        2
    );
}

#[test]
fn outcome_and_request_id_are_stored_searchable_and_a_nul_in_the_request_id_is_refused() {
    use audit_events::RecordContext;
    let fleet = Fleet::start();
    let mut forger = Forger::new("worker-a", 1);
    fleet.enroll(&forger.signer.verifier_key());
    // Records 0..4 cycle through the catalogue: auth.success, auth.failure, token.created,
    // token.revoked; record 1 carries a request id.
    forger.push_honest(1);
    let context =
        RecordContext { request_id: Some("req-1".to_owned()), ..RecordContext::default() };
    let bytes = forger.record_with(1, "worker-a", context);
    forger.push(bytes);
    forger.push_honest(2);
    assert!(matches!(
        fleet.ingest(&forger.shipment(0, 4).encode().unwrap()).unwrap(),
        Outcome::Accepted { size: 4, .. }
    ));
    let rows = fleet.query("SELECT kind, outcome, request_id FROM records ORDER BY seq");
    let stored: Vec<(String, Option<String>, Option<String>)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        stored,
        [
            ("auth.success".to_owned(), Some("success".to_owned()), None),
            ("auth.failure".to_owned(), Some("failure".to_owned()), Some("req-1".to_owned())),
            ("token.created".to_owned(), Some("success".to_owned()), None),
            ("token.revoked".to_owned(), Some("success".to_owned()), None),
        ]
    );
    let token = fleet.runtime.block_on(fleet.db.add_auditor_token("alice")).unwrap();
    let auditor = fleet.client(Some(token));
    let kinds = |query: &str| -> Vec<String> {
        auditor.fleet(&format!("/v1/fleet/records?{query}")).unwrap()["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kinds("outcome=failure"), ["auth.failure"]);
    assert_eq!(kinds("outcome=SUCCESS").len(), 3);
    assert_eq!(kinds("request_id=req-1"), ["auth.failure"]);
    assert!(kinds("request_id=x%27%20OR%20%271%27%3D%271").is_empty());
    match auditor.fleet("/v1/fleet/records?outcome=partial") {
        Err(CollectorError::Refused { status: 400, .. }) => {}
        other => panic!("a bad outcome: {other:?}"),
    }
    // A NUL in the request id cannot be stored: a refusal with evidence, not a 503.
    let context =
        RecordContext { request_id: Some("req\0x".to_owned()), ..RecordContext::default() };
    let bytes = forger.record_with(4, "worker-a", context);
    forger.push(bytes);
    let refusal = refused(fleet.ingest(&forger.shipment(4, 5).encode().unwrap()));
    assert_eq!((refusal.status, refusal.reason), (400, "malformed"), "{refusal:?}");
    assert_eq!(fleet.refusals().len(), 1);
    assert_eq!(fleet.count("SELECT count(*) FROM records"), 4);
}
