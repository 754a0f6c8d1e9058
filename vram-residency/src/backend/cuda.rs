//! The CUDA backend: device memory through the CUDA driver API (`cudarc`, loaded at run time).
//!
//! - **No driver, no panic.** `cudarc` panics when `libcuda` or one of its entry points is
//!   missing. The constructors first ask `cudarc::driver::sys::is_culib_present`, then run
//!   every driver call (there and in each backend method) under `std::panic::catch_unwind`,
//!   turning such a panic into [`VramError::DriverUnavailable`] or [`VramError::Device`]. The
//!   process's panic hook still prints the message once.
//! - **Verification never copies the whole shard to the host.** It streams the allocation
//!   through two page-locked buffers of [`STAGING_BYTES`] each: while one chunk is hashed
//!   (BLAKE3 on all cores), the next is copied into the other buffer. The buffers are plain
//!   (not write-combined) pinned memory, because the host reads them, and are kept in a small
//!   pool per device, so host memory use is bounded by the pool, not by shard size.
//! - **Residency.** Allocations come from `cuMemAlloc`/`cuMemAllocAsync`, never managed
//!   memory; each is still checked with `cuPointerGetAttribute` (memory type must be device,
//!   and not managed) so the policy is proved, not assumed.
//! - All work on a device goes through one non-blocking stream created at start-up.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cudarc::driver::sys;
use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DevicePtr, DriverError, PinnedHostSlice};
use parking_lot::{Mutex, RwLock};

use crate::backend::{AllocationId, BackendKind, DeviceInfo, MemoryInfo, Residency, VramBackend};
use crate::digest::ShardHasher;
use crate::error::VramError;

/// Size of each of the two host staging buffers verification streams through: 64 MiB.
pub const STAGING_BYTES: u64 = 64 << 20;
const STAGING_LEN: usize = 64 << 20;
/// Staging buffer pairs kept per device between verifications (more are made, then dropped,
/// when more verifications run at once).
const POOLED_STAGING_PAIRS: usize = 2;

const MISSING_ENTRY_POINT: &str =
    "the CUDA driver library lacks an entry point this crate needs (driver older than 12.0?)";

/// Two pinned buffers: one being filled by the GPU while the other is hashed.
struct Staging {
    front: PinnedHostSlice<u8>,
    back: PinnedHostSlice<u8>,
}

struct CudaDevice {
    ordinal: u32,
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    staging: Mutex<Vec<Staging>>,
}

struct CudaAllocation {
    device: u32,
    size: u64,
    memory: RwLock<CudaSlice<u8>>,
}

/// Device memory on NVIDIA GPUs through the CUDA driver API. Thread-safe.
pub struct CudaBackend {
    devices: Vec<CudaDevice>,
    allocations: RwLock<BTreeMap<u64, Arc<CudaAllocation>>>,
    next_id: AtomicU64,
}

impl CudaBackend {
    /// Opens every CUDA device of the machine.
    ///
    /// # Errors
    ///
    /// [`VramError::DriverUnavailable`] when the driver library is missing or incomplete, or
    /// no device is present; [`VramError::Device`] when a device cannot be opened.
    pub fn open_all() -> Result<Self, VramError> {
        driver_present()?;
        let count = guard_open("count devices", CudaContext::device_count)?;
        let count = u32::try_from(count).unwrap_or(0);
        if count == 0 {
            return Err(VramError::DriverUnavailable { reason: "no CUDA device found".into() });
        }
        Self::open(&(0..count).collect::<Vec<_>>())
    }

    /// Opens the CUDA devices with these ordinals.
    ///
    /// # Errors
    ///
    /// As [`CudaBackend::open_all`].
    pub fn open(ordinals: &[u32]) -> Result<Self, VramError> {
        driver_present()?;
        let mut devices = Vec::with_capacity(ordinals.len());
        for &ordinal in ordinals {
            let index = usize::try_from(ordinal)
                .map_err(|_| VramError::UnknownDevice { device: ordinal })?;
            let ctx = guard_open("open device", || CudaContext::new(index))?;
            let stream = guard_open("create stream", || ctx.new_stream())?;
            // One staging pair up front: it also proves the pinned-memory entry points load.
            let staging = guard(ordinal, "allocate staging buffers", || new_staging(&ctx))?;
            devices.push(CudaDevice { ordinal, ctx, stream, staging: Mutex::new(vec![staging]) });
        }
        Ok(Self { devices, allocations: RwLock::new(BTreeMap::new()), next_id: AtomicU64::new(1) })
    }

    fn device(&self, device: u32) -> Result<&CudaDevice, VramError> {
        self.devices.iter().find(|d| d.ordinal == device).ok_or(VramError::UnknownDevice { device })
    }

    fn allocation(&self, id: AllocationId) -> Result<Arc<CudaAllocation>, VramError> {
        self.allocations
            .read()
            .get(&id.get())
            .cloned()
            .ok_or(VramError::AllocationNotFound { id: id.get() })
    }
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend")
            .field("devices", &self.devices.iter().map(|d| d.ordinal).collect::<Vec<_>>())
            .field("allocations", &self.allocations.read().len())
            .finish()
    }
}

impl VramBackend for CudaBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cuda
    }

    fn devices(&self) -> Vec<u32> {
        self.devices.iter().map(|d| d.ordinal).collect()
    }

    fn device_info(&self, device: u32) -> Result<DeviceInfo, VramError> {
        let dev = self.device(device)?;
        guard(device, "read device attributes", || {
            use sys::CUdevice_attribute as A;
            let flag = |attribute| dev.ctx.attribute(attribute).map(|v| v != 0);
            Ok(DeviceInfo {
                device,
                name: dev.ctx.name()?,
                total_bytes: u64::try_from(dev.ctx.total_mem()?).unwrap_or(u64::MAX),
                integrated: flag(A::CU_DEVICE_ATTRIBUTE_INTEGRATED)?,
                managed_memory: flag(A::CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY)?,
                concurrent_managed_access: flag(A::CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS)?,
                pageable_memory_access: flag(A::CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS)?,
                pageable_memory_access_uses_host_page_tables: flag(
                    A::CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS_USES_HOST_PAGE_TABLES,
                )?,
            })
        })
    }

    fn memory_info(&self, device: u32) -> Result<MemoryInfo, VramError> {
        let dev = self.device(device)?;
        let (free, total) = guard(device, "read memory use", || dev.ctx.mem_get_info())?;
        let free = u64::try_from(free).unwrap_or(u64::MAX);
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        Ok(MemoryInfo {
            used_bytes: total.saturating_sub(free),
            available_bytes: free,
            total_bytes: total,
        })
    }

    fn allocate(&self, device: u32, bytes: u64) -> Result<AllocationId, VramError> {
        let dev = self.device(device)?;
        let insufficient =
            |available| VramError::InsufficientVram { device, requested: bytes, available };
        let len = usize::try_from(bytes).map_err(|_| insufficient(0))?;
        let memory = match catch_unwind(AssertUnwindSafe(|| dev.stream.alloc_zeros::<u8>(len))) {
            Ok(Ok(memory)) => memory,
            Ok(Err(DriverError(sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY))) => {
                let available = self.memory_info(device).map_or(0, |m| m.available_bytes);
                return Err(insufficient(available));
            }
            Ok(Err(error)) => return Err(device_error(device, "allocate", &error)),
            Err(_) => return Err(missing_entry_point(device, "allocate")),
        };
        // Stream-ordered allocations and the zeroing memset complete here, so a late failure
        // is reported by this call and the pointer's attributes can be read at once.
        guard(device, "allocate", || dev.stream.synchronize())?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let allocation = CudaAllocation { device, size: bytes, memory: RwLock::new(memory) };
        self.allocations.write().insert(id, Arc::new(allocation));
        Ok(AllocationId::new(id))
    }

    fn residency(&self, id: AllocationId) -> Result<Residency, VramError> {
        let allocation = self.allocation(id)?;
        let dev = self.device(allocation.device)?;
        let memory = allocation.memory.read();
        guard(allocation.device, "read pointer attributes", || {
            let (ptr, _sync) = memory.device_ptr(&dev.stream);
            dev.ctx.bind_to_thread()?;
            let memory_type = pointer_attribute_u32(
                ptr,
                sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
            )?;
            let managed = pointer_attribute_flag(
                ptr,
                sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_IS_MANAGED,
            )?;
            Ok(if managed {
                Residency::Managed
            } else if memory_type == sys::CUmemorytype::CU_MEMORYTYPE_DEVICE as u32 {
                Residency::Device
            } else if memory_type == sys::CUmemorytype::CU_MEMORYTYPE_HOST as u32 {
                Residency::Host
            } else if memory_type == sys::CUmemorytype::CU_MEMORYTYPE_UNIFIED as u32 {
                Residency::Managed
            } else {
                Residency::Other(memory_type)
            })
        })
    }

    fn upload(&self, id: AllocationId, offset: u64, data: &[u8]) -> Result<(), VramError> {
        let allocation = self.allocation(id)?;
        let dev = self.device(allocation.device)?;
        let len = u64::try_from(data.len()).map_err(|_| VramError::SizeOverflow)?;
        let end = offset.checked_add(len).ok_or(VramError::SizeOverflow)?;
        let out_of_bounds = VramError::OutOfBounds { offset, len, size: allocation.size };
        if end > allocation.size {
            return Err(out_of_bounds);
        }
        let start = usize::try_from(offset).map_err(|_| VramError::SizeOverflow)?;
        let end = usize::try_from(end).map_err(|_| VramError::SizeOverflow)?;
        let mut memory = allocation.memory.write();
        let mut view = memory.try_slice_mut(start..end).ok_or(out_of_bounds)?;
        guard(allocation.device, "upload", || {
            dev.stream.memcpy_htod(data, &mut view)?;
            dev.stream.synchronize()
        })
    }

    fn digest(&self, id: AllocationId) -> Result<[u8; 32], VramError> {
        let allocation = self.allocation(id)?;
        let dev = self.device(allocation.device)?;
        let memory = allocation.memory.read();
        let pooled = dev.staging.lock().pop();
        let mut staging = match pooled {
            Some(staging) => staging,
            None => guard(dev.ordinal, "allocate staging buffers", || new_staging(&dev.ctx))?,
        };
        let digest =
            guard(dev.ordinal, "read shard", || stream_digest(&dev.stream, &memory, &mut staging));
        let mut pool = dev.staging.lock();
        if pool.len() < POOLED_STAGING_PAIRS {
            pool.push(staging);
        }
        digest
    }

    fn free(&self, id: AllocationId) -> Result<u64, VramError> {
        let allocation = self
            .allocations
            .write()
            .remove(&id.get())
            .ok_or(VramError::AllocationNotFound { id: id.get() })?;
        let size = allocation.size;
        let device = allocation.device;
        let dev = self.device(device)?;
        // The memory is returned when the last reference goes (a verification still reading
        // it holds one); errors from that free are recorded by the context and surface here
        // or in the next call.
        drop(allocation);
        guard(device, "free", || {
            dev.stream.synchronize()?;
            dev.ctx.check_err()
        })?;
        Ok(size)
    }
}

/// Hashes `memory` chunk by chunk: the copy of chunk `i + 1` into one pinned buffer overlaps
/// the hashing of chunk `i` in the other.
fn stream_digest(
    stream: &Arc<CudaStream>,
    memory: &CudaSlice<u8>,
    staging: &mut Staging,
) -> Result<[u8; 32], DriverError> {
    let mut hasher = ShardHasher::new();
    let (mut front, mut back) = (&mut staging.front, &mut staging.back);
    let mut start = 0;
    let mut pending = enqueue_chunk(stream, memory, start, front)?;
    while let Some((len, copied)) = pending {
        let next_start = start + len;
        pending = enqueue_chunk(stream, memory, next_start, back)?;
        copied.synchronize()?;
        let chunk = front.as_slice()?;
        hasher.update(&chunk[..len]);
        std::mem::swap(&mut front, &mut back);
        start = next_start;
    }
    Ok(hasher.finalize())
}

/// Starts copying the chunk at `start` into `buffer`; returns its length and an event that
/// completes with the copy, or `None` past the end.
fn enqueue_chunk(
    stream: &Arc<CudaStream>,
    memory: &CudaSlice<u8>,
    start: usize,
    buffer: &mut PinnedHostSlice<u8>,
) -> Result<Option<(usize, cudarc::driver::CudaEvent)>, DriverError> {
    let end = memory.len().min(start.saturating_add(buffer.len()));
    if start >= end {
        return Ok(None);
    }
    let Some(view) = memory.try_slice(start..end) else {
        return Ok(None);
    };
    stream.memcpy_dtoh(&view, buffer)?;
    let copied = stream.record_event(None)?;
    Ok(Some((end - start, copied)))
}

/// A pair of zeroed, page-locked staging buffers.
fn new_staging(ctx: &Arc<CudaContext>) -> Result<Staging, DriverError> {
    Ok(Staging { front: new_pinned(ctx)?, back: new_pinned(ctx)? })
}

fn new_pinned(ctx: &Arc<CudaContext>) -> Result<PinnedHostSlice<u8>, DriverError> {
    // Flags 0: cached, not write-combined, because the host reads these buffers.
    #[allow(unsafe_code)]
    // SAFETY: `alloc_pinned_with_flags` is unsafe only because the memory it returns is
    // uninitialised; it is zeroed just below, before anything reads it.
    let mut buffer = unsafe { ctx.alloc_pinned_with_flags::<u8>(STAGING_LEN, 0) }?;
    let ptr = buffer.as_mut_ptr()?;
    #[allow(unsafe_code)]
    // SAFETY: `ptr` is the start of `STAGING_LEN` bytes of page-locked host memory owned by
    // `buffer`, which is alive and not otherwise borrowed; writing zeros initialises them all.
    unsafe {
        std::ptr::write_bytes(ptr, 0, STAGING_LEN);
    }
    Ok(buffer)
}

/// Reads a 4-byte pointer attribute (an enum such as the memory type).
fn pointer_attribute_u32(
    ptr: sys::CUdeviceptr,
    attribute: sys::CUpointer_attribute,
) -> Result<u32, DriverError> {
    let mut value: u32 = 0;
    #[allow(unsafe_code)]
    // SAFETY: `value` is a live, writable, aligned 4-byte location, the size of the
    // `CUmemorytype` enum the driver writes for this attribute; `ptr` is a device address of
    // a live allocation in the context bound to this thread.
    let result = unsafe { sys::cuPointerGetAttribute((&raw mut value).cast(), attribute, ptr) };
    result.result()?;
    Ok(value)
}

/// Reads a boolean pointer attribute. The driver writes a `bool` or an `unsigned int`
/// depending on the attribute's documentation; a zeroed 8-byte buffer holds either, and any
/// non-zero byte means true on any byte order.
fn pointer_attribute_flag(
    ptr: sys::CUdeviceptr,
    attribute: sys::CUpointer_attribute,
) -> Result<bool, DriverError> {
    let mut value: u64 = 0;
    #[allow(unsafe_code)]
    // SAFETY: `value` is a live, writable, aligned 8-byte location, larger than the boolean
    // or `unsigned int` the driver writes for this attribute; `ptr` is a device address of a
    // live allocation in the context bound to this thread.
    let result = unsafe { sys::cuPointerGetAttribute((&raw mut value).cast(), attribute, ptr) };
    result.result()?;
    Ok(value != 0)
}

/// Whether the driver library can be loaded at all.
fn driver_present() -> Result<(), VramError> {
    let present = catch_unwind(|| {
        #[allow(unsafe_code)]
        // SAFETY: this only tries to load the driver library by its usual names (running its
        // initialisers, as any CUDA program does) and unloads it again; no Rust value is
        // involved.
        unsafe {
            sys::is_culib_present()
        }
    })
    .unwrap_or(false);
    if present {
        Ok(())
    } else {
        Err(VramError::DriverUnavailable {
            reason: "the CUDA driver library (libcuda) could not be loaded".into(),
        })
    }
}

/// Runs a driver call while opening the backend: every failure means the driver is unusable.
fn guard_open<T>(
    operation: &'static str,
    call: impl FnOnce() -> Result<T, DriverError>,
) -> Result<T, VramError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(VramError::DriverUnavailable {
            reason: format!("{operation} failed: {}", error_name(&error)),
        }),
        Err(_) => Err(VramError::DriverUnavailable { reason: MISSING_ENTRY_POINT.into() }),
    }
}

/// Runs driver calls for one device, turning an error or a panic into a [`VramError`].
fn guard<T>(
    device: u32,
    operation: &'static str,
    call: impl FnOnce() -> Result<T, DriverError>,
) -> Result<T, VramError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(device_error(device, operation, &error)),
        Err(_) => Err(missing_entry_point(device, operation)),
    }
}

fn device_error(device: u32, operation: &'static str, error: &DriverError) -> VramError {
    VramError::Device { device, operation, message: error_name(error) }
}

fn missing_entry_point(device: u32, operation: &'static str) -> VramError {
    VramError::Device { device, operation, message: MISSING_ENTRY_POINT.into() }
}

/// The error's name (`CUDA_ERROR_OUT_OF_MEMORY`), without calling into the driver.
fn error_name(error: &DriverError) -> String {
    format!("{:?}", error.0)
}
