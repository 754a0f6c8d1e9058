//! Building the VRAM audit events and handing them to the sink, counting what the sink refuses.
//!
//! An emission failure never fails the GPU operation that caused it; it is counted per event
//! kind so the worker can report it (and a lost `SealVerificationFailed` is visible as a count).

use std::collections::BTreeMap;
use std::sync::Arc;

use audit_events::{AuditEvent, Digest, EventKind, Severity};
use parking_lot::Mutex;

use crate::backend::{DeviceInfo, MemoryInfo};
use crate::sink::AuditSink;

/// Policy name used in `PolicyViolation` events.
const POLICY: &str = "vram-only";

/// Emits the events of one manager, all with the same worker id.
pub(crate) struct Auditor {
    sink: Arc<dyn AuditSink>,
    worker_id: String,
    failures: Mutex<BTreeMap<EventKind, u64>>,
}

impl Auditor {
    pub(crate) fn new(sink: Arc<dyn AuditSink>, worker_id: String) -> Self {
        Self { sink, worker_id, failures: Mutex::new(BTreeMap::new()) }
    }

    pub(crate) fn worker_id(&self) -> &str {
        &self.worker_id
    }

    pub(crate) fn failures(&self) -> BTreeMap<EventKind, u64> {
        self.failures.lock().clone()
    }

    fn emit(&self, event: AuditEvent) {
        let kind = event.kind();
        if self.sink.emit(event).is_err() {
            *self.failures.lock().entry(kind).or_insert(0) += 1;
        }
    }

    pub(crate) fn allocated(&self, device: u32, requested: u64, memory: MemoryInfo) {
        self.emit(AuditEvent::VramAllocated {
            requested_bytes: requested,
            allocated_bytes: requested,
            available_bytes: memory.available_bytes,
            used_bytes: memory.used_bytes,
            gpu_device: device,
            worker_id: self.worker_id.clone(),
        });
    }

    pub(crate) fn allocation_failed(
        &self,
        device: u32,
        requested: u64,
        available: u64,
        reason: String,
    ) {
        self.emit(AuditEvent::VramAllocationFailed {
            requested_bytes: requested,
            available_bytes: available,
            reason,
            gpu_device: device,
            worker_id: self.worker_id.clone(),
        });
    }

    pub(crate) fn deallocated(&self, shard_id: &str, device: u32, freed: u64, remaining: u64) {
        self.emit(AuditEvent::VramDeallocated {
            shard_id: shard_id.to_owned(),
            freed_bytes: freed,
            remaining_used: remaining,
            gpu_device: device,
            worker_id: self.worker_id.clone(),
        });
    }

    pub(crate) fn sealed(&self, shard_id: &str, device: u32, bytes: u64, digest: [u8; 32]) {
        self.emit(AuditEvent::VramSealed {
            shard_id: shard_id.to_owned(),
            gpu_device: device,
            vram_bytes: bytes,
            digest: Digest::Blake3(digest),
            worker_id: self.worker_id.clone(),
        });
    }

    pub(crate) fn verified(&self, shard_id: &str, device: u32, digest: [u8; 32]) {
        self.emit(AuditEvent::SealVerified {
            shard_id: shard_id.to_owned(),
            gpu_device: device,
            digest: Digest::Blake3(digest),
            worker_id: self.worker_id.clone(),
        });
    }

    pub(crate) fn verification_failed(
        &self,
        shard_id: &str,
        device: u32,
        reason: &str,
        expected: [u8; 32],
        actual: Option<[u8; 32]>,
    ) {
        self.emit(AuditEvent::SealVerificationFailed {
            shard_id: shard_id.to_owned(),
            gpu_device: device,
            reason: reason.to_owned(),
            expected_digest: Digest::Blake3(expected),
            actual_digest: actual.map(Digest::Blake3),
            worker_id: self.worker_id.clone(),
        });
    }

    pub(crate) fn integrity_violation(&self, shard_id: &str, expected: [u8; 32], actual: [u8; 32]) {
        self.emit(AuditEvent::IntegrityViolation {
            resource_type: "vram-shard".to_owned(),
            resource_id: shard_id.to_owned(),
            expected_hash: Digest::Blake3(expected),
            actual_hash: Digest::Blake3(actual),
            severity: Severity::Critical,
            action_taken: "verification failed; the shard must not serve inference".to_owned(),
            worker_id: Some(self.worker_id.clone()),
        });
    }

    /// A device that cannot satisfy the policy at start-up.
    pub(crate) fn device_refused(&self, info: &DeviceInfo, violations: &str) {
        self.emit(AuditEvent::PolicyViolation {
            policy: POLICY.to_owned(),
            violation: violations.to_owned(),
            details: format!(
                "device {} ({}): integrated={}, managed_memory={}, \
                 concurrent_managed_access={}, pageable_memory_access={}, \
                 uses_host_page_tables={}",
                info.device,
                info.name,
                info.integrated,
                info.managed_memory,
                info.concurrent_managed_access,
                info.pageable_memory_access,
                info.pageable_memory_access_uses_host_page_tables,
            ),
            severity: Severity::Critical,
            worker_id: self.worker_id.clone(),
            action_taken: "worker refused to start".to_owned(),
        });
    }

    /// A device whose attributes could not be read, so the policy cannot be shown to hold.
    pub(crate) fn device_unreadable(&self, device: u32, error: &str) {
        self.emit(AuditEvent::PolicyViolation {
            policy: POLICY.to_owned(),
            violation: "device attributes could not be read".to_owned(),
            details: format!("device {device}: {error}"),
            severity: Severity::Critical,
            worker_id: self.worker_id.clone(),
            action_taken: "worker refused to start".to_owned(),
        });
    }

    /// One allocation that is not device memory.
    pub(crate) fn allocation_refused(&self, device: u32, residency: &str, bytes: u64) {
        self.emit(AuditEvent::PolicyViolation {
            policy: POLICY.to_owned(),
            violation: format!("allocation is {residency} memory, not device memory"),
            details: format!("device {device}: allocation of {bytes} bytes"),
            severity: Severity::Critical,
            worker_id: self.worker_id.clone(),
            action_taken: "allocation freed; shard refused".to_owned(),
        });
    }
}
