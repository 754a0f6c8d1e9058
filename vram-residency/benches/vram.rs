//! Seal and verify throughput of `vram-residency` for 1 MiB, 256 MiB and 1 GiB shards.
//!
//! Host backend always; with `--features cuda` and a driver present, the same rows for CUDA,
//! named with the GPU. Prints one `BENCH {...}` line per measurement (GB/s, 10^9 bytes per
//! second, median of the timed runs after one warm-up run).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_possible_truncation
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use vram_residency::{HostBackend, RecordingSink, VramBackend, VramManager, WorkerSecret};

const MIB: usize = 1 << 20;
const CRATE: &str = "vram-residency";

/// (label, bytes, timed seal runs, timed verify runs): a full run takes well under 2 minutes
/// on a 2-core machine.
const CASES: [(&str, usize, usize, usize); 3] =
    [("1 MiB", MIB, 200, 400), ("256 MiB", 256 * MIB, 5, 9), ("1 GiB", 1024 * MIB, 3, 5)];

fn bench_line(name: &str, value: f64, target: &str) {
    println!(
        "BENCH {{\"crate\":\"{CRATE}\",\"name\":\"{name}\",\"value\":{value:.3},\"unit\":\"GB/s\",\"target\":\"{target}\"}}"
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn gb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e9
}

/// Times sealing (allocate, upload, digest, sign; the release after each run is not timed)
/// and verification of one shard of `bytes` bytes.
fn run(manager: &VramManager, bytes: &[u8], seal_runs: usize, verify_runs: usize) -> (f64, f64) {
    let mut seal = Vec::with_capacity(seal_runs);
    for i in 0..=seal_runs {
        let start = Instant::now();
        let shard = manager.seal_model("bench-shard", 0, bytes).unwrap();
        let elapsed = start.elapsed();
        if i > 0 {
            seal.push(elapsed);
        }
        manager.release(&shard).unwrap();
    }
    let shard = manager.seal_model("bench-shard", 0, bytes).unwrap();
    let mut verify = Vec::with_capacity(verify_runs);
    for i in 0..=verify_runs {
        let start = Instant::now();
        manager.verify_sealed(&shard).unwrap();
        let elapsed = start.elapsed();
        if i > 0 {
            verify.push(elapsed);
        }
    }
    manager.release(&shard).unwrap();
    (gb_per_s(bytes.len(), median(seal)), gb_per_s(bytes.len(), median(verify)))
}

fn bench_backend(prefix: &str, backend: Arc<dyn VramBackend>, verify_target: &str) {
    let sink = Arc::new(RecordingSink::new());
    let manager =
        VramManager::new(backend, "bench-worker", WorkerSecret::new([3; 32]), sink.clone())
            .expect("manager");
    for (label, len, seal_runs, verify_runs) in CASES {
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let (seal, verify) = run(&manager, &bytes, seal_runs, verify_runs);
        bench_line(&format!("{prefix} seal {label}"), seal, "");
        bench_line(&format!("{prefix} verify {label}"), verify, verify_target);
        // Events are not what is measured here; keep the sink from growing across cases.
        sink.take();
    }
}

/// Single-threaded BLAKE3 over 256 MiB: the per-core ceiling host verification scales from
/// (verify on n free cores approaches n times this), to read the host rows on a busy machine.
fn bench_blake3_one_thread() {
    let bytes: Vec<u8> = (0..256 * MIB).map(|i| (i % 251) as u8).collect();
    let mut runs = Vec::new();
    for i in 0..=5 {
        let start = Instant::now();
        let digest = blake3::Hasher::new().update(&bytes).finalize();
        let elapsed = start.elapsed();
        std::hint::black_box(digest);
        if i > 0 {
            runs.push(elapsed);
        }
    }
    bench_line(
        "host blake3 one thread 256 MiB (reference)",
        gb_per_s(bytes.len(), median(runs)),
        "",
    );
}

fn main() {
    // Room for the largest shard plus slack on one simulated device.
    let host = Arc::new(HostBackend::new(&[2048 * MIB as u64]));
    bench_backend("host", host, "verify >= 2 GB/s");
    bench_blake3_one_thread();
    cuda::bench();
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::sync::Arc;

    use vram_residency::{CudaBackend, VramBackend};

    pub(crate) fn bench() {
        match CudaBackend::open(&[0]) {
            Ok(backend) => {
                let name = backend.device_info(0).map_or_else(|_| "unknown GPU".into(), |i| i.name);
                super::bench_backend(
                    &format!("cuda ({name})"),
                    Arc::new(backend),
                    "verify >= 10 GB/s",
                );
            }
            Err(error) => eprintln!("skipping CUDA benchmarks: {error}"),
        }
    }
}

#[cfg(not(feature = "cuda"))]
mod cuda {
    pub(crate) fn bench() {
        eprintln!("CUDA benchmarks not built: enable the `cuda` feature");
    }
}
