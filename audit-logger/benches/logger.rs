//! Benchmarks of the logger facade: `emit` latency with the writer running (one and two
//! producer threads), the writer's rate, and the queue's memory high-water mark under a flood.
//!
//! The writer writes to the in-memory sink (records encoded, nothing kept, nothing synced):
//! these rows measure the facade, not the disk, and their names say so. Durable throughput
//! belongs to the store-backed rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use audit_events::{AuditEvent, EventKind};
use audit_logger::{AuditConfig, AuditError, AuditLogger, FlushMode, QueueBounds};
use audit_testkit::MemorySink;

const CRATE: &str = "audit-logger";
/// Events emitted between two flushes: well inside the queue, so no emit is refused.
const CHUNK: usize = 400;

fn bench(name: &str, value: f64, unit: &str, target: &str) {
    println!(
        "BENCH {{\"crate\":\"{CRATE}\",\"name\":\"{name}\",\"value\":{value:.1},\"unit\":\"{unit}\",\"target\":\"{target}\"}}"
    );
}

/// The routine kinds' example events, in catalogue order: realistic sizes, clean text.
fn routine_events() -> Vec<AuditEvent> {
    EventKind::ALL.iter().map(|k| k.example()).filter(|e| !e.is_critical()).collect()
}

fn logger(sink: &MemorySink, queue: QueueBounds) -> AuditLogger {
    let mut config = AuditConfig::disabled("bench-svc");
    config.queue = queue;
    AuditLogger::with_memory_sink(config, sink).unwrap()
}

/// Emits `total` events in chunks, timing each `emit` alone; flushes between chunks (not
/// timed) so the queue never fills. Returns the latencies in nanoseconds.
fn timed_emits(logger: &AuditLogger, events: &[AuditEvent], total: usize) -> Vec<u64> {
    let mut latencies = Vec::with_capacity(total);
    let mut chunk: Vec<AuditEvent> = Vec::with_capacity(CHUNK);
    let mut next = 0;
    while latencies.len() < total {
        chunk.clear();
        chunk.extend(events.iter().cycle().skip(next % events.len()).take(CHUNK).cloned());
        next += CHUNK;
        for event in chunk.drain(..) {
            let started = Instant::now();
            let result = logger.emit(event);
            let elapsed = started.elapsed();
            result.unwrap();
            latencies.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        }
        logger.flush().unwrap();
    }
    latencies
}

/// The value at `per_mille` thousandths of the sorted samples (nearest rank).
fn percentile(sorted: &[u64], per_mille: usize) -> f64 {
    let rank = (sorted.len() - 1) * per_mille / 1000;
    sorted[rank] as f64
}

fn timer_overhead() -> f64 {
    let mut samples: Vec<u64> = (0..100_000)
        .map(|_| {
            let started = Instant::now();
            let elapsed = black_box(started).elapsed();
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
        })
        .collect();
    samples.sort_unstable();
    percentile(&samples, 500)
}

fn emit_latency(producers: usize) {
    let sink = MemorySink::discarding();
    let logger = Arc::new(logger(&sink, QueueBounds::default()));
    let events = routine_events();
    // Warm up: thread start, allocator, caches.
    timed_emits(&logger, &events, 20_000);
    let per_thread = 200_000 / producers;
    let mut all: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..producers)
            .map(|_| {
                let logger = Arc::clone(&logger);
                let events = events.clone();
                s.spawn(move || timed_emits(&logger, &events, per_thread))
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    all.sort_unstable();
    let threads = if producers == 1 { "1 producer" } else { "2 producers" };
    let name = format!("emit latency, {threads}, writer running (memory sink)");
    bench(&format!("{name} p50"), percentile(&all, 500), "ns", "<= 300 ns");
    bench(&format!("{name} p99"), percentile(&all, 990), "ns", "<= 2000 ns");
    bench(&format!("{name} p999"), percentile(&all, 999), "ns", "");
    Arc::try_unwrap(logger).unwrap().shutdown().unwrap();
}

/// One producer emitting as fast as it can, backing off with `flush` when refused: the
/// writer's sustained rate when it does everything but the disk.
fn writer_rate() {
    let sink = MemorySink::discarding();
    let logger = logger(&sink, QueueBounds::default());
    let events = routine_events();
    let total = 300_000;
    let started = Instant::now();
    let mut refused = 0u64;
    for event in events.iter().cycle().take(total) {
        while let Err(err) = logger.emit(event.clone()) {
            assert!(matches!(err, AuditError::BufferFull { .. }), "{err}");
            refused += 1;
            logger.flush().unwrap();
        }
    }
    logger.flush().unwrap();
    let rate = total as f64 / started.elapsed().as_secs_f64();
    bench("events written per second, Immediate, memory sink (not durable)", rate, "events/s", "");
    let stats = logger.stats();
    assert_eq!(stats.written, total as u64);
    black_box(refused);
    logger.shutdown().unwrap();
}

/// One producer emitting as fast as it can into a real log on this machine's disk, backing off
/// with `flush` when refused; every event is durable when the clock stops.
fn durable_rate(flush: FlushMode, label: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = AuditConfig::local("bench-durable", tmp.path().join("log"));
    config.flush = flush;
    let logger = AuditLogger::new(config).unwrap();
    let events = routine_events();
    let total = 300_000;
    let started = Instant::now();
    for event in events.iter().cycle().take(total) {
        while let Err(err) = logger.emit(event.clone()) {
            assert!(matches!(err, AuditError::BufferFull { .. }), "{err}");
            logger.flush().unwrap();
        }
    }
    logger.flush().unwrap();
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let target = if label == "Immediate" { ">= 250000 events/s" } else { "" };
    bench(
        &format!("durable events per second, {label}, store on local disk"),
        rate,
        "events/s",
        target,
    );
    logger.shutdown().unwrap();
}

/// `emit` latency with the writer appending to a real log on disk.
fn emit_latency_store() {
    let tmp = tempfile::tempdir().unwrap();
    let logger =
        AuditLogger::new(AuditConfig::local("bench-latency", tmp.path().join("log"))).unwrap();
    let events = routine_events();
    timed_emits(&logger, &events, 20_000);
    let mut all = timed_emits(&logger, &events, 200_000);
    all.sort_unstable();
    let name = "emit latency, 1 producer, writer running (store on local disk)";
    bench(&format!("{name} p50"), percentile(&all, 500), "ns", "<= 300 ns");
    bench(&format!("{name} p99"), percentile(&all, 990), "ns", "<= 2000 ns");
    bench(&format!("{name} p999"), percentile(&all, 999), "ns", "");
    logger.shutdown().unwrap();
}

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Two threads flood the logger while the writer is stalled: the queue fills to its byte
/// bound and stays there, however much is thrown at it.
fn flood_memory() {
    let sink = MemorySink::discarding();
    let mut bounds = QueueBounds::default();
    bounds.max_events = 100_000;
    let logger = logger(&sink, bounds);
    let hold = sink.hold_appends();
    logger.emit(EventKind::TaskCompleted.example()).unwrap();
    assert!(hold.wait_until_writer_stalled(Duration::from_secs(10)));
    let big = "\u{1b}[2J hostile ".repeat(20_000);
    let rss_before = resident_bytes();
    let refused: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let logger = &logger;
                let big = &big;
                s.spawn(move || {
                    let mut refused = 0u64;
                    for i in 0..40_000u32 {
                        let mut event = EventKind::PoolDeleted.example();
                        if let AuditEvent::PoolDeleted { reason, .. } = &mut event {
                            // Every 64th event carries 260 kB of hostile text.
                            *reason = if i % 64 == 0 { big.clone() } else { "x".repeat(900) };
                        }
                        if logger.emit(event).is_err() {
                            refused += 1;
                        }
                    }
                    refused
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let stats = logger.stats();
    let bound = QueueBounds::default().max_bytes as f64;
    bench(
        "queue bytes high-water under a flood (writer stalled, 10 MiB bound)",
        stats.queue_bytes_high_water as f64,
        "bytes",
        "<= 10485760",
    );
    if let (Some(before), Some(after)) = (rss_before, resident_bytes()) {
        bench(
            "resident memory growth while the flooded queue is full",
            after.saturating_sub(before) as f64,
            "bytes",
            "<= queue bytes + constant",
        );
    }
    assert!(stats.queue_bytes_high_water as f64 <= bound);
    assert!(refused > 0);
    drop(hold);
    logger.shutdown().unwrap();
}

fn main() {
    bench(
        "timer overhead included in each latency sample (Instant::now pair)",
        timer_overhead(),
        "ns",
        "",
    );
    emit_latency(1);
    emit_latency(2);
    emit_latency_store();
    writer_rate();
    durable_rate(FlushMode::Immediate, "Immediate");
    durable_rate(FlushMode::BATCHED_DEFAULT, "Batched (100 events / 1 s)");
    flood_memory();
}
