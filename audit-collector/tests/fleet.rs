//! The collector against a real PostgreSQL server that the test starts itself: shipping,
//! crashes of the collector and the database, forks, rollbacks, and truncation caught through
//! the stored cosignature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{Fleet, copy_dir};

use audit_collector::client::CollectorClient;
use audit_collector::ship::{self, Progress, ShipOptions, Stop};
use audit_events::{Entry, Timestamp};
use audit_store::{LogWriter, VerifierMaterial, VerifyOptions, verify};

use audit_testkit::fixture::{SECOND, T0, at, log_config as config};

fn entries(count: usize, time: Timestamp, salt: u64) -> Vec<Entry> {
    audit_testkit::fixture::salted_entries(salt, 0, count, time)
}

/// A closed log of `batches` batches of 100 events, 20 s apart.
fn written_log(dir: &Path, service: &str, batches: i64) -> VerifierMaterial {
    let (mut writer, material) = LogWriter::create(dir, config(service), at(0)).unwrap();
    for b in 0..batches {
        writer.append_batch(&entries(100, at(20 * b + 1), b as u64), at(20 * b + 1)).unwrap();
    }
    writer.close(at(20 * batches + 1)).unwrap();
    material
}

fn append(dir: &Path, service: &str, from: i64, batches: i64, salt: u64) {
    let mut writer = LogWriter::open(dir, config(service), at(from)).unwrap();
    for b in 0..batches {
        let t = at(from + 20 * b + 1);
        writer.append_batch(&entries(100, t, salt + b as u64), t).unwrap();
    }
    writer.close(at(from + 20 * batches + 1)).unwrap();
}

fn public_key(dir: &Path) -> String {
    audit_store::LogReader::open(dir).unwrap().meta().public_key.clone()
}

fn checkpoint_size(dir: &Path) -> u64 {
    audit_store::latest_checkpoint(dir).unwrap().1.size
}

fn ship_once(fleet: &Fleet, dir: &Path) -> Result<(), audit_collector::CollectorError> {
    let options = ShipOptions::new(dir.to_owned(), 250, false);
    ship::run(&fleet.client(None), &options, &Stop::new(), &mut |_| {})
}

/// Reads shipper reports (log index, progress) until `done` holds for them; bounded.
fn wait_for(
    what: &str,
    reports: &mpsc::Receiver<(usize, Progress)>,
    latest: &mut [Option<Progress>],
    mut done: impl FnMut(&[Option<Progress>]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(latest) {
        let left = deadline.saturating_duration_since(Instant::now());
        match reports.recv_timeout(left) {
            Ok((i, p)) => latest[i] = Some(p),
            Err(e) => panic!("no report while waiting until {what}: {e}"),
        }
    }
}

#[test]
fn three_logs_survive_collector_and_database_crashes_exactly_once() {
    let mut fleet = Fleet::start();
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("log{i}"))).collect();
    for (i, dir) in dirs.iter().enumerate() {
        written_log(dir, &format!("worker-{i}"), 30);
        fleet.enroll(&public_key(dir));
    }
    let stop = Arc::new(Stop::new());
    let (tx, reports) = mpsc::channel();
    let base = format!("https://{}", fleet.addr);
    let shippers: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let client = CollectorClient::new(&base, fleet.tls.cert_pem.as_bytes(), None).unwrap();
            let options = ShipOptions::new(dir.clone(), 100, true);
            let (stop, tx) = (Arc::clone(&stop), tx.clone());
            std::thread::spawn(move || {
                ship::run(&client, &options, &stop, &mut |p| {
                    let _ = tx.send((i, p.clone()));
                })
            })
        })
        .collect();
    let mut latest: Vec<Option<Progress>> = vec![None; dirs.len()];
    // Mid-stream: every shipper has stored something, none has finished.
    wait_for("every shipper has stored a shipment", &reports, &mut latest, |l| {
        l.iter().all(Option::is_some)
    });
    assert!(
        latest.iter().flatten().any(|p| p.lag > 0),
        "the crash must come mid-stream: {latest:?}"
    );
    fleet.stop_server();
    fleet.cluster.crash().unwrap();
    fleet.cluster.restart().unwrap();
    fleet.serve();
    // More records arrive while the shippers follow the logs.
    append(&dirs[0], "worker-0", 10_000, 5, 1000);
    let expected: Vec<u64> = dirs.iter().map(|d| checkpoint_size(d)).collect();
    wait_for("every log is at the collector", &reports, &mut latest, |l| {
        l.iter().zip(&expected).all(|(p, &size)| p.as_ref().is_some_and(|p| p.shipped == size))
    });
    stop.stop();
    for shipper in shippers {
        shipper.join().unwrap().unwrap();
    }
    // Every record exactly once, and byte for byte the log's.
    for (dir, size) in dirs.iter().zip(&expected) {
        let origin = audit_store::LogReader::open(dir).unwrap().meta().origin.clone();
        let rows = fleet.query(&format!(
            "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM records r JOIN logs l USING (log_id) WHERE l.origin = '{origin}'"
        ));
        let (count, distinct, min, max): (i64, i64, i64, i64) =
            (rows[0].get(0), rows[0].get(1), rows[0].get(2), rows[0].get(3));
        assert_eq!(
            (count, distinct, min, max),
            (*size as i64, *size as i64, 0, *size as i64 - 1),
            "{origin}"
        );
        let stored = fleet.query(&format!(
            "SELECT bytes FROM records r JOIN logs l USING (log_id) WHERE l.origin = '{origin}' ORDER BY seq"
        ));
        let reader = audit_store::LogReader::open(dir).unwrap();
        for (row, record) in stored.iter().zip(reader.records()) {
            assert_eq!(row.get::<_, Vec<u8>>(0), record.unwrap().bytes);
        }
        // The shipper wrote the cosigned checkpoint into the log directory.
        assert!(dir.join(format!("cosigned-{size:020}.note")).is_file(), "{origin}");
    }
    // The database verifies: chain, roots, signatures and cosignatures.
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    for log in verdicts["logs"].as_array().unwrap() {
        assert_eq!(log["verdict"], "PASS", "{log}");
    }
    // The tables are append-only, even for the database owner.
    let err = fleet.runtime.block_on(async {
        let client = fleet.db.client().await.unwrap();
        client.execute("UPDATE records SET kind = 'x' WHERE seq = 0", &[]).await.unwrap_err()
    });
    assert!(
        err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"),
        "{err:?}"
    );
    assert!(
        fleet.refusals().iter().all(|(reason, _)| reason == "replay"),
        "{:?}",
        fleet.refusals()
    );
}

#[test]
fn forks_and_rollbacks_are_refused_and_recorded() {
    let fleet = Fleet::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    written_log(&dir, "orchestrator", 5);
    let earlier = tmp.path().join("earlier");
    copy_dir(&dir, &earlier);
    append(&dir, "orchestrator", 1000, 3, 500);
    fleet.enroll(&public_key(&dir));
    ship_once(&fleet, &dir).unwrap();
    let shipped = checkpoint_size(&dir);

    // A fork: the earlier state of the log, continued with other records, signed with the same
    // key (an intruder holding the host has it).
    let fork = tmp.path().join("fork");
    copy_dir(&earlier, &fork);
    append(&fork, "orchestrator", 1000, 6, 900);
    assert!(checkpoint_size(&fork) > shipped);
    let err = ship_once(&fleet, &fork).unwrap_err().to_string();
    assert!(err.contains("422"), "{err}");
    let refusals = fleet.refusals();
    assert!(refusals.iter().any(|(r, _)| r == "chain" || r == "fork"), "{refusals:?}");

    // A rollback: the log directory replaced by its earlier state.
    let err = ship_once(&fleet, &earlier).unwrap_err().to_string();
    assert!(err.contains("rolled back"), "{err}");
    assert!(fleet.refusals().iter().any(|(r, _)| r == "rollback"), "{:?}", fleet.refusals());

    // Nothing accepted changed.
    let count: i64 = fleet.query("SELECT count(*) FROM records")[0].get(0);
    assert_eq!(count as u64, shipped);
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    assert_eq!(verdicts["logs"][0]["verdict"], "PASS", "{verdicts}");

    // A shipment for a log nobody enrolled is refused too.
    let stranger = tmp.path().join("stranger");
    written_log(&stranger, "stranger", 1);
    let err = ship_once(&fleet, &stranger).unwrap_err().to_string();
    assert!(err.contains("404"), "{err}");
}

#[test]
fn truncating_a_shipped_log_is_caught_through_the_cosignature() {
    let fleet = Fleet::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let material = written_log(&dir, "pool-manager", 5);
    let earlier = tmp.path().join("earlier");
    copy_dir(&dir, &earlier);
    append(&dir, "pool-manager", 1000, 3, 500);
    fleet.enroll(&public_key(&dir));
    ship_once(&fleet, &dir).unwrap();
    let size = checkpoint_size(&dir);
    let cosigned = format!("cosigned-{size:020}.note");
    let options = {
        let mut options = VerifyOptions::with_material(material);
        options.witness_keys = vec![fleet.witness.verifier().to_string()];
        options
    };
    let report = verify(&dir, &options).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    // The writer reopens a directory holding a cosigned checkpoint, and the log grows past it.
    append(&dir, "pool-manager", 5000, 1, 800);
    let report = verify(&dir, &options).unwrap();
    assert!(report.is_intact(), "{report:#?}");

    // The intruder rolls the directory back to its earlier, valid state (its own checkpoints
    // and seal key included), but the cosigned checkpoint the shipper wrote stays.
    let truncated = tmp.path().join("truncated");
    copy_dir(&earlier, &truncated);
    std::fs::copy(dir.join(&cosigned), truncated.join(&cosigned)).unwrap();
    let without_witness = {
        let mut options = options.clone();
        options.witness_keys = Vec::new();
        options
    };
    assert!(
        verify(&truncated, &without_witness).unwrap().is_intact(),
        "the rollback is valid on its own"
    );
    let report = verify(&truncated, &options).unwrap();
    assert!(!report.is_intact());
    let failure = report.failure.unwrap();
    assert!(
        failure.reason.contains("rolled back") || failure.reason.contains("removed"),
        "{failure:?}"
    );

    // Removing the cosigned checkpoint as well does not help: with a witness key, none at all
    // is a finding.
    std::fs::remove_file(truncated.join(&cosigned)).unwrap();
    let report = verify(&truncated, &options).unwrap();
    assert!(
        report.failure.unwrap().reason.contains("no checkpoint in the log directory is cosigned")
    );
}

/// The body `audit consistency --proof-out` writes, from the log's checkpoint of size `old`.
fn witness_request(dir: &Path, old: u64) -> String {
    use base64::Engine as _;
    let bundle = audit_store::consistency_proof(dir, old, None).unwrap();
    let mut body = format!("old {old}\n");
    for hash in &bundle.proof.path {
        body.push_str(&base64::engine::general_purpose::STANDARD.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&bundle.checkpoint);
    body
}

#[test]
fn the_collector_speaks_c2sp_tlog_witness_add_checkpoint() {
    let fleet = Fleet::start();
    let client = fleet.client(None);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    written_log(&dir, "gpu-worker", 3);
    let earlier = tmp.path().join("earlier");
    copy_dir(&dir, &earlier);
    let first = checkpoint_size(&dir);
    let log = audit_chain::NoteVerifier::parse(&public_key(&dir)).unwrap();

    // Unknown origin: 404.
    let (status, _, _) = client.add_checkpoint(witness_request(&dir, 0).as_bytes()).unwrap();
    assert_eq!(status, 404);
    fleet.enroll(&public_key(&dir));

    // The first checkpoint, from size 0 with an empty proof: cosigned.
    let (status, _, line) = client.add_checkpoint(witness_request(&dir, 0).as_bytes()).unwrap();
    assert_eq!(status, 200, "{line}");
    let note = std::fs::read_to_string(dir.join("checkpoint")).unwrap();
    let cosigned =
        audit_chain::open_cosigned(&format!("{note}{line}"), &log, &fleet.witness.verifier())
            .unwrap();
    assert_eq!(cosigned.checkpoint.size, first);

    // The log grows: a consistency proof from the cosigned size.
    append(&dir, "gpu-worker", 1000, 2, 300);
    let second = checkpoint_size(&dir);
    let (status, _, line) = client.add_checkpoint(witness_request(&dir, first).as_bytes()).unwrap();
    assert_eq!(status, 200, "{line}");
    assert!(line.starts_with("\u{2014} collector.test/witness "), "{line}");

    // A stale old size: 409 with the witness's size.
    let (status, content_type, body) =
        client.add_checkpoint(witness_request(&dir, first).as_bytes()).unwrap();
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (409, "text/x.tlog.size", format!("{second}\n").as_str())
    );

    // Old size above the checkpoint's: 400.
    let mut body = witness_request(&dir, first);
    body = body.replacen(&format!("old {first}"), &format!("old {}", second + 1), 1);
    assert_eq!(client.add_checkpoint(body.as_bytes()).unwrap().0, 400);

    // A fork signed with the log's key: the earlier state continued otherwise. Its proof is
    // from its own tree, so it does not verify against what was cosigned: 422, recorded.
    let fork = tmp.path().join("fork");
    copy_dir(&earlier, &fork);
    append(&fork, "gpu-worker", 1000, 4, 700);
    let (status, _, body) = client
        .add_checkpoint(witness_request(&fork, second.min(checkpoint_size(&fork))).as_bytes())
        .unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(fleet.refusals().iter().any(|(r, _)| r == "fork"), "{:?}", fleet.refusals());

    // A checkpoint whose signature is not the log's: 403.
    let mut forged = witness_request(&dir, second).into_bytes();
    let at = forged.iter().rposition(|&b| b == b' ').unwrap() + 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(client.add_checkpoint(&forged).unwrap().0, 403);

    // Shipping the records afterwards works, and passes through the witnessed roots.
    ship_once(&fleet, &dir).unwrap();
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    assert_eq!(verdicts["logs"][0]["verdict"], "PASS", "{verdicts}");
}

#[test]
fn purges_remove_a_prefix_through_the_chained_purge_function_only() {
    let fleet = Fleet::start();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    written_log(&dir, "orchestrator", 10);
    fleet.enroll(&public_key(&dir));
    // Small shipments, so that accepted positions fall inside the log.
    let options = ShipOptions::new(dir.clone(), 150, false);
    ship::run(&fleet.client(None), &options, &Stop::new(), &mut |_| {}).unwrap();
    let origin = audit_store::LogReader::open(&dir).unwrap().meta().origin.clone();
    let total: i64 = fleet.query("SELECT count(*) FROM records")[0].get(0);

    // Deleting directly is refused, even for the owner.
    let err = fleet.runtime.block_on(async {
        let client = fleet.db.client().await.unwrap();
        client.execute("DELETE FROM records WHERE seq < 10", &[]).await.unwrap_err()
    });
    assert!(format!("{err:?}").contains("append-only"), "{err:?}");

    // Records before 100 s after T0 (batches 0..=4 are at 1, 21, ..., 81 s) are purged up to
    // the last accepted position before the first younger record.
    let cutoff = at(100).to_rfc3339();
    let removed = fleet
        .runtime
        .block_on(fleet.db.purge(&origin, &cutoff, "retention: 100 s test policy"))
        .unwrap();
    assert!(removed > 0 && removed <= 5 * 100 + 10, "{removed}");
    let left: i64 = fleet.query("SELECT count(*) FROM records")[0].get(0);
    assert_eq!(left, total - removed);
    let min: i64 = fleet.query("SELECT min(seq) FROM records")[0].get(0);
    assert_eq!(min, removed);
    // Nothing younger than the cutoff went.
    let young_gone: i64 = fleet.query(&format!(
        "SELECT count(*) FROM records WHERE time >= to_timestamp({}::float8)",
        T0.0 / SECOND + 100
    ))[0]
        .get(0);
    let young_total = (0..10).filter(|b| 20 * b + 1 >= 100).count() as i64 * 100;
    assert!(young_gone >= young_total, "{young_gone} < {young_total}");

    // The rest still verifies from the purge's recorded position; a second purge chains on.
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    assert_eq!(verdicts["logs"][0]["verdict"], "PASS", "{verdicts}");
    assert_eq!(verdicts["logs"][0]["purged_before"], removed);
    let again = fleet
        .runtime
        .block_on(fleet.db.purge(&origin, &at(150).to_rfc3339(), "retention"))
        .unwrap();
    assert!(again > 0);
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    assert_eq!(verdicts["logs"][0]["verdict"], "PASS", "{verdicts}");
    let purges = fleet.query("SELECT count(*) FROM purges")[0].get::<_, i64>(0);
    assert_eq!(purges, 2);

    // An edited purge row is found (the owner disables the trigger to do it).
    fleet.runtime.block_on(async {
        let client = fleet.db.client().await.unwrap();
        client
            .batch_execute(
                "ALTER TABLE purges DISABLE TRIGGER purges_append_only;
                 UPDATE purges SET reason = 'nothing to see' WHERE up_to = (SELECT min(up_to) FROM purges);
                 ALTER TABLE purges ENABLE TRIGGER purges_append_only;",
            )
            .await
            .unwrap();
    });
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    assert_eq!(verdicts["logs"][0]["verdict"], "FAIL", "{verdicts}");
}

#[test]
fn a_log_whose_tiles_are_gone_or_edited_ships_with_proofs_from_its_records() {
    let fleet = Fleet::start();
    let tmp = tempfile::tempdir().unwrap();
    let (gone, edited) = (tmp.path().join("gone"), tmp.path().join("edited"));
    written_log(&gone, "pool-a", 6);
    written_log(&edited, "pool-b", 6);
    std::fs::remove_dir_all(gone.join("tiles")).unwrap();
    let tile = edited.join("tiles/0/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&tile, bytes).unwrap();
    for dir in [&gone, &edited] {
        fleet.enroll(&public_key(dir));
        ship_once(&fleet, dir).unwrap();
    }
    let shipped: i64 = fleet.query("SELECT count(*) FROM records")[0].get(0);
    assert_eq!(shipped, (checkpoint_size(&gone) + checkpoint_size(&edited)) as i64);
    let verdicts = fleet
        .runtime
        .block_on(audit_collector::fleet::verify(&fleet.db, &fleet.witness.verifier()))
        .unwrap();
    for log in 0..2 {
        assert_eq!(verdicts["logs"][log]["verdict"], "PASS", "{verdicts}");
    }
}
