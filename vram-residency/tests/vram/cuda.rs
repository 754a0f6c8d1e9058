//! The CUDA backend (feature `cuda`). Without a driver each test prints why it is skipped and
//! passes; with `VRAM_REQUIRE_GPU=1` a missing driver fails instead, for runs on GPU machines.

use std::sync::Arc;

use audit_events::EventKind;
use vram_residency::{
    BackendKind, CudaBackend, RecordingSink, Residency, STAGING_BYTES, VramBackend, VramError,
    VramManager,
};

use crate::{MIB, kinds, secret, shard_bytes};

fn gpu_required() -> bool {
    std::env::var("VRAM_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// The backend, or `None` (after printing why) when no driver is present and none is required.
fn backend_or_skip(test: &str) -> Option<Arc<CudaBackend>> {
    match CudaBackend::open_all() {
        Ok(backend) => Some(Arc::new(backend)),
        Err(error) => {
            assert!(
                !gpu_required(),
                "VRAM_REQUIRE_GPU=1 but the CUDA backend is unavailable: {error}"
            );
            assert!(
                matches!(error, VramError::DriverUnavailable { .. }),
                "without a usable driver the error must be DriverUnavailable, got {error:?}"
            );
            println!("skipping {test}: {error}");
            None
        }
    }
}

#[test]
fn opening_without_a_driver_is_an_error_not_a_panic() {
    // On a machine without CUDA this is the assertion that matters; with a GPU it opens.
    match CudaBackend::open(&[0]) {
        Ok(backend) => assert_eq!(backend.kind(), BackendKind::Cuda),
        Err(error) => {
            assert!(!gpu_required(), "VRAM_REQUIRE_GPU=1 but: {error}");
            assert!(matches!(error, VramError::DriverUnavailable { .. }), "{error:?}");
        }
    }
}

#[test]
fn a_discrete_gpu_passes_the_policy_and_allocations_are_device_memory() {
    let Some(backend) = backend_or_skip("policy check") else { return };
    let sink = Arc::new(RecordingSink::new());
    let manager = VramManager::new(backend.clone(), "gpu-worker", secret(), sink.clone()).unwrap();
    assert_eq!(manager.event_worker_id(), "gpu-worker");
    for info in manager.devices() {
        println!("device {}: {info:?}", info.device);
        assert!(!info.integrated);
    }
    let id = backend.allocate(0, MIB).unwrap();
    assert_eq!(backend.residency(id), Ok(Residency::Device));
    backend.free(id).unwrap();
}

#[test]
fn cuda_shards_seal_verify_and_detect_changes_across_staging_chunks() {
    let Some(backend) = backend_or_skip("seal and verify") else { return };
    let sink = Arc::new(RecordingSink::new());
    let manager = VramManager::new(backend.clone(), "gpu-worker", secret(), sink.clone()).unwrap();
    // One small shard, and one that spans three staging chunks with a ragged end.
    let sizes = [4096, 2 * STAGING_BYTES as usize + 12_345];
    for (i, size) in sizes.into_iter().enumerate() {
        let id = format!("cuda-shard-{i}");
        let bytes = shard_bytes(size, i as u8);
        let shard = manager.seal_model(&id, 0, &bytes).unwrap();
        for _ in 0..3 {
            manager.verify_sealed(&shard).unwrap();
        }
        let allocation = manager.allocation_id(0, &id).unwrap();
        for offset in [0, size / 2, size - 1] {
            let flipped = [bytes[offset] ^ 1];
            backend.upload(allocation, offset as u64, &flipped).unwrap();
            assert!(matches!(manager.verify_sealed(&shard), Err(VramError::DigestMismatch { .. })));
            backend.upload(allocation, offset as u64, &bytes[offset..=offset]).unwrap();
            manager.verify_sealed(&shard).unwrap();
        }
        manager.release(&shard).unwrap();
    }
    let events = sink.events();
    assert!(kinds(&events).contains(&EventKind::IntegrityViolation));
    assert_eq!(manager.sealed_count(), 0);
}

#[test]
fn cuda_capacity_exhaustion_is_insufficient_vram() {
    let Some(backend) = backend_or_skip("capacity exhaustion") else { return };
    let total = backend.memory_info(0).unwrap().total_bytes;
    assert!(matches!(
        backend.allocate(0, total.saturating_mul(2)),
        Err(VramError::InsufficientVram { device: 0, .. })
    ));
}
