//! The VRAM manager: seals shards into device memory, verifies them in place, and audits every
//! step.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use audit_events::EventKind;
use input_validation::{MAX_IDENTIFIER_BYTES, validate_identifier};
use parking_lot::RwLock;
use subtle::ConstantTimeEq;

use crate::audit::Auditor;
use crate::backend::{AllocationId, BackendKind, DeviceInfo, MemoryInfo, VramBackend};
use crate::digest::digest_bytes;
use crate::error::VramError;
use crate::policy::VramPolicy;
use crate::seal::SealedShard;
use crate::secret::{SealKey, WorkerSecret};
use crate::sink::AuditSink;

/// Appended to the worker id of every event a manager on the host backend emits, so that no
/// one mistakes a test backend's seals for proof of GPU residency.
pub const HOST_BACKEND_WORKER_SUFFIX: &str = "+host-test-backend";

/// The longest worker id accepted: room is left for [`HOST_BACKEND_WORKER_SUFFIX`] within the
/// event field bound.
pub const MAX_WORKER_ID_BYTES: usize = MAX_IDENTIFIER_BYTES - HOST_BACKEND_WORKER_SUFFIX.len();

/// `SealVerificationFailed` reasons. Static text: nothing from the caller.
const REASON_BAD_SEAL: &str = "seal does not match its metadata (forged, altered, or another key)";
const REASON_UNKNOWN: &str = "unknown shard";
const REASON_DIGEST: &str = "digest mismatch: device memory no longer holds the sealed bytes";
const REASON_DEVICE: &str = "device error while reading the shard";
const REASON_RELEASE_BAD_SEAL: &str = "release refused: seal does not match its metadata";
const REASON_RELEASE_UNKNOWN: &str = "release refused: unknown shard";

/// What the manager knows about one sealed shard. The allocation id never leaves the manager
/// inside a seal, so a seal cannot be aimed at another allocation.
struct ShardEntry {
    allocation: AllocationId,
    vram_bytes: u64,
    digest: [u8; 32],
    sealed_at_ns: i64,
}

impl ShardEntry {
    fn matches(&self, shard: &SealedShard) -> bool {
        self.vram_bytes == shard.vram_bytes()
            && self.digest == *shard.digest_bytes()
            && self.sealed_at_ns == shard.sealed_at_ns()
    }
}

type ShardKey = (u32, String);

/// Seals model shards into device memory and verifies them in place.
///
/// Thread-safe: share it through `Arc` and seal and verify from any number of threads. On drop
/// it frees every shard still sealed and emits `VramDeallocated` for each.
pub struct VramManager {
    backend: Arc<dyn VramBackend>,
    key: SealKey,
    policy: VramPolicy,
    devices: Vec<DeviceInfo>,
    shards: RwLock<BTreeMap<ShardKey, ShardEntry>>,
    auditor: Auditor,
}

impl VramManager {
    /// A manager under the default [`VramPolicy`]; see [`VramManager::with_policy`].
    ///
    /// # Errors
    ///
    /// As [`VramManager::with_policy`].
    pub fn new(
        backend: Arc<dyn VramBackend>,
        worker_id: &str,
        secret: WorkerSecret,
        sink: Arc<dyn AuditSink>,
    ) -> Result<Self, VramError> {
        Self::with_policy(backend, worker_id, secret, sink, VramPolicy::default())
    }

    /// Checks every device of `backend` against `policy`, derives the seal key from `secret`
    /// (which is then erased) and returns a manager whose events go to `sink`.
    ///
    /// # Errors
    ///
    /// - [`VramError::InvalidWorkerId`]: `worker_id` is not an identifier of at most
    ///   [`MAX_WORKER_ID_BYTES`] bytes.
    /// - [`VramError::PolicyViolation`]: a device cannot satisfy the policy, or its attributes
    ///   could not be read; a `PolicyViolation` event was emitted.
    pub fn with_policy(
        backend: Arc<dyn VramBackend>,
        worker_id: &str,
        secret: WorkerSecret,
        sink: Arc<dyn AuditSink>,
        policy: VramPolicy,
    ) -> Result<Self, VramError> {
        let worker_id = validate_identifier(worker_id, MAX_WORKER_ID_BYTES)
            .map_err(|reason| VramError::InvalidWorkerId { reason })?
            .into_inner();
        let key = SealKey::derive(&secret);
        drop(secret);
        let event_worker_id = match backend.kind() {
            BackendKind::Host => format!("{worker_id}{HOST_BACKEND_WORKER_SUFFIX}"),
            BackendKind::Cuda => worker_id,
        };
        let auditor = Auditor::new(sink, event_worker_id);

        let mut devices = Vec::new();
        for device in backend.devices() {
            let info = match backend.device_info(device) {
                Ok(info) => info,
                Err(error) => {
                    auditor.device_unreadable(device, &error.to_string());
                    return Err(VramError::PolicyViolation {
                        device,
                        violation: "device attributes could not be read".to_owned(),
                    });
                }
            };
            let violations = policy.device_violations(&info);
            if !violations.is_empty() {
                let violation = violations.join("; ");
                auditor.device_refused(&info, &violation);
                return Err(VramError::PolicyViolation { device, violation });
            }
            devices.push(info);
        }

        Ok(Self { backend, key, policy, devices, shards: RwLock::new(BTreeMap::new()), auditor })
    }

    /// Validates, allocates, uploads, digests and seals one shard.
    ///
    /// `shard_id` must be an identifier (see
    /// [`validate_identifier`](input_validation::validate_identifier)); one id may be sealed
    /// once per device at a time. On success `VramAllocated` and `VramSealed` are emitted.
    /// The digest is taken from `bytes`; the first [`verify_sealed`](Self::verify_sealed)
    /// proves that the upload put exactly those bytes in device memory.
    ///
    /// # Errors
    ///
    /// Each of these also emits `VramAllocationFailed` with the reason:
    /// [`VramError::InvalidShardId`], [`VramError::EmptyShard`], [`VramError::ShardTooLarge`],
    /// [`VramError::SizeOverflow`], [`VramError::UnknownDevice`],
    /// [`VramError::ShardAlreadySealed`], [`VramError::InsufficientVram`], or a driver error
    /// from the allocation. [`VramError::PolicyViolation`] (the allocation is not device
    /// memory) emits `PolicyViolation` as well. A failed upload frees the allocation, emits
    /// `VramDeallocated` and returns the backend's error.
    pub fn seal_model(
        &self,
        shard_id: &str,
        gpu_device: u32,
        bytes: &[u8],
    ) -> Result<SealedShard, VramError> {
        let size = u64::try_from(bytes.len());
        let requested = size.unwrap_or(u64::MAX);
        let refuse = |error: VramError| -> VramError {
            let available = match &error {
                VramError::InsufficientVram { available, .. } => *available,
                _ => self.memory(gpu_device).available_bytes,
            };
            self.auditor.allocation_failed(gpu_device, requested, available, error.to_string());
            error
        };

        let shard_id = validate_identifier(shard_id, MAX_IDENTIFIER_BYTES)
            .map_err(|reason| refuse(VramError::InvalidShardId { reason }))?
            .into_inner();
        if size.is_err() {
            return Err(refuse(VramError::SizeOverflow));
        }
        if requested == 0 {
            return Err(refuse(VramError::EmptyShard));
        }
        if requested > self.policy.max_shard_bytes {
            let max = self.policy.max_shard_bytes;
            return Err(refuse(VramError::ShardTooLarge { bytes: requested, max }));
        }
        if !self.devices.iter().any(|d| d.device == gpu_device) {
            return Err(refuse(VramError::UnknownDevice { device: gpu_device }));
        }
        let key = (gpu_device, shard_id);
        if self.shards.read().contains_key(&key) {
            let (device, shard_id) = key;
            return Err(refuse(VramError::ShardAlreadySealed { shard_id, device }));
        }

        let allocation = self.backend.allocate(gpu_device, requested).map_err(refuse)?;
        let residency = match self.backend.residency(allocation) {
            Ok(residency) => residency,
            Err(error) => {
                self.free_quietly(allocation);
                return Err(refuse(error));
            }
        };
        if !self.policy.residency_allowed(self.backend.kind(), residency) {
            self.free_quietly(allocation);
            self.auditor.allocation_refused(gpu_device, residency.name(), requested);
            let violation = format!("allocation is {} memory, not device memory", residency.name());
            return Err(refuse(VramError::PolicyViolation { device: gpu_device, violation }));
        }
        self.auditor.allocated(gpu_device, requested, self.memory(gpu_device));

        // From here every failure frees the allocation and emits VramDeallocated.
        let digest = digest_bytes(bytes);
        if let Err(error) = self.backend.upload(allocation, 0, bytes) {
            self.free_and_audit(&key.1, gpu_device, allocation);
            return Err(error);
        }
        let (gpu_device, shard_id) = key;
        let shard = SealedShard::sign(&self.key, shard_id, gpu_device, requested, digest, now_ns());

        let entry = ShardEntry {
            allocation,
            vram_bytes: requested,
            digest,
            sealed_at_ns: shard.sealed_at_ns(),
        };
        let inserted = {
            let mut shards = self.shards.write();
            let key = (gpu_device, shard.shard_id().to_owned());
            match shards.entry(key) {
                Entry::Occupied(_) => false,
                Entry::Vacant(slot) => {
                    slot.insert(entry);
                    true
                }
            }
        };
        if !inserted {
            // Another thread sealed the same id on this device meanwhile.
            self.free_and_audit(shard.shard_id(), gpu_device, allocation);
            return Err(VramError::ShardAlreadySealed {
                shard_id: shard.shard_id().to_owned(),
                device: gpu_device,
            });
        }
        self.auditor.sealed(shard.shard_id(), gpu_device, requested, digest);
        Ok(shard)
    }

    /// Checks the seal (constant time), then re-digests the shard's bytes where they are and
    /// compares them with the sealed digest. Emits `SealVerified` on success.
    ///
    /// # Errors
    ///
    /// Each emits `SealVerificationFailed` (expected digest = the seal's; actual digest when
    /// one was computed):
    /// - [`VramError::SealMismatch`]: forged seal, altered metadata, or another worker secret;
    /// - [`VramError::UnknownShard`] (reason "unknown shard"): no current allocation for this
    ///   seal (never sealed here, released, or an earlier sealing of the same id);
    /// - [`VramError::DigestMismatch`]: the bytes changed; also emits `IntegrityViolation`;
    /// - a driver error while reading the shard ([`VramError::Device`]).
    pub fn verify_sealed(&self, shard: &SealedShard) -> Result<(), VramError> {
        let id = shard.shard_id();
        let device = shard.gpu_device();
        let expected = *shard.digest_bytes();
        let fail = |reason: &str, actual: Option<[u8; 32]>, error: VramError| -> VramError {
            self.auditor.verification_failed(id, device, reason, expected, actual);
            error
        };
        let unknown = || VramError::UnknownShard { shard_id: id.to_owned(), device };

        if !shard.signature_valid(&self.key) {
            let error = VramError::SealMismatch { shard_id: id.to_owned(), device };
            return Err(fail(REASON_BAD_SEAL, None, error));
        }
        let allocation = {
            let shards = self.shards.read();
            match shards.get(&(device, id.to_owned())) {
                Some(entry) if entry.matches(shard) => entry.allocation,
                _ => return Err(fail(REASON_UNKNOWN, None, unknown())),
            }
        };
        let actual = match self.backend.digest(allocation) {
            Ok(actual) => actual,
            // Released by another thread after the lookup.
            Err(VramError::AllocationNotFound { .. }) => {
                return Err(fail(REASON_UNKNOWN, None, unknown()));
            }
            Err(error) => return Err(fail(REASON_DEVICE, None, error)),
        };
        if !bool::from(actual.ct_eq(&expected)) {
            let error = VramError::DigestMismatch {
                shard_id: id.to_owned(),
                device,
                expected: shard.digest(),
                actual: audit_events::Digest::Blake3(actual),
            };
            let error = fail(REASON_DIGEST, Some(actual), error);
            self.auditor.integrity_violation(id, expected, actual);
            return Err(error);
        }
        self.auditor.verified(id, device, actual);
        Ok(())
    }

    /// Frees a sealed shard and emits `VramDeallocated`. The seal must be valid and current.
    ///
    /// # Errors
    ///
    /// [`VramError::SealMismatch`] or [`VramError::UnknownShard`] (each also emits
    /// `SealVerificationFailed`, and nothing is freed), or the backend's error from the free
    /// (the shard is then no longer known to the manager).
    pub fn release(&self, shard: &SealedShard) -> Result<(), VramError> {
        let id = shard.shard_id();
        let device = shard.gpu_device();
        let expected = *shard.digest_bytes();
        if !shard.signature_valid(&self.key) {
            self.auditor.verification_failed(id, device, REASON_RELEASE_BAD_SEAL, expected, None);
            return Err(VramError::SealMismatch { shard_id: id.to_owned(), device });
        }
        let entry = {
            let mut shards = self.shards.write();
            let key = (device, id.to_owned());
            match shards.get(&key) {
                Some(entry) if entry.matches(shard) => shards.remove(&key),
                _ => None,
            }
        };
        let Some(entry) = entry else {
            self.auditor.verification_failed(id, device, REASON_RELEASE_UNKNOWN, expected, None);
            return Err(VramError::UnknownShard { shard_id: id.to_owned(), device });
        };
        let freed = self.backend.free(entry.allocation)?;
        self.auditor.deallocated(id, device, freed, self.memory(device).used_bytes);
        Ok(())
    }

    /// Audit events the sink refused, counted per event kind since the manager was made.
    pub fn audit_failures(&self) -> BTreeMap<EventKind, u64> {
        self.auditor.failures()
    }

    /// The devices checked at start-up, with their attributes.
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// The kind of backend the shards live in.
    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// The worker id as it appears in events (with [`HOST_BACKEND_WORKER_SUFFIX`] on the host
    /// backend).
    pub fn event_worker_id(&self) -> &str {
        self.auditor.worker_id()
    }

    /// How many shards are sealed now.
    pub fn sealed_count(&self) -> usize {
        self.shards.read().len()
    }

    /// The backend allocation holding a sealed shard, for backend test hooks such as
    /// [`HostBackend::corrupt_byte`](crate::HostBackend::corrupt_byte).
    pub fn allocation_id(&self, gpu_device: u32, shard_id: &str) -> Option<AllocationId> {
        self.shards.read().get(&(gpu_device, shard_id.to_owned())).map(|e| e.allocation)
    }

    fn memory(&self, device: u32) -> MemoryInfo {
        self.backend.memory_info(device).unwrap_or_default()
    }

    /// Frees an allocation that was never reported as allocated (no event).
    fn free_quietly(&self, allocation: AllocationId) {
        // Nothing was announced, so a failure to free leaves only the backend's own accounting.
        let _ = self.backend.free(allocation);
    }

    fn free_and_audit(&self, shard_id: &str, device: u32, allocation: AllocationId) {
        if let Ok(freed) = self.backend.free(allocation) {
            self.auditor.deallocated(shard_id, device, freed, self.memory(device).used_bytes);
        }
    }
}

impl Drop for VramManager {
    fn drop(&mut self) {
        let shards = std::mem::take(&mut *self.shards.write());
        for ((device, shard_id), entry) in shards {
            self.free_and_audit(&shard_id, device, entry.allocation);
        }
    }
}

impl std::fmt::Debug for VramManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VramManager")
            .field("backend", &self.backend.kind())
            .field("worker_id", &self.auditor.worker_id())
            .field("devices", &self.devices.len())
            .field("sealed", &self.shards.read().len())
            .finish_non_exhaustive()
    }
}

/// Nanoseconds since the Unix epoch (negative before it), saturating at the ends of `i64`.
fn now_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}
