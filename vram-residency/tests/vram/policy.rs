//! The VRAM-only policy at start-up and per allocation, driven through the host backend's
//! simulated device attributes.

use std::sync::Arc;

use audit_events::{AuditEvent, EventKind, Severity};
use vram_residency::{
    HostBackend, HostDeviceConfig, RecordingSink, Residency, VramError, VramManager, VramPolicy,
};

use crate::{MIB, kinds, secret, used};

fn start(
    configs: Vec<HostDeviceConfig>,
    policy: VramPolicy,
) -> (Arc<HostBackend>, Arc<RecordingSink>, Result<VramManager, VramError>) {
    let backend = Arc::new(HostBackend::with_devices(configs));
    let sink = Arc::new(RecordingSink::new());
    let manager =
        VramManager::with_policy(backend.clone(), "worker-1", secret(), sink.clone(), policy);
    (backend, sink, manager)
}

#[test]
fn an_integrated_gpu_refuses_to_start_and_says_why() {
    let mut integrated = HostDeviceConfig::new(MIB);
    integrated.integrated = true;
    let (_, sink, manager) =
        start(vec![HostDeviceConfig::new(MIB), integrated], VramPolicy::default());
    assert!(matches!(
        manager,
        Err(VramError::PolicyViolation { device: 1, ref violation }) if violation.contains("integrated")
    ));
    let events = sink.events();
    assert_eq!(kinds(&events), [EventKind::PolicyViolation]);
    let AuditEvent::PolicyViolation {
        policy,
        violation,
        details,
        severity,
        action_taken,
        worker_id,
    } = &events[0]
    else {
        unreachable!()
    };
    assert_eq!(policy, "vram-only");
    assert!(violation.contains("integrated GPU"), "{violation}");
    assert!(details.contains("device 1") && details.contains("integrated=true"), "{details}");
    assert_eq!(*severity, Severity::Critical);
    assert_eq!(action_taken, "worker refused to start");
    assert!(worker_id.starts_with("worker-1"));
}

#[test]
fn host_memory_access_is_refused_only_under_the_strict_policy() {
    let mut reaching = HostDeviceConfig::new(MIB);
    reaching.pageable_memory_access = true;
    reaching.pageable_memory_access_uses_host_page_tables = true;
    let (_, sink, manager) = start(vec![reaching], VramPolicy::default());
    assert!(manager.is_ok());
    assert!(sink.events().is_empty());

    let mut strict = VramPolicy::default();
    strict.refuse_host_memory_access = true;
    let (_, sink, manager) = start(vec![reaching], strict);
    assert!(matches!(manager, Err(VramError::PolicyViolation { device: 0, .. })));
    assert_eq!(kinds(&sink.events()), [EventKind::PolicyViolation]);
}

#[test]
fn an_allocation_that_is_not_device_memory_is_freed_and_refused() {
    for residency in [Residency::Managed, Residency::Host, Residency::Other(4)] {
        let mut config = HostDeviceConfig::new(MIB);
        config.residency = residency;
        let (backend, sink, manager) = start(vec![config], VramPolicy::default());
        let manager = manager.unwrap();
        let result = manager.seal_model("s", 0, &[1; 1000]);
        assert!(
            matches!(result, Err(VramError::PolicyViolation { device: 0, ref violation })
                if violation.contains(residency.name())),
            "{result:?}"
        );
        let events = sink.events();
        assert_eq!(
            kinds(&events),
            [EventKind::PolicyViolation, EventKind::VramAllocationFailed],
            "{residency:?}"
        );
        let AuditEvent::PolicyViolation { action_taken, .. } = &events[0] else { unreachable!() };
        assert_eq!(action_taken, "allocation freed; shard refused");
        assert_eq!(used(&*backend, 0), 0);
        assert_eq!(manager.sealed_count(), 0);
    }
}

#[test]
fn invalid_worker_ids_are_refused() {
    for worker in
        ["", "worker 1", "w\u{1b}[2J", &"w".repeat(vram_residency::MAX_WORKER_ID_BYTES + 1)]
    {
        let backend = Arc::new(HostBackend::new(&[MIB]));
        let result = VramManager::new(backend, worker, secret(), Arc::new(RecordingSink::new()));
        assert!(matches!(result, Err(VramError::InvalidWorkerId { .. })), "{worker:?}");
    }
}

#[test]
fn the_manager_never_shows_the_secret() {
    let backend = Arc::new(HostBackend::new(&[MIB]));
    let secret = vram_residency::WorkerSecret::new([0xAB; 32]);
    assert_eq!(format!("{secret:?}"), "WorkerSecret(..)");
    let manager =
        VramManager::new(backend, "worker-1", secret, Arc::new(RecordingSink::new())).unwrap();
    let shown = format!("{manager:?}");
    assert!(!shown.contains("171") && !shown.to_lowercase().contains("abab"), "{shown}");
}
