//! The VRAM-only policy: which devices and allocations may hold a sealed shard.
//!
//! The policy is that a sealed model lives in device memory and cannot be paged to host memory.
//! What decides it:
//!
//! - An integrated GPU has no memory of its own: refused, always.
//! - Every allocation must be plain device memory: on CUDA the pointer's memory type must be
//!   `CU_MEMORYTYPE_DEVICE` and it must not be managed. Allocations that fail this are freed
//!   and refused, always. This, not a device attribute, is what proves the model is not in
//!   migratable memory.
//! - A device that supports managed memory is not refused: every current discrete GPU does,
//!   and this crate never allocates managed memory (the per-allocation check proves it).
//! - A device that can read pageable host memory (HMM, or ATS with shared page tables) is
//!   refused only under [`VramPolicy::refuse_host_memory_access`]: device memory from
//!   `cuMemAlloc` is never migrated on such devices either, but some deployments require that
//!   the GPU cannot reach host memory at all.
//! - The host backend's simulated memory is accepted on the host backend only.

use crate::backend::{BackendKind, DeviceInfo, Residency};

/// The largest shard accepted by default: 1 TiB, above any single GPU's memory today.
pub const DEFAULT_MAX_SHARD_BYTES: u64 = 1 << 40;

/// The policy a [`VramManager`](crate::VramManager) enforces. See the module docs of the crate
/// for what each check means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VramPolicy {
    /// Shards larger than this are refused before anything is allocated.
    pub max_shard_bytes: u64,
    /// Also refuse devices that can access pageable host memory
    /// (`CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS` or `..._USES_HOST_PAGE_TABLES`).
    pub refuse_host_memory_access: bool,
}

impl Default for VramPolicy {
    fn default() -> Self {
        Self { max_shard_bytes: DEFAULT_MAX_SHARD_BYTES, refuse_host_memory_access: false }
    }
}

impl VramPolicy {
    /// Why this device cannot hold sealed shards under the policy; empty if it can.
    pub fn device_violations(&self, info: &DeviceInfo) -> Vec<&'static str> {
        let mut violations = Vec::new();
        if info.integrated {
            violations.push("integrated GPU: its memory is host memory");
        }
        if self.refuse_host_memory_access && info.pageable_memory_access {
            violations.push("device can access pageable host memory");
        }
        if self.refuse_host_memory_access && info.pageable_memory_access_uses_host_page_tables {
            violations.push("device uses the host page tables");
        }
        violations
    }

    /// Whether an allocation with this residency may hold a sealed shard on this backend.
    pub const fn residency_allowed(&self, backend: BackendKind, residency: Residency) -> bool {
        match residency {
            Residency::Device => true,
            Residency::HostTestMemory => matches!(backend, BackendKind::Host),
            Residency::Managed | Residency::Host | Residency::Other(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discrete() -> DeviceInfo {
        DeviceInfo {
            device: 0,
            name: "test".to_owned(),
            total_bytes: 1 << 30,
            integrated: false,
            managed_memory: true,
            concurrent_managed_access: true,
            pageable_memory_access: false,
            pageable_memory_access_uses_host_page_tables: false,
        }
    }

    #[test]
    fn a_discrete_gpu_with_managed_memory_support_is_accepted() {
        assert!(VramPolicy::default().device_violations(&discrete()).is_empty());
    }

    #[test]
    fn integrated_gpus_are_always_refused() {
        let info = DeviceInfo { integrated: true, ..discrete() };
        assert_eq!(VramPolicy::default().device_violations(&info).len(), 1);
    }

    #[test]
    fn host_memory_access_is_refused_only_when_asked() {
        let info = DeviceInfo {
            pageable_memory_access: true,
            pageable_memory_access_uses_host_page_tables: true,
            ..discrete()
        };
        assert!(VramPolicy::default().device_violations(&info).is_empty());
        let strict = VramPolicy { refuse_host_memory_access: true, ..VramPolicy::default() };
        assert_eq!(strict.device_violations(&info).len(), 2);
    }

    #[test]
    fn only_device_memory_is_accepted_on_a_gpu() {
        let policy = VramPolicy::default();
        assert!(policy.residency_allowed(BackendKind::Cuda, Residency::Device));
        for residency in
            [Residency::Managed, Residency::Host, Residency::HostTestMemory, Residency::Other(9)]
        {
            assert!(!policy.residency_allowed(BackendKind::Cuda, residency), "{residency:?}");
        }
        assert!(policy.residency_allowed(BackendKind::Host, Residency::HostTestMemory));
        assert!(!policy.residency_allowed(BackendKind::Host, Residency::Managed));
    }
}
