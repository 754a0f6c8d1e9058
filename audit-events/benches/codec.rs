//! Encoding benchmarks: encode and decode time per record and encoded size of a typical
//! `auth.success`. Prints `BENCH {json}` lines for `cargo xtask bench`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use audit_events::{AuditId, Body, EventKind, EventRecord, LogId, Record, RecordHeader, Timestamp};

fn report(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "BENCH {{\"crate\":\"audit-events\",\"name\":\"{name}\",\"value\":{value:.1},\"unit\":\"{unit}\",\"target\":\"{target}\"}}"
    );
}

/// Median nanoseconds per call of `f` over several timed rounds.
fn ns_per_op(mut f: impl FnMut()) -> f64 {
    const PER_ROUND: u32 = 20_000;
    for _ in 0..PER_ROUND {
        f();
    }
    let mut rounds: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(PER_ROUND)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn main() {
    let record = Record {
        log_id: LogId([0x4c; 16]),
        seq: 1_234_567,
        time: Timestamp::now(),
        audit_id: AuditId([0x1d; 16]),
        service_id: "orchestrator-1".to_owned(),
        body: Body::Event(EventRecord::new(EventKind::AuthSuccess.example())),
        context: Some(audit_events::RecordContext::default()),
    };
    let bytes = record.encode().unwrap();
    let mut buf = Vec::with_capacity(256);
    report(
        "auth.success encode",
        ns_per_op(|| {
            buf.clear();
            black_box(&record).encode_into(&mut buf).unwrap();
        }),
        "ns/record",
        "",
    );
    report(
        "auth.success decode (strict)",
        ns_per_op(|| {
            black_box(Record::decode(black_box(&bytes)).unwrap());
        }),
        "ns/record",
        "",
    );
    report(
        "auth.success header peek",
        ns_per_op(|| {
            black_box(RecordHeader::peek(black_box(&bytes)).unwrap());
        }),
        "ns/record",
        "",
    );
    report(
        "auth.success json line",
        ns_per_op(|| {
            black_box(record.to_json_line(None, None).unwrap());
        }),
        "ns/record",
        "",
    );
    report("auth.success encoded size", bytes.len() as f64, "bytes", "< 200 (JSON lines: 512)");
}
