//! A disk that fails on command: [`FaultyIo`] wraps the real filesystem seam
//! ([`audit_store::io::OsIo`]) and injects failed syncs, a full disk and torn writes.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use audit_store::io::{Io, IoFile, OsIo};

/// Fault injection over [`OsIo`], for tests: fail syncs, fill the disk, tear writes.
///
/// Cloning shares the switches, so a test keeps a handle while the writer owns the other.
#[derive(Debug, Clone, Default)]
pub struct FaultyIo {
    state: Arc<FaultState>,
}

#[derive(Debug, Default)]
struct FaultState {
    fail_syncs: AtomicBool,
    /// Bytes that may still be written before writes fail with ENOSPC; `u64::MAX` = unlimited.
    space_left: AtomicU64,
    /// When set, the next write writes only this many bytes, then fails (a torn write).
    tear_next_write_at: AtomicU64,
    writes: AtomicU64,
    syncs: AtomicU64,
}

const NO_TEAR: u64 = u64::MAX;

impl FaultyIo {
    /// A seam that behaves like [`OsIo`] until told otherwise.
    pub fn new() -> Self {
        let state = FaultState {
            space_left: AtomicU64::new(u64::MAX),
            tear_next_write_at: AtomicU64::new(NO_TEAR),
            ..FaultState::default()
        };
        Self { state: Arc::new(state) }
    }

    /// From now on, every file and directory sync fails with an I/O error.
    pub fn fail_syncs(&self, fail: bool) {
        self.state.fail_syncs.store(fail, Ordering::SeqCst);
    }

    /// Only `bytes` more bytes fit; writes beyond that write what fits and fail with ENOSPC.
    pub fn disk_space(&self, bytes: u64) {
        self.state.space_left.store(bytes, Ordering::SeqCst);
    }

    /// The next append writes only its first `bytes` bytes, then fails.
    pub fn tear_next_write(&self, bytes: u64) {
        self.state.tear_next_write_at.store(bytes, Ordering::SeqCst);
    }

    /// Number of appends so far.
    pub fn writes(&self) -> u64 {
        self.state.writes.load(Ordering::SeqCst)
    }

    /// Number of file syncs so far.
    pub fn syncs(&self) -> u64 {
        self.state.syncs.load(Ordering::SeqCst)
    }

    fn check_sync(&self) -> io::Result<()> {
        if self.state.fail_syncs.load(Ordering::SeqCst) {
            Err(io::Error::other("injected fsync failure"))
        } else {
            Ok(())
        }
    }

    /// How much of a write of `len` bytes may go through, and the error after it, if any.
    fn admit(&self, len: u64) -> (u64, Option<io::Error>) {
        let tear = self.state.tear_next_write_at.swap(NO_TEAR, Ordering::SeqCst);
        if tear != NO_TEAR {
            return (tear.min(len), Some(io::Error::other("injected torn write")));
        }
        let left = self.state.space_left.load(Ordering::SeqCst);
        if left == u64::MAX {
            return (len, None);
        }
        let allowed = left.min(len);
        self.state.space_left.store(left - allowed, Ordering::SeqCst);
        if allowed < len {
            (allowed, Some(io::Error::from_raw_os_error(libc::ENOSPC)))
        } else {
            (len, None)
        }
    }
}

struct FaultyFile {
    inner: Box<dyn IoFile>,
    io: FaultyIo,
}

impl IoFile for FaultyFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.io.state.writes.fetch_add(1, Ordering::SeqCst);
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let (allowed, error) = self.io.admit(len);
        let allowed = usize::try_from(allowed).unwrap_or(buf.len());
        self.inner.write_all(&buf[..allowed])?;
        error.map_or(Ok(()), Err)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.io.state.syncs.fetch_add(1, Ordering::SeqCst);
        self.io.check_sync()?;
        self.inner.sync_data()
    }
}

impl Io for FaultyIo {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let inner = OsIo.create_new(path)?;
        Ok(Box::new(FaultyFile { inner, io: self.clone() }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let inner = OsIo.open_append(path)?;
        Ok(Box::new(FaultyFile { inner, io: self.clone() }))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.check_sync()?;
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if let (_, Some(error)) = self.admit(len) {
            return Err(error);
        }
        OsIo.write_atomic(path, bytes)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.check_sync()?;
        OsIo.sync_dir(dir)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.check_sync()?;
        OsIo.truncate(path, len)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        OsIo.remove(path)
    }
}
