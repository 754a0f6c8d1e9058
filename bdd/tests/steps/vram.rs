//! Steps of `vram.feature`: a VRAM manager on the host backend (simulated devices in host
//! memory, with a hook to corrupt "VRAM") whose audit sink is the real logger writing a real
//! log. Seals, verification, corruption, forged seals and the VRAM-only policy, each checked
//! in the error the worker gets and in the log.

use std::sync::Arc;

use audit_events::{AuditEvent, EventKind, Record};
use cucumber::{given, then, when};
use vram_residency::{
    AuditSink, HostBackend, HostDeviceConfig, Residency, SealedShard, VramError, VramManager,
    WorkerSecret,
};

use super::AttackWorld;

/// Bytes of each simulated device.
const DEVICE_BYTES: u64 = 64 << 20;
/// Bytes of the shard the scenarios seal.
const SHARD_BYTES: usize = 1 << 20;
/// The shard id.
pub(crate) const SHARD: &str = "llama-7b.shard-00";
/// The worker id.
const WORKER: &str = "worker-gpu-0";

/// The worker secret the scenarios provision: distinctive bytes, so a scan for them cannot
/// match anything by chance.
pub(crate) fn worker_secret_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::try_from((i * 89 + 173) % 251).unwrap();
    }
    bytes
}

/// The VRAM side of a scenario.
#[derive(Debug, Default)]
pub(crate) struct State {
    backend: Option<Arc<HostBackend>>,
    manager: Option<VramManager>,
    /// Failures the manager returned, in order.
    pub(crate) errors: Vec<VramError>,
    /// What starting the manager returned, when it refused.
    refused: Option<VramError>,
    /// The genuine seal.
    shard: Option<SealedShard>,
    /// A forged seal.
    forged: Option<SealedShard>,
    /// The result of the last verification.
    verified: Option<Result<(), VramError>>,
    /// The result of the last sealing.
    sealed: Option<Result<(), VramError>>,
}

impl State {
    /// Debug text of the manager, for scans.
    pub(crate) fn manager_debug(&self) -> String {
        format!("{:?}", self.manager)
    }
}

fn shard_bytes() -> Vec<u8> {
    (0..SHARD_BYTES).map(|i| u8::try_from((i * 31 + 7) % 256).unwrap()).collect()
}

fn sink(world: &AttackWorld) -> Arc<dyn AuditSink> {
    world.logger.clone().expect("no logger is running")
}

/// Starts a manager over `configs`; keeps it, or the error it returned.
fn start_manager(world: &mut AttackWorld, configs: Vec<HostDeviceConfig>) {
    let backend = Arc::new(HostBackend::with_devices(configs));
    let secret = WorkerSecret::new(worker_secret_bytes());
    match VramManager::new(backend.clone(), WORKER, secret, sink(world)) {
        Ok(manager) => world.vram.manager = Some(manager),
        Err(e) => world.vram.refused = Some(e),
    }
    world.vram.backend = Some(backend);
}

fn manager(world: &AttackWorld) -> &VramManager {
    world.vram.manager.as_ref().expect("no VRAM manager is running")
}

/// Drops the manager (which frees and audits what it still holds) and closes the log.
pub(crate) fn finish(world: &mut AttackWorld) {
    world.vram.manager = None;
    if world.logger.is_some() {
        world.close_logger();
    }
}

/// The logged events of `kind`.
fn logged(world: &mut AttackWorld, kind: EventKind) -> Vec<AuditEvent> {
    finish(world);
    world.records().iter().filter_map(Record::event).filter(|e| e.kind() == kind).cloned().collect()
}

#[given("a VRAM manager on a simulated GPU that audits into a real log")]
pub(crate) fn manager_with_log(world: &mut AttackWorld) {
    let config = world.config();
    world.start_logger(config);
    start_manager(
        world,
        vec![HostDeviceConfig::new(DEVICE_BYTES), HostDeviceConfig::new(DEVICE_BYTES)],
    );
}

#[when("a model shard is sealed")]
pub(crate) fn seal(world: &mut AttackWorld) {
    let result = manager(world).seal_model(SHARD, 0, &shard_bytes());
    match result {
        Ok(shard) => {
            world.vram.shard = Some(shard);
            world.vram.sealed = Some(Ok(()));
        }
        Err(e) => {
            world.vram.errors.push(e.clone());
            world.vram.sealed = Some(Err(e));
        }
    }
}

#[when("the shard is verified before inference")]
pub(crate) fn verify(world: &mut AttackWorld) {
    let shard = world.vram.shard.clone().expect("no shard was sealed");
    let result = manager(world).verify_sealed(&shard);
    if let Err(e) = &result {
        world.vram.errors.push(e.clone());
    }
    world.vram.verified = Some(result);
}

#[when("one byte of the shard is flipped in device memory")]
pub(crate) fn corrupt(world: &mut AttackWorld) {
    let id = manager(world).allocation_id(0, SHARD).expect("the shard is allocated");
    world.vram.backend.as_ref().unwrap().corrupt_byte(id, 12_345).unwrap();
}

#[then("verification succeeds")]
fn verification_succeeds(world: &mut AttackWorld) {
    assert_eq!(world.vram.verified.clone(), Some(Ok(())));
}

#[then(expr = "the log records {string} for the shard")]
fn logged_for_shard(world: &mut AttackWorld, kind: String) {
    let kind: EventKind = kind.parse().unwrap();
    let events = logged(world, kind);
    let for_shard = events.iter().filter(|e| e.resource_ids().contains(&SHARD)).count();
    assert!(for_shard >= 1, "no {kind} for {SHARD} in {events:?}");
}

#[then(expr = "the log records {string}")]
fn logged_kind(world: &mut AttackWorld, kind: String) {
    let kind: EventKind = kind.parse().unwrap();
    assert!(!logged(world, kind).is_empty(), "no {kind} in the log");
}

#[then("`audit query` finds the verification of the shard")]
fn query_finds(world: &mut AttackWorld) {
    finish(world);
    let log = world.log.clone();
    let run = world.audit([
        "query".into(),
        log.into_os_string(),
        "--kind".into(),
        "seal.verified".into(),
        "--resource".into(),
        SHARD.into(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.command, run.all_output());
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains(SHARD), "{}", run.stdout);
}

#[then("verification fails with a digest mismatch naming the sealed digest")]
fn digest_mismatch(world: &mut AttackWorld) {
    let shard = world.vram.shard.clone().unwrap();
    match world.vram.verified.clone() {
        Some(Err(VramError::DigestMismatch { shard_id, device, expected, actual })) => {
            assert_eq!((shard_id.as_str(), device), (SHARD, 0));
            assert_eq!(expected, shard.digest());
            assert_ne!(actual, expected);
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
}

#[then("the shard is refused again on every later verification")]
fn refused_again(world: &mut AttackWorld) {
    for _ in 0..3 {
        verify(world);
        assert!(
            matches!(world.vram.verified, Some(Err(VramError::DigestMismatch { .. }))),
            "{:?}",
            world.vram.verified
        );
    }
}

#[then("the log records the failed verification with the sealed digest and the digest found")]
fn failure_logged(world: &mut AttackWorld) {
    let shard = world.vram.shard.clone().unwrap();
    let Some(Err(VramError::DigestMismatch { actual, .. })) = world.vram.verified.clone() else {
        panic!("no digest mismatch: {:?}", world.vram.verified)
    };
    let events = logged(world, EventKind::SealVerificationFailed);
    let matching = events.iter().any(|e| {
        matches!(e, AuditEvent::SealVerificationFailed {
            shard_id, expected_digest, actual_digest: Some(found), ..
        } if shard_id == SHARD && *expected_digest == shard.digest() && *found == actual)
    });
    assert!(matching, "{events:?}");
}

#[when(expr = "a seal is forged with {string}")]
fn forge(world: &mut AttackWorld, how: String) {
    let genuine = world.vram.shard.clone().expect("no shard was sealed");
    // A second genuine shard, so that a seal can be aimed at it.
    let other = manager(world).seal_model("other-shard", 1, &[3; 4096]).unwrap();
    let mut id = genuine.shard_id().to_owned();
    let mut device = genuine.gpu_device();
    let mut size = genuine.vram_bytes();
    let mut digest = *genuine.digest_bytes();
    let mut at = genuine.sealed_at_ns();
    let mut signature = *genuine.signature();
    match how.as_str() {
        "one bit of the signature flipped" => signature[0] ^= 0x01,
        "an all-zero signature" => signature = [0; 32],
        "a larger size" => size += 1,
        "the digest of other bytes" => digest = *other.digest_bytes(),
        "another device" => device = other.gpu_device(),
        "a later sealing time" => at += 1,
        "another shard's id" => other.shard_id().clone_into(&mut id),
        _ => panic!("no such forgery: {how}"),
    }
    world.vram.forged =
        Some(SealedShard::from_parts(&id, device, size, digest, at, signature).unwrap());
}

#[when("the forged seal is presented for verification")]
fn present_forged(world: &mut AttackWorld) {
    let forged = world.vram.forged.clone().unwrap();
    let result = manager(world).verify_sealed(&forged);
    if let Err(e) = &result {
        world.vram.errors.push(e.clone());
    }
    world.vram.verified = Some(result);
}

#[then("verification fails with a seal mismatch")]
fn seal_mismatch(world: &mut AttackWorld) {
    let forged = world.vram.forged.clone().unwrap();
    assert_eq!(
        world.vram.verified.clone(),
        Some(Err(VramError::SealMismatch {
            shard_id: forged.shard_id().to_owned(),
            device: forged.gpu_device(),
        }))
    );
    // A forged seal cannot release the shard either.
    assert!(manager(world).release(&forged).is_err());
}

#[then("the genuine seal still verifies")]
fn genuine_verifies(world: &mut AttackWorld) {
    let shard = world.vram.shard.clone().unwrap();
    manager(world).verify_sealed(&shard).unwrap();
}

#[then("the log records the failed verification of the forged seal")]
fn forged_logged(world: &mut AttackWorld) {
    let forged = world.vram.forged.clone().unwrap();
    let events = logged(world, EventKind::SealVerificationFailed);
    let matching = events.iter().any(|e| {
        matches!(e, AuditEvent::SealVerificationFailed {
            shard_id, gpu_device, expected_digest, actual_digest: None, reason, ..
        } if shard_id == forged.shard_id()
            && *gpu_device == forged.gpu_device()
            && *expected_digest == forged.digest()
            && reason.contains("seal does not match"))
    });
    assert!(matching, "{events:?}");
}

#[when("a VRAM manager is started on an integrated GPU")]
fn integrated(world: &mut AttackWorld) {
    let mut device = HostDeviceConfig::new(DEVICE_BYTES);
    device.integrated = true;
    start_manager(world, vec![device]);
}

#[when("a VRAM manager is started on a device whose allocations are managed memory")]
fn managed(world: &mut AttackWorld) {
    let mut device = HostDeviceConfig::new(DEVICE_BYTES);
    device.residency = Residency::Managed;
    start_manager(world, vec![device]);
}

#[then("the manager refuses to start with a policy violation")]
fn refuses_to_start(world: &mut AttackWorld) {
    assert!(world.vram.manager.is_none(), "the manager started");
    let refused = world.vram.refused.clone();
    assert!(
        matches!(&refused, Some(VramError::PolicyViolation { device: 0, violation }) if violation.contains("integrated")),
        "{refused:?}"
    );
}

#[then("sealing fails with a policy violation and nothing stays allocated")]
fn sealing_refused(world: &mut AttackWorld) {
    let sealed = world.vram.sealed.clone();
    assert!(
        matches!(sealed, Some(Err(VramError::PolicyViolation { device: 0, .. }))),
        "{sealed:?}"
    );
    assert_eq!(manager(world).sealed_count(), 0);
    assert!(manager(world).allocation_id(0, SHARD).is_none());
}
