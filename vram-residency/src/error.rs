//! The crate's one error type.
//!
//! Messages are built from numbers, static text, validated shard ids (ASCII letters, digits,
//! `-_.`) and driver error names. They never carry a key, the worker secret, a device pointer or
//! unvalidated caller text.

use input_validation::ValidationError;

/// Why a VRAM operation failed.
///
/// Every variant that [`VramManager`](crate::VramManager) returns has also been reported to the
/// audit sink as the matching event (see each variant).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VramError {
    /// A shard id did not pass
    /// [`validate_identifier`](input_validation::validate_identifier). Emitted as
    /// `VramAllocationFailed` when it happens in `seal_model`.
    #[error("invalid shard id: {reason}")]
    InvalidShardId {
        /// What the validator found (names characters as `U+XXXX`, never echoes them).
        reason: ValidationError,
    },

    /// The worker id given to [`VramManager::new`](crate::VramManager::new) did not pass
    /// [`validate_identifier`](input_validation::validate_identifier).
    #[error("invalid worker id: {reason}")]
    InvalidWorkerId {
        /// What the validator found.
        reason: ValidationError,
    },

    /// `seal_model` was given zero bytes: an empty shard proves nothing. Emitted as
    /// `VramAllocationFailed`.
    #[error("a shard must hold at least one byte")]
    EmptyShard,

    /// The shard is larger than the policy's
    /// [`max_shard_bytes`](crate::VramPolicy::max_shard_bytes). Emitted as
    /// `VramAllocationFailed`.
    #[error("shard of {bytes} bytes exceeds the limit of {max} bytes")]
    ShardTooLarge {
        /// Size of the shard in bytes.
        bytes: u64,
        /// The limit in bytes.
        max: u64,
    },

    /// A size or offset computation overflowed (a length that does not fit in `u64`, or an
    /// upload that would end past `u64::MAX`).
    #[error("size arithmetic overflowed")]
    SizeOverflow,

    /// The backend has no device with this index. Emitted as `VramAllocationFailed` when it
    /// happens in `seal_model`.
    #[error("no GPU device {device} on this backend")]
    UnknownDevice {
        /// The device index asked for.
        device: u32,
    },

    /// The device does not have enough free memory for the shard. Emitted as
    /// `VramAllocationFailed`.
    #[error("device {device} has {available} bytes free, {requested} requested")]
    InsufficientVram {
        /// The device index.
        device: u32,
        /// Bytes asked for.
        requested: u64,
        /// Bytes free when the allocation was refused.
        available: u64,
    },

    /// A shard with this id is already sealed on this device; release it first. Emitted as
    /// `VramAllocationFailed`.
    #[error("shard {shard_id} is already sealed on device {device}")]
    ShardAlreadySealed {
        /// The (validated) shard id.
        shard_id: String,
        /// The device index.
        device: u32,
    },

    /// The seal's MAC does not match its metadata: the seal was forged, its metadata (id,
    /// device, size, digest, time) was altered, or it was made with another worker secret.
    /// Emitted as `SealVerificationFailed`.
    #[error("seal of shard {shard_id} on device {device} does not match its metadata")]
    SealMismatch {
        /// The (validated) shard id the seal names.
        shard_id: String,
        /// The device the seal names.
        device: u32,
    },

    /// The seal is authentic but this manager holds no allocation for it: never sealed here,
    /// already released, or a seal from an earlier sealing of the same id. Emitted as
    /// `SealVerificationFailed` with reason "unknown shard".
    #[error("unknown shard {shard_id} on device {device}")]
    UnknownShard {
        /// The (validated) shard id.
        shard_id: String,
        /// The device index.
        device: u32,
    },

    /// The bytes in device memory no longer hash to the sealed digest. Emitted as
    /// `SealVerificationFailed` (with both digests) and `IntegrityViolation`.
    #[error("shard {shard_id} on device {device}: digest {actual} differs from sealed {expected}")]
    DigestMismatch {
        /// The (validated) shard id.
        shard_id: String,
        /// The device index.
        device: u32,
        /// The sealed digest.
        expected: audit_events::Digest,
        /// The digest of the bytes found in device memory.
        actual: audit_events::Digest,
    },

    /// The backend holds no allocation with this id (freed, or never made).
    #[error("no allocation {id} on this backend")]
    AllocationNotFound {
        /// The backend allocation id.
        id: u64,
    },

    /// An upload would write past the end of its allocation.
    #[error("write of {len} bytes at offset {offset} exceeds allocation of {size} bytes")]
    OutOfBounds {
        /// Offset of the write.
        offset: u64,
        /// Length of the write.
        len: u64,
        /// Size of the allocation.
        size: u64,
    },

    /// The GPU driver reported an error during `operation`. Emitted as
    /// `SealVerificationFailed` when it happens during verification.
    #[error("device {device}: {operation} failed: {message}")]
    Device {
        /// The device index.
        device: u32,
        /// What was being done (static text).
        operation: &'static str,
        /// The driver's error name and description.
        message: String,
    },

    /// The CUDA driver library could not be loaded or lacks a required entry point, or no
    /// CUDA device is present. Returned instead of panicking, by every CUDA backend
    /// constructor.
    #[error("CUDA driver unavailable: {reason}")]
    DriverUnavailable {
        /// Why (static text or the driver's error name).
        reason: String,
    },

    /// The VRAM-only policy cannot hold: at start-up for a device (integrated GPU, host
    /// page-table access under a strict policy), or for one allocation that is not plain
    /// device memory. Emitted as `PolicyViolation`.
    #[error("VRAM-only policy violated on device {device}: {violation}")]
    PolicyViolation {
        /// The device index.
        device: u32,
        /// What was found (static text and numbers).
        violation: String,
    },
}
