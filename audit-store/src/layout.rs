//! The files of a log directory, their names, and the checks made before touching them.

use std::fs::{self, File, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::io::{log_file_options, open_checked};

/// Log metadata, written once at creation.
pub(crate) const META_FILE: &str = "log.meta";
/// The current epoch's seal-key state (only what derives this and later epochs' keys).
pub(crate) const SEAL_KEY_FILE: &str = "seal.key";
/// The Ed25519 checkpoint signing key.
pub(crate) const SIGNING_KEY_FILE: &str = "signing.key";
/// Held with an exclusive lock by the one writer.
pub(crate) const LOCK_FILE: &str = "lock";
/// The latest signed checkpoint.
pub(crate) const CHECKPOINT_FILE: &str = "checkpoint";

const SEGMENT_PREFIX: &str = "seg-";
const SEGMENT_SUFFIX: &str = ".log";
const INDEX_SUFFIX: &str = ".idx";
const KEPT_CHECKPOINT_PREFIX: &str = "checkpoint-";
const LEAVES_PREFIX: &str = "leaves-";
const LEAVES_SUFFIX: &str = ".bin";
const KEPT_CHECKPOINT_SUFFIX: &str = ".note";

/// `seg-<first seq, 20 digits>.log`: names sort in sequence order.
pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{first_seq:020}{SEGMENT_SUFFIX}")
}

/// The index file beside a segment.
pub(crate) fn index_name(first_seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{first_seq:020}{INDEX_SUFFIX}")
}

/// A checkpoint kept for good (at rotation and close): `checkpoint-<size, 20 digits>.note`.
pub(crate) fn kept_checkpoint_name(size: u64) -> String {
    format!("{KEPT_CHECKPOINT_PREFIX}{size:020}{KEPT_CHECKPOINT_SUFFIX}")
}

/// Leaf hashes of records removed by retention: `leaves-<first seq, 20 digits>.bin`.
pub(crate) fn leaves_name(first_seq: u64) -> String {
    format!("{LEAVES_PREFIX}{first_seq:020}{LEAVES_SUFFIX}")
}

/// Leaf-hash files of a directory, by first sequence number.
pub(crate) fn list_leaves(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    list_numbered(dir, LEAVES_PREFIX, LEAVES_SUFFIX)
}

fn parse_numbered(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// Segment files of a directory, in sequence order, with the first sequence number each name
/// claims.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    list_numbered(dir, SEGMENT_PREFIX, SEGMENT_SUFFIX)
}

/// Kept checkpoint files of a directory, by tree size.
pub(crate) fn list_kept_checkpoints(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    list_numbered(dir, KEPT_CHECKPOINT_PREFIX, KEPT_CHECKPOINT_SUFFIX)
}

/// The `cosigned-<size, 20 digits>.note` files a shipper wrote: checkpoints a witness cosigned.
pub(crate) fn list_cosigned(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    list_numbered(dir, "cosigned-", ".note")
}

fn list_numbered(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io("listing", dir, e))? {
        let entry = entry.map_err(|e| StoreError::io("listing", dir, e))?;
        if let Some(n) = entry.file_name().to_str().and_then(|s| parse_numbered(s, prefix, suffix))
        {
            found.push((n, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Refuses paths with `..` components and paths that pass through a symlink: the log must be
/// exactly where it says it is. Returns the absolute path.
pub(crate) fn confine(dir: &Path) -> Result<PathBuf, StoreError> {
    if dir.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(StoreError::UnsafePath { path: dir.to_owned(), reason: "contains `..`" });
    }
    let absolute = std::path::absolute(dir).map_err(|e| StoreError::io("resolving", dir, e))?;
    let mut prefix = PathBuf::new();
    for component in absolute.components() {
        prefix.push(component);
        match fs::symlink_metadata(&prefix) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(StoreError::UnsafePath {
                    path: dir.to_owned(),
                    reason: "a component is a symbolic link",
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(StoreError::io("inspecting", &prefix, e)),
        }
    }
    Ok(absolute)
}

/// Checks that `dir` exists and is a directory.
pub(crate) fn require_dir(dir: &Path) -> Result<(), StoreError> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(StoreError::UnsafePath { path: dir.to_owned(), reason: "not a directory" }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(StoreError::NotALog { path: dir.to_owned() })
        }
        Err(e) => Err(StoreError::io("inspecting", dir, e)),
    }
}

/// The effective user id of this process, from the `Uid:` line of `/proc/self/status` (real,
/// effective, saved, filesystem), so that no `unsafe` call is needed.
pub(crate) fn euid() -> Result<u32, StoreError> {
    let path = Path::new("/proc/self/status");
    let status = fs::read_to_string(path).map_err(|e| StoreError::io("reading", path, e))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| StoreError::Malformed {
            what: "/proc/self/status",
            reason: "no effective user id".to_owned(),
        })
}

/// Mode bits that let a group or other users change a directory or file.
const GROUP_OTHER_WRITE: u32 = 0o022;
/// Mode bits that give a group or other users any access.
const GROUP_OTHER_ANY: u32 = 0o077;

/// Creates the log directory with mode 0700, or accepts an existing empty one that this user
/// owns and that grants no access to a group or other users. Refuses a directory that already
/// holds files, and an empty one prepared by someone else (who could change the log later).
pub(crate) fn create_log_dir(dir: &Path) -> Result<(), StoreError> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            if meta.uid() != euid()? {
                return Err(StoreError::UnsafePath {
                    path: dir.to_owned(),
                    reason: "the existing directory is owned by another user, who could change \
                             the log; let init create the directory",
                });
            }
            if meta.mode() & GROUP_OTHER_ANY != 0 {
                return Err(StoreError::UnsafePath {
                    path: dir.to_owned(),
                    reason: "the existing directory grants access to its group or other users \
                             (mode must be 0700); let init create the directory",
                });
            }
            let mut entries = fs::read_dir(dir).map_err(|e| StoreError::io("listing", dir, e))?;
            if entries.next().is_some() {
                return Err(StoreError::AlreadyExists { path: dir.to_owned() });
            }
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| StoreError::io("setting permissions on", dir, e))
        }
        Ok(_) => Err(StoreError::AlreadyExists { path: dir.to_owned() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| StoreError::io("creating", dir, e)),
        Err(e) => Err(StoreError::io("inspecting", dir, e)),
    }
}

/// Refuses to write a log directory that others could change behind the writer: the directory
/// must be owned by this user and grant no write access to its group or other users, and every
/// entry in it must be owned by this user, not writable by its group or other users, and not a
/// symbolic link.
pub(crate) fn check_writer_access(dir: &Path) -> Result<(), StoreError> {
    let me = euid()?;
    let meta = fs::symlink_metadata(dir).map_err(|e| StoreError::io("inspecting", dir, e))?;
    if meta.uid() != me {
        return Err(StoreError::UnsafePath {
            path: dir.to_owned(),
            reason: "owned by another user: a writer only writes a log directory it owns",
        });
    }
    if meta.mode() & GROUP_OTHER_WRITE != 0 {
        return Err(StoreError::UnsafePath {
            path: dir.to_owned(),
            reason: "writable by its group or other users (mode must be 0700)",
        });
    }
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io("listing", dir, e))? {
        let entry = entry.map_err(|e| StoreError::io("listing", dir, e))?;
        let path = entry.path();
        let meta =
            fs::symlink_metadata(&path).map_err(|e| StoreError::io("inspecting", &path, e))?;
        if meta.file_type().is_symlink() {
            return Err(StoreError::UnsafeFile {
                file: path,
                reason: "it is a symbolic link: nothing in a log directory is one".to_owned(),
            });
        }
        if meta.uid() != me {
            return Err(StoreError::UnsafeFile {
                file: path,
                reason: format!(
                    "it is owned by uid {}, not by this writer (uid {me}): someone else put it there",
                    meta.uid()
                ),
            });
        }
        if meta.mode() & GROUP_OTHER_WRITE != 0 {
            return Err(StoreError::UnsafeFile {
                file: path,
                reason: "it is writable by its group or other users (mode must be 0600)".to_owned(),
            });
        }
    }
    Ok(())
}

/// What a reader should know about who could have changed the log directory: the directory or
/// an entry writable by its group or other users, or an entry owned by someone other than the
/// directory's owner. Readers (often another user, such as an auditor) report these and go on.
pub(crate) fn exposure_warnings(dir: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    let Ok(meta) = fs::symlink_metadata(dir) else { return warnings };
    let owner = meta.uid();
    if meta.mode() & GROUP_OTHER_WRITE != 0 {
        warnings.push(format!(
            "the log directory has mode {:04o}: its group or other users can change the log",
            meta.mode() & 0o7777
        ));
    }
    let Ok(entries) = fs::read_dir(dir) else { return warnings };
    let mut names: Vec<(String, fs::Metadata)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let meta = fs::symlink_metadata(e.path()).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), meta))
        })
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, meta) in names {
        let name: String = name.escape_default().collect();
        if meta.file_type().is_symlink() {
            warnings.push(format!("{name} is a symbolic link: nothing in a log directory is one"));
            continue;
        }
        if meta.uid() != owner {
            warnings.push(format!(
                "{name} is owned by uid {}, not by the log directory's owner (uid {owner})",
                meta.uid()
            ));
        }
        if meta.mode() & GROUP_OTHER_WRITE != 0 {
            warnings.push(format!(
                "{name} has mode {:04o}: its group or other users can change it",
                meta.mode() & 0o7777
            ));
        }
    }
    warnings
}

/// The exclusive writer lock: held for the life of the writer, released when dropped (or when
/// the process dies, so a crash never leaves a stale lock).
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

/// How long opening waits for a lock that is held before it reports the log as locked.
///
/// A lock is held by an open file description, and a process that starts another one (between
/// `fork` and `exec`) holds a copy of every descriptor for a moment, the writer's lock among
/// them, even though the descriptor is close-on-exec. A writer closed and reopened by a
/// process that also starts children would otherwise find its own released lock still held.
/// A second live writer holds the lock for good and is refused when the wait ends.
const LOCK_WAIT: Duration = Duration::from_secs(2);

impl WriterLock {
    /// Takes the lock, waiting up to [`LOCK_WAIT`] for a holder to let go; then fails with
    /// [`StoreError::Locked`].
    pub(crate) fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let mut options = log_file_options();
        options.read(true).write(true).create(true).truncate(false);
        let file =
            open_checked(&options, &path, None).map_err(|e| StoreError::io("opening", &path, e))?;
        let deadline = Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    pause_before_retry(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked { path: dir.to_owned() });
                }
                Err(TryLockError::Error(e)) => return Err(StoreError::io("locking", &path, e)),
            }
        }
    }
}

/// Waits before trying the lock again. flock(2) has no timed wait and no event tells when a
/// lock is released, so this paces a bounded retry; no result depends on its length.
#[allow(clippy::disallowed_methods)]
fn pause_before_retry(pause: Duration) {
    std::thread::sleep(pause);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort() {
        assert_eq!(segment_name(42), "seg-00000000000000000042.log");
        assert_eq!(parse_numbered(&segment_name(42), SEGMENT_PREFIX, SEGMENT_SUFFIX), Some(42));
        assert_eq!(parse_numbered("seg-42.log", SEGMENT_PREFIX, SEGMENT_SUFFIX), None);
        assert_eq!(
            parse_numbered("seg-0000000000000000004x.log", SEGMENT_PREFIX, SEGMENT_SUFFIX),
            None
        );
        assert!(segment_name(9) < segment_name(10));
    }

    #[test]
    fn paths_with_parent_components_are_refused() {
        assert!(matches!(confine(Path::new("logs/../etc")), Err(StoreError::UnsafePath { .. })));
    }

    #[test]
    fn symlinked_directories_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(confine(&link), Err(StoreError::UnsafePath { .. })));
        assert!(matches!(confine(&link.join("log")), Err(StoreError::UnsafePath { .. })));
        assert!(confine(&real.join("log")).is_ok());
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(tmp.path()).unwrap();
        assert!(matches!(WriterLock::acquire(tmp.path()), Err(StoreError::Locked { .. })));
        drop(first);
        assert!(WriterLock::acquire(tmp.path()).is_ok());
    }
}
