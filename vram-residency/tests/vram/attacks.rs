//! What an attacker or a fault may do: change VRAM, forge or alter seals, use another key,
//! replay an old seal, send hostile ids and sizes. Each is refused with a specific error and
//! the matching audit event.

use std::sync::Arc;

use audit_events::{AuditEvent, Digest, EventKind, Severity};
use input_validation::is_dangerous;
use proptest::prelude::*;
use vram_residency::{
    HostBackend, RecordingSink, SealedShard, VramBackend, VramError, VramManager, VramPolicy,
    WorkerSecret, shard_digest,
};

use crate::{MIB, fixture, kinds, secret, shard_bytes, used};

#[test]
fn a_flipped_byte_in_vram_fails_verification_and_raises_an_integrity_violation() {
    let f = fixture(&[16 * MIB]);
    let bytes = shard_bytes(2 * MIB as usize + 5, 4);
    let shard = f.manager.seal_model("shard-7", 0, &bytes).unwrap();
    let allocation = f.manager.allocation_id(0, "shard-7").unwrap();

    for offset in [0, MIB, 2 * MIB + 4] {
        f.sink.take();
        f.backend.corrupt_byte(allocation, offset).unwrap();
        let mut tampered = bytes.clone();
        tampered[offset as usize] ^= 1;
        let actual = shard_digest(&tampered);

        assert_eq!(
            f.manager.verify_sealed(&shard),
            Err(VramError::DigestMismatch {
                shard_id: "shard-7".into(),
                device: 0,
                expected: shard.digest(),
                actual,
            })
        );
        let events = f.sink.take();
        let worker = f.manager.event_worker_id().to_owned();
        assert_eq!(
            events,
            [
                AuditEvent::SealVerificationFailed {
                    shard_id: "shard-7".into(),
                    gpu_device: 0,
                    reason: "digest mismatch: device memory no longer holds the sealed bytes"
                        .into(),
                    expected_digest: shard.digest(),
                    actual_digest: Some(actual),
                    worker_id: worker.clone(),
                },
                AuditEvent::IntegrityViolation {
                    resource_type: "vram-shard".into(),
                    resource_id: "shard-7".into(),
                    expected_hash: shard.digest(),
                    actual_hash: actual,
                    severity: Severity::Critical,
                    action_taken: "verification failed; the shard must not serve inference".into(),
                    worker_id: Some(worker),
                },
            ]
        );
        // Undo the fault: the same seal verifies again.
        f.backend.corrupt_byte(allocation, offset).unwrap();
        f.manager.verify_sealed(&shard).unwrap();
    }
}

#[test]
fn overwriting_vram_through_the_backend_is_caught_too() {
    let f = fixture(&[MIB]);
    let shard = f.manager.seal_model("s", 0, &[0u8; 4096]).unwrap();
    let allocation = f.manager.allocation_id(0, "s").unwrap();
    f.backend.upload(allocation, 100, b"backdoor").unwrap();
    assert!(matches!(f.manager.verify_sealed(&shard), Err(VramError::DigestMismatch { .. })));
}

fn rebuilt(shard: &SealedShard) -> (String, u32, u64, [u8; 32], i64, [u8; 32]) {
    (
        shard.shard_id().to_owned(),
        shard.gpu_device(),
        shard.vram_bytes(),
        *shard.digest_bytes(),
        shard.sealed_at_ns(),
        *shard.signature(),
    )
}

fn assert_seal_mismatch(f: &crate::Fixture, forged: &SealedShard) {
    f.sink.take();
    let expected = VramError::SealMismatch {
        shard_id: forged.shard_id().to_owned(),
        device: forged.gpu_device(),
    };
    assert_eq!(f.manager.verify_sealed(forged), Err(expected.clone()), "{forged:?}");
    let events = f.sink.take();
    assert_eq!(kinds(&events), [EventKind::SealVerificationFailed]);
    let AuditEvent::SealVerificationFailed { expected_digest, actual_digest, reason, .. } =
        &events[0]
    else {
        unreachable!()
    };
    assert_eq!(*expected_digest, forged.digest());
    assert_eq!(*actual_digest, None);
    assert!(reason.contains("seal does not match"), "{reason}");
    // A forged seal cannot release the shard either.
    assert_eq!(f.manager.release(forged), Err(expected));
}

#[test]
fn forged_seals_and_altered_metadata_are_rejected() {
    let f = fixture(&[MIB, MIB]);
    let shard = f.manager.seal_model("s", 0, &[9; 1000]).unwrap();
    f.manager.seal_model("t", 1, &[9; 1000]).unwrap();
    let (id, device, size, digest, at, signature) = rebuilt(&shard);
    let forgeries = [
        SealedShard::from_parts(&id, device, size, digest, at, [0; 32]),
        SealedShard::from_parts(&id, device, size, digest, at, {
            let mut s = signature;
            s[0] ^= 0x80;
            s
        }),
        SealedShard::from_parts("t", device, size, digest, at, signature),
        SealedShard::from_parts(&id, 1, size, digest, at, signature),
        SealedShard::from_parts(&id, device, size + 1, digest, at, signature),
        SealedShard::from_parts(&id, device, size, [0; 32], at, signature),
        SealedShard::from_parts(&id, device, size, digest, at + 1, signature),
    ];
    for forged in forgeries {
        assert_seal_mismatch(&f, &forged.unwrap());
    }
    // Nothing was released by the forgeries.
    f.manager.verify_sealed(&shard).unwrap();
    assert_eq!(f.manager.sealed_count(), 2);
}

#[test]
fn a_seal_made_with_another_worker_secret_is_rejected() {
    let backend = Arc::new(HostBackend::new(&[MIB]));
    let sink = Arc::new(RecordingSink::new());
    let ours = VramManager::new(backend.clone(), "worker-1", secret(), sink.clone()).unwrap();
    let theirs =
        VramManager::new(backend.clone(), "worker-1", WorkerSecret::new([1; 32]), sink.clone())
            .unwrap();
    let their_shard = theirs.seal_model("s", 0, &[1; 100]).unwrap();
    // Same id, device and bytes sealed here: only the key differs.
    ours.seal_model("s", 0, &[1; 100]).unwrap();
    assert_eq!(
        ours.verify_sealed(&their_shard),
        Err(VramError::SealMismatch { shard_id: "s".into(), device: 0 })
    );
}

#[test]
fn an_authentic_seal_for_memory_this_manager_does_not_hold_is_an_unknown_shard() {
    let f = fixture(&[MIB]);
    // Same secret, another backend: the seal is authentic but names no allocation here.
    let elsewhere = fixture(&[MIB]);
    let foreign = elsewhere.manager.seal_model("s", 0, &[1; 100]).unwrap();
    assert_eq!(
        f.manager.verify_sealed(&foreign),
        Err(VramError::UnknownShard { shard_id: "s".into(), device: 0 })
    );
    let events = f.sink.take();
    assert_eq!(
        events,
        [AuditEvent::SealVerificationFailed {
            shard_id: "s".into(),
            gpu_device: 0,
            reason: "unknown shard".into(),
            expected_digest: foreign.digest(),
            actual_digest: None,
            worker_id: f.manager.event_worker_id().to_owned(),
        }]
    );
}

#[test]
fn an_old_seal_does_not_verify_a_resealed_shard() {
    let f = fixture(&[MIB]);
    let old = f.manager.seal_model("s", 0, &[1; 100]).unwrap();
    f.manager.release(&old).unwrap();
    let new = f.manager.seal_model("s", 0, &[2; 100]).unwrap();
    assert_eq!(
        f.manager.verify_sealed(&old),
        Err(VramError::UnknownShard { shard_id: "s".into(), device: 0 })
    );
    // Replaying the old seal cannot release the new shard.
    assert!(f.manager.release(&old).is_err());
    f.manager.verify_sealed(&new).unwrap();
}

/// The last event must be one `VramAllocationFailed` for `requested` bytes with `available`.
fn assert_allocation_failed(f: &crate::Fixture, requested: u64, available: u64) -> String {
    let events = f.sink.take();
    assert_eq!(kinds(&events), [EventKind::VramAllocationFailed]);
    let AuditEvent::VramAllocationFailed {
        requested_bytes,
        available_bytes,
        reason,
        gpu_device,
        ..
    } = &events[0]
    else {
        unreachable!()
    };
    assert_eq!((*requested_bytes, *available_bytes, *gpu_device), (requested, available, 0));
    reason.clone()
}

#[test]
fn hostile_shard_ids_are_refused_without_echoing_them() {
    let f = fixture(&[MIB]);
    let long = "a".repeat(257);
    let hostile = [
        "",
        "../../etc/passwd",
        "pool/1",
        "shard\u{1b}[31m",
        "x\u{202E}gpj.exe",
        "-rf",
        ".hidden",
        "name.",
        "\u{430}dmin",
        "a\0b",
        "a\nb",
        long.as_str(),
    ];
    for id in hostile {
        let result = f.manager.seal_model(id, 0, &[1; 10]);
        assert!(matches!(result, Err(VramError::InvalidShardId { .. })), "{id:?}: {result:?}");
        let message = result.unwrap_err().to_string();
        let reason = assert_allocation_failed(&f, 10, MIB);
        for text in [&message, &reason] {
            assert!(!text.chars().any(is_dangerous), "{text:?}");
            if id.len() > 3 {
                assert!(!text.contains(id), "{text:?} echoes {id:?}");
            }
        }
    }
    assert_eq!(used(&*f.backend, 0), 0);
}

#[test]
fn empty_and_oversize_shards_and_unknown_devices_are_refused() {
    let backend = Arc::new(HostBackend::new(&[4 * MIB]));
    let sink = Arc::new(RecordingSink::new());
    let mut policy = VramPolicy::default();
    policy.max_shard_bytes = MIB;
    let manager =
        VramManager::with_policy(backend.clone(), "w", secret(), sink.clone(), policy).unwrap();
    let f = crate::Fixture { backend, sink, manager };

    assert_eq!(f.manager.seal_model("s", 0, &[]), Err(VramError::EmptyShard));
    assert_allocation_failed(&f, 0, 4 * MIB);

    let big = vec![0u8; MIB as usize + 1];
    assert_eq!(
        f.manager.seal_model("s", 0, &big),
        Err(VramError::ShardTooLarge { bytes: MIB + 1, max: MIB })
    );
    assert_allocation_failed(&f, MIB + 1, 4 * MIB);

    assert_eq!(f.manager.seal_model("s", 7, &[1]), Err(VramError::UnknownDevice { device: 7 }));
    let events = f.sink.take();
    assert!(matches!(
        &events[..],
        [AuditEvent::VramAllocationFailed { gpu_device: 7, requested_bytes: 1, .. }]
    ));
    assert_eq!(used(&*f.backend, 0), 0);
}

#[test]
fn exhausting_device_memory_is_a_clear_error_until_memory_is_released() {
    let f = fixture(&[4 * MIB]);
    let first = f.manager.seal_model("a", 0, &vec![1; 3 * MIB as usize]).unwrap();
    f.sink.take();
    let second = vec![2; 2 * MIB as usize];
    assert_eq!(
        f.manager.seal_model("b", 0, &second),
        Err(VramError::InsufficientVram { device: 0, requested: 2 * MIB, available: MIB })
    );
    let reason = assert_allocation_failed(&f, 2 * MIB, MIB);
    assert!(reason.contains("bytes free"), "{reason}");
    f.manager.release(&first).unwrap();
    let b = f.manager.seal_model("b", 0, &second).unwrap();
    f.manager.verify_sealed(&b).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any single flipped bit anywhere in a shard of any size is detected, and the shard
    /// verifies again once the bit is restored.
    #[test]
    fn any_flipped_byte_is_detected(len in 1usize..70_000, seed: u8, at in any::<prop::sample::Index>()) {
        let f = fixture(&[MIB]);
        let bytes = shard_bytes(len, seed);
        let shard = f.manager.seal_model("p", 0, &bytes).unwrap();
        f.manager.verify_sealed(&shard).unwrap();
        let allocation = f.manager.allocation_id(0, "p").unwrap();
        let offset = at.index(len) as u64;
        f.backend.corrupt_byte(allocation, offset).unwrap();
        let is_mismatch =
            matches!(f.manager.verify_sealed(&shard), Err(VramError::DigestMismatch { .. }));
        prop_assert!(is_mismatch);
        f.backend.corrupt_byte(allocation, offset).unwrap();
        prop_assert!(f.manager.verify_sealed(&shard).is_ok());
        prop_assert_eq!(shard.digest(), Digest::Blake3(*blake3::hash(&bytes).as_bytes()));
    }
}
