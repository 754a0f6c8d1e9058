//! The I/O seam: every write, sync, rename and removal the writer makes goes through [`Io`], so
//! tests can inject torn writes, failed syncs and a full disk without a special filesystem.
//!
//! [`OsIo`] is the real thing: files are created with mode 0600 and opened with `O_NOFOLLOW`,
//! syncs are `fdatasync` (`File::sync_data`), atomic replacement is write-temp, sync, rename,
//! sync the directory. [`FaultyIo`] wraps it and fails on command.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use crate::crash::CrashIo;

/// A file open for appending.
pub trait IoFile: Send {
    /// Appends all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes everything written so far durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// The filesystem operations the writer uses.
pub trait Io: Send + Sync + fmt::Debug {
    /// Creates a new file (fails if it exists), mode 0600, not following symlinks.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>>;
    /// Opens an existing file for appending, not following symlinks.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn IoFile>>;
    /// Replaces `path` with `bytes` atomically and durably (temp file, sync, rename, sync dir).
    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Syncs a directory, making creations, renames and removals in it durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Cuts a file to `len` bytes and syncs it (recovery of a torn tail).
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
}

/// Open options for a file of the log: 0600, no symlink following, close on exec.
pub(crate) fn log_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    options
}

/// Opens a file of the log for reading without following symlinks.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    let mut options = log_file_options();
    options.read(true);
    options.open(path)
}

/// The most a small text file of the log directory (metadata, a checkpoint note) may hold.
pub(crate) const MAX_SMALL_FILE: u64 = 64 * 1024;

/// Reads a small text file of the log directory: not following symlinks, never blocking on a
/// FIFO or device, regular files only, at most [`MAX_SMALL_FILE`] bytes. `Ok(None)` when the file
/// does not exist.
pub(crate) fn read_small_text(path: &Path) -> Result<Option<String>, crate::StoreError> {
    use std::io::Read as _;
    use std::os::unix::fs::FileTypeExt as _;
    let mut options = log_file_options();
    options.read(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::StoreError::io("opening", path, e)),
    };
    let meta = file.metadata().map_err(|e| crate::StoreError::io("inspecting", path, e))?;
    let kind = meta.file_type();
    if !kind.is_file() || kind.is_fifo() {
        return Err(crate::StoreError::Damaged {
            file: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            offset: 0,
            reason: "not a regular file".to_owned(),
        });
    }
    let mut text = String::new();
    file.take(MAX_SMALL_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| crate::StoreError::io("reading", path, e))?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > MAX_SMALL_FILE {
        return Err(crate::StoreError::Damaged {
            file: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            offset: 0,
            reason: format!("larger than {MAX_SMALL_FILE} bytes"),
        });
    }
    Ok(Some(text))
}

/// The real filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsIo;

struct OsFile(File);

impl IoFile for OsFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl Io for OsIo {
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let mut options = log_file_options();
        options.write(true).create_new(true);
        Ok(Box::new(OsFile(options.open(path)?)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn IoFile>> {
        let mut options = log_file_options();
        options.append(true);
        Ok(Box::new(OsFile(options.open(path)?)))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);
        // A stale temp file from a crash is ours to replace.
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut options = log_file_options();
        options.write(true).create_new(true);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_data()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        self.sync_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC);
        options.open(dir)?.sync_all()
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut options = log_file_options();
        options.write(true);
        let file = options.open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
}

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
