//! The I/O seam: every write, sync, rename and removal the writer makes goes through [`Io`], so
//! tests can inject torn writes, failed syncs and a full disk without a special filesystem.
//!
//! [`OsIo`] is the real thing: files are created with mode 0600 and opened with `O_NOFOLLOW`,
//! syncs are `fdatasync` (`File::sync_data`), atomic replacement is write-temp, sync, rename,
//! sync the directory. The test seams (a faulty disk, crash images) are in the dev-only
//! `audit-testkit` crate.
//!
//! Every file of a log directory is hostile input: anyone who can write the directory can put a
//! FIFO, a device, a socket, a directory or a symbolic link where a file belongs, or make a file
//! huge. `open_read` and `read_capped` are the only ways this crate reads such a file: they
//! open with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC` (so neither a symlink nor a FIFO without a
//! writer can make the open hang), refuse anything the opened descriptor's `fstat` does not show
//! as a regular file, and refuse a file above its cap before reading a byte of it. A refusal is
//! an [`io::Error`] carrying [`UnsafeFile`], which `StoreError::io` turns into
//! [`crate::StoreError::UnsafeFile`].

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt};
use std::path::Path;

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

/// Cap on the small files of a log directory read whole: `log.meta`, `seal.key`, `signing.key`,
/// `checkpoint` and `checkpoint-*.note`. Each is well under 2 KiB when written by this crate.
pub const SMALL_FILE_CAP: u64 = 16 * 1024;

/// Cap on an index file, whatever its segment: twice the largest segment a configuration allows
/// (an index is at most about as large as its segment), plus room for its fixed parts.
pub const INDEX_FILE_CAP: u64 = 2 * crate::config::MAX_SEGMENT_BYTES + 64 * 1024;

/// Why a file of a log directory was refused before it was read: it is not a regular file, it is
/// a symbolic link, or it is larger than the cap for its kind. Carried inside an [`io::Error`]
/// (kind `Other`) so that every error path names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeFile(pub String);

impl fmt::Display for UnsafeFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnsafeFile {}

/// An [`io::Error`] carrying [`UnsafeFile`].
pub(crate) fn unsafe_file(reason: impl Into<String>) -> io::Error {
    io::Error::other(UnsafeFile(reason.into()))
}

/// The [`UnsafeFile`] an error carries, if it is a refusal.
pub fn unsafe_reason(error: &io::Error) -> Option<&UnsafeFile> {
    error.get_ref().and_then(|inner| inner.downcast_ref::<UnsafeFile>())
}

/// Open options for a file of the log: 0600, no symlink following, never blocking on open (a
/// FIFO without a peer), close on exec. `O_NONBLOCK` changes nothing for a regular file.
pub(crate) fn log_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    options
}

/// What a file type is, in words, for a refusal.
fn describe(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// `open` with [`log_file_options`], mapping the `ELOOP` of `O_NOFOLLOW` to a refusal, then the
/// checks on the opened descriptor: a regular file, and no more than `cap` bytes.
pub(crate) fn open_checked(
    options: &OpenOptions,
    path: &Path,
    cap: Option<u64>,
) -> io::Result<File> {
    let file = options.open(path).map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP) => unsafe_file("it is a symbolic link"),
        Some(libc::EISDIR) => unsafe_file("it is a directory, not a regular file"),
        Some(libc::ENXIO) => unsafe_file("it is not a regular file (a FIFO or socket)"),
        _ => e,
    })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(unsafe_file(format!(
            "it is {}, not a regular file",
            describe(meta.file_type())
        )));
    }
    if let Some(cap) = cap
        && meta.len() > cap
    {
        return Err(unsafe_file(format!("it is larger than {cap} bytes ({} bytes)", meta.len())));
    }
    Ok(file)
}

/// Opens a file of the log for reading: no symlink, never blocking, regular files only.
/// Segments are streamed, so no cap applies here; see [`read_capped`] for files read whole.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    open_read_capped(path, None)
}

/// [`open_read`], also refusing a file above `cap` bytes.
pub(crate) fn open_read_capped(path: &Path, cap: Option<u64>) -> io::Result<File> {
    // lstat first so that a device is refused without being opened at all; the checks on the
    // opened descriptor below make a swap between the two harmless.
    let before = std::fs::symlink_metadata(path)?;
    if !before.file_type().is_file() {
        return Err(unsafe_file(format!(
            "it is {}, not a regular file",
            describe(before.file_type())
        )));
    }
    let mut options = log_file_options();
    options.read(true);
    let file = open_checked(&options, path, cap)?;
    let after = file.metadata()?;
    if (after.dev(), after.ino()) != (before.dev(), before.ino()) {
        return Err(unsafe_file("it was replaced while being opened"));
    }
    Ok(file)
}

/// Reads a whole file of the log: [`open_read`], refusing it above `cap` bytes before reading,
/// and reading at most `cap` bytes even if it grows meanwhile.
pub(crate) fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    read_to_cap(open_read_capped(path, Some(cap))?, cap)
}

/// Reads a whole file an operator named (verifier material, a public key, a checkpoint note, a
/// proof): a symbolic link is followed, since the operator chose it, but the file it reaches is
/// opened with `O_NONBLOCK`, must be a regular file (never a FIFO or a device such as
/// `/dev/zero`), and must hold at most `cap` bytes. A refusal carries [`UnsafeFile`].
pub fn read_given_file(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut options = OpenOptions::new();
    options.read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
    let file = open_checked(&options, path, Some(cap))?;
    read_to_cap(file, cap)
}

fn read_to_cap(file: File, cap: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(file.metadata()?.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(len);
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap {
        return Err(unsafe_file(format!("it grew larger than {cap} bytes while being read")));
    }
    Ok(bytes)
}

/// [`read_capped`] as UTF-8 text.
pub(crate) fn read_capped_text(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, cap)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// Replaces `path` with `bytes`: `<name>.tmp` is unlinked (a stale one from a crash is ours to
/// replace) and created afresh (`O_EXCL`, never through a link), written, synced if `durable`,
/// and renamed over `path`. The directory is not synced.
pub(crate) fn replace_file(path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = log_file_options();
    options.write(true).create_new(true);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    if durable {
        file.sync_data()?;
    }
    drop(file);
    std::fs::rename(&tmp, path)
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
        Ok(Box::new(OsFile(open_checked(&options, path, None)?)))
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        replace_file(path, bytes, true)?;
        self.sync_dir(path.parent().unwrap_or(Path::new(".")))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC);
        options.open(dir)?.sync_all()
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut options = log_file_options();
        options.write(true);
        let file = open_checked(&options, path, None)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(result: io::Result<Vec<u8>>) -> String {
        let e = result.expect_err("refused");
        unsafe_reason(&e).unwrap_or_else(|| panic!("not a refusal: {e}")).0.clone()
    }

    #[test]
    fn reads_refuse_links_devices_directories_and_oversized_files() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_capped(&file, 5).unwrap(), b"12345");
        assert!(refusal(read_capped(&file, 4)).contains("larger than 4 bytes"));
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(refusal(read_capped(&link, 100)).contains("symbolic link"));
        let zero = tmp.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(refusal(read_capped(&zero, 100)).contains("symbolic link"));
        assert!(refusal(read_capped(tmp.path(), 100)).contains("a directory"));
        assert!(refusal(read_capped(Path::new("/dev/zero"), 100)).contains("character device"));
        let missing = read_capped(&tmp.path().join("missing"), 100).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn operator_files_follow_links_but_only_to_regular_files_under_the_cap() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"key").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_given_file(&link, 3).unwrap(), b"key");
        assert!(refusal(read_given_file(&link, 2)).contains("larger than"));
        assert!(refusal(read_given_file(Path::new("/dev/zero"), 100)).contains("not a regular"));
    }
}
