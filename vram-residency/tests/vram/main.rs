//! Integration tests of `vram-residency`: sealing, verification, policy and auditing through
//! the public API, on the host backend (always) and on CUDA (feature `cuda`, when a driver is
//! present).
//!
//! Every manager here takes its audit sink as one constructor argument, so the same scenarios
//! can run against a real audit log by passing the logger instead of a [`RecordingSink`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::cast_possible_truncation
)]

mod attacks;
mod audit_log;
#[cfg(feature = "cuda")]
mod cuda;
mod lifecycle;
mod policy;

use std::sync::Arc;

use audit_events::{AuditEvent, EventKind};
use vram_residency::{HostBackend, RecordingSink, VramBackend, VramManager, WorkerSecret};

pub(crate) const MIB: u64 = 1 << 20;

pub(crate) fn secret() -> WorkerSecret {
    WorkerSecret::new([0x5A; 32])
}

/// A manager over a fresh host backend with devices of these capacities.
pub(crate) struct Fixture {
    pub(crate) backend: Arc<HostBackend>,
    pub(crate) sink: Arc<RecordingSink>,
    pub(crate) manager: VramManager,
}

pub(crate) fn fixture(capacities: &[u64]) -> Fixture {
    let backend = Arc::new(HostBackend::new(capacities));
    let sink = Arc::new(RecordingSink::new());
    let manager = VramManager::new(backend.clone(), "worker-1", secret(), sink.clone()).unwrap();
    Fixture { backend, sink, manager }
}

/// Deterministic shard contents.
pub(crate) fn shard_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

pub(crate) fn kinds(events: &[AuditEvent]) -> Vec<EventKind> {
    events.iter().map(AuditEvent::kind).collect()
}

/// Bytes in use on a device of a backend.
pub(crate) fn used(backend: &dyn VramBackend, device: u32) -> u64 {
    backend.memory_info(device).unwrap().used_bytes
}
