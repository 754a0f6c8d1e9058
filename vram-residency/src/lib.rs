//! Sealing model shards in GPU memory, verifying them in place before use, and auditing every
//! VRAM operation.
//!
//! A GPU worker loads a model shard with [`VramManager::seal_model`]: the shard id is
//! validated, the size checked, device memory allocated and checked against the VRAM-only
//! policy, the bytes uploaded and hashed, and a seal signed over what was stored. Before each
//! inference it calls [`VramManager::verify_sealed`], which checks the seal and re-hashes the
//! bytes where they are. Every step emits an audit event (`audit_events::AuditEvent`) to an
//! [`AuditSink`].
//!
//! ```
//! use std::sync::Arc;
//! use vram_residency::{HostBackend, RecordingSink, VramManager, WorkerSecret};
//!
//! let backend = Arc::new(HostBackend::new(&[64 << 20])); // one simulated 64 MiB device
//! let sink = Arc::new(RecordingSink::new());
//! let secret = WorkerSecret::new([7; 32]); // provisioned by the deployment
//! let manager = VramManager::new(backend, "worker-1", secret, sink.clone())?;
//!
//! let shard = manager.seal_model("llama-7b.shard-00", 0, b"model bytes")?;
//! manager.verify_sealed(&shard)?;
//! // VramAllocated, VramSealed, SealVerified
//! assert_eq!(sink.events().len(), 3);
//! # Ok::<(), vram_residency::VramError>(())
//! ```
//!
//! # Invariants
//!
//! - **No full host copy.** Verification hashes device memory in place: on the host backend
//!   directly, on CUDA by streaming through two fixed 64 MiB page-locked staging buffers.
//! - **A seal names its shard, not memory.** A [`SealedShard`] holds no pointer or allocation
//!   handle; the manager keeps the allocation table and looks shards up by device and id, so a
//!   seal cannot be aimed at another allocation.
//! - **Every failure is an error value and an event.** See [`VramError`]: allocation failures
//!   emit `VramAllocationFailed`, verification failures `SealVerificationFailed` (a digest
//!   mismatch also `IntegrityViolation`), policy refusals `PolicyViolation`. Success emits
//!   `VramAllocated`, `VramSealed`, `SealVerified`; every free, including those done when the
//!   manager is dropped, emits `VramDeallocated`. A sink error never fails the GPU operation;
//!   it is counted per event kind ([`VramManager::audit_failures`]).
//! - **Secrets stay secret.** The worker secret and the seal key are zeroized on drop, have no
//!   `Debug` that shows bytes, and never appear in errors or events. Errors and events carry
//!   only validated shard ids, numbers, digests and static text.
//! - **No panics** on any input, and none when the CUDA driver is missing.
//!
//! # The seal
//!
//! Seal key: `HKDF-SHA256(salt = "vram-residency/seal-key/v1", ikm = the 32-byte worker
//! secret, info = "shard-seal", L = 32)` ([`SEAL_KEY_SALT`], [`SEAL_KEY_INFO`]). This is the
//! only derivation.
//!
//! Seal: `HMAC-SHA256(seal key, message)`, where the message is the version byte
//! [`SEAL_FORMAT_VERSION`] (1) followed by five fields, each written as a `u32` big-endian
//! length and the bytes: shard id (ASCII), GPU device (`u32` BE), size in bytes (`u64` BE),
//! BLAKE3 digest (32 bytes), sealed-at in nanoseconds since the Unix epoch (`i64` BE).
//! [`SealedShard::signed_message`] returns exactly these bytes; golden vectors in the tests
//! freeze them. Seals are compared in constant time.
//!
//! Digest: BLAKE3 of the shard bytes, hashed on all cores (rayon) for pieces of 1 MiB or more.
//! [`shard_digest`] computes it.
//!
//! # The VRAM-only policy
//!
//! [`VramManager::new`] reads every device's attributes and refuses to start (error and
//! `PolicyViolation` event) when the policy cannot hold; each allocation's memory type is
//! checked too. What is refused and why is in [`VramPolicy`]'s module docs: integrated GPUs and
//! allocations that are not plain device memory always; devices that can reach pageable host
//! memory only under [`VramPolicy::refuse_host_memory_access`].
//!
//! # Backends
//!
//! - [`HostBackend`] (always built): simulated devices in host memory, for tests and CI, with
//!   a hook to corrupt "VRAM" ([`HostBackend::corrupt_byte`]). It says what it is in three
//!   places: its device name is [`HOST_DEVICE_NAME`], its allocations report
//!   [`Residency::HostTestMemory`], and every event a manager on it emits carries the worker
//!   id with [`HOST_BACKEND_WORKER_SUFFIX`] appended (`worker-7+host-test-backend`), so an
//!   auditor reading the log cannot mistake its seals for proof of GPU residency.
//! - `CudaBackend` (feature `cuda`): the CUDA driver API through `cudarc`, loaded at run time.
//!   Without a driver its constructors return [`VramError::DriverUnavailable`].
//!
//! Depends on `audit-events` and `input-validation` (and, once wired, `audit-logger` through
//! [`AuditSink`]); never on anything above them.

mod audit;
mod backend;
mod digest;
mod error;
mod manager;
mod policy;
mod seal;
mod secret;
mod sink;

#[cfg(feature = "cuda")]
pub use crate::backend::cuda::{CudaBackend, STAGING_BYTES};
pub use crate::backend::host::{HOST_DEVICE_NAME, HostBackend, HostDeviceConfig};
pub use crate::backend::{
    AllocationId, BackendKind, DeviceInfo, MemoryInfo, Residency, VramBackend,
};
pub use crate::digest::shard_digest;
pub use crate::error::VramError;
pub use crate::manager::{HOST_BACKEND_WORKER_SUFFIX, MAX_WORKER_ID_BYTES, VramManager};
pub use crate::policy::{DEFAULT_MAX_SHARD_BYTES, VramPolicy};
pub use crate::seal::{SEAL_FORMAT_VERSION, SealedShard};
pub use crate::secret::{SEAL_KEY_INFO, SEAL_KEY_SALT, WorkerSecret};
pub use crate::sink::{AuditSink, RecordingSink};
