//! `audit query`: filters, formats, and exit 0 with matches, 1 without.

use serde_json::Value;

use crate::support::{audit, audit_in_zone, written_log};

#[test]
fn query_by_kind_prints_one_line_per_matching_record() {
    let fixture = written_log(10);
    let run = fixture.audit(&["query", "{dir}", "--kind", "auth.failure"]).expect(0);
    // 70 events cycle through 35 kinds: two auth failures.
    assert_eq!(run.lines().len(), 2, "{}", run.stdout);
    for line in run.lines() {
        assert!(line.contains("  auth.failure  medium  mallory  "), "{line}");
        assert!(line.contains("reason=\"invalid credentials\""), "{line}");
        assert!(line.contains("ip=203.0.113.7"), "{line}");
    }
    let run =
        fixture.audit(&["query", "{dir}", "--kind", "auth.failure", "--kind", "token.*"]).expect(0);
    assert_eq!(run.lines().len(), 6, "{}", run.stdout);
    let run = fixture.audit(&["query", "{dir}", "--kind", "system.*"]).expect(0);
    assert!(run.stdout.contains("system.seal"), "{}", run.stdout);
    assert!(run.stdout.contains("system.log_created"), "{}", run.stdout);
}

#[test]
fn every_filter_narrows_the_result() {
    let fixture = written_log(10);
    let count = |args: &[&str]| {
        let mut all = vec!["query", "{dir}", "--format", "jsonl"];
        all.extend_from_slice(args);
        fixture.audit(&all).stdout.lines().count()
    };
    let everything = count(&[]);
    assert!(everything > 70);
    let by_actor = count(&["--actor", "mallory"]);
    assert_eq!(by_actor, 6, "auth.failure, path traversal and suspicious activity name mallory");
    assert_eq!(count(&["--category", "security"]), 16);
    let high = count(&["--severity", "high"]);
    assert!(high > 0 && high < count(&["--severity", "medium"]));
    assert_eq!(count(&["--resource", "pool-llama-70b", "--kind", "authz.granted"]), 2);
    // Batches are 20 s apart starting at T0+1 s: [T0+20s, T0+60s) holds batches 1 and 2.
    let window = count(&[
        "--since",
        "2026-11-22T00:00:20Z",
        "--until",
        "2026-11-22T00:01:00Z",
        "--kind",
        "auth.success",
    ]);
    assert_eq!(window, 0, "batches 1 and 2 hold kinds 7..20");
    let window = count(&["--since", "2026-11-22T00:00:20Z", "--until", "2026-11-22T00:01:00Z"]);
    assert!(window >= 14, "{window}");
    assert_eq!(count(&["--limit", "3"]), 3);
    assert_eq!(count(&["--since", "2026-11-22"]), everything);
}

#[test]
fn no_match_exits_1_in_every_format() {
    let fixture = written_log(2);
    for format in ["text", "jsonl", "csv", "json"] {
        let run =
            fixture.audit(&["query", "{dir}", "--actor", "nobody", "--format", format]).expect(1);
        assert!(run.stderr.contains("no record matched"), "{format}: {}", run.stderr);
        match format {
            "json" => assert_eq!(
                serde_json::from_str::<Value>(&run.stdout).unwrap(),
                Value::Array(vec![])
            ),
            "csv" => assert_eq!(run.lines().len(), 1),
            _ => assert!(run.stdout.is_empty(), "{format}: {}", run.stdout),
        }
    }
}

#[test]
fn json_jsonl_and_csv_carry_the_chain_hashes() {
    let fixture = written_log(3);
    let args = ["query", "{dir}", "--kind", "auth.success", "--format"];
    let run = fixture.audit(&[&args[..], &["json"]].concat()).expect(0);
    let array: Value = serde_json::from_str(&run.stdout).unwrap();
    let array = array.as_array().unwrap();
    assert_eq!(array.len(), 1);
    assert_eq!(array[0]["kind"], "auth.success");
    assert_eq!(array[0]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(array[0]["prev_hash"].as_str().unwrap().len(), 64);

    let run = fixture.audit(&[&args[..], &["jsonl"]].concat()).expect(0);
    let line: Value = serde_json::from_str(run.lines()[0]).unwrap();
    assert_eq!(&line, &array[0]);

    let run = fixture.audit(&[&args[..], &["csv"]].concat()).expect(0);
    let lines = run.lines();
    assert!(lines[0].starts_with("seq,time,service_id,kind,"), "{}", lines[0]);
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains("\"auth.success\""), "{}", lines[1]);
    // The hash column, then outcome (auth.success: success) and the three empty correlation
    // columns.
    let tail = format!("\"{}\",\"success\",\"\",\"\",\"\"", line["hash"].as_str().unwrap());
    assert!(lines[1].ends_with(&tail), "{}", lines[1]);
}

#[test]
fn bad_filter_values_exit_2() {
    let fixture = written_log(1);
    for args in [
        &["--severity", "urgent"][..],
        &["--category", "misc"],
        &["--kind", "auth.nope"],
        &["--since", "last tuesday"],
        &["--format", "xml"],
        &["--limit", "-1"],
    ] {
        let mut all = vec!["query", "{dir}"];
        all.extend_from_slice(args);
        let run = fixture.audit(&all).expect(2);
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
}

/// Rewrites an index file as an intruder following FORMAT.md would: `actor`'s postings removed,
/// the body length and both SHA-256 checksums recomputed. Whether the actor was listed.
fn drop_actor_postings(index: &std::path::Path, actor: &str) -> bool {
    use sha2::{Digest as _, Sha256};
    let bytes = std::fs::read(index).unwrap();
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let count = usize::try_from(u64_at(18)).unwrap();
    let body = &bytes[122..122 + usize::try_from(u64_at(82)).unwrap()];
    let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap());
    let mut at = count * 18;
    let keys = u32_at(at);
    at += 4;
    let (mut kept, mut entries, mut removed) = (0u32, Vec::new(), false);
    for _ in 0..keys {
        let start = at;
        let len = usize::from(u16::from_le_bytes([body[at], body[at + 1]]));
        let key = &body[at + 2..at + 2 + len];
        at += 2 + len;
        at += 4 + 4 * usize::try_from(u32_at(at)).unwrap();
        if key == actor.as_bytes() {
            removed = true;
        } else {
            kept += 1;
            entries.extend_from_slice(&body[start..at]);
        }
    }
    let mut new_body = body[..count * 18].to_vec();
    new_body.extend_from_slice(&kept.to_le_bytes());
    new_body.extend_from_slice(&entries);
    new_body.extend_from_slice(&body[at..]);
    let mut out = bytes[..82].to_vec();
    out.extend_from_slice(&u64::try_from(new_body.len()).unwrap().to_le_bytes());
    let header_check = Sha256::digest(&out);
    out.extend_from_slice(&header_check);
    out.extend_from_slice(&new_body);
    let check = Sha256::digest(&out);
    out.extend_from_slice(&check);
    std::fs::write(index, out).unwrap();
    removed
}

#[test]
fn a_forged_index_does_not_hide_an_actor() {
    let fixture = written_log(10);
    let before = fixture.audit(&["query", "{dir}", "--actor", "mallory"]).expect(0);
    assert_eq!(before.lines().len(), 6, "{}", before.stdout);
    assert!(before.stderr.is_empty(), "{}", before.stderr);
    let mut forged = 0;
    for entry in std::fs::read_dir(&fixture.dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "idx") && drop_actor_postings(&path, "mallory") {
            forged += 1;
        }
    }
    assert!(forged > 0);
    let after = fixture.audit(&["query", "{dir}", "--actor", "mallory"]).expect(0);
    assert_eq!(after.stdout, before.stdout);
    assert!(after.stderr.contains("note: index of seg-"), "{}", after.stderr);
    assert!(after.stderr.contains("searched frame by frame"), "{}", after.stderr);
    let verify = fixture.audit(&["verify", "{dir}"]).expect(1);
    assert!(verify.stdout.contains("could hide records from searches"), "{}", verify.stdout);
}

#[test]
fn address_sequence_audit_id_order_offset_and_count() {
    let fixture = written_log(10);
    let seqs = |args: &[&str]| -> Vec<u64> {
        let mut all = vec!["query", "{dir}", "--format", "jsonl"];
        all.extend_from_slice(args);
        fixture
            .audit(&all)
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(seqs(&["--seq", "5..9"]), vec![5, 6, 7, 8, 9]);
    assert_eq!(seqs(&["--seq", "12"]), vec![12]);
    assert_eq!(seqs(&["--seq", "5..9", "--reverse"]), vec![9, 8, 7, 6, 5]);
    assert_eq!(seqs(&["--seq", "5..9", "--offset", "1", "--limit", "2"]), vec![6, 7]);
    assert_eq!(seqs(&["--seq", "5..9", "--reverse", "--limit", "2"]), vec![9, 8]);
    // Every event naming 203.0.113.7, and nothing else.
    let by_ip: Vec<Value> = fixture
        .audit(&["query", "{dir}", "--ip", "203.0.113.7", "--format", "jsonl"])
        .expect(0)
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!by_ip.is_empty());
    assert!(by_ip.iter().all(|r| r.to_string().contains("203.0.113.7")), "{by_ip:?}");
    fixture.audit(&["query", "{dir}", "--ip", "192.0.2.99"]).expect(1);
    fixture.audit(&["query", "{dir}", "--ip", "not-an-address"]).expect(2);
    // The audit id of record 7 finds record 7 alone.
    let seventh: Value = serde_json::from_str(
        fixture
            .audit(&["query", "{dir}", "--seq", "7", "--format", "jsonl"])
            .expect(0)
            .stdout
            .trim(),
    )
    .unwrap();
    let id = seventh["audit_id"].as_str().unwrap();
    assert_eq!(seqs(&["--audit-id", id]), vec![7]);
    // --count prints the number of matches.
    let total = seqs(&["--kind", "auth.failure"]).len();
    let run = fixture.audit(&["query", "{dir}", "--kind", "auth.failure", "--count"]).expect(0);
    assert_eq!(run.stdout.trim(), total.to_string());
    let run = fixture.audit(&["query", "{dir}", "--actor", "nobody", "--count"]).expect(1);
    assert_eq!(run.stdout.trim(), "0");
    fixture.audit(&["query", "{dir}", "--seq", "9..5"]).expect(2);
}

/// Local dates and times are read in the zone TZ names (a POSIX rule here, so the test does not
/// depend on the machine's tz database), `--utc` forces UTC, and a bad time lists the forms.
#[test]
fn local_times_follow_tz_and_utc_forces_utc() {
    let fixture = written_log(4);
    let dir = fixture.dir.to_str().unwrap();
    let cet = "CET-1CEST,M3.5.0,M10.5.0/3";
    let utc = audit(&[
        "query",
        dir,
        "--since",
        "2026-11-22T00:00:20Z",
        "--until",
        "2026-11-22T00:00:40Z",
        "--format",
        "jsonl",
    ])
    .expect(0)
    .stdout;
    assert_eq!(utc.lines().count(), 7, "{utc}");
    let range = ["--since", "2026-11-22 01:00:20", "--until", "2026-11-22 01:00:40"];
    let local = audit_in_zone(cet, &[&["query", dir, "--format", "jsonl"][..], &range].concat())
        .expect(0)
        .stdout;
    assert_eq!(local, utc);
    // With --utc the same wall-clock times are an hour later, after every record.
    audit_in_zone(cet, &[&["query", dir, "--utc"][..], &range].concat()).expect(1);
    // The log's first day, read in the zone, as a range that reads naturally.
    let day = audit_in_zone(
        cet,
        &["query", dir, "--since", "2026-11-22", "--until", "2026-11-23", "--count"],
    )
    .expect(0)
    .stdout;
    let all = audit(&["query", dir, "--count"]).expect(0).stdout;
    assert_eq!(day, all);
    let run = audit(&["query", dir, "--since", "next tuesday"]).expect(2);
    assert!(run.stderr.contains("1 hour ago") && run.stderr.contains("--utc"), "{}", run.stderr);
    let run = audit(&["query", dir, "--since", "today", "--until", "yesterday"]).expect(2);
    assert!(run.stderr.contains("not before --until"), "{}", run.stderr);
}

/// A quoted value shows a quote inside it as `\x22`, so no quote ends it early whatever
/// backslashes it holds: a user agent `curl\" request_id=admin-7 x`, stored raw (the store keeps
/// what a service gives it; a forged segment too), stays one value and shows no `request_id`
/// pair on a record that has none.
#[test]
fn a_backslash_before_a_quote_in_a_value_cannot_forge_a_key_value_pair_in_text_output() {
    let (fixture, mut writer) = crate::support::new_log();
    let mut entry = audit_testkit::fixture::entry(
        audit_events::EventKind::AuthFailure.example(),
        crate::support::at(1),
        7,
    );
    entry.context.user_agent = Some(r#"curl\" request_id=admin-7 x"#.to_owned());
    writer.append_batch(&[entry], crate::support::at(1)).unwrap();
    writer.close(crate::support::at(2)).unwrap();
    let run = fixture.audit(&["query", "{dir}", "--kind", "auth.failure"]).expect(0);
    let line = run.lines().into_iter().next().unwrap().to_owned();
    assert!(line.contains(r#"user_agent="curl\\x22 request_id=admin-7 x""#), "{line}");
    let keys = crate::support::keys_outside_quotes(&line);
    assert!(keys.contains(&"user_agent".to_owned()), "{line}");
    assert!(!keys.contains(&"request_id".to_owned()), "a forged pair: {line}");
}
