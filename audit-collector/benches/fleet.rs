//! Fleet benchmarks against a throwaway PostgreSQL cluster on this machine: records per second
//! ingested (every shipment checked: chain, Merkle root, consistency proof, then binary COPY)
//! with several concurrent shippers; records per second of `fleet verify` (chain and roots
//! recomputed from the database); shipper lag while a writer appends 10,000 events/s; and the
//! latency of a fleet query (actor filter, one page of 100) over every stored row.
//!
//! Prints `BENCH {json}` lines for `cargo xtask bench`. Sizes: `AUDIT_BENCH_FLEET_RECORDS`
//! records in all (default 10^6, spread over the shippers); `AUDIT_BENCH_SMALL=1` uses 10^5.
//! `AUDIT_BENCH_EXPERIMENT_SQL` is run against the fleet database before ingestion (how the
//! index costs in `migrations/0001_fleet.sql` were measured, by dropping indexes).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use audit_collector::fleet::{self, RecordFilter};
use audit_collector::ship::{self, ShipOptions, Stop};
use audit_events::{Entry, Timestamp};
use audit_store::LogWriter;
use support::Fleet;

/// 2026-11-22T00:00:00Z.
const T0: i64 = audit_testkit::fixture::T0.0;
const SHIPPERS: usize = 4;

fn report(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "BENCH {{\"crate\":\"audit-collector\",\"name\":\"{name}\",\"value\":{value:.1},\"unit\":\"{unit}\",\"target\":\"{target}\"}}"
    );
}

use audit_testkit::fixture::{fleet_entry as entry, log_config as config};

/// A closed log of `records` events, written in batches of 10,000 one second apart.
fn write_log(dir: &Path, service: &str, records: u64) {
    let (mut writer, _) = LogWriter::create(dir, config(service), Timestamp(T0)).unwrap();
    let mut i = 0;
    while i < records {
        let n = (records - i).min(10_000);
        let time = T0 + i64::try_from(i / 10_000).unwrap() * 1_000_000_000;
        let batch: Vec<Entry> = (i..i + n).map(|j| entry(j, time)).collect();
        writer.append_batch(&batch, Timestamp(time)).unwrap();
        i += n;
    }
    writer
        .close(Timestamp(T0 + i64::try_from(records / 10_000 + 1).unwrap() * 1_000_000_000))
        .unwrap();
}

fn main() {
    let total: u64 = match std::env::var("AUDIT_BENCH_FLEET_RECORDS") {
        Ok(v) => v.parse().unwrap(),
        Err(_) if std::env::var_os("AUDIT_BENCH_SMALL").is_some() => 100_000,
        Err(_) => 1_000_000,
    };
    let collector = Fleet::start_with_pool(8);
    let tmp = tempfile::tempdir().unwrap();
    let per_log = total / SHIPPERS as u64;
    let dirs: Vec<_> = (0..SHIPPERS).map(|i| tmp.path().join(format!("log{i}"))).collect();
    for (i, dir) in dirs.iter().enumerate() {
        write_log(dir, &format!("worker-{i}"), per_log);
        let key = audit_store::LogReader::open(dir).unwrap().meta().public_key.clone();
        collector.runtime.block_on(collector.db.enroll(&key)).unwrap();
    }

    if let Ok(sql) = std::env::var("AUDIT_BENCH_EXPERIMENT_SQL") {
        collector.runtime.block_on(async {
            collector.db.client().await.unwrap().batch_execute(&sql).await.unwrap();
        });
    }
    // Ingestion: the shippers concurrently, everything checkpointed.
    let start = Instant::now();
    let threads: Vec<_> = dirs
        .iter()
        .map(|dir| {
            let client = collector.client(None);
            let options = ShipOptions::new(dir.clone(), 5000, false);
            std::thread::spawn(move || ship::run(&client, &options, &Stop::new(), &mut |_| {}))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let stored: i64 = collector.runtime.block_on(async {
        let client = collector.db.client().await.unwrap();
        client.query_one("SELECT count(*) FROM records", &[]).await.unwrap().get(0)
    });
    let elapsed = start.elapsed().as_secs_f64();
    report(
        &format!("ingest, {SHIPPERS} shippers, {stored} records (checked + COPY)"),
        stored as f64 / elapsed,
        "records/s",
        ">= 150000",
    );

    // fleet verify: chain and roots recomputed from the database.
    let start = Instant::now();
    let verdicts = collector
        .runtime
        .block_on(fleet::verify(&collector.db, &collector.witness.verifier()))
        .unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert!(verdicts["logs"].as_array().unwrap().iter().all(|l| l["verdict"] == "PASS"));
    report(&format!("fleet verify, {stored} records"), stored as f64 / elapsed, "records/s", "");

    // Query: actor filter, first page of 100, over every stored row.
    let filter = RecordFilter {
        actor: Some("user-0042".into()),
        limit: Some(100),
        ..RecordFilter::default()
    };
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let page = collector.runtime.block_on(fleet::records(&collector.db, &filter)).unwrap();
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
        assert!(!page["records"].as_array().unwrap().is_empty());
    }
    report(&format!("fleet query actor, page of 100, {stored} rows (best of 5)"), best, "ms", "");

    lag(&collector, tmp.path());
}

/// A writer appending 10,000 events/s (batches of 1,000 every 100 ms, seals every second) while
/// a shipper follows the log; the lag is sampled at every batch.
fn lag(collector: &Fleet, tmp: &Path) {
    let dir = tmp.join("steady");
    let mut config = config("steady");
    config.seal_epoch = Duration::from_secs(1);
    let start_time = Timestamp::now();
    let (mut writer, _) = LogWriter::create(&dir, config, start_time).unwrap();
    let key = writer.meta().public_key.clone();
    collector.runtime.block_on(collector.db.enroll(&key)).unwrap();
    let client = collector.client(None);
    let options = ShipOptions::new(dir.clone(), 5000, true);
    let stop = Arc::new(Stop::new());
    let shipped = Arc::new(Mutex::new(0u64));
    let (tx, rx) = mpsc::channel::<()>();
    let shipper = {
        let (stop, shipped) = (Arc::clone(&stop), Arc::clone(&shipped));
        std::thread::spawn(move || {
            ship::run(&client, &options, &stop, &mut |p| {
                *shipped.lock().unwrap() = p.shipped;
                let _ = tx.send(());
            })
        })
    };
    // A timer without sleeping: wait on a condition nobody signals.
    let tick = (Mutex::new(()), Condvar::new());
    let mut samples = Vec::new();
    let began = Instant::now();
    let mut i = 0u64;
    for step in 1..=100u32 {
        let now = Timestamp::now();
        let batch: Vec<Entry> = (i..i + 1000).map(|j| entry(j, now.0)).collect();
        writer.append_batch(&batch, now).unwrap();
        writer.seal_if_due(Timestamp::now()).unwrap();
        i += 1000;
        let written = writer.next_seq();
        samples.push(written.saturating_sub(*shipped.lock().unwrap()));
        let due = began + Duration::from_millis(100) * step;
        let guard = tick.0.lock().unwrap();
        let _ = tick.1.wait_timeout(guard, due.saturating_duration_since(Instant::now())).unwrap();
        while rx.try_recv().is_ok() {}
    }
    writer.close(Timestamp::now()).unwrap();
    stop.stop();
    shipper.join().unwrap().unwrap();
    samples.sort_unstable();
    let p50 = samples[samples.len() / 2] as f64;
    let max = *samples.last().unwrap() as f64;
    report("shipper lag at 10,000 events/s, p50 (1 s seal epoch)", p50, "records", "");
    report("shipper lag at 10,000 events/s, max (1 s seal epoch)", max, "records", "");
}
