//! The seam between the manager and device memory: what a backend reports and does.
//!
//! A backend reports facts (device attributes, where an allocation lives, free memory) and
//! moves bytes; every policy decision and every audit event is the manager's.

use crate::error::VramError;

#[cfg(feature = "cuda")]
pub(crate) mod cuda;
pub(crate) mod host;

/// Which kind of backend holds the shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// Host memory standing in for VRAM: for tests and CI only. Events from a manager on this
    /// backend carry [`HOST_BACKEND_WORKER_SUFFIX`](crate::HOST_BACKEND_WORKER_SUFFIX) in
    /// their worker id.
    Host,
    /// GPU memory through the CUDA driver API (`cuda` feature).
    Cuda,
}

impl BackendKind {
    /// A short name: `host` or `cuda`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Cuda => "cuda",
        }
    }
}

/// A backend's handle for one allocation. It is not a pointer: backends look it up in their
/// own table, and ids are never reused within a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AllocationId(u64);

impl AllocationId {
    /// Wraps a backend's allocation number.
    pub const fn new(id: u64) -> Self {
        Self(id)
    }

    /// The allocation number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Where the memory behind an allocation lives, as the backend observed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Residency {
    /// Device memory (CUDA `CU_MEMORYTYPE_DEVICE`, not managed): the only kind the VRAM-only
    /// policy accepts on a GPU.
    Device,
    /// Managed (unified) memory, which the driver may migrate to host memory.
    Managed,
    /// Host memory.
    Host,
    /// The host backend's simulated VRAM: accepted only on the host backend.
    HostTestMemory,
    /// A memory type the backend could not classify (the raw value).
    Other(u32),
}

impl Residency {
    /// A short name for messages and events.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Managed => "managed",
            Self::Host => "host",
            Self::HostTestMemory => "host test",
            Self::Other(_) => "unclassified",
        }
    }
}

/// What a backend reports about one device at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device index.
    pub device: u32,
    /// The device name (from the driver; `host-memory (test backend)` on the host backend).
    pub name: String,
    /// Total memory in bytes.
    pub total_bytes: u64,
    /// The GPU is integrated: its "VRAM" is host memory (`CU_DEVICE_ATTRIBUTE_INTEGRATED`).
    pub integrated: bool,
    /// The device supports managed memory (`CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY`).
    pub managed_memory: bool,
    /// The device can access managed memory concurrently with the host
    /// (`CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS`).
    pub concurrent_managed_access: bool,
    /// The device can access pageable host memory (`CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS`,
    /// HMM or ATS).
    pub pageable_memory_access: bool,
    /// The device uses the host's page tables for that access
    /// (`CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES`, ATS).
    pub pageable_memory_access_uses_host_page_tables: bool,
}

/// Memory use of one device, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryInfo {
    /// Bytes in use (by anyone, on a GPU).
    pub used_bytes: u64,
    /// Bytes free.
    pub available_bytes: u64,
    /// Total bytes.
    pub total_bytes: u64,
}

/// Device memory as the manager needs it. Object safe; implementations must be thread-safe,
/// and a failure is an error value, never a panic.
pub trait VramBackend: Send + Sync {
    /// Which kind of backend this is.
    fn kind(&self) -> BackendKind;

    /// The device indices this backend serves.
    fn devices(&self) -> Vec<u32>;

    /// Attributes of one device.
    ///
    /// # Errors
    ///
    /// [`VramError::UnknownDevice`], or a driver error.
    fn device_info(&self, device: u32) -> Result<DeviceInfo, VramError>;

    /// Current memory use of one device.
    ///
    /// # Errors
    ///
    /// [`VramError::UnknownDevice`], or a driver error.
    fn memory_info(&self, device: u32) -> Result<MemoryInfo, VramError>;

    /// Allocates `bytes` bytes of device memory.
    ///
    /// # Errors
    ///
    /// [`VramError::InsufficientVram`] when the device cannot hold it,
    /// [`VramError::UnknownDevice`], or a driver error.
    fn allocate(&self, device: u32, bytes: u64) -> Result<AllocationId, VramError>;

    /// Where the allocation's memory lives (on CUDA: from the pointer's attributes).
    ///
    /// # Errors
    ///
    /// [`VramError::AllocationNotFound`], or a driver error.
    fn residency(&self, id: AllocationId) -> Result<Residency, VramError>;

    /// Copies `bytes` into the allocation at `offset`.
    ///
    /// # Errors
    ///
    /// [`VramError::AllocationNotFound`], [`VramError::OutOfBounds`], or a driver error.
    fn upload(&self, id: AllocationId, offset: u64, bytes: &[u8]) -> Result<(), VramError>;

    /// BLAKE3 of the allocation's bytes, read where they are: never by copying the whole
    /// allocation to host memory.
    ///
    /// # Errors
    ///
    /// [`VramError::AllocationNotFound`], or a driver error.
    fn digest(&self, id: AllocationId) -> Result<[u8; 32], VramError>;

    /// Frees the allocation; returns the bytes freed.
    ///
    /// # Errors
    ///
    /// [`VramError::AllocationNotFound`], or a driver error.
    fn free(&self, id: AllocationId) -> Result<u64, VramError>;
}
