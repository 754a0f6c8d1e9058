//! The host-memory backend: simulated devices whose "VRAM" is ordinary heap memory.
//!
//! For tests, CI and machines without a GPU. It proves nothing about GPU residency and says so:
//! its device name is [`HOST_DEVICE_NAME`], its allocations report
//! [`Residency::HostTestMemory`], and a manager on it marks the worker id of every event with
//! [`HOST_BACKEND_WORKER_SUFFIX`](crate::HOST_BACKEND_WORKER_SUFFIX).
//!
//! Each allocation is a `Vec<u8>` behind its own lock, so verifications of different shards
//! (and of the same shard) run in parallel; capacity is enforced per device under a lock, so
//! concurrent allocations cannot overshoot it. Memory is reserved with `try_reserve_exact`, so
//! an allocation the host cannot satisfy is an error, not an abort.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::backend::{AllocationId, BackendKind, DeviceInfo, MemoryInfo, Residency, VramBackend};
use crate::digest::ShardHasher;
use crate::error::VramError;

/// The device name the host backend reports.
pub const HOST_DEVICE_NAME: &str = "host-memory (test backend)";

/// One simulated device. The attribute flags let tests drive the manager's policy checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostDeviceConfig {
    /// How many bytes the device holds.
    pub capacity_bytes: u64,
    /// Report the device as an integrated GPU.
    pub integrated: bool,
    /// Report that the device can access pageable host memory.
    pub pageable_memory_access: bool,
    /// Report that the device uses the host's page tables.
    pub pageable_memory_access_uses_host_page_tables: bool,
    /// What every allocation on this device reports as its residency.
    pub residency: Residency,
}

impl HostDeviceConfig {
    /// A plain simulated device of `capacity_bytes` bytes.
    pub const fn new(capacity_bytes: u64) -> Self {
        Self {
            capacity_bytes,
            integrated: false,
            pageable_memory_access: false,
            pageable_memory_access_uses_host_page_tables: false,
            residency: Residency::HostTestMemory,
        }
    }
}

struct HostDevice {
    config: HostDeviceConfig,
    used: Mutex<u64>,
}

struct HostAllocation {
    device: u32,
    size: u64,
    /// Bytes written so far; the rest of `size` reads as zeros. Capacity is `size`.
    bytes: RwLock<Vec<u8>>,
}

/// Simulated VRAM in host memory. Thread-safe.
pub struct HostBackend {
    devices: Vec<HostDevice>,
    allocations: RwLock<BTreeMap<u64, Arc<HostAllocation>>>,
    next_id: AtomicU64,
}

impl HostBackend {
    /// Devices `0..n` with these capacities in bytes.
    pub fn new(capacities: &[u64]) -> Self {
        Self::with_devices(capacities.iter().map(|&c| HostDeviceConfig::new(c)).collect())
    }

    /// Devices `0..n` configured one by one.
    pub fn with_devices(configs: Vec<HostDeviceConfig>) -> Self {
        Self {
            devices: configs
                .into_iter()
                .map(|config| HostDevice { config, used: Mutex::new(0) })
                .collect(),
            allocations: RwLock::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Test hook: flips the lowest bit of the byte at `offset` of an allocation, as a fault or
    /// an attacker writing to VRAM would.
    ///
    /// # Errors
    ///
    /// [`VramError::AllocationNotFound`], or [`VramError::OutOfBounds`] past the allocation.
    pub fn corrupt_byte(&self, id: AllocationId, offset: u64) -> Result<(), VramError> {
        let allocation = self.allocation(id)?;
        if offset >= allocation.size {
            return Err(VramError::OutOfBounds { offset, len: 1, size: allocation.size });
        }
        let index = usize::try_from(offset).map_err(|_| VramError::SizeOverflow)?;
        let mut bytes = allocation.bytes.write();
        if bytes.len() <= index {
            bytes.resize(index + 1, 0);
        }
        bytes[index] ^= 1;
        Ok(())
    }

    fn device(&self, device: u32) -> Result<&HostDevice, VramError> {
        usize::try_from(device)
            .ok()
            .and_then(|i| self.devices.get(i))
            .ok_or(VramError::UnknownDevice { device })
    }

    fn allocation(&self, id: AllocationId) -> Result<Arc<HostAllocation>, VramError> {
        self.allocations
            .read()
            .get(&id.get())
            .cloned()
            .ok_or(VramError::AllocationNotFound { id: id.get() })
    }
}

impl std::fmt::Debug for HostBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBackend")
            .field("devices", &self.devices.len())
            .field("allocations", &self.allocations.read().len())
            .finish()
    }
}

impl VramBackend for HostBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Host
    }

    fn devices(&self) -> Vec<u32> {
        (0..self.devices.len()).filter_map(|i| u32::try_from(i).ok()).collect()
    }

    fn device_info(&self, device: u32) -> Result<DeviceInfo, VramError> {
        let config = self.device(device)?.config;
        Ok(DeviceInfo {
            device,
            name: HOST_DEVICE_NAME.to_owned(),
            total_bytes: config.capacity_bytes,
            integrated: config.integrated,
            managed_memory: false,
            concurrent_managed_access: false,
            pageable_memory_access: config.pageable_memory_access,
            pageable_memory_access_uses_host_page_tables: config
                .pageable_memory_access_uses_host_page_tables,
        })
    }

    fn memory_info(&self, device: u32) -> Result<MemoryInfo, VramError> {
        let dev = self.device(device)?;
        let used = *dev.used.lock();
        Ok(MemoryInfo {
            used_bytes: used,
            available_bytes: dev.config.capacity_bytes.saturating_sub(used),
            total_bytes: dev.config.capacity_bytes,
        })
    }

    fn allocate(&self, device: u32, bytes: u64) -> Result<AllocationId, VramError> {
        let dev = self.device(device)?;
        let mut used = dev.used.lock();
        let available = dev.config.capacity_bytes.saturating_sub(*used);
        let insufficient = VramError::InsufficientVram { device, requested: bytes, available };
        if bytes > available {
            return Err(insufficient);
        }
        let len = usize::try_from(bytes).map_err(|_| insufficient.clone())?;
        let mut memory = Vec::new();
        memory.try_reserve_exact(len).map_err(|_| insufficient)?;
        *used += bytes;
        drop(used);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let allocation = HostAllocation { device, size: bytes, bytes: RwLock::new(memory) };
        self.allocations.write().insert(id, Arc::new(allocation));
        Ok(AllocationId::new(id))
    }

    fn residency(&self, id: AllocationId) -> Result<Residency, VramError> {
        let allocation = self.allocation(id)?;
        Ok(self.device(allocation.device)?.config.residency)
    }

    fn upload(&self, id: AllocationId, offset: u64, data: &[u8]) -> Result<(), VramError> {
        let allocation = self.allocation(id)?;
        let len = u64::try_from(data.len()).map_err(|_| VramError::SizeOverflow)?;
        let end = offset.checked_add(len).ok_or(VramError::SizeOverflow)?;
        if end > allocation.size {
            return Err(VramError::OutOfBounds { offset, len, size: allocation.size });
        }
        // Both fit in the allocation, whose size fits in usize (it was reserved).
        let start = usize::try_from(offset).map_err(|_| VramError::SizeOverflow)?;
        let end = usize::try_from(end).map_err(|_| VramError::SizeOverflow)?;
        let mut bytes = allocation.bytes.write();
        if bytes.len() < start {
            bytes.resize(start, 0);
        }
        let overlap = end.min(bytes.len()).saturating_sub(start);
        bytes[start..start + overlap].copy_from_slice(&data[..overlap]);
        bytes.extend_from_slice(&data[overlap..]);
        Ok(())
    }

    fn digest(&self, id: AllocationId) -> Result<[u8; 32], VramError> {
        const ZEROS_LEN: u64 = 64 * 1024;
        static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
        let allocation = self.allocation(id)?;
        let bytes = allocation.bytes.read();
        let mut hasher = ShardHasher::new();
        hasher.update(&bytes);
        // The part never written reads as zeros, as fresh memory from the GPU allocator
        // would not, but it must hash the same every time.
        let written = u64::try_from(bytes.len()).map_err(|_| VramError::SizeOverflow)?;
        let mut rest = allocation.size.saturating_sub(written);
        while rest > 0 {
            let n = rest.min(ZEROS_LEN);
            hasher.update(&ZEROS[..usize::try_from(n).map_err(|_| VramError::SizeOverflow)?]);
            rest -= n;
        }
        Ok(hasher.finalize())
    }

    fn free(&self, id: AllocationId) -> Result<u64, VramError> {
        let allocation = self
            .allocations
            .write()
            .remove(&id.get())
            .ok_or(VramError::AllocationNotFound { id: id.get() })?;
        let dev = self.device(allocation.device)?;
        let mut used = dev.used.lock();
        *used = used.saturating_sub(allocation.size);
        Ok(allocation.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::digest_bytes;

    #[test]
    fn capacity_is_enforced_and_returned_on_free() {
        let backend = HostBackend::new(&[100]);
        let a = backend.allocate(0, 60).unwrap();
        assert_eq!(
            backend.allocate(0, 41),
            Err(VramError::InsufficientVram { device: 0, requested: 41, available: 40 })
        );
        assert_eq!(backend.memory_info(0).unwrap().used_bytes, 60);
        assert_eq!(backend.free(a), Ok(60));
        assert_eq!(backend.free(a), Err(VramError::AllocationNotFound { id: a.get() }));
        assert_eq!(backend.memory_info(0).unwrap().available_bytes, 100);
        assert!(backend.allocate(0, 100).is_ok());
        assert_eq!(backend.allocate(1, 1), Err(VramError::UnknownDevice { device: 1 }));
    }

    #[test]
    fn uploads_in_pieces_digest_like_the_whole_and_unwritten_bytes_are_zero() {
        let backend = HostBackend::new(&[1 << 20]);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        let id = backend.allocate(0, 100_000).unwrap();
        backend.upload(id, 50_000, &data[50_000..]).unwrap();
        backend.upload(id, 0, &data[..50_000]).unwrap();
        assert_eq!(backend.digest(id), Ok(digest_bytes(&data)));

        let partial = backend.allocate(0, 200_000).unwrap();
        backend.upload(partial, 0, &data).unwrap();
        let mut padded = data.clone();
        padded.resize(200_000, 0);
        assert_eq!(backend.digest(partial), Ok(digest_bytes(&padded)));
    }

    #[test]
    fn out_of_bounds_uploads_and_corruptions_are_refused() {
        let backend = HostBackend::new(&[1000]);
        let id = backend.allocate(0, 10).unwrap();
        assert_eq!(
            backend.upload(id, 5, &[0; 6]),
            Err(VramError::OutOfBounds { offset: 5, len: 6, size: 10 })
        );
        assert_eq!(backend.upload(id, u64::MAX, &[0; 2]), Err(VramError::SizeOverflow));
        assert_eq!(
            backend.corrupt_byte(id, 10),
            Err(VramError::OutOfBounds { offset: 10, len: 1, size: 10 })
        );
    }

    #[test]
    fn corrupting_a_byte_changes_the_digest() {
        let backend = HostBackend::new(&[1000]);
        let id = backend.allocate(0, 10).unwrap();
        backend.upload(id, 0, b"0123456789").unwrap();
        let before = backend.digest(id).unwrap();
        backend.corrupt_byte(id, 9).unwrap();
        assert_ne!(backend.digest(id).unwrap(), before);
        backend.corrupt_byte(id, 9).unwrap();
        assert_eq!(backend.digest(id).unwrap(), before);
    }

    #[test]
    fn the_backend_reports_itself_as_a_test_backend() {
        let backend = HostBackend::new(&[1000]);
        assert_eq!(backend.kind(), BackendKind::Host);
        assert_eq!(backend.device_info(0).unwrap().name, HOST_DEVICE_NAME);
        let id = backend.allocate(0, 1).unwrap();
        assert_eq!(backend.residency(id), Ok(Residency::HostTestMemory));
    }
}
