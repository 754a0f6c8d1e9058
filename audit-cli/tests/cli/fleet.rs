//! Fleet mode through the real binary: `audit demo --fleet`, and an operator's session with
//! `audit collector init|serve|enroll|token`, `audit ship`, `audit fleet status|query|verify`,
//! `audit verify --witness-key` and `audit consistency --proof-out`, against a PostgreSQL
//! cluster the test starts itself.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};

use audit_collector::client::CollectorClient;
use audit_collector::cluster::TempCluster;

use crate::support::{assert_inert, audit, written_log};

/// Kills the collector process when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `audit collector serve` on a free loopback port; returns it (stopped when dropped)
/// and its URL, once it says it listens there.
fn serve(db: &str, cdir: &str) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_audit"))
        .args(["collector", "serve", "--database", db, "--dir", cdir, "--listen", &listen])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The collector says where it listens once it does (or exits, closing the pipe).
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let server = Server(child);
    let url = format!("https://{listen}");
    assert!(line.contains(&url), "{line}");
    (server, url)
}

#[test]
fn the_fleet_demo_ships_three_logs_that_verify_with_the_witness_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fleet");
    let d = dir.to_str().unwrap();
    let run = audit(&["demo", "--fleet", d]).expect(0);
    assert_inert("demo --fleet", &run.stdout);
    for service in ["orchestrator", "pool-manager", "gpu-worker-0"] {
        assert!(run.stdout.contains(&format!("PASS  audit/{service}/")), "{}", run.stdout);
        assert!(run.stdout.contains(&format!("PASS  {service}")), "{}", run.stdout);
    }
    let log = format!("{d}/orchestrator");
    let material = format!("{d}/orchestrator.material");
    let witness_key = format!("{d}/witness.vkey");
    let args = [
        "verify",
        log.as_str(),
        "--verification-key",
        material.as_str(),
        "--witness-key",
        witness_key.as_str(),
    ];
    let run = audit(&args).expect(0);
    assert!(run.stdout.contains("PASS: the log is intact"), "{}", run.stdout);
    // The cosigned checkpoints were compared with the log, on top of its own checkpoints.
    let compared = |witness: bool| {
        let mut json =
            vec!["verify", log.as_str(), "--verification-key", material.as_str(), "--json"];
        if witness {
            json.extend_from_slice(&["--witness-key", witness_key.as_str()]);
        }
        let report: serde_json::Value =
            serde_json::from_str(&audit(&json).expect(0).stdout).unwrap();
        report["checkpoints"].as_u64().unwrap()
    };
    assert!(compared(true) > compared(false));
    // Without the cosigned checkpoint, a witness key makes verification fail.
    for entry in std::fs::read_dir(&log).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_str().unwrap().starts_with("cosigned-") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let run = audit(&args).expect(1);
    assert!(
        run.stdout.contains("no checkpoint in the log directory is cosigned"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_operator_runs_a_collector_ships_a_log_and_audits_the_fleet() {
    let cluster = TempCluster::start().unwrap();
    let db = cluster.connection_string();
    let tmp = tempfile::tempdir().unwrap();
    let c = tmp.path().join("collector");
    let cdir = c.to_str().unwrap();
    let run = audit(&["collector", "init", "--database", &db, "--dir", cdir]).expect(0);
    assert!(run.stdout.contains("migrations applied: [1, 2, 3]"), "{}", run.stdout);
    let again = tmp.path().join("collector-2");
    let args = ["collector", "init", "--database", &db, "--dir", again.to_str().unwrap()];
    let run = audit(&[&args[..], &["--format", "json"]].concat()).expect(0);
    let init: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(init["migrations_applied"], serde_json::json!([]), "{init}");
    assert!(init["witness_public_key"].is_string(), "{init}");
    let (_server, url) = serve(&db, cdir);
    let ca = format!("{cdir}/tls.crt");

    let fixture = written_log(20);
    let log = fixture.dir.to_str().unwrap();
    // Not enrolled yet: refused.
    let run = audit(&["ship", log, "--collector", &url, "--ca", &ca, "--once"]).expect(3);
    assert!(run.stderr.contains("404"), "{}", run.stderr);
    let run = audit(&["collector", "enroll", "--database", &db, "--log", log, "--format", "json"])
        .expect(0);
    let enrolled: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(enrolled["service_id"], "svc-test", "{enrolled}");
    let origin = enrolled["origin"].as_str().unwrap().to_owned();
    let ship = ["ship", log, "--collector", &url, "--ca", &ca, "--once", "--batch", "50"];
    let run = audit(&[&ship[..], &["--format", "jsonl"]].concat()).expect(0);
    assert!(run.lines().len() > 1, "one line per shipment of 50 records\n{}", run.stdout);
    assert!(!run.stderr.contains("shipped"), "{}", run.stderr);
    let last: serde_json::Value = serde_json::from_str(run.lines().last().unwrap()).unwrap();
    assert_eq!(last["lag"], 0, "{}", run.stdout);
    assert_eq!(last["shipped"], last["checkpoint_size"], "{}", run.stdout);

    let token =
        audit(&["collector", "token", "--database", &db, "--name", "auditor-1"]).expect(0).stdout;
    let second =
        audit(&["collector", "token", "--database", &db, "--name", "a2", "--format", "json"])
            .expect(0)
            .stdout;
    let second: serde_json::Value = serde_json::from_str(&second).unwrap();
    assert!(second["token"].as_str().unwrap().starts_with("audtok_"), "{second}");
    assert_ne!(second["token"].as_str().unwrap(), token.trim());
    let token_file = tmp.path().join("auditor.token");
    std::fs::write(&token_file, &token).unwrap();
    let t = token_file.to_str().unwrap();
    let fleet = |args: &[&str]| {
        let mut all = vec!["fleet"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--collector", &url, "--ca", &ca, "--token-file", t]);
        audit(&all)
    };
    let size = audit_store::latest_checkpoint(&fixture.dir).unwrap().1.size;
    let status: serde_json::Value =
        serde_json::from_str(&fleet(&["status", "--format", "json"]).expect(0).stdout).unwrap();
    assert_eq!(status["logs"][0]["size"], size);
    assert_eq!(status["logs"][0]["cosigned_size"], size);
    let found: serde_json::Value = serde_json::from_str(
        &fleet(&["query", "--kind", "auth.failure", "--format", "json"]).expect(0).stdout,
    )
    .unwrap();
    let found = found.as_array().unwrap();
    assert!(!found.is_empty() && found.iter().all(|r| r["kind"] == "auth.failure"), "{found:?}");
    let lines = fleet(&["query", "--severity", "HIGH", "--format", "jsonl", "--limit", "3"])
        .expect(0)
        .stdout;
    assert_eq!(lines.lines().count(), 3, "{lines}");
    for line in lines.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["severity"], "high");
    }
    let failures = fleet(&["query", "--outcome", "failure", "--format", "jsonl"]).expect(0).stdout;
    assert!(!failures.is_empty());
    for line in failures.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["outcome"], "failure", "{line}");
    }
    fleet(&["query", "--request-id", "no-such-request"]).expect(1);
    fleet(&["query", "--kind", "no.such.kind"]).expect(1);
    // Times as `audit query` reads them, sent to the collector as RFC 3339.
    let day = ["query", "--since", "2026-11-22", "--until", "2026-11-22 00:10", "--limit", "5"];
    let lines = fleet(&[&day[..], &["--format", "jsonl"]].concat()).expect(0).stdout;
    assert_eq!(lines.lines().count(), 5, "{lines}");
    fleet(&["query", "--since", "2026-11-23"]).expect(1);
    let run = fleet(&["verify"]).expect(0);
    assert!(run.stdout.starts_with("PASS  audit/svc-test/"), "{}", run.stdout);
    // The compliance report across the fleet, from the collector's records and verification.
    let witness = format!("{cdir}/witness.vkey");
    let run = fleet(&["report", "--framework", "soc2", "--witness-key", &witness]).expect(0);
    assert_inert("fleet report", &run.stdout);
    assert!(run.stdout.starts_with("# Fleet report: 1 logs at the collector"), "{}", run.stdout);
    assert!(run.stdout.contains("ANCHORED"), "{}", run.stdout);
    assert!(!run.stdout.contains("**PASS**"), "no verifier material: never PASS\n{}", run.stdout);
    assert!(run.stdout.contains("cosigned by audit-collector.localhost/witness"), "{}", run.stdout);
    let unproven = fleet(&["report", "--framework", "gdpr"]).expect(0).stdout;
    assert!(unproven.contains("CHAINED") && unproven.contains("not proven"), "{unproven}");
    let json: serde_json::Value = serde_json::from_str(
        &fleet(&["report", "--framework", "iso27001", "--format", "json"]).expect(0).stdout,
    )
    .unwrap();
    assert_eq!(json["fleet"].as_array().unwrap().len(), 1, "{json}");
    let purged = audit(&[
        "collector",
        "purge",
        "--database",
        &db,
        "--origin",
        &origin,
        "--before",
        "2000-01-01",
        "--reason",
        "nothing is that old",
        "--format",
        "json",
    ])
    .expect(0)
    .stdout;
    let purged: serde_json::Value = serde_json::from_str(&purged).unwrap();
    assert_eq!(purged["records_removed"], 0, "{purged}");
    assert_eq!(purged["before"], "2000-01-01T00:00:00Z", "{purged}");
    // Ingestion credentials are not auditor credentials: a wrong token is refused.
    std::fs::write(&token_file, "audtok_0000").unwrap();
    let run = fleet(&["status"]).expect(3);
    assert!(run.stderr.contains("403"), "{}", run.stderr);

    // The cosigned checkpoint came back into the log directory.
    let material = fixture.material_file.to_str().unwrap();
    audit(&["verify", log, "--verification-key", material, "--witness-key", &witness]).expect(0);

    // A witness request by hand: `consistency --proof-out`, then C2SP add-checkpoint.
    let old = fixture.path("old.checkpoint");
    std::fs::copy(fixture.dir.join("checkpoint"), &old).unwrap();
    let mut writer = fixture.open(crate::support::at(5000));
    writer
        .append_batch(
            &crate::support::entries(30, crate::support::at(5001)),
            crate::support::at(5001),
        )
        .unwrap();
    writer.close(crate::support::at(5002)).unwrap();
    let request = fixture.path("witness.request");
    audit(&[
        "consistency",
        log,
        "--old",
        old.to_str().unwrap(),
        "--proof-out",
        request.to_str().unwrap(),
    ])
    .expect(0);
    let body = std::fs::read(&request).unwrap();
    assert!(body.starts_with(format!("old {size}\n").as_bytes()));
    let client = CollectorClient::new(&url, std::fs::read(&ca).unwrap().as_slice(), None).unwrap();
    let (status, _, line) = client.add_checkpoint(&body).unwrap();
    assert_eq!(status, 200, "{line}");
    assert!(line.starts_with("\u{2014} audit-collector.localhost/witness "), "{line}");
}

/// `audit fleet query` text lines quote envelope values as `audit query` does, so a producer's
/// free text (here a user agent sent through `audit emit`) cannot show a pair of its own: a
/// user agent `curl/8 request_id=admin-7` on a record without a request id stays one value.
#[test]
fn fleet_query_text_keeps_a_user_agent_that_names_a_request_id_one_value() {
    let cluster = TempCluster::start().unwrap();
    let db = cluster.connection_string();
    let tmp = tempfile::tempdir().unwrap();
    let c = tmp.path().join("collector");
    let cdir = c.to_str().unwrap();
    audit(&["collector", "init", "--database", &db, "--dir", cdir]).expect(0);
    let (_server, url) = serve(&db, cdir);
    let ca = format!("{cdir}/tls.crt");
    let fixture = written_log(1);
    let log = fixture.dir.to_str().unwrap();
    let event = audit_events::event_to_fields(&audit_events::EventKind::AuthFailure.example());
    let input = serde_json::json!({
        "kind": "auth.failure", "event": event.unwrap(), "user_agent": "curl/8 request_id=admin-7",
    });
    crate::support::audit_with_input(&["emit", log, "-"], format!("{input}\n").as_bytes())
        .expect(0);
    audit(&["collector", "enroll", "--database", &db, "--log", log]).expect(0);
    audit(&["ship", log, "--collector", &url, "--ca", &ca, "--once"]).expect(0);
    let token =
        audit(&["collector", "token", "--database", &db, "--name", "auditor"]).expect(0).stdout;
    let token_file = tmp.path().join("auditor.token");
    std::fs::write(&token_file, &token).unwrap();
    let t = token_file.to_str().unwrap();
    let run = audit(&[
        "fleet",
        "query",
        "--kind",
        "auth.failure",
        "--collector",
        &url,
        "--ca",
        &ca,
        "--token-file",
        t,
    ])
    .expect(0);
    let line = run.lines().into_iter().find(|l| l.contains("user_agent=")).unwrap().to_owned();
    let keys = crate::support::keys_outside_quotes(&line);
    assert!(keys.contains(&"user_agent".to_owned()), "{line}");
    assert!(
        !keys.contains(&"request_id".to_owned()),
        "the user agent reads as a request id of its own: {line}"
    );
}
