//! Every VRAM event lands in a real audit log (the logger over the store) and the log verifies.

use std::sync::Arc;

use audit_events::{AuditEvent, EventKind};
use audit_logger::{AuditConfig, AuditLogger};
use audit_store::{VerifyOptions, verify};
use audit_testkit::tamper;
use vram_residency::{HostBackend, VramError, VramManager};

use crate::{MIB, secret, shard_bytes};

#[test]
fn every_vram_event_lands_in_a_real_log_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let mut logger = AuditLogger::new(AuditConfig::local("worker-gpu-0", &dir)).unwrap();
    let material = logger.take_verifier_material().unwrap();
    let logger = Arc::new(logger);
    let backend = Arc::new(HostBackend::new(&[4 * MIB]));
    let manager =
        VramManager::new(backend.clone(), "worker-gpu-0", secret(), logger.clone()).unwrap();

    let good = manager.seal_model("shard-good", 0, &shard_bytes(MIB as usize, 1)).unwrap();
    manager.verify_sealed(&good).unwrap();
    let bad = manager.seal_model("shard-bad", 0, &shard_bytes(MIB as usize, 2)).unwrap();
    let id = manager.allocation_id(0, "shard-bad").unwrap();
    backend.corrupt_byte(id, 12_345).unwrap();
    assert!(matches!(manager.verify_sealed(&bad), Err(VramError::DigestMismatch { .. })));
    assert!(manager.seal_model("shard-huge", 0, &shard_bytes(8 * MIB as usize, 3)).is_err());
    manager.release(&good).unwrap();
    drop(manager);
    assert_eq!(logger.stats().dropped_total, 0);
    Arc::into_inner(logger).unwrap().shutdown().unwrap();

    let report = verify(&dir, &VerifyOptions::with_material(material)).unwrap();
    assert!(report.is_intact(), "{report:#?}");
    let kinds: Vec<EventKind> = tamper::read_records(&dir)
        .unwrap()
        .iter()
        .filter_map(|r| r.event().map(AuditEvent::kind))
        .collect();
    for wanted in [
        EventKind::VramAllocated,
        EventKind::VramSealed,
        EventKind::SealVerified,
        EventKind::SealVerificationFailed,
        EventKind::IntegrityViolation,
        EventKind::VramAllocationFailed,
        EventKind::VramDeallocated,
    ] {
        assert!(kinds.contains(&wanted), "{wanted} missing from {kinds:?}");
    }
}
