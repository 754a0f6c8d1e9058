//! The error type of this crate.

use std::path::PathBuf;

/// Operational failures of the store: I/O, configuration, a damaged log that cannot be opened for
/// writing. Tampering found by [`crate::verify`] is not an error: it is reported in the
/// [`crate::VerifyReport`].
///
/// Messages name files, offsets and sequence numbers; they never contain key material or record
/// contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O operation on a file of the log failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`writing`, `syncing`, `opening`...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The writer hit a write or sync error earlier; nothing more is written.
    #[error("log writer is poisoned by an earlier failure: {cause}")]
    Poisoned {
        /// The first failure.
        cause: String,
    },
    /// Another writer holds the log's lock.
    #[error("log {path} is locked by another writer")]
    Locked {
        /// The log directory.
        path: PathBuf,
    },
    /// `create` found an existing log, or a directory that is not empty.
    #[error("{path} already holds a log or other files; refusing to overwrite")]
    AlreadyExists {
        /// The log directory.
        path: PathBuf,
    },
    /// `open` or a reader found no log.
    #[error("{path} holds no audit log (no log.meta)")]
    NotALog {
        /// The directory.
        path: PathBuf,
    },
    /// The log directory path is unsafe: a symlink, a `..` component, or not a directory.
    #[error("unsafe log directory {path}: {reason}")]
    UnsafePath {
        /// The path given.
        path: PathBuf,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A file of the log directory was refused before it was read: not a regular file (a FIFO,
    /// device, socket or directory), a symbolic link, or larger than the cap for its kind.
    /// Every file in a log directory is hostile input; FORMAT.md lists the rules.
    #[error("refusing {file}: {reason}")]
    UnsafeFile {
        /// The file.
        file: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The verifier material given is for another log than the one in the directory: the
    /// wrong file was given, or the whole log (its metadata and every segment) was replaced.
    #[error(
        "the verifier material is for log {material}, but this directory holds log {found} \
         (log.meta and segment headers): give the material of log {found}, or, if this is the \
         right material, the whole log was replaced"
    )]
    WrongLog {
        /// The log id in the verifier material.
        material: audit_events::LogId,
        /// The log id the directory's metadata and segment headers carry.
        found: audit_events::LogId,
    },
    /// A file of the log is damaged in a way the writer must not repair (only a torn final frame
    /// is ever discarded). Run verification to see exactly what is wrong.
    #[error("log damaged in {file} at offset {offset}: {reason}")]
    Damaged {
        /// The file.
        file: String,
        /// Byte offset in that file.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A proof needs hashes of records that retention removed, and neither the stored
    /// subtrees nor the tiles that keep purged ranges could give them: the proof cannot be
    /// built. Nothing says the log was altered (`verify` judges that).
    #[error("cannot be proven: {reason}")]
    Unprovable {
        /// What was missing, and why the tiles were not used.
        reason: String,
    },
    /// A metadata, key or material file does not parse.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which file or text.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry given to the writer is not allowed (for example a system record that only the
    /// store writes, such as a seal).
    #[error("entry {index} of the batch refused: {reason}")]
    InvalidEntry {
        /// Position in the batch.
        index: usize,
        /// Why.
        reason: &'static str,
    },
    /// A record failed to encode or decode.
    #[error(transparent)]
    Event(#[from] audit_events::EventError),
    /// A Merkle, seal or checkpoint operation failed.
    #[error(transparent)]
    Chain(#[from] audit_chain::ChainError),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A requested sequence number or tree size is not in the log.
    #[error("{what} {value} is not in the log (size {size})")]
    OutOfRange {
        /// What was asked for.
        what: &'static str,
        /// The value asked for.
        value: u64,
        /// The log's size.
        size: u64,
    },
}

impl StoreError {
    /// Wraps an I/O error with what was being done and where.
    ///
    /// An error that carries [`crate::io::UnsafeFile`] (a refused file) becomes
    /// [`StoreError::UnsafeFile`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        match crate::io::unsafe_reason(&source) {
            Some(reason) => Self::UnsafeFile { file: path.into(), reason: reason.0.clone() },
            None => Self::Io { op, path: path.into(), source },
        }
    }
}
