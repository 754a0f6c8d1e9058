//! `audit` command benchmarks on a log of 20 000 events written through the real store:
//! export and query throughput end to end (through `audit_cli::run`, output discarded),
//! verification, report generation, and the JSON escaper on clean and hostile text.
//! Prints `BENCH {json}` lines for `cargo xtask bench`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use audit_cli::{ExitStatus, escape_json};
use audit_events::{AuditEvent, Body, Entry, EventRecord, Timestamp};
use audit_store::LogWriter;

/// 2026-11-22T00:00:00Z.
const T0: i64 = audit_testkit::fixture::T0.0;
const RECORDS: u64 = 20_000;

fn report(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "BENCH {{\"crate\":\"audit-cli\",\"name\":\"{name}\",\"value\":{value:.1},\"unit\":\"{unit}\",\"target\":\"{target}\"}}"
    );
}

fn entry(i: u64) -> Entry {
    let mut event = audit_testkit::fixture::example(i);
    if let AuditEvent::AuthFailure { attempted_user, .. } = &mut event {
        *attempted_user = Some(format!("user-{:03}", i % 97));
    }
    // One second apart, so the log spans several seal epochs and segments.
    let time = Timestamp(T0 + i64::try_from(i).unwrap() * 1_000_000_000);
    Entry::new(time, audit_testkit::fixture::audit_id(0, i), Body::Event(EventRecord::new(event)))
}

fn write_log(dir: &Path) {
    let mut config = audit_testkit::fixture::log_config("bench");
    config.max_segment_bytes = 1024 * 1024;
    let (mut writer, _) = LogWriter::create(dir, config, Timestamp(T0)).unwrap();
    let batch: Vec<u64> = (0..RECORDS).collect();
    for chunk in batch.chunks(200) {
        let entries: Vec<Entry> = chunk.iter().map(|i| entry(*i)).collect();
        let now = entries.last().unwrap().time;
        writer.append_batch(&entries, now).unwrap();
    }
    writer.close(Timestamp(T0 + i64::try_from(RECORDS).unwrap() * 1_000_000_000)).unwrap();
}

/// Median wall time of `runs` runs of the command (after one warm-up), output discarded.
fn median_run(args: &[&str], runs: usize) -> Duration {
    let run_once = || {
        let start = Instant::now();
        let status = audit_cli::run(args, &mut std::io::sink(), &mut std::io::sink());
        assert!(matches!(status, ExitStatus::Success), "{args:?}: {status:?}");
        start.elapsed()
    };
    run_once();
    let mut times: Vec<Duration> = (0..runs).map(|_| run_once()).collect();
    times.sort();
    times[times.len() / 2]
}

/// Median throughput of the escaper over `text`, in MB/s.
fn escape_rate(text: &str) -> f64 {
    let rounds = 2_000;
    let mut rates = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        for _ in 0..rounds {
            black_box(escape_json(black_box(text)));
        }
        let bytes = (text.len() * rounds) as f64;
        rates.push(bytes / start.elapsed().as_secs_f64() / 1e6);
    }
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    write_log(&dir);
    let dir = dir.to_str().unwrap();
    let records = RECORDS as f64;

    let t = median_run(&["audit", "export", dir, "--format", "jsonl"], 5);
    report("export jsonl", records / t.as_secs_f64(), "records/s", "");
    let t = median_run(&["audit", "export", dir, "--format", "csv"], 5);
    report("export csv", records / t.as_secs_f64(), "records/s", "");
    let t = median_run(&["audit", "query", dir, "--kind", "auth.failure"], 9);
    report("query by kind, 20k-record log", t.as_secs_f64() * 1e3, "ms", "");
    let t = median_run(&["audit", "query", dir, "--actor", "user-001", "--format", "jsonl"], 9);
    report("query by actor, 20k-record log", t.as_secs_f64() * 1e3, "ms", "");
    let t = median_run(&["audit", "verify", dir], 5);
    report("verify, 20k-record log", records / t.as_secs_f64(), "records/s", "");
    let t = median_run(&["audit", "report", dir, "--framework", "soc2", "--format", "html"], 5);
    report("report html, 20k-record log", t.as_secs_f64() * 1e3, "ms", "");

    let line = serde_json::json!({
        "kind": "auth.failure", "event": {"attempted_user": "mallory", "reason": "invalid credentials",
        "ip": "203.0.113.7", "path": "/v1/login"}, "hash": "ab".repeat(32)
    })
    .to_string();
    report("escape_json, clean record line", escape_rate(&line), "MB/s", "");
    let hostile = line.replace("mallory", "mal\u{202e}lory\u{200b}\u{e0041}\u{85}");
    report("escape_json, hostile record line", escape_rate(&hostile), "MB/s", "");
}
