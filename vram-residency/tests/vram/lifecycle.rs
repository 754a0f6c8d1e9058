//! The ordinary life of a shard: seal, verify (many times, from many threads), release, drop,
//! and the events each step leaves behind.

use std::sync::Arc;
use std::thread;

use audit_events::{AuditEvent, Digest, EventKind};
use vram_residency::{
    BackendKind, HOST_BACKEND_WORKER_SUFFIX, RecordingSink, VramError, VramManager, shard_digest,
};

use crate::{MIB, fixture, kinds, secret, shard_bytes, used};

#[test]
fn a_sealed_shard_verifies_every_time_and_each_step_is_audited() {
    let f = fixture(&[64 * MIB]);
    let bytes = shard_bytes(100_000, 1);
    let shard = f.manager.seal_model("llama-7b.shard-00", 0, &bytes).unwrap();
    assert_eq!(shard.shard_id(), "llama-7b.shard-00");
    assert_eq!(shard.gpu_device(), 0);
    assert_eq!(shard.vram_bytes(), 100_000);
    assert_eq!(shard.digest(), shard_digest(&bytes));

    // The design this replaces lost its allocations, so every verification failed.
    for _ in 0..20 {
        f.manager.verify_sealed(&shard).unwrap();
    }

    let events = f.sink.events();
    let mut expected = vec![EventKind::VramAllocated, EventKind::VramSealed];
    expected.extend([EventKind::SealVerified; 20]);
    assert_eq!(kinds(&events), expected);
    let worker = format!("worker-1{HOST_BACKEND_WORKER_SUFFIX}");
    assert_eq!(
        events[0],
        AuditEvent::VramAllocated {
            requested_bytes: 100_000,
            allocated_bytes: 100_000,
            available_bytes: 64 * MIB - 100_000,
            used_bytes: 100_000,
            gpu_device: 0,
            worker_id: worker.clone(),
        }
    );
    assert_eq!(
        events[1],
        AuditEvent::VramSealed {
            shard_id: "llama-7b.shard-00".into(),
            gpu_device: 0,
            vram_bytes: 100_000,
            digest: shard_digest(&bytes),
            worker_id: worker.clone(),
        }
    );
    assert_eq!(
        events[2],
        AuditEvent::SealVerified {
            shard_id: "llama-7b.shard-00".into(),
            gpu_device: 0,
            digest: shard_digest(&bytes),
            worker_id: worker,
        }
    );
    assert!(f.manager.audit_failures().is_empty());
}

#[test]
fn the_host_backend_marks_itself_in_every_event() {
    let f = fixture(&[MIB]);
    assert_eq!(f.manager.backend_kind(), BackendKind::Host);
    assert_eq!(f.manager.devices()[0].name, vram_residency::HOST_DEVICE_NAME);
    let shard = f.manager.seal_model("s", 0, b"bytes").unwrap();
    f.manager.verify_sealed(&shard).unwrap();
    f.manager.release(&shard).unwrap();
    let _ = f.manager.seal_model("s", 0, b"");
    let events = f.sink.events();
    assert_eq!(events.len(), 5);
    for event in &events {
        let worker = event.resource_ids().last().copied().unwrap();
        assert!(worker.ends_with(HOST_BACKEND_WORKER_SUFFIX), "{event:?}");
    }
}

#[test]
fn shards_larger_than_one_mib_hash_in_parallel_to_the_same_digest() {
    let f = fixture(&[16 * MIB]);
    let bytes = shard_bytes(3 * MIB as usize + 17, 9);
    let shard = f.manager.seal_model("big", 0, &bytes).unwrap();
    assert_eq!(shard.digest(), Digest::Blake3(*blake3::hash(&bytes).as_bytes()));
    f.manager.verify_sealed(&shard).unwrap();
}

#[test]
fn release_frees_the_memory_and_the_seal_stops_verifying() {
    let f = fixture(&[MIB]);
    let shard = f.manager.seal_model("s1", 0, &shard_bytes(1000, 2)).unwrap();
    assert_eq!(used(&*f.backend, 0), 1000);
    f.manager.release(&shard).unwrap();
    assert_eq!(used(&*f.backend, 0), 0);
    assert_eq!(f.manager.sealed_count(), 0);

    let unknown = VramError::UnknownShard { shard_id: "s1".into(), device: 0 };
    assert_eq!(f.manager.verify_sealed(&shard), Err(unknown.clone()));
    assert_eq!(f.manager.release(&shard), Err(unknown));

    let events = f.sink.events();
    assert_eq!(
        events[2],
        AuditEvent::VramDeallocated {
            shard_id: "s1".into(),
            freed_bytes: 1000,
            remaining_used: 0,
            gpu_device: 0,
            worker_id: f.manager.event_worker_id().to_owned(),
        }
    );
    assert_eq!(
        kinds(&events[3..]),
        [EventKind::SealVerificationFailed, EventKind::SealVerificationFailed]
    );
}

#[test]
fn dropping_the_manager_frees_every_shard_and_says_so() {
    let f = fixture(&[MIB, MIB]);
    f.manager.seal_model("a", 0, &[1; 100]).unwrap();
    f.manager.seal_model("b", 1, &[2; 200]).unwrap();
    f.manager.seal_model("c", 1, &[3; 300]).unwrap();
    let backend = f.backend.clone();
    let sink = f.sink.clone();
    drop(f.manager);
    assert_eq!(used(&*backend, 0), 0);
    assert_eq!(used(&*backend, 1), 0);
    let mut freed: Vec<(String, u64, u32)> = sink
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::VramDeallocated { shard_id, freed_bytes, gpu_device, .. } => {
                Some((shard_id, freed_bytes, gpu_device))
            }
            _ => None,
        })
        .collect();
    freed.sort();
    assert_eq!(
        freed,
        [("a".to_owned(), 100, 0), ("b".to_owned(), 200, 1), ("c".to_owned(), 300, 1)]
    );
}

#[test]
fn one_id_is_sealed_once_per_device() {
    let f = fixture(&[MIB, MIB]);
    let first = f.manager.seal_model("s", 0, &[1; 10]).unwrap();
    assert_eq!(
        f.manager.seal_model("s", 0, &[2; 10]),
        Err(VramError::ShardAlreadySealed { shard_id: "s".into(), device: 0 })
    );
    // The same id on another device is another shard (tensor-parallel replicas).
    let other = f.manager.seal_model("s", 1, &[2; 10]).unwrap();
    f.manager.verify_sealed(&first).unwrap();
    f.manager.verify_sealed(&other).unwrap();
    assert_eq!(used(&*f.backend, 0), 10);
}

#[test]
fn audit_sink_failures_never_fail_the_operation_and_are_counted_per_kind() {
    let f = fixture(&[MIB]);
    f.sink.set_failing(true);
    let shard = f.manager.seal_model("s", 0, &[7; 64]).unwrap();
    f.manager.verify_sealed(&shard).unwrap();
    f.manager.verify_sealed(&shard).unwrap();
    let _ = f.manager.seal_model("bad/id", 0, &[7; 64]);
    f.sink.set_failing(false);
    f.manager.verify_sealed(&shard).unwrap();

    let failures = f.manager.audit_failures();
    assert_eq!(failures.get(&EventKind::VramAllocated), Some(&1));
    assert_eq!(failures.get(&EventKind::VramSealed), Some(&1));
    assert_eq!(failures.get(&EventKind::SealVerified), Some(&2));
    assert_eq!(failures.get(&EventKind::VramAllocationFailed), Some(&1));
    assert_eq!(failures.values().sum::<u64>(), 5);
    assert_eq!(kinds(&f.sink.events()), [EventKind::SealVerified]);
}

#[test]
fn threads_seal_and_verify_concurrently() {
    const THREADS: u32 = 4;
    const SHARDS_PER_THREAD: u32 = 6;
    let backend = Arc::new(vram_residency::HostBackend::new(&[64 * MIB, 64 * MIB]));
    let sink = Arc::new(RecordingSink::new());
    let manager =
        Arc::new(VramManager::new(backend.clone(), "worker-1", secret(), sink.clone()).unwrap());
    let shared = manager.seal_model("shared", 0, &shard_bytes(200_000, 3)).unwrap();

    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let manager = manager.clone();
            let shared = shared.clone();
            thread::spawn(move || {
                let mut sealed = Vec::new();
                for s in 0..SHARDS_PER_THREAD {
                    let id = format!("t{t}-s{s}");
                    let bytes = shard_bytes(10_000 + (t * 1000 + s) as usize, s as u8);
                    sealed.push(manager.seal_model(&id, t % 2, &bytes).unwrap());
                    manager.verify_sealed(&shared).unwrap();
                }
                for _ in 0..5 {
                    for shard in &sealed {
                        manager.verify_sealed(shard).unwrap();
                    }
                }
                for shard in sealed.iter().step_by(2) {
                    manager.release(shard).unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }

    let remaining = 1 + THREADS * SHARDS_PER_THREAD / 2;
    assert_eq!(manager.sealed_count(), remaining as usize);
    let events = sink.events();
    let count = |kind| events.iter().filter(|e| e.kind() == kind).count();
    let sealed = 1 + THREADS * SHARDS_PER_THREAD;
    assert_eq!(count(EventKind::VramSealed), sealed as usize);
    assert_eq!(count(EventKind::VramAllocated), sealed as usize);
    assert_eq!(count(EventKind::SealVerified), (THREADS * SHARDS_PER_THREAD * 6) as usize);
    assert_eq!(count(EventKind::VramDeallocated), (THREADS * SHARDS_PER_THREAD / 2) as usize);
    assert_eq!(count(EventKind::SealVerificationFailed), 0);

    let in_use = used(&*backend, 0) + used(&*backend, 1);
    drop(manager);
    assert!(in_use > 0);
    assert_eq!(used(&*backend, 0) + used(&*backend, 1), 0);
}

#[test]
fn concurrent_sealing_of_one_id_lets_exactly_one_win() {
    let backend = Arc::new(vram_residency::HostBackend::new(&[64 * MIB]));
    let sink = Arc::new(RecordingSink::new());
    let manager = Arc::new(VramManager::new(backend.clone(), "worker-1", secret(), sink).unwrap());
    let handles: Vec<_> = (0..4u8)
        .map(|i| {
            let manager = manager.clone();
            thread::spawn(move || manager.seal_model("contested", 0, &[i; 4096]))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for result in results.iter().filter(|r| r.is_err()) {
        assert!(matches!(result, Err(VramError::ShardAlreadySealed { .. })), "{result:?}");
    }
    // The losers' memory was given back.
    assert_eq!(used(&*backend, 0), 4096);
}
