//! `audit export`: every record in order with an unbroken chain of hashes.

use serde_json::Value;

use crate::support::written_log;

#[test]
fn jsonl_export_holds_every_record_with_a_continuous_chain() {
    let fixture = written_log(6);
    let run = fixture.audit(&["export", "{dir}", "--format", "jsonl"]).expect(0);
    let records: Vec<Value> =
        run.lines().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let verified = fixture.audit(&["verify", "{dir}", "--json"]).expect(0);
    let verified: Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(records.len() as u64, verified["next_seq"].as_u64().unwrap());
    for (i, pair) in records.windows(2).enumerate() {
        assert_eq!(pair[0]["seq"].as_u64().unwrap(), i as u64);
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"], "chain broken at {i}");
    }
    assert_eq!(records[0]["kind"], "system.log_created");
    assert!(records.iter().any(|r| r["kind"] == "system.seal" && r["system"]["mac"].is_string()));
    assert!(records.iter().any(|r| r["kind"] == "vram.sealed" && r["event"]["digest"].is_string()));
}

#[test]
fn csv_export_has_a_header_and_one_row_per_record() {
    let fixture = written_log(3);
    let jsonl = fixture.audit(&["export", "{dir}"]).expect(0);
    let csv = fixture.audit(&["export", "{dir}", "--format", "csv"]).expect(0);
    let lines = csv.lines();
    assert_eq!(
        lines[0],
        "seq,time,service_id,kind,category,severity,subject,details,escaped,truncated,audit_id,prev_hash,hash,outcome,claimed_time,request_id,user_agent"
    );
    assert_eq!(lines.len(), jsonl.lines().len() + 1);
    assert!(
        lines[1].starts_with("\"0\",\"2026-11-22T00:00:00Z\",\"svc-test\",\"system.log_created\""),
        "{}",
        lines[1]
    );
}

#[test]
fn export_filters_by_time() {
    let fixture = written_log(6);
    let all = fixture.audit(&["export", "{dir}"]).expect(0).lines().len();
    let run = fixture
        .audit(&[
            "export",
            "{dir}",
            "--since",
            "2026-11-22T00:00:40Z",
            "--until",
            "2026-11-22T00:01:01Z",
        ])
        .expect(0);
    let times: Vec<String> = run
        .lines()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["time"].as_str().unwrap().to_owned())
        .collect();
    assert!(!times.is_empty() && times.len() < all);
    assert!(
        times
            .iter()
            .all(|t| t.as_str() >= "2026-11-22T00:00:40Z" && t.as_str() < "2026-11-22T00:01:01Z"),
        "{times:?}"
    );
    fixture.audit(&["export", "{dir}", "--format", "xml"]).expect(2);
}
