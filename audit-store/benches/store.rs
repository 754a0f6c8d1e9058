//! Store benchmarks on this machine's disk: durable appends per second by batch size (one
//! fdatasync per batch), verification speed, query latency with the index, bytes per record.
//! The verify, query and proof rows use a log written one epoch at a time over three days; the
//! proof rows are `audit prove` / `audit consistency`'s library calls, from the Merkle tiles.
//! Prints `BENCH {json}` lines for `cargo xtask bench`. `AUDIT_BENCH_SMALL=1` uses 10^5 records
//! instead of 10^6 for the verify and query rows.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use audit_events::{Entry, Timestamp};
use audit_store::{
    LogConfig, LogWriter, ProofSource, Query, VerifyOptions, consistency_proof, inclusion_proof,
    latest_checkpoint, query, verify,
};

const DAY: i64 = 86_400 * 1_000_000_000;
/// 2026-11-22T00:00:00Z.
const T0: i64 = audit_testkit::fixture::T0.0;

fn report(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "BENCH {{\"crate\":\"audit-store\",\"name\":\"{name}\",\"value\":{value:.1},\"unit\":\"{unit}\",\"target\":\"{target}\"}}"
    );
}

use audit_testkit::fixture::fleet_entry as entry;

fn config() -> LogConfig {
    audit_testkit::fixture::log_config("bench")
}

/// Appends batches of `batch` records for about `budget`, each batch durable before the next.
fn durable_appends(batch: usize, budget: Duration) -> f64 {
    let tmp = tempfile::tempdir().unwrap();
    let (mut writer, _) =
        LogWriter::create(&tmp.path().join("log"), config(), Timestamp(T0)).unwrap();
    // The entries are built before the clock starts: only the store's work is measured.
    let entries: Vec<Entry> = (0..batch).map(|i| entry(u64::try_from(i).unwrap(), T0)).collect();
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < budget {
        let now = T0 + i64::try_from(start.elapsed().as_nanos()).unwrap();
        writer.append_batch(&entries, Timestamp(now)).unwrap();
        n += u64::try_from(batch).unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    writer.close(Timestamp(T0 + DAY / 2)).unwrap();
    rate
}

fn main() {
    let small = std::env::var_os("AUDIT_BENCH_SMALL").is_some();
    let records: u64 = if small { 100_000 } else { 1_000_000 };

    for (batch, budget, target) in [(1, 3, ""), (100, 3, ""), (10_000, 6, ">= 300000 records/s")] {
        let rate = durable_appends(batch, Duration::from_secs(budget));
        report(&format!("durable append, batches of {batch}"), rate, "records/s", target);
    }

    // A log of `records` events over three days, written one seal epoch at a time as a live
    // service would, rotated daily (so closed segments are indexed).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let (mut writer, material) = LogWriter::create(&dir, config(), Timestamp(T0)).unwrap();
    let epochs = 3 * 24 * 60;
    let step = 3 * DAY / i64::try_from(records).unwrap();
    let mut n = 0u64;
    let mut batch = Vec::new();
    for epoch in 0..epochs {
        batch.clear();
        let end = T0 + (epoch + 1) * 60_000_000_000;
        while n < records && T0 + i64::try_from(n).unwrap() * step < end {
            batch.push(entry(n, T0 + i64::try_from(n).unwrap() * step));
            n += 1;
        }
        writer.append_batch(&batch, Timestamp(end - 1)).unwrap();
    }
    let total_records = writer.next_seq();
    writer.close(Timestamp(T0 + 3 * DAY + 1)).unwrap();
    let segment_bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    report(
        "bytes on disk per record (segments)",
        segment_bytes as f64 / total_records as f64,
        "bytes",
        "",
    );

    let options = VerifyOptions::with_material(material);
    let start = Instant::now();
    let result = verify(&dir, &options).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert!(result.is_intact());
    report(
        &format!("verify {total_records} records (with key)"),
        total_records as f64 / elapsed,
        "records/s",
        ">= 1000000 records/s",
    );
    report("verify throughput", segment_bytes as f64 / elapsed / 1e6, "MB/s", "");

    let q = Query {
        actor: Some("user-0042".to_owned()),
        since: Some(Timestamp(T0 + DAY)),
        until: Some(Timestamp(T0 + 2 * DAY)),
        ..Query::default()
    };
    let hits = query(&dir, &q).unwrap().len();
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            black_box(query(&dir, &q).unwrap());
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    report(
        &format!("query actor + one day over {total_records} records ({hits} hits)"),
        times[times.len() / 2],
        "ms",
        "< 50 ms",
    );

    prove_rows(&dir, total_records);
}

/// Bytes of every file under `dir`.
fn bytes_under(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { bytes_under(&p) } else { std::fs::metadata(p).unwrap().len() })
        .sum()
}

/// Inclusion and consistency proofs from the tiles: median time and bytes read (tiles, index
/// entry and record), over seven proofs spread across the log.
fn prove_rows(dir: &std::path::Path, total_records: u64) {
    report(
        "bytes on disk per record (tiles)",
        bytes_under(&dir.join("tiles")) as f64 / total_records as f64,
        "bytes",
        "",
    );
    let (_, latest) = latest_checkpoint(dir).unwrap();
    let spread: Vec<u64> = (1..=7).map(|i| latest.size / 8 * i + i).collect();
    let bytes_of = |source: &ProofSource| match source {
        ProofSource::Tiles { bytes_read } => *bytes_read as f64,
        ProofSource::Records { reason } => panic!("proof from the records: {reason}"),
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut times, mut bytes) = (Vec::new(), Vec::new());
    for seq in &spread {
        let start = Instant::now();
        let bundle = inclusion_proof(dir, *seq, None).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        bytes.push(bytes_of(&bundle.source));
    }
    report(
        &format!("prove (inclusion) at {total_records} records"),
        median(times),
        "ms",
        "< 10 ms",
    );
    report(
        &format!("prove (inclusion) at {total_records} records, bytes read"),
        median(bytes),
        "bytes",
        "",
    );
    let (mut times, mut bytes) = (Vec::new(), Vec::new());
    for old in &spread {
        let start = Instant::now();
        let bundle = consistency_proof(dir, *old, None).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        bytes.push(bytes_of(&bundle.source));
    }
    report(&format!("consistency proof at {total_records} records"), median(times), "ms", "");
    report(
        &format!("consistency proof at {total_records} records, bytes read"),
        median(bytes),
        "bytes",
        "",
    );
}
